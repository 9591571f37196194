"""Keep freed memory inside the process instead of handing it back to the OS after every batch.

A training step frees and re-allocates the same large activations every batch (the seed
model's first feature map alone is 27 MB at batch 64). glibc's default gives the top of the
heap back to the kernel each time, so every batch page-faults it in again: measured on the
seed model, a fifth to a quarter of the step's CPU time went to the kernel, and raising the
trim threshold made the step 1.5x faster on one thread (the figure PyTorch's CPU tuning
guides get from jemalloc or tcmalloc, with nothing to install). Peak memory barely moves:
what stays mapped is what the previous batch needed anyway.

Only from the main thread: a worker thread (the TUI's engine) allocates from a per-thread
arena whose defaults already keep these blocks (0.04 of the step in the kernel, not 0.2), and
there the raised thresholds made it slower (its heaps are created and deleted instead).
"""

from __future__ import annotations

import ctypes
import sys
import threading

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
KEEP_BYTES = 1 << 30
MMAP_FALLBACK = 32 << 20  # the largest mmap threshold older glibc versions accept


def keep_freed_memory(keep_bytes: int = KEEP_BYTES) -> bool:
    """Raise glibc's trim and mmap thresholds for this process; False (no change) on other C libraries.

    Both are needed: setting either turns off glibc's self-tuning, and with the trim threshold
    alone every large tensor would be mmap-ed and unmapped on each batch instead.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    large = mallopt(M_MMAP_THRESHOLD, keep_bytes) or mallopt(M_MMAP_THRESHOLD, MMAP_FALLBACK)
    return bool(large and mallopt(M_TRIM_THRESHOLD, keep_bytes))
