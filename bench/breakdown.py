"""Where a training batch's time goes: the engine's step phase by phase, and the assignment's loader.

The engine phases replay `Engine._run_epoch` / `_train_step` on the engine's own model and
optimizer (same gather, normalize, `autocast_forward`, loss, backward, Adam step). The assignment
loader figure is the DataLoader alone (per-sample ToTensor + Normalize and collation, and on a
GPU the copy to the device), without any model work. On a GPU every phase boundary waits for
the device (`torch.cuda.synchronize`), so each phase is charged its own kernels; that costs a
little overlap the real loop has, so the phases add up to slightly more than a free-running batch.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from bench.pipelines import synchronize
from digitsum.data import normalize
from digitsum.engine import autocast_forward

PHASES = ("gather", "normalize", "forward", "loss+item", "backward", "optimizer")


def engine_phases(engine, images: np.ndarray, sums: np.ndarray, batches: int, batch_size: int) -> dict:
    """Milliseconds per batch of each phase of the engine's step, summed over `batches` batches."""
    model, optimizer, precision = engine.model, engine.optimizer, engine.precision
    device = next(model.parameters()).device
    x_all, y_all = torch.from_numpy(images).to(device), torch.from_numpy(sums).float().to(device)
    order = np.random.default_rng(5).permutation(len(sums))
    totals = dict.fromkeys(PHASES, 0.0)

    def mark() -> float:
        synchronize(device)
        return time.perf_counter()

    model.train()
    for b in range(batches + 1):  # the first batch is a warm-up
        marks = [mark()]
        start = (b * batch_size) % max(1, len(sums) - batch_size + 1)
        idx = torch.from_numpy(order[start : start + batch_size]).to(device)
        x, y = x_all[idx], y_all[idx]
        marks.append(mark())
        x = normalize(x)
        marks.append(mark())
        pred = autocast_forward(model, x, precision)
        marks.append(mark())
        loss = nn.functional.mse_loss(pred.float(), y)
        loss.item()
        marks.append(mark())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        marks.append(mark())
        optimizer.step()
        marks.append(mark())
        if b:
            for name, t0, t1 in zip(PHASES, marks, marks[1:]):
                totals[name] += t1 - t0
    total = sum(totals.values())
    return {
        "ms_per_batch": {k: 1000 * v / batches for k, v in totals.items()},
        "share": {k: v / total for k, v in totals.items()},
        "batch_size": batch_size,
        "device": str(device),
    }


def assignment_phases(pipeline, batches: int) -> dict:
    """Way (a)'s batch split into the DataLoader fetch and the model's step, over the same batches."""
    model, optimizer, criterion = pipeline.model, pipeline.optimizer, pipeline.criterion
    device = pipeline.device
    model.train()
    loader = step = 0.0
    for b in range(batches + 1):
        synchronize(device)
        t0 = time.perf_counter()
        images, labels = pipeline.next_batch()
        synchronize(device)
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(model(images).squeeze(), labels)
        loss.backward()
        optimizer.step()
        loss.item()
        synchronize(device)
        t2 = time.perf_counter()
        if b:
            loader, step = loader + t1 - t0, step + t2 - t1
    return {
        "ms_per_batch": {"loader": 1000 * loader / batches, "model step": 1000 * step / batches},
        "share": {"loader": loader / (loader + step), "model step": step / (loader + step)},
        "batch_size": pipeline.batch_size,
        "device": str(device),
    }


ADAM_KINDS = {"default": {}, "foreach": {"foreach": True}, "fused (engine)": {"fused": True}}


def adam_variants(model: nn.Module, steps: int) -> dict:
    """Milliseconds per AdamW step on copies of `model` (on its device) with random grads.

    The engine builds `torch.optim.AdamW(params, lr=..., weight_decay=..., fused=True)`; torch's
    default is the per-parameter loop on a CPU (foreach on a GPU). Steps of the three kinds are
    interleaved (each waited for on a GPU); medians are reported.
    """
    import copy
    import statistics

    optimizers = {}
    for kind, kwargs in ADAM_KINDS.items():
        clone = copy.deepcopy(model)
        for p in clone.parameters():
            p.grad = torch.randn_like(p)
        try:
            optimizers[kind] = torch.optim.AdamW(clone.parameters(), lr=1e-4, weight_decay=0.1, **kwargs)
            optimizers[kind].step()  # warm-up, creates the state
        except (RuntimeError, ValueError, TypeError):
            optimizers.pop(kind, None)
            continue
    device = next(model.parameters()).device
    samples: dict[str, list[float]] = {kind: [] for kind in optimizers}
    for _ in range(max(1, steps)):
        for kind, optimizer in optimizers.items():
            synchronize(device)
            started = time.perf_counter()
            optimizer.step()
            synchronize(device)
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
