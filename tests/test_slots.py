"""Four digits read from a digit-mass map, and their sum's distribution: what `--loss nll` trains on."""

from __future__ import annotations

import math

import pytest
import torch

from digitsum.errors import BadInput
from digitsum.models import build_model
from digitsum.slots import SUMS, slot_distributions, sum_distribution, sum_likelihood


def one_hot_map(columns: list[int], digits: list[int], height: int = 5, width: int = 21):
    """A mass map with one unit at (row 2, column) per digit, each position reading its digit for certain."""
    mass = torch.zeros(1, height, width)
    values = torch.full((1, 10, height, width), 0.1)
    for column, digit in zip(columns, digits):
        mass[0, 2, column] = 1.0
        values[0, :, 2, column] = 0.0
        values[0, digit, 2, column] = 1.0
    return mass, values


def test_each_slot_reads_its_digit_left_to_right():
    mass, values = one_hot_map([3, 8, 12, 18], [7, 0, 4, 9])
    slots = slot_distributions(mass, values)
    assert slots.argmax(dim=-1).tolist() == [[7, 0, 4, 9]]
    assert torch.allclose(slots.sum(dim=-1), torch.ones(1, 4))


def test_a_column_holding_two_digits_shares_its_mass_between_two_slots():
    mass, values = one_hot_map([3, 8, 12, 18], [7, 0, 4, 9])
    mass[0, 2, 8], mass[0, 2, 12] = 0.0, 0.0
    mass[0, 1, 10], mass[0, 3, 10] = 1.0, 1.0  # two digits read in one column: rows 1 and 3
    values[0, :, 1, 10] = torch.nn.functional.one_hot(torch.tensor(2), 10).float()
    values[0, :, 3, 10] = torch.nn.functional.one_hot(torch.tensor(6), 10).float()
    slots = slot_distributions(mass, values)
    assert slots[0, 1, 2] == pytest.approx(0.5) and slots[0, 1, 6] == pytest.approx(0.5)
    assert slots[0, 0].argmax() == 7 and slots[0, 3].argmax() == 9


def test_the_sum_of_certain_digits_is_certain():
    slots = torch.nn.functional.one_hot(torch.tensor([[7, 0, 4, 9], [9, 9, 9, 9]]), 10).float()
    distribution = sum_distribution(slots)
    assert distribution.shape == (2, SUMS)
    assert distribution.argmax(dim=1).tolist() == [20, 36] and torch.allclose(
        distribution.max(dim=1).values, torch.ones(2)
    )


def test_the_sum_of_uniform_digits_is_the_four_fold_convolution():
    distribution = sum_distribution(torch.full((1, 4, 10), 0.1))[0]
    assert distribution.sum() == pytest.approx(1.0)
    assert distribution[0] == pytest.approx(1e-4) and distribution[18] == pytest.approx(670e-4)  # 670 of 10^4 ways
    assert torch.allclose(distribution, distribution.flip(0))


def test_the_likelihood_is_small_for_a_confident_right_answer_and_large_for_a_wrong_one():
    distribution = sum_distribution(
        torch.nn.functional.one_hot(torch.tensor([[7, 0, 4, 9]]), 10).float() * 0.99 + 0.001
    )
    assert sum_likelihood(distribution, torch.tensor([20.0])) < 0.1
    assert sum_likelihood(distribution, torch.tensor([25.0])) > 5.0


def test_the_distributions_mean_is_the_expected_sum_the_model_answers_when_training():
    torch.manual_seed(0)
    model = build_model("sumnet", {"head_kind": "digits", "answer": "mode"}).train()
    mean, distribution = model(torch.randn(6, 1, 40, 168) * 3, with_distribution=True)
    assert torch.allclose((distribution * torch.arange(SUMS, dtype=torch.float32)).sum(dim=1), mean, atol=1e-4)
    assert torch.allclose(distribution.sum(dim=1), torch.ones(6))


def test_a_model_answering_the_mode_answers_the_likeliest_sum_when_evaluating():
    torch.manual_seed(0)
    model = build_model("sumnet", {"head_kind": "digits", "answer": "mode"})
    x = torch.randn(6, 1, 40, 168) * 3
    model.eval()
    with torch.no_grad():
        _, distribution = model(x, with_distribution=True)
        assert torch.equal(model(x), distribution.argmax(dim=1).float())


def test_only_the_digit_head_can_answer_the_mode():
    with pytest.raises(BadInput, match="answer must be mean, or mode with the digits head"):
        build_model("sumnet", {"answer": "mode"})


def test_a_digit_head_saved_before_answers_existed_answers_its_rounded_mean_and_resumes_on_huber():
    from digitsum.recipes import objective_name

    model = build_model("sumnet", {"head_kind": "digits"}).eval()  # the kwargs such a checkpoint records
    with torch.no_grad():  # every position reads 0 (p 0.7) or 9 (p 0.3): mean 4 x 2.7 = 10.8, likeliest sum 9
        model.density.out.weight.zero_()
        model.density.out.bias.fill_(-30.0)
        model.density.out.bias[1], model.density.out.bias[10] = math.log(0.7), math.log(0.3)
        answers = model(torch.randn(3, 1, 40, 168))
    assert model.answer == "mean" and answers.tolist() == [11.0, 11.0, 11.0]
    model.answer = "mode"
    with torch.no_grad():
        assert model(torch.randn(3, 1, 40, 168)).tolist() == [9.0, 9.0, 9.0]
    assert objective_name("auto", "sumnet", "mean") == "huber"
