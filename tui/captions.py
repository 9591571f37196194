"""One composite image as terminal text, with its prediction judged against the truth."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.text import Text

from digitsum.formatting import reading_text, split_note, verdict
from digitsum.textimage import ascii_lines, halfblock_text


def caption(index: int, prediction: float, target: int, short: bool = False) -> Text:
    """`#12 pred 17.32 -> 17  true 17  err +0.32 ok`, green when right, red when wrong (and says so)."""
    rounded, right = verdict(prediction, target)
    style = "bold green" if right else "bold red"
    mark = "ok" if right else "WRONG"
    err = prediction - target
    if short:
        return Text(f"#{index} {prediction:5.2f}->{rounded} true {target} {mark}", style=style)
    return Text(
        f"#{index}  predicted {prediction:.2f}  rounded {rounded}  true {target}  error {err:+.2f}  {mark}", style=style
    )


def reading_caption(reading: Any, rounded: int, true_digits: list[int] | None = None) -> Text:
    """`reading 7.0 + [3.1] + 0.2 + 4.9 = 15.2 → 15  read the 5 as a 3`: the misread part and its story in red."""
    line = reading_text(reading, rounded, true_digits)
    text = Text("reading ", style="dim")
    text.append(line)
    text.highlight_regex(r"\[[^\]]*\]|read the \d as (?:an? \d|-?\d+\.\d)", "bold red")
    note = split_note(reading)
    if note:
        text.stylize("dim", len(text) - len(note))
    return text


def render_image(image: np.ndarray, width: int, halfblocks: bool) -> Text:
    """ASCII by default (works anywhere, NO_COLOR too); half-blocks give twice the rows in grey."""
    width = max(8, width)
    if halfblocks:
        return halfblock_text(image, width=width)
    return Text("\n".join(ascii_lines(image, width=width)))


def worst_first(predictions: np.ndarray, targets: np.ndarray) -> list[int]:
    errors = np.abs(predictions - targets)
    return [int(i) for i in np.argsort(-errors, kind="stable") if math.isfinite(errors[i])]
