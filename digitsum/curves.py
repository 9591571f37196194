"""Curves as a chart shows them: smoothed on the whole series first, then averaged down to the width.

Smoothing before downsampling makes the picture independent of the terminal's size (the lesson
of TensorBoard #1127/#6829); the EMA is debiased so its first points are not dragged to zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)  # what `+`/`-` step through


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


def bucket_means(values: Sequence[float], buckets: int) -> tuple[list[float], list[float]]:
    """At most `buckets` points (x = the bucket's middle index, from 1; y = its mean): plotters choke on more."""
    n = len(values)
    if n <= buckets or buckets < 1:
        return [float(i + 1) for i in range(n)], [float(v) for v in values]
    xs, ys = [], []
    for k in range(buckets):
        lo, hi = k * n // buckets, (k + 1) * n // buckets
        if hi > lo:
            chunk = values[lo:hi]
            xs.append((lo + hi + 1) / 2)
            ys.append(sum(chunk) / len(chunk))
    return xs, ys


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
