"""`digitsum-tui --attach` following a log that a real engine writes while the app watches.

And the soak: a TUI attached to a long run keeps its memory bounded (a replayed 100-epoch log).
"""

from __future__ import annotations

import asyncio
import json
import resource
import threading
import tracemalloc
from dataclasses import replace

import pytest
from tuihelpers import until

from digitsum.engine import Engine
from digitsum.runlog import RunLog
from tui.app import DigitsumApp


def test_attach_follows_a_real_engine_to_its_end(tiny_config):
    """The engine writes metrics.jsonl from another thread; the attached screen ends with the same history."""
    config = replace(tiny_config, epochs=3)
    started, result = threading.Event(), {}
    log = RunLog()

    def on_event(event) -> None:
        if event.event == "start":
            result["run_dir"] = event.run_dir
            started.set()

    def train() -> None:
        try:
            result["run"] = Engine(config, subscribers=[log, on_event]).run()
        finally:
            log.close()

    worker = threading.Thread(target=train, daemon=True)
    worker.start()
    assert started.wait(60)

    async def scenario() -> None:
        app = DigitsumApp(attach=result["run_dir"], poll_s=0.05)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.training.state.phase == "finished", timeout=120)
            worker.join(60)
            state = app.training.state
            assert [h["epoch"] for h in state.history] == [1, 2, 3]
            assert [h["val_loss"] for h in state.history] == [h["val_loss"] for h in result["run"].history]
            assert state.run_id == result["run"].run_dir.name and app.control is None

    asyncio.run(scenario())


def long_log(path, epochs: int = 100, batches: int = 1000) -> None:
    """A finished 100-epoch run's log with 100k batch lines, as RunLog would have written it."""
    t = 1_767_268_800.0
    with path.open("w") as f:
        start = {"event": "start", "run_id": "soak", "run_dir": str(path.parent), "model": "sumnet", "device": "cpu"}
        start |= {"data": "builtin", "epochs": epochs, "start_epoch": 0, "batches_per_epoch": batches}
        start |= {"train_size": 64_000, "val_size": 6_000, "config": {"batch_size": 64}, "time": t}
        f.write(json.dumps(start) + "\n")
        for e in range(1, epochs + 1):
            for b in range(1, batches + 1):
                t += 0.25
                f.write(
                    json.dumps(
                        {
                            "event": "batch",
                            "epoch": e,
                            "batch": b,
                            "batches": batches,
                            "loss": 9 / e + b % 7 / 10,
                            "time": t,
                        }
                    )
                    + "\n"
                )  # noqa: E501
            metrics = {"train_loss": 9 / e, "val_loss": 8 / e, "floor_acc": 0.5, "ceil_acc": 0.5, "round_acc": 0.5}
            metrics |= {"mae": 1 / e, "lr": 1e-3, "seconds": 250.0, "images_per_s": 256.0, "is_best": True}
            f.write(json.dumps({"event": "epoch", "epoch": e, "epochs": epochs, **metrics, "time": t}) + "\n")
        f.write(
            json.dumps(
                {
                    "event": "end",
                    "run_dir": str(path.parent),
                    "best": "",
                    "last": "",
                    "epoch": epochs,
                    "stopped": False,
                    "time": t,
                }
            )
            + "\n"
        )  # noqa: E501


@pytest.mark.slow
def test_a_tui_attached_to_a_long_run_keeps_its_memory_bounded(tmp_path):
    """100 epochs and 100k batch lines replayed: the app's Python heap stays under 40 MB and RSS flat."""
    run_dir = tmp_path / "soak"
    run_dir.mkdir()
    long_log(run_dir / "metrics.jsonl")

    async def scenario() -> dict:
        app = DigitsumApp(attach=run_dir, poll_s=0.05)
        async with app.run_test(size=(120, 40)) as pilot:
            tracemalloc.start()
            await until(pilot, lambda: app.training.state.phase == "finished", timeout=240)
            for _ in range(20):  # a while of redraws after the replay
                await pilot.pause(0.05)
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return {"current": current, "peak": peak, "history": len(app.training.state.history)}

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    measured = asyncio.run(scenario())
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(
        f"\n[soak] heap now {measured['current'] / 2**20:.1f} MB, peak {measured['peak'] / 2**20:.1f} MB, "
        f"max RSS grew {grown_mb:.0f} MB"
    )
    assert measured["history"] == 100
    assert measured["current"] < 40 * 2**20 and grown_mb < 200
