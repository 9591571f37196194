"""The three main screens at 80x24, pixel-for-pixel (SVG snapshots; update with --snapshot-update).

Inputs are fixed: a recorded event log (times included, so elapsed/ETA are stable) and
checkpoints with seeded weights and fixed metadata; paths are relative to a chdir'd tmp dir.
"""

from __future__ import annotations

from tuihelpers import RUN_ID, recorded_events, until, write_log

from tui.app import DigitsumApp
from tui.screens.browser import BrowserScreen
from tui.screens.inference import InferenceScreen

SIZE = (80, 24)


def test_training_screen(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_log(tmp_path / "checkpoints" / RUN_ID, recorded_events())
    app = DigitsumApp(attach=f"checkpoints/{RUN_ID}")

    async def settle(pilot) -> None:
        await until(pilot, lambda: len(app.training.state.history) == 4)
        app.training.redraw()  # don't race the 1 Hz redraw timer: draw the settled state now
        await pilot.pause(0.5)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_browser_screen(snap_compare, fixed_checkpoints, monkeypatch):
    monkeypatch.chdir(fixed_checkpoints.parent)
    app = DigitsumApp(browse=True, checkpoints="checkpoints")

    async def settle(pilot) -> None:
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 4)
        await until(pilot, lambda: "epoch" in str(app.screen.query_one("#detail-text").content))
        await app.workers.wait_for_complete()  # a detail load for another row may still be landing
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_inference_screen(snap_compare, fixed_checkpoints, monkeypatch):
    monkeypatch.chdir(fixed_checkpoints.parent)
    app = DigitsumApp(browse=True, checkpoints="checkpoints")

    async def settle(pilot) -> None:
        screen = InferenceScreen(f"checkpoints/{RUN_ID}/best.pt")
        await app.push_screen(screen)
        await until(pilot, lambda: screen.evaluation is not None)
        await pilot.press("v")  # only the wrong ones: the colours of failure are part of the look
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
