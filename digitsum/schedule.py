"""The learning-rate schedule, in one place for the engine that follows it and the charts that draw it."""

from __future__ import annotations

import math


def one_cycle_lr(step: int, total: int, max_lr: float, warmup: float = 0.25) -> float:
    """Linear warm-up from max_lr/25, then cosine down to max_lr/1e4 (one-cycle shape)."""
    start, end = max_lr / 25, max_lr / 1e4
    done = min(step / max(total, 1), 1.0)
    if done < warmup:
        return start + (max_lr - start) * done / warmup
    progress = (done - warmup) / (1 - warmup)
    return end + (max_lr - end) * 0.5 * (1 + math.cos(math.pi * progress))


def schedule_points(total: int, max_lr: float, points: int = 120) -> tuple[list[int], list[float]]:
    """The whole planned schedule at up to `points` evenly spaced steps (the last step included)."""
    if total < 1:
        return [], []
    steps = sorted({round(k * total / points) for k in range(points + 1)})
    return steps, [one_cycle_lr(s, total, max_lr) for s in steps]
