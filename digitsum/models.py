"""Networks that map a normalized (N,1,40,168) image to its digit sum, looked up by name.

`seed` is the assignment's network, unchanged. `sumnet` (the default) is a small BatchNorm
conv trunk whose head gives a value per position, summed over the map: the sum of four
digits is a sum over places, and that additive bias is what makes it generalize.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from digitsum.composites import DIGITS_PER_IMAGE
from digitsum.config import MODEL_NAMES
from digitsum.slots import slot_distributions, sum_distribution


def fp32_head(head: Callable[[torch.Tensor], Any], features: torch.Tensor) -> Any:
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
    free density head, and every answer lies in 0-36 by construction. The same mass and values
    also give the sum's whole distribution (`digitsum.slots`), which `--loss nll` trains.
    """

    def __init__(self, cin: int, hidden: int, dropout: float = 0.0, digits: int = DIGITS_PER_IMAGE) -> None:
        super().__init__()
        self.digits = digits
        self.hidden = nn.Sequential(nn.Conv2d(cin, hidden, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout))
        self.out = nn.Conv2d(hidden, 1 + 10, 1)  # a mass logit, then one logit per digit value
        self.register_buffer("values", torch.arange(10.0).view(1, 10, 1, 1), persistent=False)

    def read(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The digit mass (N,H,W; four in all) and each position's digit-value probabilities (N,10,H,W)."""
        logits = self.out(self.hidden(features))
        mass = logits[:, 0].flatten(1).softmax(dim=1).view_as(logits[:, 0]) * self.digits
        return mass, logits[:, 1:].softmax(dim=1)

    def shares(self, mass: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
        """Each position's share of the expected sum, (N,1,H,W): its mass times its expected digit."""
        return mass.unsqueeze(1) * (probabilities * self.values).sum(dim=1, keepdim=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.shares(*self.read(features))

    def sums(self, features: torch.Tensor, with_distribution: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The expected sum (N,) and, when asked, the sum's distribution over 0-36 (N,37; `digitsum.slots`)."""
        mass, probabilities = self.read(features)
        expected = self.shares(mass, probabilities).sum(dim=(1, 2, 3))
        if not with_distribution:
            return expected, None
        return expected, sum_distribution(slot_distributions(mass, probabilities, self.digits))


HEADS = {"density": density_head, "digits": DigitHead}
ANSWERS = ("mean", "mode")


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
    `answer`: `mean`, the expected sum (trained by regression), or `mode`, the likeliest sum
    under the four read digits' distribution (`digitsum.slots`; trained by `--loss nll`; the
    digits head only).
    `integer_output`: in eval mode the prediction is a whole number, because a sum of digits is
    one: the nearest to the mean (MAE-optimal once the model is mostly right; round accuracy
    unchanged), or the mode itself. Training always sees the real-valued mean.
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
        answer: str = "mean",
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
        if answer not in ANSWERS or (answer == "mode" and head_kind != "digits"):
            raise ValueError(f"answer must be mean, or mode with the digits head; got {answer!r} ({head_kind} head)")
        self.answer = answer
        self.integer_output = integer_output

    @property
    def gives_distribution(self) -> bool:
        """Whether the model can give the sum's distribution, which `--loss nll` trains."""
        return isinstance(self.density, DigitHead)

    def forward(self, x: torch.Tensor, with_distribution: bool = False):
        """The predicted sums (N,); with `with_distribution`, also their distribution over 0-36 (N,37)."""
        features = self.trunk(x)
        evaluating = self.integer_output and not self.training
        if not self.gives_distribution:
            total = fp32_head(self.density, features).sum(dim=(1, 2, 3)) + self.offset
            return total.round() if evaluating else total
        answers_mode = evaluating and self.answer == "mode"
        total, distribution = fp32_head(lambda f: self.density.sums(f, with_distribution or answers_mode), features)
        total = total + self.offset
        if evaluating:
            total = distribution.argmax(dim=1).to(total.dtype) if answers_mode else total.round()
        return (total, distribution) if with_distribution else total


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
