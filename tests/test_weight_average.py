"""The weights' moving average: torch's AveragedModel, update for update, without reading the device back."""

from __future__ import annotations

import pytest
import torch
from torch.optim.swa_utils import AveragedModel

from digitsum.models import build_model
from digitsum.weight_average import WeightAverage

DECAY = 0.999


def reference_average(model: torch.nn.Module) -> AveragedModel:
    """What the engine used before: AveragedModel with the same warm-up, its count a device tensor."""

    def update(averaged, current, updates) -> None:
        weight = 1.0 - min(DECAY, (1.0 + float(updates)) / (10.0 + float(updates)))
        if averaged[0].is_floating_point():
            torch._foreach_lerp_(averaged, current, weight)
        else:
            torch._foreach_copy_(averaged, current)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def test_the_average_is_averagedmodels_bit_for_bit_buffers_included():
    torch.manual_seed(0)
    model = build_model("sumnet", {"widths": [8, 8, 8, 8, 8]})
    reference, average = reference_average(model), WeightAverage(model, DECAY)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(25):
        x, y = torch.randn(8, 1, 40, 168), torch.rand(8) * 36
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        reference.update_parameters(model)
        average.update(model)
    expected, got = reference.module.state_dict(), average.module.state_dict()
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)  # BatchNorm statistics and counters too
    assert average.updates == int(reference.n_averaged) == 25


def test_the_count_lives_on_the_host_and_the_first_update_copies():
    model = build_model("sumnet", {"widths": [8, 8, 8, 8, 8]})
    average = WeightAverage(model, DECAY)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    average.update(model)
    assert isinstance(average.updates, int) and average.weight() == 1.0 - 2 / 11
    assert all(torch.equal(a, c) for a, c in zip(average.module.parameters(), model.parameters()))


def test_the_weight_average_spans_the_same_images_whatever_the_batch_size():
    from digitsum.recipes import ema_decay

    assert ema_decay(0.999, 64) == 0.999  # the CPU recipes' batch: unchanged
    assert ema_decay(0.999, 256) == pytest.approx(0.999**4)  # a quarter of the steps, each weighing four
    assert ema_decay(0.0, 256) == 0.0  # off stays off
