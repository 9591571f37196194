"""The numpy composer the library used before the torch one, kept as a yardstick for the tests.

`compose`, `_paste_row`, `_bounding_boxes`, `augment_digits` and `augmented_pool` are the old
`digitsum/composites.py` verbatim (a Python loop per image, numpy randomness).
`replay_layout` re-draws what one `compose` call drew, from a copy of its generator.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

HEIGHT, WIDTH = 40, 168
DIGITS_PER_IMAGE = 4
FIRST_X = (5, 15)
GAP = (0, 30)
AUGMENT_CHUNK = 4096  # digits warped at once: bounds the float grids' memory


@dataclass(frozen=True)
class Augmentation:
    """How far each training digit may be bent: the lever against a 4,000-digit pool."""

    degrees: float = 12.0
    zoom: tuple[float, float] = (0.85, 1.15)
    shear: float = 0.15
    elastic: float = 1.0  # pixels of smooth random displacement
    thickness: float = 0.3  # share of digits thickened or thinned by one pixel


DEFAULT_AUGMENTATION = Augmentation()


def augment_digits(digits: np.ndarray, rng: np.random.Generator, aug: Augmentation | None = None) -> np.ndarray:
    """Rotate, zoom, shear and elastically bend each 28x28 digit in one batched grid_sample."""
    import torch
    import torch.nn.functional as F

    aug = aug or DEFAULT_AUGMENTATION
    n = len(digits)
    if n == 0:
        return digits
    pad = 2
    x = torch.from_numpy(np.pad(digits, ((0, 0), (pad, pad), (pad, pad)))).float().unsqueeze(1)
    angle = np.deg2rad(rng.uniform(-aug.degrees, aug.degrees, n))
    scale = rng.uniform(*aug.zoom, n)
    shear = rng.uniform(-aug.shear, aug.shear, n)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    theta = np.zeros((n, 2, 3), dtype=np.float32)
    theta[:, 0, 0], theta[:, 0, 1] = cos, cos * shear - sin
    theta[:, 1, 0], theta[:, 1, 1] = sin, sin * shear + cos
    size = x.shape[-1]
    grid = F.affine_grid(torch.from_numpy(theta), list(x.shape), align_corners=False)
    if aug.elastic > 0:
        coarse = torch.from_numpy(rng.normal(0, aug.elastic * 2 / size, (n, 2, 4, 4)).astype(np.float32))
        grid = grid + F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if aug.thickness > 0:
        out = _vary_thickness(out, rng.random(n), aug.thickness)
    return out.squeeze(1).clamp_(0, 255).round_().to(torch.uint8).numpy()


def _vary_thickness(x, draw: np.ndarray, share: float):
    """Dilate (draw < share/2) or erode (share/2 <= draw < share) a digit by a 2x2 window."""
    import torch
    import torch.nn.functional as F

    thick = torch.from_numpy(np.flatnonzero(draw < share / 2))
    thin = torch.from_numpy(np.flatnonzero((draw >= share / 2) & (draw < share)))
    x[thick] = F.max_pool2d(F.pad(x[thick], (0, 1, 0, 1)), 2, stride=1)
    x[thin] = -F.max_pool2d(F.pad(-x[thin], (0, 1, 0, 1)), 2, stride=1)
    return x


def augmented_pool(
    digits: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator, max_copies: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """A few fresh augmented variants of every pool digit: far cheaper than one per placement."""
    copies = int(min(max_copies, max(1, np.ceil(count * DIGITS_PER_IMAGE / len(digits)))))
    pool = np.concatenate([digits] * copies)
    chunks = [augment_digits(pool[i : i + AUGMENT_CHUNK], rng) for i in range(0, len(pool), AUGMENT_CHUNK)]
    return np.concatenate(chunks), np.concatenate([labels] * copies)


def _bounding_boxes(digits: np.ndarray) -> np.ndarray:
    """(top, bottom, left, right) of the non-zero pixels of each digit; a blank digit keeps 1x1."""
    rows = digits.any(axis=2)
    cols = digits.any(axis=1)
    h, w = digits.shape[1:]
    top = rows.argmax(axis=1)
    bottom = h - rows[:, ::-1].argmax(axis=1)
    left = cols.argmax(axis=1)
    right = w - cols[:, ::-1].argmax(axis=1)
    blank = ~rows.any(axis=1)
    top[blank], bottom[blank], left[blank], right[blank] = 0, 1, 0, 1
    return np.stack([top, bottom, left, right], axis=1)


def compose(
    digits: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator, augment: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `count` composites of four pool digits; returns uint8 images and int64 sums."""
    if augment:
        digits, labels = augmented_pool(digits, labels, count, rng)
    picks = rng.integers(0, len(digits), size=(count, DIGITS_PER_IMAGE))
    chosen = digits[picks.ravel()]
    boxes = _bounding_boxes(chosen).reshape(count, DIGITS_PER_IMAGE, 4)
    chosen = chosen.reshape(count, DIGITS_PER_IMAGE, *chosen.shape[1:])
    first_x = rng.integers(FIRST_X[0], FIRST_X[1] + 1, size=count)
    gaps = rng.integers(GAP[0], GAP[1] + 1, size=(count, DIGITS_PER_IMAGE - 1))
    y_jitter = rng.random(size=(count, DIGITS_PER_IMAGE))
    images = np.zeros((count, HEIGHT, WIDTH), dtype=np.uint8)
    for i in range(count):
        _paste_row(images[i], chosen[i], boxes[i], int(first_x[i]), gaps[i], y_jitter[i])
    sums = labels[picks].sum(axis=1).astype(np.int64)
    return images, sums


