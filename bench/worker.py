"""Ways (a) and (b) in a child process of their own, so they run the way a user would run them.

The engine raises glibc's malloc thresholds for its whole process (`digitsum.allocator`); run in
the engine's process, the baselines would get that speed-up too and the ratios would hide it.
The child is spawned (a fresh interpreter, the C library's defaults) and does one thing at a
time on request, while the engine's process waits, so the interleaving stays as it was.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.breakdown import assignment_phases
from bench.pipelines import AssignmentPipeline, PlainLoop, synchronize
from bench.sizes import Sizes


def images_per_s(way, images: int) -> float:
    """One timed repeat of about `images` images, after one untimed batch that settles caches and threads.

    On a GPU the clock is read only when the device has finished the work queued before it.
    """
    batches = max(1, images // way.batch_size)
    way.run(1)
    synchronize(way.device)
    started = time.perf_counter()
    way.run(batches)
    synchronize(way.device)
    return batches * way.batch_size / (time.perf_counter() - started)


def _serve(
    conn,
    model: str,
    images: np.ndarray,
    sums: np.ndarray,
    sizes: Sizes,
    with_assignment: bool,
    threads: int,
    device: str = "cpu",
) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        ways: dict[str, Any] = {PlainLoop.label: PlainLoop(model, images, sums, sizes.batch, device=device)}
        if with_assignment:
            ways[AssignmentPipeline.label] = AssignmentPipeline(model, images, sums, sizes.assignment_batch, device)
    except Exception as exc:  # e.g. no CUDA context in the child: say why in the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", sorted(ways)))
    while True:
        command, label, amount = conn.recv()
        if command == "close":
            return
        try:
            conn.send(("ok", _answer(ways[label], command, amount)))
        except Exception as exc:  # report it in the parent, which owns the console
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _answer(way, command: str, amount: int) -> Any:
    if command == "warm":
        way.run(amount)
        return None
    if command == "time":
        return images_per_s(way, amount)
    if command == "phases":
        return assignment_phases(way, amount)
    raise ValueError(f"unknown command {command!r}")


class BaselineProcess:
    """The parent's handle: `labels` names the ways it runs; `ask` runs one command there."""

    def __init__(
        self,
        model: str,
        images: np.ndarray,
        sums: np.ndarray,
        sizes: Sizes,
        with_assignment: bool,
        threads: int,
        device: str = "cpu",
    ) -> None:
        context = mp.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, daemon=True, args=(child, model, images, sums, sizes, with_assignment, threads, device)
        )
        self.process.start()
        child.close()
        status, answer = self.conn.recv()
        if status == "error":
            self.process.join(timeout=10)
            raise RuntimeError(f"bench baseline process on {device}: {answer}")
        self.labels: list[str] = answer

    def ask(self, command: str, label: str, amount: int) -> Any:
        self.conn.send((command, label, amount))
        status, answer = self.conn.recv()
        if status == "error":
            raise RuntimeError(f"bench baseline {label!r}: {answer}")
        return answer

    def runner(self, command: str, label: str) -> Callable[[int], Any]:
        return lambda amount: self.ask(command, label, amount)

    def __enter__(self) -> BaselineProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self.process.is_alive():
            self.conn.send(("close", "", 0))
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
