"""The settings of one training run, shared by the CLI, the TUI and the checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from digitsum.errors import BadInput

DEFAULT_MODEL = "sumnet"
MODEL_NAMES = ("sumnet", "seed")  # torch-free copy of models.MODELS, for fast option checks
LOSS_NAMES = ("auto", "mse", "huber", "nll")  # torch-free copy of losses.OBJECTIVES (+ auto)


def option(default: Any, help: str, *, cli: bool = True) -> Any:
    """A RunConfig field that is also a command-line option of `run`, `tui` and `digitsum-tui` (digitsum.options)."""
    return field(default=default, metadata={"help": help, "cli": cli})


@dataclass
class RunConfig:
    """Everything needed to start (or resume) a run; stored in `config.json` and checkpoints.

    The fields marked `cli` are the one list of run options: every command that starts a run
    derives its options, defaults and help text from here.
    """

    data: str = option(
        "builtin",
        "'builtin', 'mnist[:ROOT]' (torchvision, downloads once), a folder of data*.npy/lab*.npy or MNIST IDX.",
    )
    model: str = option(DEFAULT_MODEL, "Network: 'sumnet' (default) or 'seed' (the assignment's).")
    epochs: int | None = option(
        None, "Exactly this many epochs in all (with --resume: continue until this one). Default: planned by --budget."
    )
    budget: float | None = option(
        None, "Minutes the whole command may take; the run's length is planned from a speed probe. Default 15."
    )
    batch_size: int | None = option(None, "Training batch size. Default: the machine class's recipe.")
    lr: float | None = option(None, "Peak learning rate of the one-cycle schedule. Default: the recipe's.")
    seed: int = option(0, "Seed for data, initial weights and shuffling.")
    device: str = option("auto", "auto, cpu or cuda.")
    out: str = option("checkpoints", "Folder for run folders.")
    train_size: int | None = option(None, "Training composites per epoch (builtin/IDX data). Default: the recipe's.")
    val_size: int = option(6_000, "Validation composites (builtin/IDX data).")
    resume: str | None = option(None, "Continue from a checkpoint (e.g. RUN/last.pt).")
    precision: str = option("auto", "auto (bf16 autocast where native), fp32 or bf16.")
    loss: str = option(
        "auto",
        "Objective: auto (the model's own: nll for sumnet's digit head, mse for seed), mse, huber or nll"
        " (the true sum's likelihood under the four read digits).",
    )
    weight_decay: float | None = option(
        None, "AdamW weight decay (default: the model's own: 0.1 for sumnet, 0 for seed)."
    )
    notify: str = option("on", "on: a bell and a desktop notification when a run ends, fails or stalls; off: silent.")
    patience: int = option(5, "Epochs without a lower val loss before a stall alert (an alert, not a stop); 0: never.")
    fresh_each_epoch: bool = option(True, "new builtin/IDX composites every epoch", cli=False)
    augment: bool = option(True, "per-digit rotation/zoom when composing training images", cli=False)
    ema: float = option(
        0.999, "per-step decay of the saved weight average at batch 64 (scaled to the batch); 0 = off", cli=False
    )
    threads: int = option(0, "torch intra-op threads; 0 keeps torch's default (one per core)", cli=False)

    def validate(self) -> RunConfig:
        """Reject impossible settings with one clear line (exit 2)."""
        if self.epochs is not None and self.budget is not None:
            raise BadInput(
                "--epochs and --budget exclude each other: --epochs N trains exactly N epochs, "
                "--budget MIN plans the run to end within MIN minutes"
            )
        if self.epochs is not None and self.epochs < 1:
            raise BadInput(f"--epochs must be at least 1, got {self.epochs}")
        if self.budget is not None and not 0 < self.budget <= 10_000:
            raise BadInput(f"--budget must be minutes between 0 and 10000, got {self.budget}")
        if self.batch_size is not None and self.batch_size < 1:
            raise BadInput(f"--batch-size must be at least 1, got {self.batch_size}")
        if (self.train_size is not None and self.train_size < 1) or self.val_size < 1:
            raise BadInput(f"--train-size and --val-size must be positive, got {self.train_size} and {self.val_size}")
        if self.lr is not None and not self.lr > 0:
            raise BadInput(f"--lr must be positive, got {self.lr}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise BadInput(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if self.weight_decay is not None and not self.weight_decay >= 0:
            raise BadInput(f"--weight-decay must be 0 or more, got {self.weight_decay}")
        if self.loss not in LOSS_NAMES:
            raise BadInput(f"--loss must be {', '.join(LOSS_NAMES)}, got {self.loss!r}")
        if self.notify not in ("on", "off"):
            raise BadInput(f"--notify must be on or off, got {self.notify!r}")
        if self.patience < 0:
            raise BadInput(f"--patience must be 0 or more, got {self.patience}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise BadInput(f"--precision must be auto, fp32 or bf16, got {self.precision!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def out_dir(self) -> Path:
        return Path(self.out)
