"""Every screen, pixel-for-pixel (SVG snapshots; update with --snapshot-update).

Training, browser and inference at 80x24 and 120x40, compare at 80x24, each dark, light and
without colour (NO_COLOR); a steered training screen with a chart full-screen, and the help. Inputs are fixed: a recorded event log (times
included, so elapsed/ETA are stable) and checkpoints with seeded weights and fixed metadata;
paths are relative to a chdir'd tmp dir.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tuihelpers import RUN_ID, recorded_events, until, write_log

from tui.app import DigitsumApp
from tui.screens.browser import BrowserScreen
from tui.screens.compare import CompareScreen
from tui.screens.inference import InferenceScreen

SIZE = (80, 24)
BIG = (120, 40)


LOOKS = ["dark", "light", "no-color"]


def without_colour(monkeypatch, look: str) -> None:
    """NO_COLOR is read when the app is made, as in a terminal: set it before."""
    if look == "no-color":
        monkeypatch.setenv("NO_COLOR", "1")


def dress(app: DigitsumApp, look: str) -> None:
    if look == "light":
        app.theme = "textual-light"


def attached(tmp_path, monkeypatch, look: str = "dark") -> DigitsumApp:
    """The app attached to the recorded run."""
    monkeypatch.chdir(tmp_path)
    without_colour(monkeypatch, look)
    write_log(tmp_path / "checkpoints" / RUN_ID, recorded_events())
    return DigitsumApp(attach=f"checkpoints/{RUN_ID}")


def browsing(fixed_checkpoints, monkeypatch, look: str = "dark") -> DigitsumApp:
    """The app in browser mode over the fixed checkpoints."""
    monkeypatch.chdir(fixed_checkpoints.parent)
    without_colour(monkeypatch, look)
    return DigitsumApp(browse=True, checkpoints="checkpoints")


async def settled_training(app: DigitsumApp, pilot, look: str = "dark") -> None:
    dress(app, look)
    await until(pilot, lambda: len(app.training.state.history) == 4)
    app.training.redraw()  # don't race the 1 Hz redraw timer: draw the settled state now
    await pilot.pause(0.5)


@pytest.mark.parametrize("size", [SIZE, BIG], ids=["80x24", "120x40"])
@pytest.mark.parametrize("look", LOOKS)
def test_training_screen(snap_compare, tmp_path, monkeypatch, look, size):
    app = attached(tmp_path, monkeypatch, look)

    async def settle(pilot) -> None:
        await settled_training(app, pilot, look)

    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_training_screen_steered_with_one_chart_full_screen(snap_compare, tmp_path, monkeypatch):
    """Log-y, smoothing 0.6, x by step, outliers out, and the per-batch loss full-screen."""
    app = attached(tmp_path, monkeypatch)

    async def settle(pilot) -> None:
        await settled_training(app, pilot)
        await pilot.press("l", "plus", "x", "o", "right_square_bracket", "right_square_bracket")
        await pilot.press("right_square_bracket", "z")
        app.clear_notifications()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_help_screen_scrolled_to_its_end(snap_compare, tmp_path, monkeypatch):
    app = attached(tmp_path, monkeypatch)

    async def settle(pilot) -> None:
        await settled_training(app, pilot)
        await pilot.press("question_mark", "end")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


@pytest.mark.parametrize("size", [SIZE, BIG], ids=["80x24", "120x40"])
@pytest.mark.parametrize("look", LOOKS)
def test_browser_screen(snap_compare, fixed_checkpoints, monkeypatch, look, size):
    app = browsing(fixed_checkpoints, monkeypatch, look)

    async def settle(pilot) -> None:
        dress(app, look)
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 4)
        await until(pilot, lambda: "epoch" in str(app.screen.query_one("#detail-text").content))
        await app.workers.wait_for_complete()  # a detail load for another row may still be landing
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("look", LOOKS)
def test_compare_screen(snap_compare, fixed_checkpoints, monkeypatch, look):
    app = browsing(fixed_checkpoints, monkeypatch, look)

    async def settle(pilot) -> None:
        dress(app, look)
        runs = [Path("checkpoints") / path.name for path in sorted(fixed_checkpoints.iterdir())]
        await app.push_screen(CompareScreen(runs))
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and len(app.screen.runs) == 2)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


@pytest.mark.parametrize("size", [SIZE, BIG], ids=["80x24", "120x40"])
@pytest.mark.parametrize("look", LOOKS)
def test_inference_screen(snap_compare, fixed_checkpoints, monkeypatch, look, size):
    app = browsing(fixed_checkpoints, monkeypatch, look)

    async def settle(pilot) -> None:
        dress(app, look)
        screen = InferenceScreen(f"checkpoints/{RUN_ID}/best.pt")
        await app.push_screen(screen)
        await until(pilot, lambda: screen.evaluation is not None)
        await pilot.press("v")  # only the wrong ones: the colours of failure are part of the look
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=settle)
