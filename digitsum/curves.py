"""Curves as a chart shows them: smoothed on the whole series first, then averaged down to the width.

Smoothing before downsampling makes the picture independent of the terminal's size (the lesson
of TensorBoard #1127/#6829); the EMA is debiased so its first points are not dragged to zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)  # what `+`/`-` step through
X_AXES = ("epoch", "step", "time")  # what `x` cycles through
X_LABELS = {"epoch": "epoch", "step": "step", "time": "minutes of training"}
FIT_PERCENTILES = (2.0, 98.0)  # the y range a per-batch curve is fitted to when outliers are ignored


@dataclass(frozen=True)
class ChartView:
    """How charts are drawn, the same for the TUI's charts and the report's PNGs."""

    log_y: bool = False
    smoothing: float = 0.0  # debiased EMA weight on the past; 0 draws the data as it is
    x_axis: str = "epoch"  # one of X_AXES
    fit: bool = False  # y range ignores the first epoch (per-epoch) or the 2 % tails (per-batch)

    def toggled(self, name: str) -> ChartView:
        return replace(self, **{name: not getattr(self, name)})

    def smoother(self, direction: int) -> ChartView:
        return replace(self, smoothing=step_smoothing(self.smoothing, direction))

    def next_x(self) -> ChartView:
        return replace(self, x_axis=X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)])

    def describe(self) -> str:
        """`log y, smoothing 0.8, x by step, outliers ignored`: what a toast or a title says."""
        parts = ["log y" if self.log_y else "linear y", f"smoothing {self.smoothing:g}", f"x by {self.x_axis}"]
        return ", ".join(parts + (["outliers out of the y range"] if self.fit else []))


def debiased_ema(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: EMA with `weight` on the past, divided by (1 - weight**n); 0 keeps the data."""
    if weight <= 0:
        return [float(v) for v in values]
    out, last, seen = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):  # a NaN stays visible where it happened and does not poison the rest
            out.append(float(value))
            continue
        seen += 1
        last = last * weight + (1 - weight) * value
        out.append(last / (1 - weight**seen))
    return out


def bucket_means(
    values: Sequence[float], buckets: int, xs: Sequence[float] | None = None
) -> tuple[list[float], list[float]]:
    """At most `buckets` points, each the mean x and mean y of its bucket: plotters choke on more.

    Without `xs` the x of a value is its position from 1.
    """
    n = len(values)
    xs = [float(i + 1) for i in range(n)] if xs is None else [float(x) for x in xs]
    if n <= buckets or buckets < 1:
        return xs, [float(v) for v in values]
    out_x, out_y = [], []
    for k in range(buckets):
        lo, hi = k * n // buckets, (k + 1) * n // buckets
        if hi > lo:
            out_x.append(sum(xs[lo:hi]) / (hi - lo))
            out_y.append(sum(values[lo:hi]) / (hi - lo))
    return out_x, out_y


def step_smoothing(current: float, direction: int) -> float:
    """The next (direction +1) or previous (-1) of SMOOTHING_STEPS, staying at the ends."""
    index = min(range(len(SMOOTHING_STEPS)), key=lambda i: abs(SMOOTHING_STEPS[i] - current))
    return SMOOTHING_STEPS[max(0, min(len(SMOOTHING_STEPS) - 1, index + direction))]


def epoch_ticks(last_epoch: int, most: int = 8) -> list[int]:
    """Whole-number epoch ticks, at most `most` of them (1, 2, 3 … or every k-th)."""
    if last_epoch < 1:
        return []
    step = max(1, math.ceil(last_epoch / most))
    return list(range(1, last_epoch + 1, step))


def step_ticks(last_step: float, most: int = 6) -> list[int]:
    """Round-number step ticks from 0 (a 1, 2 or 5 times a power of ten apart), at most `most` + 1 of them."""
    if last_step < 1:
        return []
    raw = last_step / most
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    spacing = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return list(range(0, int(last_step) + 1, int(spacing)))


def axis_label(axis: str, steps_known: bool = True) -> str:
    """The x axis's name; a step axis without known batches per epoch is drawn by epoch and named so."""
    return "epoch" if axis == "step" and not steps_known else X_LABELS[axis]


def epoch_x(history: Sequence[dict[str, Any]], axis: str, batches_per_epoch: int = 0) -> list[float]:
    """Where each epoch record sits on the x axis: its number, its last step, or minutes of training.

    Time adds up each epoch's training and validation seconds, so pauses and restarts do not
    stretch it; without a known batch count a step axis falls back to epochs.
    """
    if axis == "step" and batches_per_epoch > 0:
        return [float(h["epoch"] * batches_per_epoch) for h in history]
    if axis == "time":
        total, out = 0.0, []
        for h in history:
            total += float(h.get("seconds") or 0.0) + float(h.get("val_seconds") or 0.0)
            out.append(total / 60)
        return out
    return [float(h["epoch"]) for h in history]


def batch_x(steps: Sequence[int], minutes: Sequence[float], axis: str, batches_per_epoch: int) -> list[float]:
    """Where each per-batch reading sits: its global step, its epoch as a fraction, or minutes since the start."""
    if axis == "time" and len(minutes) == len(steps):
        return [float(m) for m in minutes]
    if axis == "epoch" and batches_per_epoch > 0:
        return [s / batches_per_epoch for s in steps]
    return [float(s) for s in steps]


def batches_per_epoch(config: dict[str, Any]) -> int:
    """Training batches per epoch from a run's resolved settings (0 when they are not recorded)."""
    try:
        return int(config["train_size"]) // int(config["batch_size"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return 0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) without numpy, for small chart series."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def fitted_range(curves: Sequence[Sequence[float]], per_batch: bool, log: bool = False) -> tuple[float, float] | None:
    """A y range that ignores outliers: the epochs after the first, or a per-batch curve's 2nd-98th percentile.

    None when there is too little to fit (the chart then fits all the data, as it would anyway).
    """
    if per_batch:
        kept = [v for curve in curves for v in curve if math.isfinite(v)]
        if kept:
            low, high = (percentile(kept, q) for q in FIT_PERCENTILES)
            kept = [v for v in kept if low <= v <= high]
    else:
        kept = [v for curve in curves for v in curve[1:] if math.isfinite(v)]
    if log:
        kept = [v for v in kept if v > 0]
    if len(kept) < 2 or min(kept) == max(kept):
        return None
    low, high = min(kept), max(kept)
    if log:  # pad by a share of the decades spanned, so the ends sit inside the frame
        pad = (high / low) ** 0.05
        return low / pad, high * pad
    pad = (high - low) * 0.05
    return low - pad, high + pad
