"""The model's reading of each digit: how much each of the four digits added to a sumnet's answer.

SumNet's answer is a map of per-position shares (5x21 for the default trunk, each map column
covering 8 of the image's 168 pixel columns: a digit mass times an expected digit value for the
`digits` head, a free value for the older `density` head) summed over positions, plus a
constant offset (0 for the `digits` head, 18 for `density`). Summing the map over
the columns of one digit and adding a quarter of the offset gives that digit's contribution;
the four add up to the model's raw (unrounded) output.

Where the digits are: the ink's column sums fall into runs, one per digit. A gap narrower than
a map column, or digits that touch (fewer than four runs), leave the boundary uncertain: it is
then put at the ink minimum between the expected digit centres, and the reading says so.
A map column that straddles a boundary is split in proportion to its pixels on each side
(no tie rule needed, and the parts still add up exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from digitsum.composites import DIGITS_PER_IMAGE as DIGITS
from digitsum.data import normalize
from digitsum.engine import autocast_forward
from digitsum.models import SumNet, fp32_head

BATCH = 512


@dataclass(frozen=True)
class Reading:
    """Four contributions (offset share included) that add up to `total`, the model's raw output."""

    parts: tuple[float, ...]
    total: float
    cuts: tuple[float, ...]  # pixel x of the three boundaries between the digits
    split_at_ink_minimum: bool  # a boundary is uncertain: a gap narrower than a map column, or touching digits
    touching: bool = False  # fewer than four ink runs: some boundary lies inside ink, at its minimum


def can_read(model: nn.Module) -> bool:
    """Only a sum over positions splits into per-digit parts; the seed network's FC head does not."""
    return isinstance(model, SumNet)


def read_digits(
    model: nn.Module, images: np.ndarray, device: torch.device | str = "cpu", precision: torch.dtype | None = None
) -> list[Reading] | None:
    """Each uint8 (40,168) image's reading by `model`, or None for a model without a density map."""
    if not can_read(model):
        return None
    columns = density_columns(model, images, torch.device(device), precision)
    return [reading_of(image, cols, float(model.offset)) for image, cols in zip(images, columns)]


def density_columns(
    model: SumNet, images: np.ndarray, device: torch.device, precision: torch.dtype | None
) -> np.ndarray:
    """The density map summed over its rows, (N, map width), computed as SumNet.forward does before rounding."""
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), BATCH):
            x = normalize(torch.from_numpy(np.ascontiguousarray(images[i : i + BATCH])).to(device))
            # as evaluate runs the model, up to the map of shares
            density = autocast_forward(lambda x: fp32_head(model.density, model.trunk(x)), x, precision)
            out.append(density.sum(dim=(1, 2)).float().cpu())
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros((0, 0))


def reading_of(image: np.ndarray, columns: np.ndarray, offset: float) -> Reading:
    """Split one image's map columns among its four digits and spread the offset evenly."""
    width = image.shape[-1]
    cuts, guessed, touching = digit_cuts(image, min_gap=width / len(columns))
    parts = column_weights(cuts, len(columns), width) @ columns + offset / DIGITS
    return Reading(tuple(float(p) for p in parts), float(columns.sum() + offset), tuple(cuts), guessed, touching)


def digit_cuts(image: np.ndarray, min_gap: float) -> tuple[list[float], bool, bool]:
    """The three boundaries (pixel x) between the digits; whether one is uncertain; whether digits touch."""
    ink = image.astype(np.float64).sum(axis=0)
    runs = join_closest(ink_runs(ink > 0), DIGITS)
    if not runs:
        width = len(ink)
        return [width * k / DIGITS for k in range(1, DIGITS)], True, True
    touching = len(runs) < DIGITS
    cuts, guessed = [], touching
    for k, ((start, end), count) in enumerate(zip(runs, digits_per_run(runs))):
        cuts += [ink_minimum(ink, start, end, count, i) for i in range(1, count)]
        if k + 1 < len(runs):
            following = runs[k + 1][0]
            cuts.append((end + following) / 2)
            guessed |= following - end < min_gap
    return cuts, guessed, touching


def ink_runs(lit: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of inked columns, left to right."""
    edges = np.diff(np.concatenate([[0], lit.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def join_closest(runs: list[tuple[int, int]], count: int) -> list[tuple[int, int]]:
    """More runs than digits means a digit in pieces: join runs across the narrowest gaps."""
    runs = list(runs)
    while len(runs) > count:
        k = min(range(len(runs) - 1), key=lambda i: runs[i + 1][0] - runs[i][1])
        runs[k : k + 2] = [(runs[k][0], runs[k + 1][1])]
    return runs


def digits_per_run(runs: Sequence[tuple[int, int]]) -> list[int]:
    """Fewer runs than digits means touching digits: the widest runs (per digit) hold the extra ones."""
    counts = [1] * len(runs)
    while sum(counts) < DIGITS:
        k = max(range(len(runs)), key=lambda i: (runs[i][1] - runs[i][0]) / counts[i])
        counts[k] += 1
    return counts


def ink_minimum(ink: np.ndarray, start: int, end: int, count: int, i: int) -> float:
    """The boundary before digit `i` of `count` touching digits in [start, end): the least-ink column between centres."""
    step = (end - start) / count
    lo, hi = int(np.ceil(start + (i - 0.5) * step)), int(np.floor(start + (i + 0.5) * step))
    if hi < lo:
        return start + i * step
    window = ink[lo : hi + 1]
    return lo + float(np.flatnonzero(window == window.min()).mean()) + 0.5  # middle of the lowest columns


def column_weights(cuts: Sequence[float], map_width: int, image_width: int) -> np.ndarray:
    """(4, map width): the share of each map column's pixels that lies in each digit's span (columns sum to 1)."""
    bounds = np.array([0.0, *cuts, float(image_width)])
    scale = image_width / map_width
    lo, hi = np.arange(map_width) * scale, (np.arange(map_width) + 1) * scale
    overlap = np.minimum(hi[None], bounds[1:, None]) - np.maximum(lo[None], bounds[:-1, None])
    return np.clip(overlap, 0, None) / scale
