"""Curves as charts show them: debiased EMA on the whole series, then bucket means to the width."""

from __future__ import annotations

import math

import pytest

from digitsum.curves import SMOOTHING_STEPS, bucket_means, debiased_ema, epoch_ticks, step_smoothing


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
