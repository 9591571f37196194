"""Evaluation throughput (fp32 vs the engine's auto precision) and fp32-vs-bf16 agreement.

Both use `digitsum.engine.evaluate` on validation composites, interleaved fp32/auto per repeat.
The model is the one the engine trained during the training bench, topped up with more of
the engine's own step (bf16 autocast where native, channels_last) to `agree_steps` steps, so
its predictions spread over the sum range rather than sitting near the offset.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from bench.pipelines import PlainLoop, precision_name
from bench.sizes import Sizes
from digitsum.engine import evaluate, pick_precision


def top_up(
    model: torch.nn.Module, precision: torch.dtype | None, done: int, images: np.ndarray, sums: np.ndarray, sizes: Sizes
) -> int:
    """Train `model` (already `done` steps) with the engine's step until `agree_steps`; returns the total."""
    missing = max(0, sizes.agree_steps - done)
    if missing:
        PlainLoop(
            None, images, sums, sizes.agree_batch, model=model, precision=precision, channels_last=True, seed=1
        ).run(missing)
    return done + missing


def measure_eval(
    model: torch.nn.Module, images: np.ndarray, sums: np.ndarray, sizes: Sizes, device: str = "cpu"
) -> dict:
    """Images/s of evaluate() on `device` in fp32 and in auto precision, plus the agreement of their predictions.

    evaluate() copies each batch of uint8 images to the device and its predictions back, so on a
    GPU every call ends synchronized and the wall clock is fair.
    """
    device = torch.device(device)
    model.to(device)
    modes = {"fp32": None, "auto": pick_precision("auto", device)}
    samples: dict[str, list[float]] = {name: [] for name in modes}
    results: dict[str, tuple[dict, np.ndarray]] = {}
    for precision in modes.values():  # warm-up, untimed
        evaluate(model, images[: sizes.batch], sums[: sizes.batch], device, precision)
    for repeat in range(sizes.repeats):
        for name in list(modes) if repeat % 2 == 0 else list(reversed(modes)):
            started = time.perf_counter()
            results[name] = evaluate(model, images, sums, device, modes[name])
            samples[name].append(len(images) / (time.perf_counter() - started))
    ratios = [a / f for a, f in zip(samples["auto"], samples["fp32"])]
    return {
        "device": str(device),
        "auto_precision": precision_name(modes["auto"]),
        "images_per_s": {name: statistics.median(s) for name, s in samples.items()},
        "ratio_auto_over_fp32": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "agreement": agreement(results["fp32"], results["auto"]),
    }


def agreement(fp32: tuple[dict, np.ndarray], auto: tuple[dict, np.ndarray]) -> dict:
    """How far bf16-autocast predictions stray from fp32 ones, and what that does to the metrics."""
    (m32, p32), (mlo, plo) = fp32, auto
    diff = np.abs(p32.astype(np.float64) - plo.astype(np.float64))
    r32, rlo = torch.round(torch.from_numpy(p32)), torch.round(torch.from_numpy(plo))
    return {
        "n": int(len(p32)),
        "prediction_std_fp32": float(np.std(p32)),
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "round_agree": float((r32 == rlo).double().mean()) if diff.size else 1.0,
        "fp32": {k: m32[k] for k in ("loss", "mae", "round_acc")},
        "auto": {k: mlo[k] for k in ("loss", "mae", "round_acc")},
    }
