"""The model's reading of each digit: four parts that add up to sumnet's raw answer, split where the ink says."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from digitsum import data
from digitsum.composites import compose, generator_for
from digitsum.formatting import reading_line, reading_text
from digitsum.models import build_model
from digitsum.reading import column_weights, digit_cuts, ink_runs, read_digits
from digitsum.sources import DigitPools


def bars(spans: list[tuple[int, int]], values: list[int] | None = None) -> np.ndarray:
    """A 40x168 image with a full-height bar over each [start, end) column span."""
    image = np.zeros((40, 168), np.uint8)
    for k, (start, end) in enumerate(spans):
        image[:, start:end] = 255 if values is None else values[k]
    return image


class InkMap(nn.Module):
    """A stand-in trunk whose 5x21 map is the ink of each 8x8 block: the reading becomes predictable."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x + 1, 8)  # normalized -1..1 back to 0..2 (0 on the canvas)


def ink_reader() -> nn.Module:
    model = build_model("sumnet", {"widths": [4, 4, 4, 4, 4]})
    model.trunk, model.density = InkMap(), nn.Identity()
    return model


def composites(count: int = 12) -> np.ndarray:
    pools = data.TensorPools.of(marked_digits())
    images, _ = compose(pools.val_digits, pools.val_labels, count, generator_for((0, 0, 2)))
    return images.numpy()


def marked_digits() -> DigitPools:
    """20 digit shapes, label k drawn as a bar of brightness 20*(k+1), so the digits can be read back."""
    labels = np.arange(20) % 10
    digits = np.zeros((20, 28, 28), np.uint8)
    digits[:, 6:22, 10:18] = (20 * (labels + 1)).astype(np.uint8)[:, None, None]
    digits[10:, 6:22, 12:16] = 255  # a second look of each digit: a bright core
    return DigitPools(digits, labels, digits.copy(), labels.copy(), "marked digits")


# --- the parts add up ------------------------------------------------------------------------
def test_the_four_parts_add_up_to_the_models_raw_unrounded_output():
    torch.manual_seed(0)
    model = build_model("sumnet", {"widths": [8, 8, 8, 8, 8]}).eval()
    for module in model.modules():  # non-trivial BatchNorm statistics, as after training
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    images = composites()
    readings = read_digits(model, images)
    model.integer_output = False
    with torch.inference_mode():
        raw = model(data.normalize(torch.from_numpy(images))).double().numpy()
    assert raw.round(3).tolist() != raw.round().tolist(), "the raw output must not be whole numbers already"
    assert [len(r.parts) for r in readings] == [4] * len(images)
    np.testing.assert_allclose([sum(r.parts) for r in readings], raw, atol=1e-4)
    np.testing.assert_allclose([r.total for r in readings], raw, atol=1e-4)


def test_each_part_is_the_map_over_its_digits_columns_plus_a_quarter_of_the_offset():
    image = bars([(16, 24), (56, 64), (96, 104), (136, 144)], values=[51, 102, 153, 204])
    (reading,) = read_digits(ink_reader(), image[None])
    # a bar fills one map column: 5 rows of 2*v/255 each; the offset 18 adds 4.5 to every digit
    assert reading.parts == pytest.approx([2 + 4.5, 4 + 4.5, 6 + 4.5, 8 + 4.5], abs=1e-5)
    assert reading.total == pytest.approx(20 + 18, abs=1e-5)
    assert not reading.split_at_ink_minimum


def test_the_seed_model_has_no_reading():
    assert read_digits(build_model("seed"), bars([(10, 20)])[None]) is None


# --- where the digits are --------------------------------------------------------------------
def test_separate_digits_are_cut_in_the_middle_of_each_gap():
    cuts, guessed, touching = digit_cuts(bars([(10, 20), (40, 50), (70, 80), (100, 110)]), min_gap=8)
    assert cuts == [30, 60, 90] and not guessed and not touching


def test_a_gap_narrower_than_a_map_column_is_flagged():
    cuts, guessed, touching = digit_cuts(bars([(10, 20), (40, 50), (55, 65), (100, 110)]), min_gap=8)
    assert cuts == [30, 52.5, 82.5] and guessed and not touching
    assert not digit_cuts(bars([(10, 20), (40, 50), (58, 65), (100, 110)]), min_gap=8)[1], "8 px is wide enough"


def test_touching_digits_are_split_at_the_ink_minimum_between_the_expected_centres():
    image = bars([(10, 90)], values=[200])
    for dip in (33, 47, 71):  # off the even split (30, 50, 70): the ink, not the width, decides
        image[:30, dip] = 0
    cuts, guessed, touching = digit_cuts(image, min_gap=8)
    assert cuts == [33.5, 47.5, 71.5] and guessed and touching


