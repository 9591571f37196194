"""The settings of one training run, shared by the CLI, the TUI and the checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from digitsum.errors import BadInput

DEFAULT_MODEL = "sumnet"
MODEL_NAMES = ("sumnet", "seed")  # torch-free copy of models.MODELS, for fast option checks
LOSS_NAMES = ("auto", "mse", "huber")  # torch-free copy of losses.OBJECTIVES (+ auto)


@dataclass
class RunConfig:
    """Everything needed to start (or resume) a run; stored in `config.json` and checkpoints."""

    data: str = "builtin"
    model: str = DEFAULT_MODEL
    epochs: int = 28  # the default model's 15-minute budget on 2 CPU cores
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    device: str = "auto"
    out: str = "checkpoints"
    train_size: int = 24_000
    val_size: int = 6_000
    resume: str | None = None
    precision: str = "auto"  # auto | fp32 | bf16
    fresh_each_epoch: bool = True  # new builtin/IDX composites every epoch
    augment: bool = True  # per-digit rotation/zoom when composing training images
    ema: float = 0.999  # decay of the weight average that is validated and saved; 0 turns it off
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default (one per core)
    loss: str = "auto"  # training objective; auto = the model's own (seed: mse as assigned, sumnet: huber)
    weight_decay: float | None = None  # AdamW decay; None = the model's own (seed: 0 as assigned, sumnet: 0.1)

    def validate(self) -> RunConfig:
        """Reject impossible settings with one clear line (exit 2)."""
        if self.epochs < 1:
            raise BadInput(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise BadInput(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.train_size < 1 or self.val_size < 1:
            raise BadInput(f"--train-size and --val-size must be positive, got {self.train_size} and {self.val_size}")
        if not self.lr > 0:
            raise BadInput(f"--lr must be positive, got {self.lr}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise BadInput(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if self.weight_decay is not None and not self.weight_decay >= 0:
            raise BadInput(f"--weight-decay must be 0 or more, got {self.weight_decay}")
        if self.loss not in LOSS_NAMES:
            raise BadInput(f"--loss must be {', '.join(LOSS_NAMES)}, got {self.loss!r}")
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
