"""Train and validation sets as in-memory uint8 tensors, normalized per batch on the device.

For digit-pool sources (builtin, IDX) the training composites can be drawn afresh every
epoch, deterministically from (seed, epoch), so a resumed run sees the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitsum.composites import compose
from digitsum.errors import BadInput
from digitsum.sources import DigitPools, ImageSet, open_source

MEAN, STD = 0.5, 0.5  # Normalize(0.5, 0.5) after ToTensor's /255


def normalize(batch_uint8):
    """ToTensor + Normalize(0.5, 0.5) for a whole uint8 batch (N,H,W) -> float (N,1,H,W)."""
    return batch_uint8.unsqueeze(1).float().mul_(1.0 / (255.0 * STD)).sub_(MEAN / STD)


@dataclass
class DataBundle:
    """What the engine trains on; `train_for_epoch` hides whether composites are redrawn."""

    train_images: np.ndarray
    train_sums: np.ndarray
    val_images: np.ndarray
    val_sums: np.ndarray
    description: str
    pools: DigitPools | None = None
    seed: int = 0
    augment: bool = False
    fresh_each_epoch: bool = False

    def train_for_epoch(self, epoch: int, device=None) -> tuple[np.ndarray, np.ndarray]:
        """Epoch 1 uses the fixed set; later epochs draw new composites when a pool is at hand."""
        if self.pools is None or not self.fresh_each_epoch or epoch <= 1:
            return self.train_images, self.train_sums
        rng = np.random.default_rng([self.seed, epoch, 1])
        return compose(
            self.pools.train_digits, self.pools.train_labels, len(self.train_sums), rng, augment=self.augment
        )


def load_data(
    spec: str,
    *,
    seed: int = 0,
    train_size: int = 24_000,
    val_size: int = 6_000,
    augment: bool = False,
    fresh_each_epoch: bool = False,
) -> DataBundle:
    """Open a source and build its train/validation split (seeded, reproducible)."""
    source = open_source(spec)
    if isinstance(source, ImageSet):
        return _split_images(source, seed)
    rng_train = np.random.default_rng([seed, 1, 1])
    rng_val = np.random.default_rng([seed, 0, 2])
    tr_x, tr_y = compose(source.train_digits, source.train_labels, train_size, rng_train, augment=augment)
    va_x, va_y = compose(source.val_digits, source.val_labels, val_size, rng_val, augment=False)
    return DataBundle(tr_x, tr_y, va_x, va_y, source.description, source, seed, augment, fresh_each_epoch)


def _split_images(source: ImageSet, seed: int) -> DataBundle:
    """Seeded 80/20 split of ready-made images."""
    n = len(source.sums)
    if n < 2:
        raise BadInput(f"{source.description}: need at least 2 images to split train/validation, found {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * 0.2)))
    va, tr = order[:n_val], order[n_val:]
    return DataBundle(
        source.images[tr], source.sums[tr], source.images[va], source.sums[va], source.description + ", split 80/20"
    )


def load_eval_set(spec: str, *, seed: int = 0, val_size: int = 6_000) -> tuple[np.ndarray, np.ndarray, str]:
    """Images to judge a checkpoint on: all of an assignment folder, else the validation composites."""
    source = open_source(spec)
    if isinstance(source, ImageSet):
        return source.images, source.sums, source.description + ", all images"
    rng_val = np.random.default_rng([seed, 0, 2])
    images, sums = compose(source.val_digits, source.val_labels, val_size, rng_val, augment=False)
    return images, sums, source.description + f", {val_size:,} validation composites"
