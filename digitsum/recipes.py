"""Each model's training recipe, per machine class: what every `auto` option resolves to.

The objective and weight decay belong to the model: `seed` keeps the assignment's recipe (MSE,
Adam without decay) so its figures stay honest; `sumnet` trains with Huber and AdamW decay 0.1
(with 0.05 the validation loss, which picks best.pt, bottomed out at epoch 18 of 30 and rose
while accuracy still climbed; with 0.1 both fall together to the end).

Batch size, learning rate, composites per epoch, length and trunk width belong to the machine
class as well, because what fits a 15-minute budget differs ~4x between a CPU with native bf16
and one without, and a GPU wants large batches. `seed` stays the assignment's network everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MACHINE_CLASSES = ("cpu-bf16", "cpu-fp32", "cuda")
HALF_WIDTH = [16, 32, 32, 64, 64]  # sumnet trunk at half width: ~3x the fp32 img/s of the full one


@dataclass(frozen=True)
class Recipe:
    loss: str
    weight_decay: float


@dataclass(frozen=True)
class MachineRecipe:
    """The run-length side of a recipe: resolved into the plan and recorded with the run."""

    epochs: int  # the recipe's own length; a slow machine's plan may shorten it to fit the budget
    batch_size: int
    lr: float
    train_size: int  # composites drawn per epoch
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "train_size": self.train_size,
            "model_kwargs": dict(self.model_kwargs),
        }


RECIPES = {"seed": Recipe(loss="mse", weight_decay=0.0), "sumnet": Recipe(loss="huber", weight_decay=0.1)}
PLAIN = Recipe(loss="mse", weight_decay=0.0)

# cpu-bf16: 28 epochs x 24k at ~1,060 img/s = 12.7 min on 2 cores, best.pt 0.920 round acc (builtin val).
# cpu-fp32: the full trunk trains at ~290-340 img/s there (28 epochs = ~41 min). Measured on the AVX2
#           stand-in (fp32, 1 thread, two proxies at a time, builtin val): half width 16-32-32-64-64 at
#           1,241 img/s (2 threads) for 40 epochs reached 0.906 round / 0.205 MAE (best.pt, epoch 36);
#           widths 24-48-48-96-96 (536 img/s, so 18 epochs in the same time) 0.883 / 0.215. More epochs
#           of the narrow trunk win; the planner cuts the 40 to what fits the budget.
# cuda:     large batches keep the SMs busy; more epochs buy back what the larger batch loses.
MACHINE_RECIPES: dict[tuple[str, str], MachineRecipe] = {
    ("sumnet", "cpu-bf16"): MachineRecipe(epochs=28, batch_size=64, lr=3e-3, train_size=24_000),
    ("sumnet", "cpu-fp32"): MachineRecipe(
        epochs=40, batch_size=64, lr=3e-3, train_size=24_000, model_kwargs={"widths": HALF_WIDTH}
    ),
    ("sumnet", "cuda"): MachineRecipe(epochs=80, batch_size=256, lr=6e-3, train_size=24_000),
    ("seed", "cpu-bf16"): MachineRecipe(epochs=30, batch_size=64, lr=3e-3, train_size=24_000),
    ("seed", "cpu-fp32"): MachineRecipe(epochs=30, batch_size=64, lr=3e-3, train_size=24_000),
    ("seed", "cuda"): MachineRecipe(epochs=30, batch_size=256, lr=3e-3, train_size=24_000),
}


def objective_name(loss: str, model: str) -> str:
    """Resolve `auto` to the model's own objective."""
    return RECIPES.get(model, PLAIN).loss if loss == "auto" else loss


def weight_decay_for(weight_decay: float | None, model: str) -> float:
    """None means the model's own decay."""
    return RECIPES.get(model, PLAIN).weight_decay if weight_decay is None else weight_decay


def machine_class(device_type: str, bf16: bool) -> str:
    """cuda, or a CPU told apart by whether it trains in bf16 (native AVX-512-BF16/AMX) or fp32."""
    if device_type == "cuda":
        return "cuda"
    return "cpu-bf16" if bf16 else "cpu-fp32"


def machine_recipe(model: str, machine: str) -> MachineRecipe:
    """The recipe for a model on a machine class (a model without its own takes sumnet's CPU one)."""
    return MACHINE_RECIPES.get((model, machine)) or MACHINE_RECIPES[("seed", machine)]