def test_three_runs_give_the_widest_run_two_digits():
    image = bars([(10, 20), (40, 80), (100, 110)], values=[200, 200, 200])
    image[:20, 58] = 0
    cuts, guessed, touching = digit_cuts(image, min_gap=8)
    assert cuts == [30, 58.5, 90] and touching


def test_a_digit_in_pieces_is_joined_across_the_narrowest_gap():
    image = bars([(10, 20), (40, 44), (46, 50), (70, 80), (100, 110)])
    assert ink_runs(image.sum(axis=0) > 0) == [(10, 20), (40, 44), (46, 50), (70, 80), (100, 110)]
    cuts, _, touching = digit_cuts(image, min_gap=8)
    assert cuts == [30, 60, 90] and not touching


def test_a_map_column_across_a_boundary_is_shared_in_proportion_to_its_pixels():
    weights = column_weights([12, 84, 126], map_width=21, image_width=168)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0)
    assert weights[:, 1].tolist() == [0.5, 0.5, 0.0, 0.0]  # pixels 8-15: 4 on each side of x=12
    assert weights[:, 10].tolist() == [0.0, 0.5, 0.5, 0.0]  # pixels 80-87: x=84 halves them too
    assert weights[:, 0].tolist() == [1.0, 0.0, 0.0, 0.0]


# --- how it reads ----------------------------------------------------------------------------
def test_the_reading_line_shows_each_part_the_total_and_the_rounded_answer():
    assert reading_line([7.0, 3.1, 0.2, 4.9], 15.2, 15) == "7.0 + 3.1 + 0.2 + 4.9 = 15.2 → 15"
    assert reading_line([7.0, -0.3, 0.2, 4.9], 11.8, 12, wrong_index=1) == "7.0 - [0.3] + 0.2 + 4.9 = 11.8 → 12"


def test_a_wrong_answer_names_the_digit_farthest_from_its_true_value():
    reading = SimpleNamespace(parts=(7.0, 9.1, 0.2, 4.9), total=21.2, split_at_ink_minimum=False, touching=False)
    assert reading_text(reading, 21, [7, 4, 0, 5]) == "7.0 + [9.1] + 0.2 + 4.9 = 21.2 → 21  read the 4 as a 9"
    assert reading_text(reading, 21, [7, 9, 0, 5]) == "7.0 + 9.1 + 0.2 + 4.9 = 21.2 → 21", "right: nothing marked"
    assert reading_text(reading, 21) == "7.0 + 9.1 + 0.2 + 4.9 = 21.2 → 21", "digits unknown: the reading only"
    touching = SimpleNamespace(**{**vars(reading), "split_at_ink_minimum": True, "touching": True})
    assert reading_text(touching, 21).endswith("→ 21  (digits touch: split at the ink minimum)")


# --- the true digits travel with the validation composites ------------------------------------
def test_validation_composites_carry_their_digits_left_to_right(monkeypatch):
    monkeypatch.setattr(data, "open_source", lambda spec: marked_digits())
    found = data.eval_set("marked", seed=1, val_size=40)
    validated = data.load_data("marked", seed=1, train_size=16, val_size=40)
    images, sums = validated.val_images, validated.val_sums
    np.testing.assert_array_equal(found.images, images)  # the composites themselves are unchanged
    assert found.digits.shape == (40, 4) and (found.digits.sum(axis=1) == sums).all()
    checked = 0
    for image, digits in zip(found.images, found.digits):
        runs = ink_runs(image.sum(axis=0) > 0)
        if len(runs) == 4:  # separate digits: each bar's edge brightness is 20*(digit+1)
            assert [int(image[:, start].max()) // 20 - 1 for start, _ in runs] == digits.tolist()
            checked += 1
    assert checked >= 10


def test_an_assignment_folder_has_no_known_digits(tmp_path, write_assignment):
    write_assignment(tmp_path, np.zeros((3, 40, 168), np.uint8), np.arange(3))
    assert data.eval_set(str(tmp_path)).digits is None


# --- digitsum predict ------------------------------------------------------------------------
def digitsum(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitsum", *args], capture_output=True, text=True, timeout=300)


def test_predict_shows_each_digits_part_and_the_true_digits(tiny_run):
    best = str(tiny_run.result.best)
    rows = json.loads(digitsum("predict", best, "--count", "4", "--device", "cpu", "--json").stdout)
    for row in rows:
        assert len(row["digits"]) == 4 and abs(sum(row["digits"]) - row["prediction"]) <= 0.5 + 1e-4
        assert len(row["true_digits"]) == 4 and sum(row["true_digits"]) == row["target"]
    text = digitsum("predict", best, "--count", "4", "--device", "cpu").stdout
    assert text.count("reading: ") == 4 and text.count(" → ") == 4
    wrong = [r for r in rows if round(r["prediction"]) != r["target"]]
    assert text.count("read the ") == len(wrong)
