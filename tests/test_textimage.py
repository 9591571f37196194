"""Images as terminal text: the ASCII ramp used anywhere a terminal cannot show colour."""

from __future__ import annotations

import numpy as np
import pytest

from digitsum.textimage import ASCII_RAMP, ascii_lines, halfblock_text


@pytest.mark.parametrize("width", [84, 42, 100])
def test_ascii_lines_are_exactly_width_characters_wide(width):
    image = np.random.default_rng(0).integers(0, 256, (40, 168), dtype=np.uint8)
    rows = ascii_lines(image, width=width)
    assert rows and all(len(row) == width for row in rows)


def test_ascii_rows_follow_the_aspect_ratio_of_a_terminal_cell():
    # 40x168 at width 84: 2 pixels per column, 4 per row (a cell is about twice as tall as wide)
    assert len(ascii_lines(np.zeros((40, 168), np.uint8), width=84)) == 10


def test_a_blank_image_is_all_spaces():
    assert set("".join(ascii_lines(np.zeros((40, 168), np.uint8)))) == {" "}


def test_a_white_image_is_all_at_signs():
    assert set("".join(ascii_lines(np.full((40, 168), 255, np.uint8)))) == {"@"}


def test_bright_pixels_map_to_at_signs_where_they_are():
    image = np.zeros((40, 168), np.uint8)
    image[:, :84] = 255  # left half white
    for row in ascii_lines(image, width=84):
        assert row == "@" * 42 + " " * 42


def test_mid_grey_maps_to_the_middle_of_the_ramp():
    (char,) = set("".join(ascii_lines(np.full((40, 168), 128, np.uint8))))
    assert ASCII_RAMP.index(char) == len(ASCII_RAMP) // 2


def test_brighter_pixels_never_map_to_a_darker_character():
    levels = [ASCII_RAMP.index(ascii_lines(np.full((40, 168), v, np.uint8))[0][0]) for v in range(0, 256, 15)]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] == len(ASCII_RAMP) - 1


def test_halfblock_text_has_one_line_per_two_pixel_rows_of_the_resampled_image():
    text = halfblock_text(np.zeros((40, 168), np.uint8), width=84)
    lines = text.plain.split("\n")
    assert len(lines) == 10 and all(line == "▀" * 84 for line in lines)
