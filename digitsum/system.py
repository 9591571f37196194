"""Cheap process and GPU readings for the system pane: /proc and torch counters, no extra threads."""

from __future__ import annotations

import os
import threading
import time
from typing import Any


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _os_threads() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return threading.active_count()


class SystemSampler:
    """CPU % of this process since the previous reading (100 % = one core), RSS, threads, GPU memory."""

    def __init__(self) -> None:
        self._last_wall = time.monotonic()
        self._last_cpu = self._cpu_seconds()

    @staticmethod
    def _cpu_seconds() -> float:
        t = os.times()
        return t.user + t.system

    def sample(self, device: str = "cpu") -> dict[str, Any]:
        wall, cpu = time.monotonic(), self._cpu_seconds()
        elapsed = max(wall - self._last_wall, 1e-6)
        reading: dict[str, Any] = {
            "cpu_percent": round(100.0 * (cpu - self._last_cpu) / elapsed, 1),
            "cores": os.cpu_count() or 1,
            "rss_mb": round(_rss_mb(), 1),
            "threads": _os_threads(),
        }
        self._last_wall, self._last_cpu = wall, cpu
        if device.startswith("cuda"):
            reading.update(_gpu_reading())
        return reading


def _gpu_reading() -> dict[str, Any]:
    import torch

    reading: dict[str, Any] = {
        "gpu_mem_mb": round(torch.cuda.memory_allocated() / 2**20, 1),
        "gpu_mem_reserved_mb": round(torch.cuda.memory_reserved() / 2**20, 1),
    }
    try:
        reading["gpu_util"] = torch.cuda.utilization()
    except Exception:  # needs pynvml / NVML; absent on some installs
        pass
    return reading
