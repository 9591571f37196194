"""Keys of the training screen, driven by Pilot against a real tiny engine run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tuihelpers import screen_text, until

from digitsum.checkpoints import load_checkpoint
from digitsum.config import RunConfig
from tui.app import DigitsumApp
from tui.screens.modals import ConfirmModal, NewRunModal
from tui.screens.training import TrainingScreen

pytestmark = pytest.mark.slow


def slow_enough(config: RunConfig) -> RunConfig:
    """A run far longer than any test, so keys always meet a live engine (each test stops it)."""
    config.train_size, config.epochs = 1024, 500
    return config


def test_pause_stops_batches_resume_restarts_them_and_saves_write_loadable_checkpoints(tiny_config):
    async def scenario() -> None:
        app = DigitsumApp(slow_enough(tiny_config))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.bridge is not None and app.bridge.batches_seen >= 2)
            await pilot.press("p")
            await until(pilot, lambda: app.training.state.phase == "paused")
            await pilot.pause(0.3)
            assert "PAUSED" in screen_text(app).splitlines()[0]
            frozen = app.bridge.batches_seen
            await asyncio.sleep(1.0)
            assert app.bridge.batches_seen == frozen, "batches kept coming while paused"

            await pilot.press("s")
            await pilot.press("b")
            run_dir = Path(app.training.state.run_dir)
            await until(pilot, lambda: any(run_dir.glob("manual-*.pt")) and any(run_dir.glob("marked-*.pt")))
            assert app.bridge.batches_seen == frozen, "saving while paused must not train"
            for tag in ("manual", "marked"):
                ckpt = load_checkpoint(next(run_dir.glob(f"{tag}-*.pt")))
                assert ckpt["kind"] == tag and ckpt["state_dict"]
            await until(pilot, lambda: sum("saved" in n.message for n in app._notifications) == 2)
            toasts = [n.message for n in app._notifications]
            assert "saving a manual checkpoint now (paused)..." in toasts  # said when asked ...
            assert any(
                t.startswith("saved manual checkpoint") and "continues exactly" in t for t in toasts
            )  # ... and when done
            assert not any("after this batch" in t for t in toasts)  # paused, nothing waits for a batch

            await pilot.press("r")
            await until(pilot, lambda: app.bridge.batches_seen > frozen + 1)
            assert app.training.state.phase == "training"

            log = app.training.query_one("#log").lines
            assert any("paused at epoch" in str(line.text) for line in log)
            assert any("saved manual checkpoint" in str(line.text) for line in log)
            app.control.stop()
            await app.engine_worker.wait()

    asyncio.run(scenario())


def test_quit_asks_while_training_then_stops_the_engine_which_keeps_last_pt(tiny_config):
    async def scenario() -> Path:
        app = DigitsumApp(slow_enough(tiny_config))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.bridge is not None and app.bridge.batches_seen >= 1)
            await pilot.press("q")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("n")  # changed our mind: training goes on
            await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
            assert app.training_live
            await pilot.press("q")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("y")
            await until(pilot, lambda: not app.is_running or app._exit_renderables is not None, timeout=30)
        assert app.return_code == 0
        assert app.engine_worker.is_finished
        return Path(app.training.state.run_dir)

    run_dir = asyncio.run(scenario())
    assert load_checkpoint(run_dir / "last.pt")["epoch"] >= 0
    events = [json.loads(line)["event"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert events[-1] == "end"


def test_new_run_form_stops_the_current_run_and_starts_one_with_the_typed_settings(tiny_config):
    async def scenario() -> None:
        app = DigitsumApp(slow_enough(tiny_config))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.training.state.run_dir != "")
            first = app.training.state.run_dir
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, NewRunModal))
            epochs = app.screen.query_one("#field-epochs")
            epochs.value = "1"
            lr = app.screen.query_one("#field-lr")
            lr.value = "nonsense"
            lr.focus()
            await pilot.press("enter")
            assert isinstance(app.screen, NewRunModal), "a bad number must not start a run"
            assert "lr" in str(app.screen.query_one("#form-error").render())
            lr.value = "0.001"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
            await until(pilot, lambda: app.training.state.run_dir not in ("", first), timeout=90)
            assert app.config.epochs == 1 and app.config.lr == 0.001
            assert app.training.state.epochs == 1
            app.control.stop()
            await app.engine_worker.wait()
        assert Path(first, "last.pt").exists(), "the first run was stopped properly"

    asyncio.run(scenario())
