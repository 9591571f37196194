"""Four-digit composites with the assignment's geometry, built from a pool of 28x28 digits.

Canvas 40x168, digits cropped to their bounding box, first digit at x 5-15, gaps of 0-30 px,
random vertical offset, pixel-wise max where digits overlap. Optional per-digit augmentation
(small rotation and zoom) is what keeps a model from memorising a small digit pool.

Everything runs in torch on the device the digit pool lives on (CPU or CUDA), with every
random draw taken from one `torch.Generator` on that device: the same generator seed gives
the same composites on the same kind of device (a CPU and a GPU draw different ones).
There is no Python loop per image: the placements are computed for all images at once and
the lit pixels of every chosen digit are written with one `scatter_reduce(amax)` per chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

COMPOSER = "torch-1"  # recorded with every run; older checkpoints (numpy composer) lack it
HEIGHT, WIDTH = 40, 168
DIGITS_PER_IMAGE = 4
FIRST_X = (5, 15)
GAP = (0, 30)
AUGMENT_CHUNK = 4096  # digits warped at once: bounds the float grids' memory
PASTE_RUNS = {"cpu": 1 << 15}  # runs of lit pixels pasted at once: a CPU pays for every fresh large buffer
PASTE_RUNS_DEFAULT = 1 << 18
SEGMENT = 32  # lit pixels per run: a digit is pasted as a few runs rather than padded to the largest
AUGMENT_PAD = 2  # an augmented digit is warped on a canvas 2 px larger on every side
MAX_COPIES = 4  # augmented variants of each pool digit per call


@dataclass(frozen=True)
class Augmentation:
    """How far each training digit may be bent: the lever against a 4,000-digit pool."""

    degrees: float = 12.0
    zoom: tuple[float, float] = (0.85, 1.15)
    shear: float = 0.15
    elastic: float = 1.0  # pixels of smooth random displacement
    thickness: float = 0.3  # share of digits thickened or thinned by one pixel


DEFAULT_AUGMENTATION = Augmentation()


@dataclass(frozen=True)
class Layout:
    """What `compose(..., return_layout=True)` drew, all on the pool's device.

    `digits` is the pool the picks index (the augmented copies when augmenting); `first_x`,
    `gaps` (before any shrinking) and `jitter` are the raw draws; `boxes` (top, bottom, left,
    right) are the chosen digits' bounding boxes; `x`, `y` where each crop's top-left corner landed.
    """

    digits: torch.Tensor  # (P', S, S) uint8
    picks: torch.Tensor  # (N, 4) int64 indices into `digits`
    first_x: torch.Tensor  # (N,) int64
    gaps: torch.Tensor  # (N, 3) int64, as drawn
    jitter: torch.Tensor  # (N, 4) float64 in [0, 1)
    boxes: torch.Tensor  # (N, 4, 4) int64
    x: torch.Tensor  # (N, 4) int64
    y: torch.Tensor  # (N, 4) int64


def generator_for(seed_parts: Sequence[int], device: torch.device | str | None = None) -> torch.Generator:
    """A torch.Generator on `device`, seeded with 63 bits derived from e.g. (seed, epoch, stream)."""
    words = np.random.SeedSequence([int(part) for part in seed_parts]).generate_state(2, np.uint32)
    seed = (int(words[0]) << 31) ^ int(words[1])  # < 2**63
    generator = torch.Generator(device=torch.device(device or "cpu"))
    generator.manual_seed(seed)
    return generator


def _uniform(n: int, low: float, high: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device).mul_(high - low).add_(low)


def augment_digits(digits: torch.Tensor, generator: torch.Generator, aug: Augmentation | None = None) -> torch.Tensor:
    """Rotate, zoom, shear and elastically bend each digit in one batched grid_sample.

    (n, S, S) uint8 in, (n, S+4, S+4) uint8 out (2 px of room on every side), on the same device.
    """
    aug = aug or DEFAULT_AUGMENTATION
    n = len(digits)
    if n == 0:
        return digits
    device = digits.device
    x = F.pad(digits.float(), (AUGMENT_PAD,) * 4).unsqueeze(1)
    angle = _uniform(n, -aug.degrees, aug.degrees, generator, device).deg2rad_()
    scale = _uniform(n, *aug.zoom, generator, device)
    shear = _uniform(n, -aug.shear, aug.shear, generator, device)
    cos, sin = angle.cos() / scale, angle.sin() / scale
    zero = torch.zeros_like(cos)
    theta = torch.stack(
        [torch.stack([cos, cos * shear - sin, zero], 1), torch.stack([sin, sin * shear + cos, zero], 1)], 1
    )
    size = x.shape[-1]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    if aug.elastic > 0:
        coarse = torch.randn((n, 2, 4, 4), generator=generator, device=device).mul_(aug.elastic * 2 / size)
        grid += _upsampled(coarse, size).permute(0, 2, 3, 1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if aug.thickness > 0:
        out = _vary_thickness(out, torch.rand(n, generator=generator, device=device), aug.thickness)
    return out.squeeze(1).clamp_(0, 255).round_().to(torch.uint8)


def _upsampled(coarse: torch.Tensor, size: int) -> torch.Tensor:
    """F.interpolate(coarse, (size, size), mode="bilinear", align_corners=False), as two small matmuls.

    Bilinear upsampling is separable: each axis is a fixed (4 -> size) linear map, far cheaper
    applied as a matrix than as the general kernel (the same figures up to float rounding).
    """
    eye = torch.eye(coarse.shape[-1], device=coarse.device, dtype=coarse.dtype)[None]
    along = F.interpolate(eye, size=size, mode="linear", align_corners=False)[0]  # (4, size)
    return along.T @ coarse @ along


def _vary_thickness(x: torch.Tensor, draw: torch.Tensor, share: float) -> torch.Tensor:
    """Dilate (draw < share/2) or erode (share/2 <= draw < share) a digit by a 2x2 window."""
    thick = torch.nonzero(draw < share / 2).squeeze(1)
    thin = torch.nonzero((draw >= share / 2) & (draw < share)).squeeze(1)
    x[thick] = F.max_pool2d(F.pad(x[thick], (0, 1, 0, 1)), 2, stride=1)
    x[thin] = -F.max_pool2d(F.pad(-x[thin], (0, 1, 0, 1)), 2, stride=1)
    return x


def augmented_pool(
    digits: torch.Tensor,
    labels: torch.Tensor,
    count: int,
    generator: torch.Generator,
    max_copies: int = MAX_COPIES,
    aug: Augmentation | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A few fresh augmented variants of every pool digit: far cheaper than one per placement."""
    copies = int(min(max_copies, max(1, math.ceil(count * DIGITS_PER_IMAGE / len(digits)))))
    pool = digits.repeat(copies, 1, 1)
    chunks = [augment_digits(pool[i : i + AUGMENT_CHUNK], generator, aug) for i in range(0, len(pool), AUGMENT_CHUNK)]
    return torch.cat(chunks), labels.repeat(copies)


