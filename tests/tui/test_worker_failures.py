"""Every thread worker of the TUI fails the same way: one error toast naming what failed, the app keeps running.

And the browser's `c` on a run that another process is training says so instead of starting.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from tuihelpers import RUN_ID, until

from digitsum.runlock import RunLock
from tui.app import DigitsumApp
from tui.screens.browser import BrowserScreen


def boom(*args, **kwargs):
    raise RuntimeError("boom\nsecond line")


def errors(app: DigitsumApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


# (what the worker calls, the keys that start it, the toast)
CASES = {
    "list": ("digitsum.checkpoints.list_checkpoints", (), "listing checkpoints failed: RuntimeError: boom"),
    "detail": ("digitsum.checkpoints.load_checkpoint", ("down",), "reading the checkpoint failed: RuntimeError: boom"),
    "evaluate": ("digitsum.inference.evaluate_checkpoint", ("e",), "evaluation failed: RuntimeError: boom"),
    "report": ("digitsum.figures.write_report", ("f",), "report failed: RuntimeError: boom"),
    "inference": ("digitsum.inference.evaluate_checkpoint", ("enter",), "evaluation failed: RuntimeError: boom"),
    "compare": ("digitsum.compare.load_run", ("space", "down", "down", "space", "m"), "loading runs failed"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_exception_in_a_worker_is_a_toast_and_the_app_keeps_running(case, fixed_checkpoints, tmp_path, monkeypatch):
    target, keys, toast = CASES[case]
    root = tmp_path / "checkpoints"
    shutil.copytree(fixed_checkpoints, root)
    module, name = target.rsplit(".", 1)
    if case == "list":
        monkeypatch.setattr(f"{module}.{name}", boom)  # the screens import it when the worker runs

    async def scenario() -> None:
        app = DigitsumApp(browse=True, checkpoints=root)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, BrowserScreen))
            if case != "list":  # the listing itself reads checkpoints: break the worker's call only after it
                await until(pilot, lambda: len(app.screen.rows) == 4)
                monkeypatch.setattr(f"{module}.{name}", boom)
            await pilot.press(*keys)
            await until(pilot, lambda: any(m.startswith(toast) for m in errors(app)), timeout=30)
            assert app.is_running
            await pilot.press("escape")
            assert app.is_running

    asyncio.run(scenario())


def test_continue_on_a_run_another_process_trains_says_so(fixed_checkpoints, tmp_path):
    root = tmp_path / "checkpoints"
    shutil.copytree(fixed_checkpoints, root)
    lock = RunLock.acquire(root / RUN_ID)
    try:

        async def scenario() -> None:
            app = DigitsumApp(browse=True, checkpoints=root)
            async with app.run_test(size=(120, 40)) as pilot:
                await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 4)
                browser = app.screen
                (row,) = [r for r in browser.rows if Path(r.path).parent.name == RUN_ID and r.path.endswith("last.pt")]
                browser.query_one("DataTable").move_cursor(row=browser.rows.index(row))
                await pilot.pause()
                await pilot.press("c")
                await pilot.pause()
                warned = [n.message for n in app._notifications if n.severity == "warning"]
                assert any("being trained by another digitsum run (pid" in m for m in warned), warned
                assert app.screen is browser and app.engine_worker is None

        asyncio.run(scenario())
    finally:
        lock.release()
