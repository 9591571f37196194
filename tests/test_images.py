"""Your own images in: any picture of digits becomes a composite the model knows; a non-image is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image  # pulled in by matplotlib, a test dependency

from digitsum import images
from digitsum.data import eval_set
from digitsum.errors import BadInput
from digitsum.images import DIGIT_HEIGHT, LEFT, load_image_as_composite


def png(path: Path, pixels: np.ndarray) -> Path:
    """Write uint8 (H,W) gray or (H,W,3) colour pixels to a file (PNG, or JPEG by the suffix), as an editor would."""
    Image.fromarray(np.ascontiguousarray(pixels)).save(path)
    return path


def ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), inclusive, of the non-zero pixels."""
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def test_a_composite_saved_as_png_reads_back_unchanged(tmp_path):
    composite = eval_set("builtin", seed=0, val_size=4).images[2]
    assert np.array_equal(load_image_as_composite(png(tmp_path / "c.png", composite)), composite)


def test_a_small_digit_is_scaled_to_a_composites_digit_height_and_placed_where_the_first_digit_goes(tmp_path):
    picture = np.zeros((30, 30), np.uint8)
    picture[5:15, 8:13] = 255  # a 10x5 "digit" in a corner
    composite = load_image_as_composite(png(tmp_path / "small.png", picture))
    assert composite.shape == (40, 168) and composite.dtype == np.uint8
    top, bottom, left, right = ink_box(composite)
    assert bottom - top + 1 == DIGIT_HEIGHT and right - left + 1 == pytest.approx(DIGIT_HEIGHT / 2, abs=1)
    assert left == LEFT and top == (40 - DIGIT_HEIGHT) // 2  # the composer's expected place, vertically centred


def test_a_photo_of_dark_digits_on_light_paper_is_inverted_and_its_paper_goes_black(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(200, 236, size=(120, 400), dtype=np.uint8)  # uneven paper
    photo[30:90, 40:52] = 30  # a "1"
    photo[30:90, 200:260] = 40
    photo[42:78, 212:248] = 215  # a "0": a ring
    colour = np.repeat(photo[..., None], 3, axis=2)
    composite = load_image_as_composite(png(tmp_path / "photo.png", colour))
    top, bottom, left, right = ink_box(composite)
    assert bottom - top + 1 == DIGIT_HEIGHT and left == LEFT
    assert composite[top:bottom, left : left + 3].min() > 200, "dark strokes become bright ones"
    assert composite[:top].max() == 0 and composite[:, right + 1 :].max() == 0, "paper becomes the black canvas"
    assert composite[top + 10, left + (230 - 40) // 3] == 0, "the 0 keeps its hole (its centre, scaled by 1/3)"


def test_a_light_40x168_composite_is_only_inverted(tmp_path):
    composite = eval_set("builtin", seed=0, val_size=1).images[0]
    assert np.array_equal(load_image_as_composite(png(tmp_path / "light.png", 255 - composite)), composite)


@pytest.mark.parametrize("pillow", [True, False])
def test_a_jpeg_reads_too_with_or_without_pillow(tmp_path, monkeypatch, pillow):
    if not pillow:
        monkeypatch.setattr(images, "_decode_pil", lambda path: None)
    picture = np.zeros((50, 50), np.uint8)
    picture[10:40, 20:30] = 255
    top, bottom, left, _ = ink_box(load_image_as_composite(png(tmp_path / "d.jpg", picture)))
    assert left == LEFT and bottom - top + 1 == DIGIT_HEIGHT


def test_transparent_paper_reads_as_white(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)  # black and fully transparent, as drawing apps save
    rgba[10:30, 15:22] = (0, 0, 0, 255)  # an opaque black stroke
    Image.fromarray(rgba, "RGBA").save(tmp_path / "drawn.png")
    top, bottom, left, _ = ink_box(load_image_as_composite(tmp_path / "drawn.png"))
    assert (left, bottom - top + 1) == (LEFT, DIGIT_HEIGHT)


@pytest.mark.parametrize("pillow", [True, False])
@pytest.mark.parametrize("name, content", [("notes.png", b"not an image at all"), ("empty.jpg", b"")])
def test_a_file_that_is_not_an_image_is_a_bad_input_naming_the_file(tmp_path, monkeypatch, name, content, pillow):
    if not pillow:
        monkeypatch.setattr(images, "_decode_pil", lambda path: None)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(BadInput, match=rf"{name}: not an image"):
        load_image_as_composite(tmp_path / name)
    with pytest.raises(BadInput, match="no such image file"):
        load_image_as_composite(tmp_path / "missing.png")


# --- digitsum predict --image ----------------------------------------------------------------
def digitsum(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitsum", *args], capture_output=True, text=True, timeout=300)


def test_predict_on_a_saved_composite_gives_the_same_answer_and_reading_as_on_the_set(tiny_run, tmp_path):
    best = str(tiny_run.result.best)
    composite = eval_set("builtin", seed=0, val_size=tiny_run.config.val_size).images[0]
    path = png(tmp_path / "first.png", composite)
    (from_set,) = json.loads(digitsum("predict", best, "--count", "1", "--device", "cpu", "--json").stdout)
    proc = digitsum("predict", best, "--image", str(path), "--image", str(path), "--device", "cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["file"] for r in rows] == [str(path)] * 2
    assert rows[0]["prediction"] == pytest.approx(from_set["prediction"], abs=1e-4)
    assert rows[0]["digits"] == pytest.approx(from_set["digits"], abs=1e-4)
    assert "true_digits" not in rows[0] and "target" not in rows[0]
    text = digitsum("predict", best, "--image", str(path), "--device", "cpu").stdout
    assert text.startswith(f"{path}  predicted ") and text.count("reading: ") == 1


def test_predict_on_a_file_that_is_not_an_image_is_one_line_and_exit_2(tiny_run, tmp_path):
    (tmp_path / "notes.txt").write_text("four digits, honest")
    proc = digitsum("predict", str(tiny_run.result.best), "--image", str(tmp_path / "notes.txt"))
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"digitsum: error: {tmp_path / 'notes.txt'}: not an image")
