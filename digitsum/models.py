"""Networks that map a normalized (N,1,40,168) image to its digit sum, looked up by name.

`seed` is the assignment's network, unchanged. `sumnet` (the default) is a small BatchNorm
conv trunk whose head gives a value per position, summed over the map: the sum of four
digits is a sum over places, and that additive bias is what makes it generalize.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from digitsum.config import MODEL_NAMES


def fp32_head(head: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """Run the regression head in fp32 even under bf16 autocast: bf16 cannot tell 18.3 from 18.25."""
    with torch.autocast(device_type=features.device.type, enabled=False):
        return head(features.float())


class SeedNet(nn.Module):
    """The assignment's CNN: two conv/pool stages, a 128-unit FC layer with dropout, one output.

    Each stage pools before its ReLU: max and ReLU commute exactly (the max of ReLUs is the
    ReLU of the max), so the function is the assignment's, but the ReLU and its backward touch
    a quarter of the values (1.3x the training speed measured on CPU). Parameter names match
    the assignment's layer order, so weights move between the two unchanged.
    """

    def __init__(self, height: int = 40, width: int = 168) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.MaxPool2d(2),
            nn.ReLU(),
        )
        self.hidden = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * (height // 4) * (width // 4), 128),
            nn.ReLU(),
            nn.Dropout(0.5),
        )
        self.out = nn.Linear(128, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fp32_head(self.out, self.hidden(self.features(x))).squeeze(1)


def _conv_bn(cin: int, cout: int, pool: bool) -> list[nn.Module]:
    """Conv, BatchNorm, then the pool before the ReLU: the same function (they commute), a quarter of the ReLU work."""
    return [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        *([nn.MaxPool2d(2)] if pool else []),
        nn.ReLU(inplace=True),
    ]


def density_head(cin: int, hidden: int, dropout: float = 0.0) -> nn.Module:
    """1x1 convolutions to one free value per position: the head of runs before DigitHead (older checkpoints).

    Dropout is off by default (weight decay regularised better: 0.905 vs 0.898 round acc, four-conv trunk);
    when used, only before the last (linear) layer: anywhere before the ReLU it would shift the mean between
    training and evaluation, and summing 105 positions turns that into a bias.
    """
    return nn.Sequential(
        nn.Conv2d(cin, hidden, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout), nn.Conv2d(hidden, 1, 1)
    )


class DigitHead(nn.Module):
    """Where and what, apart: a mass per position that sums to four over the map (one per digit),
    times the expected digit value (0-9) at that position.

    The only labels are sums, but every image holds exactly four digits, so fixing the total
    mass is free supervision: the map has to find the digits and the value channels to read
    them. Measured at 12 epochs (cpu-bf16 recipe, 1 thread): 0.881 round acc vs 0.849 for the
    free density head, and every answer lies in 0-36 by construction.
    """

    def __init__(self, cin: int, hidden: int, dropout: float = 0.0, digits: int = 4) -> None:
        super().__init__()
        self.digits = digits
        self.hidden = nn.Sequential(nn.Conv2d(cin, hidden, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout))
        self.out = nn.Conv2d(hidden, 1 + 10, 1)  # a mass logit, then one logit per digit value
        self.register_buffer("values", torch.arange(10.0).view(1, 10, 1, 1), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.out(self.hidden(features))
        where = logits[:, :1]
        mass = where.flatten(1).softmax(dim=1).view_as(where) * self.digits
        value = (logits[:, 1:].softmax(dim=1) * self.values).sum(dim=1, keepdim=True)
        return mass * value


HEADS = {"density": density_head, "digits": DigitHead}


class SumNet(nn.Module):
    """Conv+BN trunk and a head that gives each map position a share of the sum.

    `input_pool` averages the 40x168 input down first: strokes stay visible at half
    resolution and every later layer costs a quarter, which buys epochs on a CPU.
    Two convolutions at quarter resolution, where a digit is ~5x7 cells, is where depth pays:
    measured at equal CPU time (30 epochs), a second 64-channel conv there beat the same extra
    cost spent at eighth resolution (0.923 vs 0.916 round accuracy at the last epoch), and the
    four-conv trunk's 40-epoch best was 0.905.
    `head_kind`: `digits` (DigitHead; what the recipes train) or `density` (a free value per
    position plus `offset`, 18 by default; the default here so that older checkpoints, which
    do not record it, load as they were trained).
    `integer_output`: in eval mode the prediction is the nearest integer, because a sum of
    digits is one; that is the MAE-optimal answer once the model is mostly right, and it
    leaves round accuracy unchanged (training still regresses the real value).
    """

    def __init__(
        self,
        widths: tuple[int, ...] | list[int] = (32, 64, 64, 128, 128),
        pool_after: tuple[bool, ...] | list[bool] = (True, False, True, False, False),
        input_pool: int = 2,
        head: int = 64,
        dropout: float = 0.0,
        head_kind: str = "density",
        offset: float | None = None,
        integer_output: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.AvgPool2d(input_pool)] if input_pool > 1 else []
        cin = 1
        for cout, pool in zip(widths, pool_after):
            layers += _conv_bn(cin, cout, pool)
            cin = cout
        self.trunk = nn.Sequential(*layers)
        if head_kind not in HEADS:
            raise ValueError(f"head_kind must be one of {', '.join(HEADS)}, got {head_kind!r}")
        self.density = HEADS[head_kind](cin, head, dropout)
        self.offset = (18.0 if head_kind == "density" else 0.0) if offset is None else offset
        self.integer_output = integer_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = fp32_head(self.density, self.trunk(x)).sum(dim=(1, 2, 3)) + self.offset
        return total.round() if self.integer_output and not self.training else total


MODELS: dict[str, type[nn.Module]] = {"seed": SeedNet, "sumnet": SumNet}
assert set(MODELS) == set(MODEL_NAMES), "keep digitsum.config.MODEL_NAMES in step with MODELS"


def build_model(name: str, kwargs: dict[str, Any] | None = None) -> nn.Module:
    """Instantiate a registered model and remember its full constructor arguments for the checkpoint."""
    from digitsum.errors import BadInput

    if name not in MODELS:
        raise BadInput(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    cls = MODELS[name]
    try:
        bound = inspect.signature(cls).bind(**(kwargs or {}))
    except TypeError as exc:
        raise BadInput(f"model {name!r} does not take these arguments: {exc}") from None
    bound.apply_defaults()
    try:
        model = cls(*bound.args, **bound.kwargs)
    except ValueError as exc:
        raise BadInput(f"model {name!r}: {exc}") from None
    model.init_kwargs = dict(bound.arguments)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
