"""Using a saved model: predictions, metrics and per-digit readings for a checkpoint on any data source."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitsum.checkpoints import load_checkpoint, model_from_checkpoint
from digitsum.data import eval_set
from digitsum.reading import Reading, can_read, read_digits


@dataclass
class Predictor:
    """A checkpoint's model on its device, run with the precision evaluation uses."""

    model: nn.Module
    device: torch.device
    precision: torch.dtype | None

    @classmethod
    def of(cls, model: nn.Module, device: str = "auto") -> Predictor:
        from digitsum.engine import pick_device, pick_precision

        dev = pick_device(device)
        return cls(model.to(dev), dev, pick_precision("auto", dev))

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Predictor:
        return cls.of(model_from_checkpoint(load_checkpoint(path), path), device)

    def evaluate(self, images: np.ndarray, sums: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        """Metrics and predictions exactly as validation computes them."""
        from digitsum.engine import evaluate

        return evaluate(self.model, images, sums, self.device, self.precision)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Float predictions for images without a known sum (e.g. the user's own files)."""
        return self.evaluate(images, np.zeros(len(images), dtype=np.int64))[1]

    @property
    def reads_digits(self) -> bool:
        return can_read(self.model)

    def read(self, images: np.ndarray) -> list[Reading | None]:
        """Each image's per-digit reading (see digitsum.reading); None each for a model whose head has none."""
        return read_digits(self.model, images, self.device, self.precision) or [None] * len(images)


@dataclass
class Evaluation:
    """A checkpoint judged on a set of images: metrics plus every prediction.

    `digits` (N,4) are the composites' true digits where the composer knows them (display only);
    readings are computed on demand (a few ms an image) rather than for the whole set up front.
    """

    checkpoint: str
    data: str
    images: np.ndarray
    targets: np.ndarray
    predictions: np.ndarray
    metrics: dict[str, float]
    digits: np.ndarray | None = None
    predictor: Predictor | None = None
    _readings: dict[int, Reading] = field(default_factory=dict, init=False, repr=False, compare=False)

    def summary(self) -> dict[str, Any]:
        return {"n": int(len(self.targets)), **self.metrics}

    def readings(self, indices: Iterable[int]) -> list[Reading | None]:
        """The readings of these images (cached); None each where the model has no per-digit structure."""
        indices = [int(i) for i in indices]
        if self.predictor is None or not self.predictor.reads_digits:
            return [None] * len(indices)
        todo = [i for i in dict.fromkeys(indices) if i not in self._readings]
        if todo:
            self._readings.update(zip(todo, self.predictor.read(self.images[todo])))
        return [self._readings[i] for i in indices]

    def reading(self, index: int) -> Reading | None:
        return self.readings([index])[0]

    def true_digits(self, index: int) -> list[int] | None:
        return None if self.digits is None else [int(d) for d in self.digits[index]]


def evaluate_checkpoint(
    path: str | Path, data: str | None = None, device: str = "auto", limit: int | None = None
) -> Evaluation:
    """Load a checkpoint and judge it on `data` (default: the data it was trained on)."""
    ckpt = load_checkpoint(path)
    predictor = Predictor.of(model_from_checkpoint(ckpt, path), device)
    info = ckpt.get("data") or {}
    spec = data or info.get("spec") or "builtin"
    found = eval_set(spec, seed=int(ckpt.get("seed", 0)), val_size=int(info.get("val_size") or 6000))
    images, sums, digits = found.images, found.sums, found.digits
    if limit is not None:
        images, sums = images[:limit], sums[:limit]
        digits = None if digits is None else digits[:limit]
    metrics, preds = predictor.evaluate(images, sums)
    return Evaluation(str(path), found.description, images, sums, preds, metrics, digits, predictor)