def bounding_boxes(digits: torch.Tensor) -> torch.Tensor:
    """(top, bottom, left, right) of the non-zero pixels of each digit; a blank digit keeps 1x1."""
    lit = digits > 0
    rows, cols = lit.any(dim=2), lit.any(dim=1)
    h, w = digits.shape[1:]
    r = torch.arange(h, device=digits.device)
    c = torch.arange(w, device=digits.device)
    top = torch.where(rows, r, h).amin(dim=1)
    bottom = torch.where(rows, r + 1, 0).amax(dim=1)
    left = torch.where(cols, c, w).amin(dim=1)
    right = torch.where(cols, c + 1, 0).amax(dim=1)
    boxes = torch.stack([top, bottom, left, right], dim=1)
    blank = ~rows.any(dim=1)
    return torch.where(blank[:, None], torch.tensor([0, 1, 0, 1], device=digits.device), boxes).long()


@dataclass(frozen=True)
class _Segments:
    """The lit pixels of every pool digit, in runs of SEGMENT: a digit owns rows `start[i]:start[i]+count[i]`.

    `offsets` are canvas-flat offsets from the digit crop's top-left corner; unused lanes of a
    digit's last run hold value 0 at offset 0, which the pixel-wise max ignores.
    """

    offsets: torch.Tensor  # (runs, SEGMENT) int64
    values: torch.Tensor  # (runs, SEGMENT) uint8
    start: torch.Tensor  # (P,) int64
    count: torch.Tensor  # (P,) int64


