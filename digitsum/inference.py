"""Using a saved model: predictions and metrics for a checkpoint on any data source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitsum.checkpoints import load_checkpoint, model_from_checkpoint
from digitsum.data import load_eval_set


@dataclass
class Evaluation:
    """A checkpoint judged on a set of images: metrics plus every prediction."""

    checkpoint: str
    data: str
    images: np.ndarray
    targets: np.ndarray
    predictions: np.ndarray
    metrics: dict[str, float]

    def summary(self) -> dict[str, Any]:
        return {"n": int(len(self.targets)), **self.metrics}


def evaluate_checkpoint(
    path: str | Path, data: str | None = None, device: str = "auto", limit: int | None = None
) -> Evaluation:
    """Load a checkpoint and judge it on `data` (default: the data it was trained on)."""
    from digitsum.engine import evaluate, pick_device, pick_precision

    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt, path)
    info = ckpt.get("data") or {}
    spec = data or info.get("spec") or "builtin"
    images, sums, description = load_eval_set(
        spec, seed=int(ckpt.get("seed", 0)), val_size=int(info.get("val_size") or 6000)
    )
    if limit is not None:
        images, sums = images[:limit], sums[:limit]
    dev = pick_device(device)
    model.to(dev)
    metrics, preds = evaluate(model, images, sums, dev, pick_precision("auto", dev))
    return Evaluation(str(path), description, images, sums, preds, metrics)
