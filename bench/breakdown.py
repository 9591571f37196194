"""Where a training batch's time goes: the engine's step phase by phase, and the assignment's loader.

The engine phases replay `Engine._run_epoch` / `_train_step` on the engine's own model and
optimizer (same gather, normalize, `_forward`, loss, backward, Adam step). The assignment
loader figure is the DataLoader alone (per-sample ToTensor + Normalize and collation),
without any model work.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from digitsum.data import normalize
from digitsum.engine import _forward

PHASES = ("gather", "normalize", "forward", "loss+item", "backward", "optimizer")


def engine_phases(engine, images: np.ndarray, sums: np.ndarray, batches: int, batch_size: int) -> dict:
    """Milliseconds per batch of each phase of the engine's step, summed over `batches` batches."""
    model, optimizer, precision = engine.model, engine.optimizer, engine.precision
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(sums).float()
    order = np.random.default_rng(5).permutation(len(sums))
    totals = dict.fromkeys(PHASES, 0.0)
    model.train()
    for b in range(batches + 1):  # the first batch is a warm-up
        marks = [time.perf_counter()]
        start = (b * batch_size) % max(1, len(sums) - batch_size + 1)
        idx = torch.from_numpy(order[start : start + batch_size])
        x, y = x_all[idx], y_all[idx]
        marks.append(time.perf_counter())
        x = normalize(x)
        marks.append(time.perf_counter())
        pred = _forward(model, x, precision)
        marks.append(time.perf_counter())
        loss = nn.functional.mse_loss(pred.float(), y)
        loss.item()
        marks.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        marks.append(time.perf_counter())
        optimizer.step()
        marks.append(time.perf_counter())
        if b:
            for name, t0, t1 in zip(PHASES, marks, marks[1:]):
                totals[name] += t1 - t0
    total = sum(totals.values())
    return {
        "ms_per_batch": {k: 1000 * v / batches for k, v in totals.items()},
        "share": {k: v / total for k, v in totals.items()},
        "batch_size": batch_size,
    }


def assignment_phases(pipeline, batches: int) -> dict:
    """Way (a)'s batch split into the DataLoader fetch and the model's step, over the same batches."""
    model, optimizer, criterion = pipeline.model, pipeline.optimizer, pipeline.criterion
    model.train()
    loader = step = 0.0
    for b in range(batches + 1):
        t0 = time.perf_counter()
        images, labels = pipeline.next_batch()
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(model(images).squeeze(), labels)
        loss.backward()
        optimizer.step()
        loss.item()
        t2 = time.perf_counter()
        if b:
            loader, step = loader + t1 - t0, step + t2 - t1
    return {
        "ms_per_batch": {"loader": 1000 * loader / batches, "model step": 1000 * step / batches},
        "share": {"loader": loader / (loader + step), "model step": step / (loader + step)},
        "batch_size": pipeline.batch_size,
    }


ADAM_KINDS = {"default (engine)": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def adam_variants(model: nn.Module, steps: int) -> dict:
    """Milliseconds per Adam step on copies of `model` with random grads: default vs foreach vs fused.

    The engine builds `torch.optim.Adam(params, lr=...)`, which on CPU is the per-parameter loop.
    Steps of the three kinds are interleaved; medians are reported.
    """
    import copy
    import statistics

    optimizers = {}
    for kind, kwargs in ADAM_KINDS.items():
        clone = copy.deepcopy(model)
        for p in clone.parameters():
            p.grad = torch.randn_like(p)
        try:
            optimizers[kind] = torch.optim.Adam(clone.parameters(), lr=1e-4, **kwargs)
        except (RuntimeError, ValueError, TypeError):
            continue
        optimizers[kind].step()  # warm-up, creates the state
    samples: dict[str, list[float]] = {kind: [] for kind in optimizers}
    for _ in range(max(1, steps)):
        for kind, optimizer in optimizers.items():
            started = time.perf_counter()
            optimizer.step()
            samples[kind].append(1000 * (time.perf_counter() - started))
    return {kind: statistics.median(s) for kind, s in samples.items()}


def thread_probe(
    model: nn.Module, precision, images: np.ndarray, sums: np.ndarray, batches: int, batch_size: int, repeats: int
) -> dict:
    """The engine's step on a copy of `model` with torch at 1 thread vs its default, interleaved.

    On a busy 2-core machine every parallel op waits at an OpenMP barrier for a core the
    scheduler has given away, so one thread can beat two; on an idle machine two should win.
    """
    import copy
    import statistics

    from bench.pipelines import PlainLoop

    default = torch.get_num_threads()
    loop = PlainLoop(
        None, images, sums, batch_size, model=copy.deepcopy(model), precision=precision, channels_last=True
    )
    samples: dict[int, list[float]] = {1: [], default: []}
    try:
        for repeat in range(repeats):
            for threads in (1, default) if repeat % 2 == 0 else (default, 1):
                torch.set_num_threads(threads)
                loop.run(1)  # let the new thread count settle
                started = time.perf_counter()
                loop.run(batches)
                samples[threads].append(batches * batch_size / (time.perf_counter() - started))
    finally:
        torch.set_num_threads(default)
    ratios = [one / many for one, many in zip(samples[1], samples[default])]
    return {
        "threads": default,
        "images_per_s_1_thread": statistics.median(samples[1]),
        "images_per_s_default": statistics.median(samples[default]),
        "ratio_1_over_default": statistics.median(ratios),
    }
