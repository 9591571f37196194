"""The training screen's charts are steered from the keyboard: l for log-y, + and - for smoothing."""

from __future__ import annotations

import asyncio

from tuihelpers import recorded_events, screen_text, until, write_log

from tui.app import DigitsumApp
from tui.widgets.charts import BatchLossChart, HistoryChart


def test_l_and_plus_minus_steer_every_chart_and_it_keeps_drawing(tmp_path):
    run_dir = tmp_path / "run"
    write_log(run_dir, recorded_events())

    async def scenario() -> None:
        app = DigitsumApp(attach=run_dir, poll_s=0.05)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(app.training.state.history) == 4)
            charts = list(app.training.query(HistoryChart)) + [app.training.query_one(BatchLossChart)]
            await pilot.press("l", "plus", "plus")
            assert all(c.log_y and c.smoothing == 0.8 for c in charts)
            for _ in range(5):  # plotext logs stored data in place: every redraw must start afresh
                for chart in charts:
                    chart.refresh()
                await pilot.pause(0.05)
            assert "(smoothed 0.8)" in screen_text(app)  # the charts say how they are drawn
            await pilot.press("minus", "minus", "minus", "l")
            assert all(not c.log_y and c.smoothing == 0.0 for c in charts)

    asyncio.run(scenario())
