"""Training objectives. Validation always reports MSE (DESIGN.md's `loss`); what is optimized may differ.

Huber (delta 1), the default model's objective (see `digitsum.recipes`), is squared error for
near misses and linear for the few misread digits, so those outliers stop dragging every other
prediction. Builtin validation after 10 epochs: round accuracy 0.745 against 0.642 with MSE.
`nll`, the digit head's objective, is the true sum's likelihood under the four read digits
(`digitsum.slots`): it reads the sum's distribution, not the predicted sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from digitsum.config import LOSS_NAMES
from digitsum.slots import sum_likelihood


@dataclass(frozen=True)
class Objective:
    """A training loss of (what it reads, the true sums): the predicted sums (N,), or their distribution (N,37)."""

    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    reads_distribution: bool = False


OBJECTIVES: dict[str, Objective] = {
    "mse": Objective(F.mse_loss),
    "huber": Objective(lambda pred, target: F.huber_loss(pred, target, delta=1.0)),
    "nll": Objective(sum_likelihood, reads_distribution=True),
}
assert set(OBJECTIVES) | {"auto"} == set(LOSS_NAMES), "keep digitsum.config.LOSS_NAMES in step with OBJECTIVES"
