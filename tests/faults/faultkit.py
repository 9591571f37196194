"""Shared helpers of the fault-injection suite: running the CLI, building bad files, asserting one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ERROR_PREFIX = "digitsum: error: "
# Tiny settings for every real training run (2 shared CPU cores).
TINY = ["--train-size", "256", "--val-size", "64", "--batch-size", "32", "--device", "cpu"]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1"
    )  # 2 shared cores: one intra-op thread per process
    return env


def cli_cmd(*args: Any) -> list[str]:
    return [sys.executable, "-m", "digitsum", *map(str, args)]


def run_cli(*args: Any, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m digitsum ARGS` in a subprocess, text output captured."""
    return subprocess.run(cli_cmd(*args), cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout)


def start_cli(*args: Any, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cli_cmd(*args), cwd=cwd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def assert_one_line_error(err: str, *needles: str) -> str:
    """stderr is exactly one `digitsum: error: ...` line, holding every needle, and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith(ERROR_PREFIX), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def snapshot(root: Path) -> dict[str, int]:
    """Every path under root with its size: compare before/after to prove nothing was written."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


def temp_leftovers(folder: Path) -> list[str]:
    """Temp files a save left behind; the run folder's `.lock` is meant to stay (a flock dies with its process)."""
    from digitsum.runlock import LOCK_NAME

    return sorted(
        p.name for p in folder.iterdir() if p.name != LOCK_NAME and (p.name.endswith(".tmp") or p.name.startswith("."))
    )


# --- data files -----------------------------------------------------------------------------
def good_images(n: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 40, 168), dtype=np.uint8)


def good_labels(n: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 37, size=n).astype(np.int64)


def write_assignment(folder: Path, images: Any = None, labels: Any = None, k: int = 0) -> Path:
    """data{k}.npy / lab{k}.npy in folder (None: leave that file out)."""
    folder.mkdir(parents=True, exist_ok=True)
    if images is not None:
        np.save(folder / f"data{k}.npy", images, allow_pickle=True)
    if labels is not None:
        np.save(folder / f"lab{k}.npy", labels, allow_pickle=True)
    return folder


# --- checkpoints ----------------------------------------------------------------------------
def checkpoint_payload(**overrides: Any) -> dict[str, Any]:
    """A minimal valid digitsum checkpoint of the small 'seed' network (no training needed)."""
    import torch

    from digitsum.models import build_model

    torch.manual_seed(0)
    model = build_model("seed")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    payload = {
        "kind": "last",
        "run_id": "fixture",
        "model": {"name": "seed", "kwargs": {}},
        "state_dict": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "metrics": {},
        "history": [],
        "normalization": {"mean": 0.5, "std": 0.5},
        "data": {"spec": "builtin", "description": "builtin", "train_size": 256, "val_size": 64},
        "seed": 0,
        "config": {"model": "seed", "train_size": 256, "val_size": 64, "batch_size": 32},
        "created": "2024-01-01T00:00:00+00:00",
    }
    payload.update(overrides)
    return payload


def write_checkpoint(path: Path, **overrides: Any) -> Path:
    from digitsum.checkpoints import save_checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(checkpoint_payload(**overrides), path)


class Hostile:
    """Unpickling this runs code: it creates `marker`. A safe loader must never do so."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def write_hostile_checkpoint(path: Path, marker: Path, raw_pickle: bool = False) -> Path:
    """A file that looks like a digitsum checkpoint but whose pickle would run code on a plain load."""
    import pickle

    import torch

    payload = {
        "format": "digitsum-checkpoint",
        "version": 1,
        "model": {"name": "seed", "kwargs": {}},
        "state_dict": {},
        "epoch": 0,
        "evil": Hostile(marker),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    if raw_pickle:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, path)
    return path


# --- run logs / processes ------------------------------------------------------------------
def read_events(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None, interval: float = 0.02):
    """Poll predicate() until truthy; fail early if proc exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended (rc {proc.returncode}) before the condition\n{out}\n{err}")
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def single_run_dir(out: Path) -> Path:
    dirs = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
    assert len(dirs) == 1, dirs
    return dirs[0]


def kill_quietly(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
