"""Training throughput of ways (a), (b) and (c), interleaved inside one real `Engine.run()`.

The engine is driven for real (its data set-up, loop, gather, normalize, precision choice,
channels_last, one-cycle LR, control checks and events). A subscriber timestamps its batches:
every `chunk` engine batches form one timed engine repeat, and between two engine repeats
the subscriber has one timed repeat of each baseline run, in rotating order, in a child
process with the C library's default allocator settings (`bench/worker.py`). Every repeat,
of every variant, starts with one untimed batch: switching processes leaves caches and the
OpenMP threads cold, and that switch is the bench's artefact, not the variant's speed.
Time spent inside the subscriber is excluded from the engine's repeats, so the sequence is
B A [E] A B [E] B A [E] ... with every engine repeat paired with its neighbouring baselines.

On a GPU (`device` cuda) every variant trains there. The engine reads its losses back, and so
emits its BatchEnds, in windows of `GPU_SYNC_EVERY` batches: the driver counts in whole windows
(warm-up, settling and each timed repeat are multiples of a window, so a repeat never starts or
ends inside one), and synchronizes the device before it reads the clock.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Optional

import numpy as np

from bench.pipelines import AssignmentPipeline, PlainLoop, precision_name, synchronize
from bench.sizes import Sizes
from bench.worker import BaselineProcess, images_per_s
from digitsum.config import RunConfig
from digitsum.control import Control
from digitsum.engine import GPU_SYNC_EVERY, Engine
from digitsum.events import BatchEnd

ASSIGNMENT, PLAIN = AssignmentPipeline.label, PlainLoop.label
ENGINE = "c: digitsum engine"
ASSIGNMENT_HERE = "d: (a) in the engine's process"


@dataclass
class Timed:
    """One variant: how to warm it up (n batches), how to time one repeat (n images -> images/s), its samples."""

    label: str
    warm: Optional[Callable[[int], None]] = None  # None for the engine, which runs itself
    timed: Optional[Callable[[int], float]] = None
    samples: list[float] = field(default_factory=list)

    def time_repeat(self, images: int) -> None:
        self.samples.append(self.timed(images))


def window_for(device: str) -> int:
    """Engine batches per loss read-back: one on a CPU, `GPU_SYNC_EVERY` on a GPU."""
    return GPU_SYNC_EVERY if device.startswith("cuda") else 1


def _whole_windows(batches: int, window: int) -> int:
    return max(1, -(-batches // window)) * window


@dataclass(frozen=True)
class Schedule:
    """The engine's batches, in whole read-back windows: warm-up, then (settle, timed chunk) per repeat."""

    warmup: int
    settle: int
    chunk: int
    repeats: int

    @classmethod
    def of(cls, sizes: Sizes, device: str = "cpu") -> Schedule:
        window = window_for(device)
        return cls(
            warmup=_whole_windows(sizes.warmup_batches, window),
            settle=window,
            chunk=_whole_windows(max(1, sizes.images // sizes.batch), window),
            repeats=sizes.repeats,
        )

    @property
    def batches(self) -> int:
        """Enough for every repeat, plus one more window so the stop lands inside the epoch."""
        return self.warmup + self.repeats * (self.settle + self.chunk) + self.settle


class EngineDriver:
    """Engine subscriber: times engine repeats and runs the baselines' repeats between them."""

    def __init__(
        self, engine_variant: Timed, baselines: list[Timed], sizes: Sizes, control: Control, device: str = "cpu"
    ) -> None:
        self.engine, self.baselines, self.sizes, self.control = engine_variant, baselines, sizes, control
        self.device = device
        self.schedule = Schedule.of(sizes, device)
        self.chunk = self.schedule.chunk
        self.seen = 0
        self.settled = 0  # batches of the untimed settling window seen so far
        self.timed_batches: int | None = None  # engine batches timed in this repeat; None = still settling
        self.chunk_start = 0.0

    def clock(self) -> float:
        synchronize(self.device)  # on a GPU: the batches just reported have finished, steps included
        return time.perf_counter()

    def __call__(self, event) -> None:
        if not isinstance(event, BatchEnd) or self.control.stop_requested:
            return
        self.seen += 1
        if self.seen < self.schedule.warmup:
            return
        if self.seen == self.schedule.warmup:
            self._warm_baselines()
        elif self.timed_batches is None:  # back from the other process: untimed, as the baselines' first batch is
            self.settled += 1
            if self.settled == self.schedule.settle:
                self.timed_batches, self.chunk_start = 0, self.clock()
            return
        else:
            self.timed_batches += 1
            if self.timed_batches < self.chunk:
                return
            self.engine.samples.append(self.chunk * self.sizes.batch / (self.clock() - self.chunk_start))
            if len(self.engine.samples) >= self.sizes.repeats:
                self.control.stop()
                return
        self._run_baselines()
        self.timed_batches, self.settled = None, 0

    def _warm_baselines(self) -> None:
        for variant in self.baselines:
            variant.warm(self.sizes.warmup_batches)

    def _run_baselines(self) -> None:
        turn = len(self.engine.samples)
        order = self.baselines[turn % len(self.baselines) :] + self.baselines[: turn % len(self.baselines)]
        for variant in reversed(order) if turn % 2 else order:
            variant.time_repeat(self.chunk * self.sizes.batch)


def engine_config(model: str, sizes: Sizes, out: str, device: str = "cpu") -> RunConfig:
    """The engine's defaults on `device`, sized so one epoch covers warm-up plus every repeat and its settling."""
    return RunConfig(
        model=model,
        out=out,
        device=device,
        epochs=1,
        batch_size=sizes.batch,
        train_size=Schedule.of(sizes, device).batches * sizes.batch,
        val_size=max(sizes.batch, 16),
    )


def measure_training(
    model: str, images: np.ndarray, sums: np.ndarray, sizes: Sizes, with_assignment: bool = True, device: str = "cpu"
) -> dict:
    """Images/s per variant (median of repeats) on `device`, paired ratios, and the engine-trained model."""
    import torch

    engine_variant = Timed(ENGINE)
    control = Control()
    with (
        BaselineProcess(model, images, sums, sizes, with_assignment, torch.get_num_threads(), device) as remote,
        tempfile.TemporaryDirectory(prefix="digitsum-bench-") as out,
    ):
        baselines = [
            Timed(label, remote.runner("warm", label), remote.runner("time", label)) for label in remote.labels
        ]
        if with_assignment:  # how much of the engine's lead the allocator setting alone would give (a)
            here = AssignmentPipeline(model, images, sums, sizes.assignment_batch, device)
            baselines.append(Timed(ASSIGNMENT_HERE, here.run, partial(images_per_s, here)))
        driver = EngineDriver(engine_variant, baselines, sizes, control, device)
        engine = Engine(engine_config(model, sizes, out, device), control=control, subscribers=[driver])
        engine.run()
        phases = (
            remote.ask("phases", ASSIGNMENT, max(1, driver.chunk * sizes.batch // sizes.assignment_batch))
            if with_assignment
            else None
        )
    variants = sorted(baselines + [engine_variant], key=lambda v: v.label)  # a, b, c, d
    return {
        "variants": {v.label: summarize(v.samples) for v in variants},
        "ratios": paired_ratios(variants),
        "engine": engine,
        "engine_steps": engine.step,
        "device": str(engine.device),
        "precision": precision_name(engine.precision),
        "baseline_precision": "fp32",
        "images_per_repeat": driver.chunk * sizes.batch,
        "model_kwargs": engine.model_kwargs,
        "parameters": sum(p.numel() for p in engine.model.parameters()),
        "assignment_phases": phases,
    }


def summarize(samples: list[float]) -> dict:
    return {
        "images_per_s": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": [round(s, 2) for s in samples],
    }


def paired_ratios(variants: list[Timed]) -> dict:
    """Median over repeats of variant/baseline, each repeat's pair measured back to back."""
    by_label = {v.label: v.samples for v in variants}
    pairs = []
    if ASSIGNMENT in by_label:
        pairs += [
            ("b/a", PLAIN, ASSIGNMENT),
            ("c/a", ENGINE, ASSIGNMENT),
            ("d/a", ASSIGNMENT_HERE, ASSIGNMENT),
            ("c/d", ENGINE, ASSIGNMENT_HERE),
        ]
    pairs.append(("c/b", ENGINE, PLAIN))
    ratios = {}
    for name, num, den in pairs:
        per_repeat = [n / d for n, d in zip(by_label[num], by_label[den])]
        ratios[name] = {"median": statistics.median(per_repeat), "min": min(per_repeat), "max": max(per_repeat)}
    return ratios
