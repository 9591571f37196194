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
EMA_BATCH = 64  # the batch size the weight average's decay (RunConfig.ema, 0.999) is stated for
DIGIT_HEAD = {"head_kind": "digits", "answer": "mode"}  # four read digits, the likeliest sum (models.DigitHead)
# composites.Augmentation fields for the full-width trunk: bent further than the default (12 degrees, zoom
# 0.85-1.15, shear 0.15, elastic 1 px, 30 % re-stroked), which the half-width fp32 trunk keeps
WIDE_AUGMENTATION = {"degrees": 15.0, "zoom": [0.8, 1.2], "shear": 0.2, "elastic": 1.25, "thickness": 0.5}


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
    augment: dict[str, Any] = field(default_factory=dict)  # composites.Augmentation fields off its defaults

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "train_size": self.train_size,
            "model_kwargs": dict(self.model_kwargs),
            "augment": dict(self.augment),
        }


RECIPES = {"seed": Recipe(loss="mse", weight_decay=0.0), "sumnet": Recipe(loss="huber", weight_decay=0.1)}
PLAIN = Recipe(loss="mse", weight_decay=0.0)

# All sumnet recipes train the digit head on its sum's likelihood (nll) and answer the likeliest sum.
# cpu-bf16: 32 epochs x 24k, lr 3e-3, WIDE_AUGMENTATION. Proxies (1 thread, two at a time, seed 0; builtin
#           val round / MAE, then bench.shifted's style-shifted val, then a set bent beyond every training
#           range: 20 degrees, zoom 0.75-1.25, shear 0.35, elastic 1.75 px, all re-stroked): the default
#           bending, 24 epochs (full run) 0.973 / 0.100, shifted 0.844 / 0.581, beyond 0.766 / 0.900;
#           36 epochs 0.971 / 0.106, 0.858 / 0.539, 0.783 / 0.854; WIDE 32 epochs 0.973 / 0.099, 0.875 /
#           0.467, 0.821 / 0.667; WIDE 28 epochs 0.971 / 0.112; shear 0.25 and elastic 1.5 px, 32 epochs
#           0.965 / 0.126, 0.885 / 0.422, 0.837 / 0.629 (lost on builtin val, the selection signal).
#           Before: 24 epochs x 24k, lr 3e-3: 8:40 wall on 2 cores, best.pt (epoch 16) 0.973 / 0.100.
#           36 epochs took 14:19 for 0.971 / 0.106 (0.973 by epoch 17, then flat or down while the lr
#           annealed: the extra epochs fit the training writers). Proxies (12 epochs, 1 thread, two at a
#           time, seed 0, builtin val round / MAE): nll lr 3e-3 0.970 / 0.117, lr 5e-3 0.967 / 0.145 (one
#           epoch fell to 0.77 mid-cycle), lr 2e-3 0.963 / 0.148, nll + Huber on the mean answering the
#           median 0.965 / 0.136; the digit head regressing its mean (Huber, the recipe before nll)
#           0.898 / 0.213 at lr 5e-3, the density head 0.849 / 0.251 at 3e-3. Stronger augmentation (15
#           degrees, zoom 0.8-1.2, shear 0.25, elastic 1.5 px, half the digits re-stroked) lost at 20 epochs
#           (0.961 / 0.150 vs 0.968 / 0.122). Before nll, a strided first conv instead of the input pool,
#           12 augmented copies per digit, a 128-wide head and batch 128 at lr 7e-3 did not pay.
# cpu-fp32: the full trunk trains at ~290-340 img/s there (28 epochs = ~41 min). Measured on the AVX2
#           stand-in: the half width 16-32-32-64-64 runs at ~1,100-1,250 img/s on 2 threads, and more
#           epochs of it beat fewer of 24-48-48-96-96 (before nll, 40 epochs 0.906 / 0.205 vs 18 epochs
#           0.883 / 0.215). With nll, lr 3e-3: 12 epochs 0.956 / 0.182 (1 thread); the default run
#           planned 28 of the 40 (11:33 wall, 0.968 / 0.124), where a 24-epoch recipe took 9:19 for
#           0.957 / 0.175: unlike the full trunk, the narrow one keeps gaining, so it keeps 40 to be trimmed.
#           It keeps the default bending: with WIDE_AUGMENTATION 28 epochs read 0.954 / 0.175 (proxy), where
#           the default's 28 planned of 40 read 0.968 / 0.124: a narrow trunk cannot afford the harder task.
# cuda:     large batches keep the SMs busy; 40 epochs of 256 (3,750 steps, 960k images) against the
#           ~6,000 steps of 64 (384k images) by which the bf16 recipe peaks (unmeasured: gpu_check.sh tries
#           80 epochs and batch 512 beside it); the full-width trunk's WIDE bending, as on cpu-bf16.
MACHINE_RECIPES: dict[tuple[str, str], MachineRecipe] = {
    ("sumnet", "cpu-bf16"): MachineRecipe(
        epochs=32, batch_size=64, lr=3e-3, train_size=24_000, model_kwargs=dict(DIGIT_HEAD), augment=WIDE_AUGMENTATION
    ),
    ("sumnet", "cpu-fp32"): MachineRecipe(
        epochs=40, batch_size=64, lr=3e-3, train_size=24_000, model_kwargs={"widths": HALF_WIDTH, **DIGIT_HEAD}
    ),
    ("sumnet", "cuda"): MachineRecipe(
        epochs=40, batch_size=256, lr=5e-3, train_size=24_000, model_kwargs=dict(DIGIT_HEAD), augment=WIDE_AUGMENTATION
    ),
    ("seed", "cpu-bf16"): MachineRecipe(epochs=30, batch_size=64, lr=3e-3, train_size=24_000),
    ("seed", "cpu-fp32"): MachineRecipe(epochs=30, batch_size=64, lr=3e-3, train_size=24_000),
    ("seed", "cuda"): MachineRecipe(epochs=30, batch_size=256, lr=3e-3, train_size=24_000),
}


