"""Browser keys of issue 6: space marks rows, m compares the marked runs, f writes a run's report."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from tuihelpers import RUN_ID, screen_text, until

from tui.app import DigitsumApp
from tui.screens.browser import BrowserScreen
from tui.screens.compare import CompareScreen

SEED_RUN = "20260102-090000-seed"


def copy_runs(fixed_checkpoints: Path, tmp_path: Path) -> Path:
    """The two fixed runs (no log: histories come from last.pt), with config.json files that differ."""
    root = tmp_path / "checkpoints"
    shutil.copytree(fixed_checkpoints, root)
    for run, lr in ((RUN_ID, 0.003), (SEED_RUN, 0.001)):
        config = {"model": run.rsplit("-", 1)[1], "lr": lr, "epochs": 6, "batch_size": 32, "out": str(root)}
        (root / run / "config.json").write_text(json.dumps(config))
    return root


def warnings(app: DigitsumApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "warning"]


def test_space_marks_rows_and_m_compares_two_distinct_runs(fixed_checkpoints, tmp_path):
    root = copy_runs(fixed_checkpoints, tmp_path)

    async def scenario() -> None:
        app = DigitsumApp(browse=True, checkpoints=root)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 4)
            browser = app.screen
            rows = browser.rows  # newest first: seed last, seed best, sumnet last, sumnet best
            await pilot.press("m")
            assert app.screen is browser and any("at least 2" in w for w in warnings(app))

            await pilot.press("space", "space")  # marks a row and steps down: both rows of the seed run
            assert browser.marked == {rows[0].path, rows[1].path}
            assert browser.marked_runs == [Path(rows[0].path).parent]
            await pilot.pause()
            assert sum(line.startswith(" *") for line in screen_text(app).splitlines()) == 2
            assert str(browser.query_one("#browser-title").content).endswith("2 marked, 1 run")
            n_warnings = len(warnings(app))
            await pilot.press("m")
            assert app.screen is browser, "two checkpoints of one run are not a comparison"
            assert len(warnings(app)) == n_warnings + 1

            await pilot.press("up", "space")  # unmark seed/best again
            assert browser.marked == {rows[0].path}
            await pilot.press("space")  # sumnet/last
            assert len(browser.marked_runs) == 2
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, CompareScreen) and len(app.screen.runs) == 2)
            compare = app.screen
            await pilot.pause(0.3)
            text = screen_text(app)
            assert RUN_ID in text and SEED_RUN in text
            assert {r.name for r in compare.runs} == {RUN_ID, SEED_RUN}
            config = compare.query_one("#compare-config")
            assert [str(c.label) for c in config.columns.values()] == ["", "lr", "model"], "only what differs"
            assert text.count("━A") == 3 and text.count("━B") == 3, "a legend entry per run in each chart"
            loss_chart = compare.query_one("#compare-loss")
            assert loss_chart.view.log_y and all(loss_chart.render() for _ in range(5)), (
                "a log-scale chart renders again and again (a resize, a theme change)"
            )
            await pilot.press("escape")
            assert app.screen is browser and len(browser.marked) == 2, "marks survive a look at the comparison"

    asyncio.run(scenario())


def test_f_writes_history_and_inference_figures_of_the_current_run(fixed_checkpoints, tmp_path):
    pytest.importorskip("matplotlib")
    root = copy_runs(fixed_checkpoints, tmp_path)

    async def scenario() -> None:
        app = DigitsumApp(browse=True, checkpoints=root)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 4)
            run_dir = Path(app.screen.current.path).parent
            await pilot.press("f")
            await until(
                pilot,
                lambda: any(n.message.startswith(("wrote", "report failed")) for n in app._notifications),
                timeout=60,
            )
            (done,) = [n.message for n in app._notifications if n.message.startswith(("wrote", "report failed"))]
            assert done == f"wrote history.csv, history.png, inference.png in {run_dir}"
            for name in ("history.csv", "history.png", "inference.png"):
                assert (run_dir / name).stat().st_size > 0

    asyncio.run(scenario())
