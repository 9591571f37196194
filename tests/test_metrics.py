"""DESIGN.md's metric definitions, checked against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from digitsum.metrics import METRIC_NAMES, compute_metrics


def test_metric_names_are_the_five_of_the_design():
    assert set(METRIC_NAMES) == {"loss", "mae", "floor_acc", "ceil_acc", "round_acc"}
    assert set(compute_metrics([1.0], [1])) == set(METRIC_NAMES)


def test_exact_integer_predictions_are_right_by_floor_ceil_and_round():
    m = compute_metrics([0.0, 7.0, 36.0], [0, 7, 36])
    assert m == {"loss": 0.0, "mae": 0.0, "floor_acc": 1.0, "ceil_acc": 1.0, "round_acc": 1.0}


def test_fractional_prediction_is_right_by_floor_only_when_below_the_next_integer():
    # 18.3: floor 18 (right), ceil 19 (wrong), round 18 (right); 17.6: floor 17, ceil 18, round 18
    m = compute_metrics([18.3, 17.6], [18, 18])
    assert m["floor_acc"] == pytest.approx(0.5)
    assert m["ceil_acc"] == pytest.approx(0.5)
    assert m["round_acc"] == pytest.approx(1.0)


def test_round_accuracy_uses_torch_round_half_to_even():
    # torch.round: 2.5 -> 2 and 3.5 -> 4 (banker's rounding), unlike Python 2 or round-half-up
    assert compute_metrics([2.5], [2])["round_acc"] == 1.0
    assert compute_metrics([2.5], [3])["round_acc"] == 0.0
    assert compute_metrics([3.5], [4])["round_acc"] == 1.0
    assert compute_metrics([3.5], [3])["round_acc"] == 0.0
    m = compute_metrics([0.5, 1.5, 2.5, 3.5], [0, 2, 2, 4])
    assert m["round_acc"] == 1.0


def test_negative_predictions_floor_away_from_zero_and_ceil_toward_it():
    # -0.5: floor -1 (wrong for 0), ceil -0 == 0 (right), round -0 == 0 (right)
    m = compute_metrics([-0.5], [0])
    assert (m["floor_acc"], m["ceil_acc"], m["round_acc"]) == (0.0, 1.0, 1.0)
    # -1.2: floor -2, ceil -1, round -1; nothing equals the target 0
    m = compute_metrics([-1.2], [0])
    assert (m["floor_acc"], m["ceil_acc"], m["round_acc"]) == (0.0, 0.0, 0.0)
    assert m["mae"] == pytest.approx(1.2)
    assert m["loss"] == pytest.approx(1.44)


def test_loss_is_mean_squared_error_and_mae_mean_absolute_error():
    p, t = [1.0, 4.0, 10.5, 20.0], [2, 4, 10, 17]
    m = compute_metrics(p, t)
    assert m["loss"] == pytest.approx((1 + 0 + 0.25 + 9) / 4)
    assert m["mae"] == pytest.approx((1 + 0 + 0.5 + 3) / 4)


def test_accuracies_are_fractions_of_the_evaluated_set():
    p = [5.0, 5.9, 6.1, 7.4, 100.0]
    t = [5, 5, 6, 8, 7]
    m = compute_metrics(p, t)
    # floor: 5,5,6,7,100 vs 5,5,6,8,7 -> 3/5; ceil: 5,6,7,8,100 -> 2/5 (5, 8); round: 5,6,6,7,100 -> 2/5
    assert m["floor_acc"] == pytest.approx(3 / 5)
    assert m["ceil_acc"] == pytest.approx(2 / 5)
    assert m["round_acc"] == pytest.approx(2 / 5)
    for key in ("floor_acc", "ceil_acc", "round_acc"):
        assert 0.0 <= m[key] <= 1.0


def test_accepts_float32_tensors_column_vectors_and_numpy_arrays_alike():
    p = torch.tensor([[2.5], [18.25], [35.75]], dtype=torch.float32)
    t = np.array([2, 18, 35], dtype=np.int64)
    m = compute_metrics(p, t)
    assert m["round_acc"] == pytest.approx(2 / 3)  # 2.5 -> 2, 18.25 -> 18, 35.75 -> 36 (not 35)
    assert m == compute_metrics(p.reshape(-1).numpy(), t.tolist())


def test_results_are_plain_python_floats():
    m = compute_metrics(torch.tensor([1.0, 2.0]), torch.tensor([1, 3]))
    assert all(type(v) is float for v in m.values())


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="3 predictions for 2 targets"):
        compute_metrics([1.0, 2.0, 3.0], [1, 2])


def test_empty_set_gives_nan_for_every_metric():
    m = compute_metrics([], [])
    assert all(math.isnan(v) for v in m.values())
