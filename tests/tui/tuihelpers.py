"""Helpers shared by the TUI tests (importable by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until `condition()` holds; fail the test if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition.__doc__ or condition}")
        await pilot.pause(0.05)


# --- fixed data for snapshots ----------------------------------------------------------------
RUN_ID = "20260101-120000-sumnet"


def recorded_events(epochs: int = 4, batches: int = 8) -> list[dict[str, Any]]:
    """A run's log as the engine would write it, with fixed numbers and times (for snapshots)."""
    t = 1_767_268_800.0
    records: list[dict[str, Any]] = [
        {
            "event": "start",
            "run_id": RUN_ID,
            "run_dir": f"checkpoints/{RUN_ID}",
            "model": "sumnet",
            "device": "cpu",
            "data": "builtin MNIST sample",
            "epochs": 6,
            "start_epoch": 0,
            "batches_per_epoch": batches,
            "train_size": 256,
            "val_size": 64,
            "config": {"batch_size": 32, "lr": 0.003},
            "time": t,
        }
    ]
    for e in range(1, epochs + 1):
        for b in range(1, batches + 1):
            t += 0.5
            records.append(
                {
                    "event": "batch",
                    "epoch": e,
                    "batch": b,
                    "batches": batches,
                    "loss": 60.0 / (e + b / batches) + (b % 3),
                    "images_per_s": 64.0,
                    "time": t,
                }
            )
        records.append(
            {
                "event": "epoch",
                "epoch": e,
                "epochs": 6,
                "train_loss": 50.0 / e,
                "val_loss": 40.0 / e**0.8,
                "floor_acc": 0.04 * e,
                "ceil_acc": 0.035 * e,
                "round_acc": 0.05 * e,
                "mae": 5.0 / e**0.5,
                "lr": 0.003,
                "seconds": 4.0,
                "images_per_s": 64.0,
                "val_seconds": 0.5,
                "is_best": True,
                "time": t,
            }
        )
        records.append(
            {
                "event": "checkpoint",
                "path": f"checkpoints/{RUN_ID}/best.pt",
                "kind": "best",
                "epoch": e,
                "batch": 0,
                "time": t,
            }
        )
    for b in range(1, 4):
        t += 0.5
        records.append(
            {
                "event": "batch",
                "epoch": epochs + 1,
                "batch": b,
                "batches": batches,
                "loss": 9.0,
                "images_per_s": 64.0,
                "time": t,
            }
        )
    records.append(system_record(epochs + 1, 3, t))
    return records


def system_record(epoch: int, batch: int, t: float, **gpu: float) -> dict[str, Any]:
    """A SystemStats line with fixed readings (2 cores, as on the reference machine)."""
    stats = {"cpu_percent": 187.4, "cores": 2, "rss_mb": 812.3, "threads": 9, **gpu}
    return {"event": "system", "epoch": epoch, "batch": batch, "stats": stats, "time": t}


def write_log(run_dir: Path, records: list[dict[str, Any]]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "metrics.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return path


def screen_text(app: Any) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
