"""Screen transitions and keys of the browser, inference, help and attach views (no training)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from tuihelpers import recorded_events, screen_text, until, write_log

from tui.app import DigitsumApp
from tui.screens.browser import BrowserScreen
from tui.screens.compare import CompareScreen
from tui.screens.help import KEYS, HelpScreen
from tui.screens.inference import InferenceScreen
from tui.screens.modals import ConfirmModal, NewRunModal
from tui.screens.training import TrainingScreen


def test_every_key_of_every_screen_is_listed_in_help_which_opens_with_question_mark_and_f1():
    for screen in (TrainingScreen, BrowserScreen, InferenceScreen, CompareScreen):
        for binding in screen.BINDINGS:
            for key in binding.key.split(","):
                names = {"question_mark": "?", "f1": "F1", "plus": "+", "equals_sign": "=", "minus": "-"}
                shown = names.get(key, key)
                assert re.search(rf"(^|[\s,/]){re.escape(shown)}([\s,/]|$)", KEYS, re.M), f"{key} missing in help"

    async def scenario() -> None:
        app = DigitsumApp()
        async with app.run_test(size=(80, 24)) as pilot:
            for key in ("question_mark", "f1"):
                await pilot.press(key)
                assert isinstance(app.screen, HelpScreen)
                await pilot.press("escape")
                assert isinstance(app.screen, TrainingScreen)

    asyncio.run(scenario())


def test_quit_without_a_run_exits_at_once_with_code_0():
    async def scenario() -> DigitsumApp:
        app = DigitsumApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("q")
            await pilot.pause()
        return app

    assert asyncio.run(scenario()).return_code == 0


def test_attach_follows_a_growing_log_read_only(tmp_path):
    records = recorded_events()
    run_dir = tmp_path / "run"
    write_log(run_dir, records[:5])

    async def scenario() -> None:
        app = DigitsumApp(attach=run_dir, poll_s=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.training.state.batch == 4)
            assert app.training.state.history == []
            write_log(run_dir, records[5:])
            await until(pilot, lambda: len(app.training.state.history) == 4)
            assert app.training.state.best["epoch"] == 4
            for key in ("p", "r", "s", "b", "n"):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, TrainingScreen)
            assert app.control is None, "attach mode must never steer a run"
            assert any("read-only" in n.message for n in app._notifications)

    asyncio.run(scenario())


def test_browser_sorts_opens_inference_evaluates_continues_and_deletes(trained_run, tmp_path):
    root = tmp_path / "checkpoints"
    shutil.copytree(trained_run.parent, root)
    run = root / trained_run.name

    async def scenario() -> None:
        app = DigitsumApp(browse=True, checkpoints=root)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 2)
            browser = app.screen
            assert {r.kind for r in browser.rows} == {"best", "last"}
            await pilot.press("o")
            assert browser.sort == 1  # by val loss
            losses = [r.val_loss for r in browser.rows]
            assert losses == sorted(losses)  # lowest validation loss first

            await pilot.press("e")
            await until(pilot, lambda: "eval on" in str(browser.query_one("#detail-text").render()))

            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, InferenceScreen))
            await pilot.press("escape")
            assert app.screen is browser

            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            doomed = Path(browser.current.path)
            await pilot.press("y")
            await until(pilot, lambda: not doomed.exists() and len(browser.rows) == 1)

            remaining.append(Path(browser.rows[0].path))
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, NewRunModal))
            epochs = app.screen.query_one("#field-epochs")
            assert epochs.value == "7", "continuing offers the checkpoint's epoch + 5"
            epochs.value = "3"
            epochs.focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
            assert app.config.resume == browser.rows[0].path and app.config.epochs == 3
            await until(pilot, lambda: app.training.state.phase in ("finished", "failed"), timeout=90)
            assert app.training.state.phase == "finished"
            assert [h["epoch"] for h in app.training.state.history] == [1, 2, 3], "resumed with history intact"

    remaining: list[Path] = []
    asyncio.run(scenario())
    # last.pt continues its run in place; any other checkpoint branches into a new folder beside it
    continued = run if remaining[0].name == "last.pt" else next(p for p in root.iterdir() if p != run)
    assert (continued / "last.pt").exists()


def test_inference_steps_views_grid_and_halfblocks(trained_run, monkeypatch):
    best = str(trained_run / "best.pt")

    async def scenario() -> None:
        app = DigitsumApp()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = InferenceScreen(best)
            await app.push_screen(screen)
            await until(pilot, lambda: screen.evaluation is not None)
            assert len(screen.order) == 64
            await pilot.press("right", "right", "left")
            assert screen.position == 1
            await pilot.press("v")
            assert screen.view == "wrong"
            ev = screen.evaluation
            assert all(round(float(ev.predictions[i])) != ev.targets[i] for i in screen.order)
            await pilot.press("v")
            assert screen.view == "worst"
            errors = [abs(float(ev.predictions[i]) - ev.targets[i]) for i in screen.order]
            assert errors == sorted(errors, reverse=True)
            await pilot.press("g")
            await pilot.pause()
            assert screen.grid and screen_text(app).count(" true ") >= 4
            await pilot.press("right")
            assert screen.position == screen.page, "in the grid, right turns a page"
            await pilot.press("h")
            assert screen.halfblocks
            monkeypatch.setenv("NO_COLOR", "1")
            await pilot.press("h")
            assert screen.halfblocks, "with NO_COLOR, h refuses to switch (and says why)"
            await pilot.press("escape")

    asyncio.run(scenario())
