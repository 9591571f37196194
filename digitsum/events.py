"""What the engine tells its watchers. Plain dataclasses, so any subscriber can log or draw them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base event; `event` is the name written to the run log."""

    event: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, **asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    event: ClassVar[str] = "start"
    run_id: str
    run_dir: str
    model: str
    device: str
    data: str
    epochs: int
    start_epoch: int
    batches_per_epoch: int
    train_size: int
    val_size: int
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)  # digitsum.planner.Plan: epochs, budget, speed, recipe
    start_batch: int = 0  # batches of epoch start_epoch + 1 already trained (a mid-epoch checkpoint)
    branched_from: str = ""  # the checkpoint a branch continues (its history is the start record's)
    notes: list[str] = field(default_factory=list)  # one line each, e.g. a resumed run that changed composer


@dataclass(frozen=True)
class BatchEnd(Event):
    event: ClassVar[str] = "batch"
    epoch: int
    batch: int
    batches: int
    loss: float
    images_per_s: float = 0.0


@dataclass(frozen=True)
class EpochEnd(Event):
    event: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    floor_acc: float
    ceil_acc: float
    round_acc: float
    mae: float
    lr: float
    seconds: float
    images_per_s: float
    val_seconds: float = 0.0
    is_best: bool = False
    ranks: list[dict[str, Any]] = field(default_factory=list)  # per-rank shard sizes under torchrun


@dataclass(frozen=True)
class CheckpointSaved(Event):
    event: ClassVar[str] = "checkpoint"
    path: str
    kind: str  # "best", "last" or "manual"
    epoch: int
    batch: int = 0


@dataclass(frozen=True)
class Paused(Event):
    event: ClassVar[str] = "pause"
    epoch: int
    batch: int


@dataclass(frozen=True)
class Resumed(Event):
    event: ClassVar[str] = "resume"
    epoch: int
    batch: int


@dataclass(frozen=True)
class SystemStats(Event):
    """Process readings every few seconds: cpu_percent, cores, rss_mb, threads (+ gpu_* on CUDA)."""

    event: ClassVar[str] = "system"
    epoch: int
    batch: int
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finished(Event):
    event: ClassVar[str] = "end"
    run_dir: str
    best: str
    last: str
    epoch: int
    stopped: bool
    best_metrics: dict[str, Any] = field(default_factory=dict)
    why: str = ""  # why the engine ended the run before its planned last epoch (the budget); "" otherwise


@dataclass(frozen=True)
class Failed(Event):
    event: ClassVar[str] = "error"
    message: str
    epoch: int = 0
    batch: int = 0


Subscriber = Callable[[Event], None]

EVENT_TYPES: dict[str, type[Event]] = {
    cls.event: cls
    for cls in (RunStarted, BatchEnd, EpochEnd, CheckpointSaved, Paused, Resumed, SystemStats, Finished, Failed)
}
