"""Charts are steered from the keyboard on the training and compare screens: one view for all of them."""

from __future__ import annotations

import asyncio

from tuihelpers import recorded_events, screen_text, until, write_log

from digitsum.curves import ChartView
from tui.app import DigitsumApp
from tui.widgets.charts import BatchLossChart, HistoryChart, LearningRateChart, RunsChart, SteeredChart


def attached_app(tmp_path) -> DigitsumApp:
    run_dir = tmp_path / "run"
    write_log(run_dir, recorded_events())
    return DigitsumApp(attach=run_dir, poll_s=0.05)


def test_l_plus_minus_x_and_o_steer_every_chart_and_it_keeps_drawing(tmp_path):
    app = attached_app(tmp_path)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(app.training.state.history) == 4)
            charts = list(app.training.query(SteeredChart))
            assert len(charts) == 5  # loss, accuracy, MAE, loss per batch, learning rate
            await pilot.press("l", "plus", "plus", "x", "o")
            assert all(c.view == ChartView(log_y=True, smoothing=0.8, x_axis="step", fit=True) for c in charts)
            for _ in range(5):  # plotext logs stored data in place: every redraw must start afresh
                for chart in charts:
                    chart.refresh()
                await pilot.pause(0.05)
            text = screen_text(app)
            assert "(smoothed 0.8)" in text  # the charts say how they are drawn
            assert "step" in text.splitlines()[-7]  # x axes named below the charts at 120x40
            assert "e+" not in text and "00000000" not in text, text  # log ticks: the data's own range
            await pilot.press("minus", "minus", "minus", "l", "x", "x", "o")
            assert all(c.view == ChartView() for c in charts)

    asyncio.run(scenario())


def test_the_x_axis_puts_epochs_at_their_step_and_their_minutes_of_training():
    chart = HistoryChart("loss", {"val_loss": "val"})
    chart.show(
        [{"epoch": 1, "val_loss": 3.0, "seconds": 30, "val_seconds": 6}, {"epoch": 2, "val_loss": 2.0, "seconds": 30}],
        8,
    )
    for axis, xs in (("epoch", [1.0, 2.0]), ("step", [8.0, 16.0]), ("time", [0.6, 1.1])):
        chart.view = ChartView(x_axis=axis)
        assert chart.curves()[0][1] == xs


def test_the_batch_chart_reads_steps_as_epochs_and_minutes():
    chart = BatchLossChart()
    chart.show([5.0, 4.0, 3.0, 2.0], [1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], batches=2)
    chart.view = ChartView(x_axis="epoch")
    assert chart.curves()[0][1] == [0.5, 1.0, 1.5, 2.0]
    chart.view = ChartView(x_axis="time")
    assert chart.curves()[0][1] == [0.1, 0.2, 0.3, 0.4]


def test_the_lr_chart_draws_the_planned_schedule_and_the_part_trained_so_far():
    chart = LearningRateChart()
    chart.show(max_lr=3e-3, total_steps=48, step=20, batches_per_epoch=8)
    (planned, xs, ys), (done, done_xs, done_ys) = chart.curves()
    assert (planned, done) == ("planned", "done")
    assert xs[0] == 0 and xs[-1] == 6.0  # epochs 0..6 (48 steps of 8)
    assert max(ys) == 3.0 and chart.title == "lr ×1e-3"  # in units of the title's power of ten
    assert done_xs[-1] == 20 / 8 and done_ys == ys[: len(done_ys) - 1] + [done_ys[-1]]
    chart.show(3e-3, 48, 0, 8)
    assert [label for label, *_ in chart.curves()] == ["planned"]  # nothing trained yet


def test_z_shows_the_chosen_chart_full_screen_brackets_move_on_and_escape_comes_back(tmp_path):
    app = attached_app(tmp_path)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.training.state.history) == 4)
            screen = app.training
            await pilot.press("z")
            assert screen.maximized is screen.query_one("#loss-chart")  # none chosen: the first
            assert screen.maximized.size.height >= 20  # it has the screen (the footer aside)
            await pilot.press("right_square_bracket")
            assert screen.maximized is screen.query_one("#acc-chart")
            await pilot.press("left_square_bracket", "left_square_bracket")
            assert screen.maximized is screen.query_one(LearningRateChart)
            await pilot.press("escape")
            assert screen.maximized is None
            await pilot.press("tab", "tab", "enter")  # tab chooses a chart, enter zooms it too
            assert isinstance(screen.maximized, SteeredChart) and screen.maximized is screen.focused
            await pilot.press("z")
            assert screen.maximized is None

    asyncio.run(scenario())


def test_the_command_palette_offers_every_action_of_the_screen_by_name(tmp_path):
    app = attached_app(tmp_path)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.training.state.history) == 4)
            names = {command.title for command in app.get_system_commands(app.training)}
            for name in ("Pause (p)", "Save (s)", "Log-y (l)", "X axis (x)", "Outliers (o)", "Zoom (z)", "Help (?)"):
                assert name in names
            await pilot.press("ctrl+p")
            await pilot.press(*"x axis", "enter")
            await pilot.pause(0.3)
            assert app.training.view.x_axis == "step"  # chosen by name, done as the key would
            await pilot.press("ctrl+p", *"zoom", "enter")
            await until(pilot, lambda: app.training.maximized is not None)

    asyncio.run(scenario())


def test_compared_runs_go_on_a_step_axis_only_when_every_run_knows_its_batches():
    chart = RunsChart("val loss", "val_loss")
    history = [{"epoch": 1, "val_loss": 3.0}, {"epoch": 2, "val_loss": 2.0}]
    chart.show_runs([("A", history, 10), ("B", history, 20)])
    chart.view = ChartView(x_axis="step")
    assert [xs for _, xs, _ in chart.curves()] == [[10.0, 20.0], [20.0, 40.0]] and chart.x_label() == "step"
    chart.show_runs([("A", history, 10), ("B", history, 0)])  # B's config is gone
    assert [xs for _, xs, _ in chart.curves()] == [[1.0, 2.0], [1.0, 2.0]] and chart.x_label() == "epoch"