def _paste_row(
    canvas: np.ndarray, digits: np.ndarray, boxes: np.ndarray, x: int, gaps: np.ndarray, y_jitter: np.ndarray
) -> None:
    """Place four cropped digits left to right; shrink the gaps when they would not fit."""
    widths = [min(int(right - left), WIDTH) for _, _, left, right in boxes]
    free = WIDTH - x - sum(widths)
    gaps = [int(g) for g in gaps]
    if sum(gaps) > free:
        scale = max(free, 0) / max(sum(gaps), 1)
        gaps = [int(g * scale) for g in gaps]
    for k, (top, bottom, left, right) in enumerate(boxes):
        crop = digits[k, top:bottom, left:right][:HEIGHT, :WIDTH]
        h, w = crop.shape
        y = int(y_jitter[k] * (HEIGHT - h + 1))
        x = min(x, WIDTH - w)
        region = canvas[y : y + h, x : x + w]
        np.maximum(region, crop, out=region)
        x += w + (gaps[k] if k < len(gaps) else 0)


@dataclass(frozen=True)
class ReferenceLayout:
    """Where `compose` put each crop: the same quantities as `digitsum.composites.Layout`, in numpy."""

    digits: np.ndarray
    picks: np.ndarray
    first_x: np.ndarray
    gaps: np.ndarray
    jitter: np.ndarray
    boxes: np.ndarray
    x: np.ndarray
    y: np.ndarray


def replay_layout(
    digits: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator, augment: bool = False
) -> ReferenceLayout:
    """What `compose(digits, labels, count, rng, augment)` draws, from a copy of `rng` (left untouched).

    The draws are taken in `compose`'s order; the placements follow `_paste_row` step by step.
    """
    rng = copy.deepcopy(rng)
    if augment:
        digits, labels = augmented_pool(digits, labels, count, rng)
    picks = rng.integers(0, len(digits), size=(count, DIGITS_PER_IMAGE))
    boxes = _bounding_boxes(digits[picks.ravel()]).reshape(count, DIGITS_PER_IMAGE, 4)
    first_x = rng.integers(FIRST_X[0], FIRST_X[1] + 1, size=count)
    gaps = rng.integers(GAP[0], GAP[1] + 1, size=(count, DIGITS_PER_IMAGE - 1))
    y_jitter = rng.random(size=(count, DIGITS_PER_IMAGE))
    xs = np.zeros((count, DIGITS_PER_IMAGE), np.int64)
    ys = np.zeros((count, DIGITS_PER_IMAGE), np.int64)
    for i in range(count):
        widths = [min(int(right - left), WIDTH) for _, _, left, right in boxes[i]]
        free = WIDTH - int(first_x[i]) - sum(widths)
        row_gaps = [int(g) for g in gaps[i]]
        if sum(row_gaps) > free:
            scale = max(free, 0) / max(sum(row_gaps), 1)
            row_gaps = [int(g * scale) for g in row_gaps]
        x = int(first_x[i])
        for k, (top, bottom, _, _) in enumerate(boxes[i]):
            h = min(int(bottom - top), HEIGHT)
            ys[i, k] = int(y_jitter[i, k] * (HEIGHT - h + 1))
            x = min(x, WIDTH - widths[k])
            xs[i, k] = x
            x += widths[k] + (row_gaps[k] if k < len(row_gaps) else 0)
    return ReferenceLayout(digits, picks, first_x, gaps, y_jitter, boxes, xs, ys)