def objective_name(loss: str, model: str, answer: str = "mean") -> str:
    """Resolve `auto`: a model that answers with the likeliest sum trains on its likelihood, others on their own loss."""
    if loss != "auto":
        return loss
    return "nll" if answer == "mode" else RECIPES.get(model, PLAIN).loss


def kwargs_for_loss(model_kwargs: dict[str, Any], loss: str) -> dict[str, Any]:
    """A digit-head model answers as its objective trains it: the likeliest sum under nll, the rounded mean under
    a regression loss (a mode read off a regression-trained map reads 0.15 round accuracy, its mean 0.90)."""
    if loss == "auto" or model_kwargs.get("head_kind") != "digits":
        return model_kwargs
    return {**model_kwargs, "answer": "mode" if loss == "nll" else "mean"}


def weight_decay_for(weight_decay: float | None, model: str) -> float:
    """None means the model's own decay."""
    return RECIPES.get(model, PLAIN).weight_decay if weight_decay is None else weight_decay


def ema_decay(decay: float, batch_size: int) -> float:
    """The weight average's per-step decay, set for batches of 64: a larger batch takes fewer steps per
    epoch, so its decay is raised to batch/64 to average over the same number of images (0 stays off)."""
    return decay ** (batch_size / EMA_BATCH) if decay else 0.0


def machine_class(device_type: str, bf16: bool) -> str:
    """cuda, or a CPU told apart by whether it trains in bf16 (native AVX-512-BF16/AMX) or fp32."""
    if device_type == "cuda":
        return "cuda"
    return "cpu-bf16" if bf16 else "cpu-fp32"


def machine_recipe(model: str, machine: str) -> MachineRecipe:
    """The recipe for a model on a machine class (a model without its own takes sumnet's CPU one)."""
    return MACHINE_RECIPES.get((model, machine)) or MACHINE_RECIPES[("seed", machine)]
