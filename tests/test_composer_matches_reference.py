"""The torch composer draws composites with the same statistics as the old numpy one.

24,000 composites from the builtin training pool with each composer on the CPU, without and
with augmentation. Tolerances: means and spreads agree within 2 % relative (`REL`); shares
(of images, of pixels, of each sum) within 2 percentage points absolute (`POINTS`).
Placements come from `compose(..., return_layout=True)` for the torch composer and from
`reference_composer.replay_layout` (the same draws, replayed) for the numpy one.
Marked slow: drawing 4 x 24,000 composites (two with the old per-image loop) and replaying the
old layouts takes 10-15 s on a 2-core machine. The fast guard that runs everywhere is
tests/test_composites.py, which repaints the torch composer's draws with the old painter.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import reference_composer as ref
import torch

from digitsum import composites
from digitsum.sources import builtin_pools

COUNT = 24_000
REL, POINTS = 0.02, 0.02
SHARES = (
    "images with overlapping digit boxes",
    "images where digits share a lit pixel",
    "zero pixels",
    "lit pixels below 128",
    "lit pixels >= 250",
    "lit pixels at 255",
)


def statistics(images: np.ndarray, sums: np.ndarray, digits, picks, boxes, x, y) -> dict[str, float]:
    """One composer's figures; `digits[picks]` are the chosen crops, `x`, `y` their top-left corners."""
    w, h = boxes[..., 3] - boxes[..., 2], boxes[..., 1] - boxes[..., 0]
    right, bottom = x + w, y + h
    overlap = np.zeros(len(x), bool)
    for a in range(4):
        for b in range(a + 1, 4):
            overlap |= (
                (x[:, a] < right[:, b]) & (x[:, b] < right[:, a]) & (y[:, a] < bottom[:, b]) & (y[:, b] < bottom[:, a])
            )
    lit_per_digit = np.count_nonzero(digits.reshape(len(digits), -1), axis=1)
    lit_per_image = np.count_nonzero(images.reshape(len(images), -1), axis=1)
    histogram = torch.bincount(torch.from_numpy(images).view(-1), minlength=256).double().numpy()
    lit = histogram[1:].sum()
    stats = {
        "first digit x: mean": x[:, 0].mean(),
        "first digit x: std": x[:, 0].std(),
        "gap between digits: mean": (x[:, 1:] - right[:, :-1]).mean(),
        "vertical offset: mean": y.mean(),
        "images with overlapping digit boxes": overlap.mean(),
        "images where digits share a lit pixel": (lit_per_image < lit_per_digit[picks].sum(axis=1)).mean(),
        "zero pixels": histogram[0] / histogram.sum(),
        "lit pixels: mean value": (histogram * np.arange(256)).sum() / lit,
        "lit pixels per image: mean": lit_per_image.mean(),
        "lit pixels below 128": histogram[1:128].sum() / lit,
        "lit pixels >= 250": histogram[250:].sum() / lit,
        "lit pixels at 255": histogram[255] / lit,
        "sum: mean": sums.mean(),
        "sum: std": sums.std(),
    }
    frequencies = np.bincount(sums, minlength=37) / len(sums)
    stats.update({f"sum {s}: share": frequencies[s] for s in range(37)})
    return stats


REFERENCE_AUGMENTATION = composites.Augmentation(
    **asdict(ref.DEFAULT_AUGMENTATION)
)  # its own settings, whatever training uses now


def reference_statistics(pools, augment: bool) -> dict[str, float]:
    rng = np.random.default_rng([2024, int(augment)])
    digits, labels = pools.train_digits, pools.train_labels
    if augment:  # what ref.compose(..., augment=True) does first; done once here for the replay and the images
        digits, labels = ref.augmented_pool(digits, labels, COUNT, rng)
    layout = ref.replay_layout(digits, labels, COUNT, rng)
    images, sums = ref.compose(digits, labels, COUNT, rng)
    # the replay saw the same draws: its first crop starts at the images' first lit column
    np.testing.assert_array_equal((images > 0).any(axis=1).argmax(axis=1), layout.x[:, 0])
    return statistics(images, sums, layout.digits, layout.picks, layout.boxes, layout.x, layout.y)


def torch_statistics(pools, augment: bool) -> dict[str, float]:
    digits, labels = torch.from_numpy(pools.train_digits), torch.from_numpy(pools.train_labels.astype(np.int64))
    generator = composites.generator_for((2024, int(augment)))
    bend = REFERENCE_AUGMENTATION if augment else False  # the two composers compared at the same settings
    images, sums, layout = composites.compose(digits, labels, COUNT, generator, augment=bend, return_layout=True)
    parts = (layout.digits, layout.picks, layout.boxes, layout.x, layout.y)
    return statistics(images.numpy(), sums.numpy(), *(t.numpy() for t in parts))


def disagreements(old: dict[str, float], new: dict[str, float]) -> list[str]:
    bad = []
    for name, a in old.items():
        b = new[name]
        shared = name in SHARES or name.endswith(": share")
        ok = abs(a - b) <= POINTS if shared else abs(a - b) <= REL * abs(a)
        if not ok:
            bad.append(f"{name}: numpy {a:.4f}, torch {b:.4f}")
    return bad


@pytest.fixture(scope="module")
def pools():
    return builtin_pools()


@pytest.mark.slow
@pytest.mark.parametrize("augment", [False, True], ids=["plain", "augmented"])
def test_torch_composites_have_the_statistics_of_the_numpy_ones(pools, augment):
    old, new = reference_statistics(pools, augment), torch_statistics(pools, augment)
    assert disagreements(old, new) == []
    # and the sum distribution as a whole: half the summed per-sum differences stays small
    total_variation = sum(abs(old[f"sum {s}: share"] - new[f"sum {s}: share"]) for s in range(37)) / 2
    assert total_variation < 0.03
