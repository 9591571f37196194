"""Images as terminal text: ASCII ramps anywhere, Unicode half-blocks with colour where allowed."""

from __future__ import annotations

import numpy as np

ASCII_RAMP = " .:-=+*#%@"


def _resample(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Area-average a (H,W) uint8 image down to (rows, cols) floats in 0..1."""
    h, w = image.shape
    ys = np.linspace(0, h, rows + 1).astype(int)
    xs = np.linspace(0, w, cols + 1).astype(int)
    img = image.astype(np.float32) / 255.0
    summed = np.add.reduceat(np.add.reduceat(img, ys[:-1], axis=0), xs[:-1], axis=1)
    counts = np.outer(np.diff(ys), np.diff(xs))
    return summed / np.maximum(counts, 1)


def ascii_lines(image: np.ndarray, width: int = 84) -> list[str]:
    """One character per 2x4 pixel cell at width 84 (the terminal cell is about twice as tall as wide)."""
    h, w = image.shape
    rows = max(1, round(h * width / w / 2))
    cells = _resample(image, rows, width)
    idx = np.minimum((cells * len(ASCII_RAMP)).astype(int), len(ASCII_RAMP) - 1)
    ramp = np.array(list(ASCII_RAMP))
    return ["".join(ramp[row]) for row in idx]


def halfblock_text(image: np.ndarray, width: int = 84):
    """A rich Text of '▀' cells: foreground is the upper pixel, background the lower (twice the rows)."""
    from rich.style import Style
    from rich.text import Text

    h, w = image.shape
    rows = max(1, round(h * width / w / 2))
    cells = (_resample(image, rows * 2, width) * 255).astype(int)
    text = Text()
    for r in range(rows):
        for top, bottom in zip(cells[2 * r], cells[2 * r + 1]):
            text.append("▀", Style(color=f"rgb({top},{top},{top})", bgcolor=f"rgb({bottom},{bottom},{bottom})"))
        if r < rows - 1:
            text.append("\n")
    return text
