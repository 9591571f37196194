"""Train and validation sets as in-memory uint8 tensors, normalized per batch on the device.

For digit-pool sources (builtin, IDX) the training composites can be drawn afresh every
epoch, deterministically from (seed, epoch), so a resumed run sees the same data. Those
fresh draws happen on the training device (a GPU composes its own epochs); the validation
set and the first training set are always composed on the CPU, so they are the same images
whatever device trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from digitsum.composites import Augmentation, compose, generator_for
from digitsum.errors import BadInput
from digitsum.sources import DigitPools, ImageSet, open_source

MEAN, STD = 0.5, 0.5  # Normalize(0.5, 0.5) after ToTensor's /255
TRAIN_STREAM, VAL_STREAM = (1, 1), (0, 2)  # (epoch, stream) after the seed: the first training set, validation


def normalize(batch_uint8):
    """ToTensor + Normalize(0.5, 0.5) for a whole uint8 batch (N,H,W) -> float (N,1,H,W)."""
    return batch_uint8.unsqueeze(1).float().mul_(1.0 / (255.0 * STD)).sub_(MEAN / STD)


@dataclass(frozen=True)
class TensorPools:
    """Two disjoint digit pools as CPU torch tensors: (P,28,28) uint8 digits, (P,) int64 labels."""

    train_digits: torch.Tensor
    train_labels: torch.Tensor
    val_digits: torch.Tensor
    val_labels: torch.Tensor
    description: str

    @classmethod
    def of(cls, source: DigitPools) -> TensorPools:
        def digits(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.uint8))

        def labels(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))

        return cls(
            digits(source.train_digits),
            labels(source.train_labels),
            digits(source.val_digits),
            labels(source.val_labels),
            source.description,
        )


def compose_on_cpu(
    digits: torch.Tensor,
    labels: torch.Tensor,
    count: int,
    seed_parts,
    augment: bool | Augmentation = False,
    with_digits: bool = False,
):
    """Composites drawn on the CPU from `generator_for(seed_parts)`, as numpy uint8 images and int64 sums.

    `with_digits` adds each composite's four digit labels, left to right (N,4), for display only.
    """
    drawn = compose(
        digits.cpu(), labels.cpu(), count, generator_for(seed_parts, "cpu"), augment=augment, return_layout=with_digits
    )
    images, sums = drawn[0].numpy(), drawn[1].numpy()
    if not with_digits:
        return images, sums
    return images, sums, labels.cpu()[drawn[2].picks].numpy()  # the composer places digit k left of digit k+1


@dataclass
class DataBundle:
    """What the engine trains on; `train_for_epoch` hides whether composites are redrawn.

    `train_images` / `train_sums` (the fixed first training set) and `val_images` / `val_sums`
    are numpy arrays, uint8 (N,40,168) and int64 (N,); `train_for_epoch` returns torch tensors.
    `pools` holds the digit pools as CPU torch tensors when the source has them (else None).
    """

    train_images: np.ndarray
    train_sums: np.ndarray
    val_images: np.ndarray
    val_sums: np.ndarray
    description: str
    pools: TensorPools | None = None
    seed: int = 0
    augment: bool | Augmentation = False  # True: the default bending
    fresh_each_epoch: bool = False
    _pool_on: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def train_for_epoch(self, epoch: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Training images (uint8) and sums (int64) for `epoch`, as torch tensors on `device` (default CPU).

        Epoch 1 is the fixed set (shared with `train_images`, not copied, on the CPU); later epochs
        draw new composites on `device` from `generator_for((seed, epoch, 1), device)` when a pool
        is at hand and `fresh_each_epoch` is set, else they reuse the fixed set.
        """
        device = torch.device(device or "cpu")
        if self.pools is None or not self.fresh_each_epoch or epoch <= 1:
            return torch.from_numpy(self.train_images).to(device), torch.from_numpy(self.train_sums).to(device)
        digits, labels = self._train_pool_on(device)
        generator = generator_for((self.seed, epoch, TRAIN_STREAM[1]), device)
        return compose(digits, labels, len(self.train_sums), generator, augment=self.augment)

    def _train_pool_on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._pool_on:
            self._pool_on[key] = (self.pools.train_digits.to(device), self.pools.train_labels.to(device))
        return self._pool_on[key]


def load_data(
    spec: str,
    *,
    seed: int = 0,
    train_size: int = 24_000,
    val_size: int = 6_000,
    augment: bool | Augmentation = False,
    fresh_each_epoch: bool = False,
) -> DataBundle:
    """Open a source and build its train/validation split (seeded, reproducible)."""
    source = open_source(spec)
    if isinstance(source, ImageSet):
        return _split_images(source, seed)
    pools = TensorPools.of(source)
    tr_x, tr_y = compose_on_cpu(pools.train_digits, pools.train_labels, train_size, (seed, *TRAIN_STREAM), augment)
    va_x, va_y = compose_on_cpu(pools.val_digits, pools.val_labels, val_size, (seed, *VAL_STREAM))
    return DataBundle(tr_x, tr_y, va_x, va_y, source.description, pools, seed, augment, fresh_each_epoch)


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


@dataclass(frozen=True)
class EvalSet:
    """Images to judge a checkpoint on; `digits` (N,4), left to right, where the composer knows what it drew.

    The digits are for display only (which digit a wrong answer misread); training never sees them.
    """

    images: np.ndarray
    sums: np.ndarray
    description: str
    digits: np.ndarray | None = None


def eval_set(spec: str, *, seed: int = 0, val_size: int = 6_000) -> EvalSet:
    """All of an assignment folder (digits unknown), else the validation composites with their digits."""
    source = open_source(spec)
    if isinstance(source, ImageSet):
        return EvalSet(source.images, source.sums, source.description + ", all images")
    pools = TensorPools.of(source)
    images, sums, digits = compose_on_cpu(
        pools.val_digits, pools.val_labels, val_size, (seed, *VAL_STREAM), with_digits=True
    )
    return EvalSet(images, sums, source.description + f", {val_size:,} validation composites", digits)
