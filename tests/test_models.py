"""The networks: `seed` is the assignment's, layer for layer; `sumnet` answers whole sums when evaluating."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from digitsum.errors import BadInput
from digitsum.models import build_model


def test_seed_is_the_assignments_network_layer_for_layer():
    model = build_model("seed")
    layers = [m for m in model.modules() if not isinstance(m, (nn.Sequential, type(model)))]
    assert [type(m).__name__ for m in layers] == [
        "Conv2d",
        "MaxPool2d",
        "ReLU",
        "Conv2d",
        "MaxPool2d",
        "ReLU",
        "Flatten",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]
    conv1, conv2, fc, drop, out = (layers[i] for i in (0, 3, 7, 9, 10))
    assert (conv1.in_channels, conv1.out_channels, conv1.kernel_size, conv1.padding) == (1, 32, (3, 3), (1, 1))
    assert (conv2.in_channels, conv2.out_channels, conv2.kernel_size, conv2.padding) == (32, 64, (3, 3), (1, 1))
    assert (fc.in_features, fc.out_features, drop.p, out.out_features) == (64 * 10 * 42, 128, 0.5, 1)


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_seed_pooling_before_relu_computes_exactly_the_assignments_function(dtype):
    from bench.pipelines import assignment_model

    torch.manual_seed(0)
    ours = build_model("seed").train()
    theirs = assignment_model("seed").train()
    theirs.load_state_dict(ours.state_dict())  # same parameter names in both layer orders
    x = torch.randn(8, 1, 40, 168)
    outputs, grads = [], []
    for model in (ours, theirs):
        torch.manual_seed(1)  # the same dropout mask
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            out = model(x)
        out.float().sum().backward()
        outputs.append(out)
        grads.append([p.grad for p in model.parameters()])
    assert torch.equal(outputs[0], outputs[1])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_seed_predicts_a_real_number_per_image():
    model = build_model("seed").eval()
    with torch.no_grad():
        pred = model(torch.randn(3, 1, 40, 168))
    assert pred.shape == (3,) and not torch.equal(pred, pred.round())


def test_sumnet_answers_whole_sums_when_evaluating_and_real_values_when_training():
    torch.manual_seed(0)
    model = build_model("sumnet")
    x = torch.randn(4, 1, 40, 168)
    model.train()
    raw = model(x)
    assert not torch.equal(raw, raw.round())  # training regresses the real value (gradients need it)
    model.eval()
    with torch.no_grad():
        pred = model(x)
    assert pred.shape == (4,) and torch.equal(pred, pred.round())


def test_sumnet_can_be_asked_for_real_values_when_evaluating():
    model = build_model("sumnet", {"integer_output": False}).eval()
    with torch.no_grad():
        pred = model(torch.randn(4, 1, 40, 168))
    assert not torch.equal(pred, pred.round())


def test_unknown_models_and_arguments_are_bad_input():
    with pytest.raises(BadInput, match="unknown model 'resnet'"):
        build_model("resnet")
    with pytest.raises(BadInput, match="does not take these arguments"):
        build_model("sumnet", {"depth": 3})


def test_the_digit_head_places_four_digit_masses_and_answers_within_0_to_36():
    torch.manual_seed(0)
    model = build_model("sumnet", {"head_kind": "digits", "integer_output": False}).eval()
    x = torch.randn(5, 1, 40, 168) * 3
    with torch.no_grad():
        features = model.trunk(x)
        logits = model.density.out(model.density.hidden(features))
        mass = logits[:, :1].flatten(1).softmax(dim=1) * 4
        shares = model.density(features)
        pred = model(x)
    assert torch.allclose(mass.sum(dim=1), torch.full((5,), 4.0))  # one unit of mass per digit
    assert model.offset == 0.0 and torch.allclose(pred, shares.sum(dim=(1, 2, 3)))
    assert ((shares >= 0) & (shares <= 9 * mass.view_as(shares))).all()  # each share: its mass times a value 0-9
    assert ((pred >= 0) & (pred <= 36)).all()


def test_sumnet_without_a_head_kind_is_the_density_head_older_checkpoints_hold():
    model = build_model("sumnet")
    assert model.offset == 18.0
    assert [name for name in model.state_dict() if name.startswith("density.")] == [
        "density.0.weight",
        "density.0.bias",
        "density.3.weight",
        "density.3.bias",
    ]


def test_every_sumnet_recipe_trains_the_digit_head():
    from digitsum.recipes import MACHINE_CLASSES, machine_recipe

    for machine in MACHINE_CLASSES:
        assert machine_recipe("sumnet", machine).model_kwargs["head_kind"] == "digits"


def test_an_unknown_head_is_bad_input():
    with pytest.raises(BadInput, match="head_kind must be one of density, digits"):
        build_model("sumnet", {"head_kind": "boxes"})
