"""Plan a run's length to end within a wall-clock budget, from a speed probe at its start.

Lightning's `max_time` cuts a run off when time is up; here the number of epochs is fixed
before training, so the one-cycle schedule spans exactly the run that will happen. The
budget counts the whole command: what the process spent before the probe is subtracted.
"""

from __future__ import annotations

import copy
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_BUDGET_MIN = 15.0
PROBE_SECONDS = {"cpu": 6.0, "cuda": 1.0}  # timed training steps, after warm-up steps
WARMUP_STEPS = 3
PROBE_WINDOWS = 3  # the probe's seconds split in three; their median speed is the plan's
END_RESERVE_S = 5.0  # the summary, the history chart and interpreter exit after the last epoch
SAFETY = 0.05  # share of the budget kept back for what the probe cannot see (e.g. a busy neighbour)
# The loop also emits events, draws progress and samples the system, and a shared machine's speed
# wanders: on the 2-core VM here 3-s windows ran at 830-1,450 img/s, and a default run's probe read
# 1,611 img/s where its epochs averaged 981. Planning with 1/1.2 of the probe keeps most runs inside.
LOOP_OVERHEAD = 1.2

_IMPORTED_AT = time.time()


@dataclass
class Plan:
    """How long the run will be and why; recorded in config.json, the checkpoint and the start line."""

    machine: str  # cpu-bf16 | cpu-fp32 | cuda
    recipe: dict[str, Any]  # the machine recipe the `auto` options resolved to
    epochs: int  # planned (or asked for with --epochs)
    recipe_epochs: int  # the recipe's own length
    budget_min: float | None  # None when --epochs fixed the length
    images_per_s: float = 0.0  # training speed measured by the probe
    epoch_s: float = 0.0  # predicted wall time of one epoch: data, training, validation, saves
    spent_s: float = 0.0  # process age when the plan was made (imports, data, model, probe)
    predicted_s: float = 0.0  # predicted wall time of the whole command
    deadline: float = 0.0  # unix time the budget runs out (0 without a budget)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def shortened(self) -> bool:
        return self.epochs < self.recipe_epochs and self.budget_min is not None


def wall_clock() -> float:
    """Unix time: what the budget is counted in (one name, so a test can move it on)."""
    return time.time()


@dataclass
class Deadline:
    """The budget's end while a planned run trains: the plan's safety belt for a machine that slows down.

    The plan is fixed before training, from a few seconds of probe; a shared machine can slow
    for minutes after it. An epoch that would end past the budget is not begun. Pauses push the end back
    (a paused run waits on its user, not on the plan).
    """

    at: float  # unix time

    def extend(self, seconds: float) -> None:
        self.at += seconds

    def fits(self, epoch_s: float) -> bool:
        """Whether one more epoch like the last, and the run's end, finish before the budget does."""
        return wall_clock() + epoch_s + END_RESERVE_S <= self.at


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc), else since digitsum was imported."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time() - _IMPORTED_AT


def plan_epochs(budget_min: float, recipe_epochs: int, epoch_s: float, spent_s: float) -> tuple[int, float]:
    """The most epochs (at most the recipe's) that end inside the budget, and the predicted total seconds."""
    usable = budget_min * 60 * (1 - SAFETY) - spent_s - END_RESERVE_S
    fits = math.floor(usable / epoch_s) if epoch_s > 0 else recipe_epochs
    epochs = max(1, min(recipe_epochs, fits))
    return epochs, spent_s + epochs * epoch_s + END_RESERVE_S


def time_steps(
    step: Callable[[], None],
    sync: Callable[[], None],
    seconds: float,
    windows: int = PROBE_WINDOWS,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Steps per second: the median of `windows` back-to-back windows after a short warm-up, so one
    stall (a neighbour's burst, a page-in) inside the few seconds does not shorten a 15-minute plan."""
    for _ in range(WARMUP_STEPS):
        step()
    sync()
    rates = []
    for _ in range(windows):
        started, steps = clock(), 0
        while steps < 5 or clock() - started < seconds / windows:
            step()
            steps += 1
            if steps % 5 == 0:
                sync()
        sync()
        rates.append(steps / max(clock() - started, 1e-9))
    return statistics.median(rates)


def probe_training(model, make_optimizer, batch: Callable[[], tuple], train_step, device, batch_size: int) -> float:
    """Training images per second of a throw-away copy of `model`: the run's own weights and RNG stay untouched.

    `batch()` gives a fresh (x, y) each step, gathered as the loop gathers them (cold caches included).
    """
    import torch

    scratch = copy.deepcopy(model)
    optimizer = make_optimizer(scratch)
    cpu_rng = torch.random.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if device.type == "cuda" else None

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    try:
        steps_per_s = time_steps(lambda: train_step(scratch, optimizer, *batch()), sync, PROBE_SECONDS[device.type])
    finally:
        torch.random.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
    return steps_per_s * batch_size


def timed(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
