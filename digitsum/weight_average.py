"""An exponential moving average of a model's weights, kept without a single host sync per step.

torch's `AveragedModel` keeps its update count as a tensor on the model's device and reads it
back twice per update (`n_averaged == 0`, `n_averaged > 0`), plus once more in our decay
warm-up: three GPU→CPU syncs per training step, each stalling the queue of a small model. Here
the count is a Python int, so the decay is computed on the host and every update is two
`_foreach` launches. The arithmetic is AveragedModel's with our warm-up, update for update.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """`module` holds the average of the weights and buffers (BatchNorm statistics included)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.module = copy.deepcopy(model)
        self.decay = decay
        self.updates = 0  # updates folded in so far (AveragedModel's n_averaged, but on the host)

    def weight(self) -> float:
        """The share of the new weights: large at first, so the average forgets the random start quickly."""
        return 1.0 - min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        averaged = [*self.module.parameters(), *self.module.buffers()]
        current = [*model.parameters(), *model.buffers()]
        if self.updates == 0:
            torch._foreach_copy_(averaged, current)
        else:
            floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
            counters = [(a, c) for a, c in zip(averaged, current) if not a.is_floating_point()]
            if floats:
                torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], self.weight())
            if counters:  # BatchNorm's num_batches_tracked
                torch._foreach_copy_([a for a, _ in counters], [c for _, c in counters])
        self.updates += 1
