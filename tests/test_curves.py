"""Curves as charts show them: debiased EMA on the whole series, then bucket means to the width."""

from __future__ import annotations

import math

import pytest

from digitsum.curves import (
    SMOOTHING_STEPS,
    ChartView,
    axis_label,
    batch_x,
    batches_per_epoch,
    bucket_means,
    debiased_ema,
    epoch_ticks,
    epoch_x,
    fitted_range,
    step_smoothing,
    step_ticks,
)


def test_the_debiased_ema_starts_at_the_first_value_and_follows_tensorboards_formula():
    values = [10.0, 0.0, 0.0, 0.0]
    smoothed = debiased_ema(values, 0.5)
    assert smoothed[0] == 10.0  # debiased: not dragged towards 0 at the start
    assert smoothed[1] == pytest.approx((0.5 * 5.0 + 0.0) / (1 - 0.25) * 1.0)  # (0.5*(0.5*10))/(1-0.5**2)
    assert debiased_ema(values, 0.0) == values


def test_a_nan_stays_where_it_happened_and_does_not_poison_the_rest():
    smoothed = debiased_ema([1.0, float("nan"), 1.0], 0.9)
    assert smoothed[0] == 1.0 and math.isnan(smoothed[1]) and smoothed[2] == pytest.approx(1.0)


def test_smoothing_before_downsampling_does_not_depend_on_the_width():
    """The smoothed curve's value at a given step is the same for any chart width (#1127's lesson)."""
    losses = [math.sin(i / 7) + 5 + (i % 3) for i in range(3000)]
    smoothed = debiased_ema(losses, 0.9)
    for width in (40, 72, 150):
        xs, ys = bucket_means(smoothed, width)
        assert len(ys) <= width
        assert sum(ys) / len(ys) == pytest.approx(sum(smoothed) / len(smoothed), rel=0.01)


def test_bucket_means_keep_short_curves_as_they_are():
    assert bucket_means([3.0, 4.0], 10) == ([1.0, 2.0], [3.0, 4.0])


def test_smoothing_steps_stop_at_both_ends():
    assert step_smoothing(0.0, -1) == 0.0 and step_smoothing(0.0, 1) == 0.6
    assert step_smoothing(SMOOTHING_STEPS[-1], 1) == SMOOTHING_STEPS[-1]


def test_epoch_ticks_are_whole_numbers_at_most_eight():
    assert epoch_ticks(2) == [1, 2] and epoch_ticks(0) == []
    ticks = epoch_ticks(100)
    assert len(ticks) <= 8 and all(isinstance(t, int) for t in ticks) and ticks[0] == 1


def test_a_chart_view_steps_through_its_options_and_says_what_it_shows():
    view = ChartView().toggled("log_y").smoother(1).next_x().toggled("fit")
    assert view == ChartView(log_y=True, smoothing=0.6, x_axis="step", fit=True)
    assert view.describe() == "log y, smoothing 0.6, x by step, outliers out of the y range"
    assert view.next_x().next_x().x_axis == "epoch"  # epoch -> step -> time -> epoch


def test_epochs_sit_at_their_last_step_or_their_minutes_of_training():
    history = [{"epoch": 1, "seconds": 50, "val_seconds": 10}, {"epoch": 2, "seconds": 50, "val_seconds": 10}]
    assert epoch_x(history, "epoch") == [1.0, 2.0]
    assert epoch_x(history, "step", batches_per_epoch=375) == [375.0, 750.0]
    assert epoch_x(history, "step") == [1.0, 2.0]  # batches unknown: epochs rather than a wrong step
    assert epoch_x(history, "time") == [1.0, 2.0]  # minutes of training and validation, pauses left out
    assert batches_per_epoch({"train_size": 24_000, "batch_size": 64}) == 375 and batches_per_epoch({}) == 0


def test_batch_readings_sit_at_their_step_their_epoch_or_their_minute():
    assert batch_x([4, 8], [0.5, 1.0], "step", 8) == [4.0, 8.0]
    assert batch_x([4, 8], [0.5, 1.0], "epoch", 8) == [0.5, 1.0]
    assert batch_x([4, 8], [0.5, 1.0], "time", 8) == [0.5, 1.0]


def test_bucket_means_average_the_x_values_too():
    assert bucket_means([1.0, 3.0, 5.0, 7.0], 2, xs=[10, 20, 30, 40]) == ([15.0, 35.0], [2.0, 6.0])


def test_ignoring_outliers_fits_the_epochs_after_the_first_or_the_central_96_percent():
    low, high = fitted_range([[175.0, 3.0, 2.0, 1.5]], per_batch=False)
    assert 1.3 < low < 1.5 and 3.0 < high < 3.2  # epoch 1's 175 is out of the range
    noisy = [1.0 + (i % 10) / 10 for i in range(1000)] + [500.0] * 5
    low, high = fitted_range([noisy], per_batch=True)
    assert high < 3 and low > 0.9
    log_low, log_high = fitted_range([[175.0, 3.0, 2.0, 1.5]], per_batch=False, log=True)
    assert 1.4 < log_low < 1.5 and 3.0 < log_high < 3.2
    assert fitted_range([[5.0]], per_batch=False) is None  # nothing after the first epoch to fit


def test_step_ticks_are_round_numbers_from_zero():
    assert step_ticks(276) == [0, 50, 100, 150, 200, 250]
    assert step_ticks(8) == [0, 2, 4, 6, 8] and step_ticks(0) == []


def test_the_x_axis_is_named_by_what_it_can_show():
    assert axis_label("time") == "minutes of training" and axis_label("step") == "step"
    assert axis_label("step", steps_known=False) == "epoch"  # drawn by epoch, so named so
