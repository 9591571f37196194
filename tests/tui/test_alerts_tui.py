"""The monitor alerts a user who looked away: a toast, the bell; never for an old log it replays."""

from __future__ import annotations

import asyncio
import json
import time

from tuihelpers import recorded_events, until

from digitsum.config import RunConfig
from tui.app import DigitsumApp


def test_an_attached_run_that_finishes_now_rings_and_toasts_but_its_past_does_not(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    log = run_dir / "metrics.jsonl"
    past = recorded_events(epochs=2)  # an old run's lines, times in the past
    log.write_text("".join(json.dumps(r) + "\n" for r in past))
    bells: list[int] = []

    async def scenario() -> None:
        app = DigitsumApp(RunConfig(patience=5), attach=run_dir, poll_s=0.05)
        monkeypatch.setattr(app, "bell", lambda: bells.append(1))
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(app.training.state.history) == 2)
            assert bells == [] and not app._notifications
            end = {"event": "end", "run_dir": str(run_dir), "best": "", "last": "", "epoch": 2, "stopped": False}
            end |= {"best_metrics": {"val_loss": 0.5, "epoch": 2}, "time": time.time()}
            with log.open("a") as f:
                f.write(json.dumps(end) + "\n")
            await until(pilot, lambda: bells == [1])
            (toast,) = list(app._notifications)
            assert toast.title == "digitsum: run finished" and "best val loss 0.5000 at epoch 2" in toast.message

    asyncio.run(scenario())


def test_notify_off_stays_silent(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    end = {"event": "end", "run_dir": str(run_dir), "best": "", "last": "", "epoch": 0, "stopped": True}
    (run_dir / "metrics.jsonl").write_text(json.dumps(end | {"time": time.time() + 60}) + "\n")
    bells: list[int] = []

    async def scenario() -> None:
        app = DigitsumApp(RunConfig(notify="off"), attach=run_dir, poll_s=0.05)
        monkeypatch.setattr(app, "bell", lambda: bells.append(1))
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.training.state.phase == "stopped")
            await pilot.pause(0.2)
            assert bells == [] and not app._notifications

    asyncio.run(scenario())