def _lit_segments(digits: torch.Tensor, boxes: torch.Tensor) -> _Segments:
    """Pixels beyond a 40x168 crop are dropped as the crop drops them; a blank digit owns no run."""
    p, _, w = digits.shape
    flat = digits.reshape(p, -1)
    owner, pixel = torch.nonzero(flat, as_tuple=True)  # row-major: grouped by digit, in pixel order
    lit = torch.bincount(owner, minlength=p)
    count = (lit + SEGMENT - 1) // SEGMENT
    start = torch.cumsum(count, 0) - count
    rank = torch.arange(len(owner), device=digits.device) - (torch.cumsum(lit, 0) - lit)[owner]
    run, lane = start[owner] + rank // SEGMENT, rank % SEGMENT
    rows = pixel // w - boxes[owner, 0]
    cols = pixel % w - boxes[owner, 2]
    keep = (rows < HEIGHT) & (cols < WIDTH)
    runs = int(count.sum())
    offsets = torch.zeros((runs, SEGMENT), dtype=torch.int64, device=digits.device)
    values = torch.zeros((runs, SEGMENT), dtype=torch.uint8, device=digits.device)
    offsets[run, lane] = torch.where(keep, rows * WIDTH + cols, 0)
    values[run, lane] = torch.where(keep, flat[owner, pixel], 0)
    return _Segments(offsets, values, start, count)


def _place(
    boxes: torch.Tensor, first_x: torch.Tensor, gaps: torch.Tensor, jitter: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left (x, y) of every crop: left to right, gaps shrunk when they would not fit."""
    h = (boxes[..., 1] - boxes[..., 0]).clamp(max=HEIGHT)
    w = (boxes[..., 3] - boxes[..., 2]).clamp(max=WIDTH)
    free = WIDTH - first_x - w.sum(dim=1)
    total = gaps.sum(dim=1)
    scale = free.clamp(min=0).double() / total.clamp(min=1).double()
    shrunk = (gaps.double() * scale[:, None]).long()  # int() of a non-negative float: truncation
    gaps = torch.where((total > free)[:, None], shrunk, gaps)
    y = (jitter * (HEIGHT - h + 1)).long()
    xs, cursor = [], first_x
    for k in range(DIGITS_PER_IMAGE):
        x = torch.minimum(cursor, WIDTH - w[:, k])
        xs.append(x)
        if k < DIGITS_PER_IMAGE - 1:
            cursor = x + w[:, k] + gaps[:, k]
    return torch.stack(xs, dim=1), y


def compose(
    digits: torch.Tensor,
    labels: torch.Tensor,
    count: int,
    generator: torch.Generator,
    augment: bool | Augmentation = False,
    return_layout: bool = False,
):
    """Draw `count` composites of four pool digits: uint8 images (count,40,168) and int64 sums (count,).

    `digits` (P,28,28) uint8 and `labels` (P,) live on one device; so do `generator` and the results.
    `augment`: True bends each digit with the training augmentation, an `Augmentation` with that one.
    With `return_layout`, a third item describes what was drawn (see `Layout`).
    """
    device = digits.device
    labels = labels.to(device=device, dtype=torch.int64)
    if augment:
        aug = augment if isinstance(augment, Augmentation) else None
        digits, labels = augmented_pool(digits, labels, count, generator, aug=aug)
    picks = torch.randint(0, len(digits), (count, DIGITS_PER_IMAGE), generator=generator, device=device)
    first_x = torch.randint(FIRST_X[0], FIRST_X[1] + 1, (count,), generator=generator, device=device)
    gaps = torch.randint(GAP[0], GAP[1] + 1, (count, DIGITS_PER_IMAGE - 1), generator=generator, device=device)
    jitter = torch.rand((count, DIGITS_PER_IMAGE), generator=generator, device=device, dtype=torch.float64)
    pool_boxes = bounding_boxes(digits)
    boxes = pool_boxes[picks]
    x, y = _place(boxes, first_x, gaps, jitter)
    segments = _lit_segments(digits, pool_boxes)
    chosen = picks.view(-1)
    runs = segments.count[chosen]
    owner = torch.repeat_interleave(runs)  # which chosen digit each run of lit pixels belongs to
    run = (segments.start[chosen] - (torch.cumsum(runs, 0) - runs))[owner] + torch.arange(len(owner), device=device)
    row = torch.arange(count, device=device)[:, None] * HEIGHT + y
    corner = (row * WIDTH + x).view(-1)[owner]  # flat index in `images` of the run's crop's top-left corner
    images = torch.zeros((count, HEIGHT, WIDTH), dtype=torch.uint8, device=device)
    flat = images.view(-1)
    step = PASTE_RUNS.get(device.type, PASTE_RUNS_DEFAULT)
    for begin in range(0, len(run), step):
        r = run[begin : begin + step]
        index = corner[begin : begin + step, None] + segments.offsets.index_select(0, r)
        flat.scatter_reduce_(0, index.view(-1), segments.values.index_select(0, r).view(-1), reduce="amax")
    sums = labels[picks].sum(dim=1)
    if return_layout:
        return images, sums, Layout(digits, picks, first_x, gaps, jitter, boxes, x, y)
    return images, sums
