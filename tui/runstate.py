"""What the training screen shows, rebuilt from event records (live engine or a followed log).

Plain Python and no Textual: both the engine bridge and the `--attach` follower feed it
the same dicts (`Event.to_dict()` / `metrics.jsonl` lines), so one screen serves both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from digitsum.formatting import end_line, epoch_line, plan_line

Record = dict[str, Any]
EPOCH_KEYS = ("epoch", "train_loss", "val_loss", "round_acc", "mae")  # what the screen relies on


@dataclass
class RunState:
    """Everything known about one run so far; `apply` folds in new records."""

    clock: Callable[[], float] = time.time
    run_id: str = ""
    run_dir: str = ""
    model: str = ""
    device: str = ""
    data: str = ""
    epochs: int = 0
    batch_size: int = 0
    budget_min: float | None = None  # the plan's budget; None when --epochs fixed the length
    batches: int = 0
    epoch: int = 0
    batch: int = 0
    images_per_s: float = 0.0
    history: list[Record] = field(default_factory=list)
    batch_losses: list[float] = field(default_factory=list)
    batch_steps: list[int] = field(default_factory=list)  # the global step of each per-batch loss
    batch_minutes: list[float] = field(default_factory=list)  # and when it came, in minutes since the start
    max_lr: float = 0.0  # the one-cycle schedule's peak, from the start record's settings
    started_at: float | None = None
    last_time: float | None = None
    system: Record = field(default_factory=dict)  # the latest SystemStats reading
    phase: str = "starting"  # starting | training | paused | finished | stopped | failed
    message: str = ""
    epochs_changed: bool = False
    batches_changed: bool = False

    # --- folding in records -------------------------------------------------------------
    def apply(self, records: list[Record]) -> None:
        """Unknown events are skipped, and so are malformed ones: a newer or damaged log must not crash a viewer."""
        for record in records:
            if not isinstance(record, dict):
                continue
            handler = getattr(self, f"_on_{record.get('event')}", None)
            try:
                if handler is not None:
                    handler(record)
                if "time" in record:  # from a log file: elapsed follows the writer's clock
                    self.last_time = float(record["time"])
            except (KeyError, TypeError, ValueError):
                continue

    def _on_start(self, r: Record) -> None:
        self.run_id, self.run_dir = r.get("run_id", ""), r.get("run_dir", "")
        self.model, self.device, self.data = r.get("model", ""), r.get("device", ""), r.get("data", "")
        self.epochs, self.batches = int(r.get("epochs", 0)), int(r.get("batches_per_epoch", 0))
        self.batch_size = int((r.get("config") or {}).get("batch_size", 0))
        self.max_lr = float((r.get("config") or {}).get("lr") or 0.0)
        self.epoch = int(r.get("start_epoch", 0))
        self.budget_min = (r.get("plan") or {}).get("budget_min")
        self.batch = 0
        if r.get("history"):
            self.history = [dict(h) for h in r["history"]]
        self.epochs_changed = True  # the plan (epochs, schedule) is new even when the history is not
        self.started_at = float(r.get("time", self.clock()))
        self.phase = "training"

    def _on_batch(self, r: Record) -> None:
        self.epoch, self.batch, self.batches = int(r["epoch"]), int(r["batch"]), int(r["batches"])
        self.images_per_s = float(r.get("images_per_s") or self.images_per_s)
        self.batch_losses.append(float(r["loss"]))
        self.batch_steps.append(self.step)
        now = float(r.get("time", self.clock()))
        self.batch_minutes.append(max(0.0, now - (self.started_at or now)) / 60)
        self.batches_changed = True

    def _on_epoch(self, r: Record) -> None:
        for key in EPOCH_KEYS:  # a line without its metrics is skipped whole (KeyError / TypeError)
            float(r[key])
        self.history = [h for h in self.history if h["epoch"] != r["epoch"]] + [dict(r)]
        self.history.sort(key=lambda h: h["epoch"])
        self.epoch, self.epochs = int(r["epoch"]), int(r.get("epochs", self.epochs))
        self.batch = self.batches
        self.epochs_changed = True

    def _on_system(self, r: Record) -> None:
        stats = r.get("stats")
        if isinstance(stats, dict):
            self.system = dict(stats)

    def _on_pause(self, r: Record) -> None:
        self.phase = "paused"

    def _on_resume(self, r: Record) -> None:
        self.phase = "training"

    def _on_end(self, r: Record) -> None:
        self.phase = "stopped" if r.get("stopped") else "finished"

    def _on_error(self, r: Record) -> None:
        self.phase, self.message = "failed", str(r.get("message", ""))

    # --- derived figures -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.phase in ("starting", "training", "paused")

    @property
    def best(self) -> Record | None:
        """The epoch with the lowest validation loss (what best.pt holds)."""
        return min(self.history, key=lambda h: h["val_loss"], default=None)

    @property
    def step(self) -> int:
        """Optimizer steps taken so far in the whole run: where it is on its learning-rate schedule."""
        if self.batch == 0:  # between epochs: `epoch` counts the epochs done
            return self.epoch * self.batches
        return (self.epoch - 1) * self.batches + self.batch

    @property
    def total_steps(self) -> int:
        return self.epochs * self.batches

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        now = self.last_time if self.last_time is not None else self.clock()
        return max(0.0, now - self.started_at)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current training speed (validation time not counted)."""
        if not self.images_per_s or not self.batch_size or not self.running:
            return None
        left = (self.epochs - self.epoch) * self.batches + (self.batches - self.batch)
        if self.batch == self.batches:
            left = (self.epochs - self.epoch) * self.batches
        return max(0, left) * self.batch_size / self.images_per_s

    def take_changes(self) -> tuple[bool, bool]:
        """(epochs changed, batches changed) since the last call: what needs a redraw."""
        changes = (self.epochs_changed, self.batches_changed)
        self.epochs_changed = self.batches_changed = False
        return changes


def _megabytes(mb: float) -> str:
    return f"{mb / 1024:.1f}G" if mb >= 1024 else f"{mb:.0f}M"


def fmt_system(stats: Record) -> str:
    """`CPU 187%/200%  RSS 812M  9 thr  GPU 1.2G/2.0G 45%`: one short line, so 80 columns keep it.

    CPU is this process's share with 100 % per core, next to the machine's ceiling (cores x 100 %);
    GPU is allocated/reserved memory and utilisation, only when the engine reported them. '' before
    the first reading.
    """
    parts = []
    try:
        if stats.get("cpu_percent") is not None:
            cores = int(stats.get("cores") or 1)
            parts.append(f"CPU {float(stats['cpu_percent']):.0f}%/{100 * cores}%")
        if stats.get("rss_mb") is not None:
            parts.append(f"RSS {_megabytes(float(stats['rss_mb']))}")
        if stats.get("threads") is not None:
            parts.append(f"{int(stats['threads'])} thr")
        if stats.get("gpu_mem_mb") is not None:
            gpu = f"GPU {_megabytes(float(stats['gpu_mem_mb']))}"
            if stats.get("gpu_mem_reserved_mb") is not None:
                gpu += f"/{_megabytes(float(stats['gpu_mem_reserved_mb']))}"
            if stats.get("gpu_util") is not None:
                gpu += f" {float(stats['gpu_util']):.0f}%"
            parts.append(gpu)
    except (TypeError, ValueError):
        pass
    return "  ".join(parts)


def describe(record: Record) -> str | None:
    """One log line for an event record (None for batch, system and unknown or malformed lines)."""
    try:
        return _describe(record)
    except (KeyError, TypeError, ValueError):
        return None


def _describe(record: Record) -> str | None:
    kind = record.get("event")
    if kind == "start":
        where = f"resumed at epoch {record['start_epoch']}" if record.get("start_epoch") else "started"
        started = (
            f"run {record.get('run_id', '')} {where}: {record.get('model')} on {record.get('device')}, "
            f"{record.get('train_size', 0):,} train / {record.get('val_size', 0):,} val"
        )
        lines = [started, plan_line(record.get("plan") or {}), *(f"note: {n}" for n in record.get("notes") or [])]
        return "\n".join(line for line in lines if line)
    if kind == "epoch":
        return epoch_line(record, compact=True)
    if kind == "checkpoint":
        return f"saved {record.get('kind')} checkpoint {record.get('path')}"
    if kind == "pause":
        return f"paused at epoch {record['epoch']}, batch {record['batch']}"
    if kind == "resume":
        return f"resumed at epoch {record['epoch']}, batch {record['batch']}"
    if kind == "end":
        return end_line(record)
    if kind == "error":
        return f"FAILED: {record.get('message')}"
    return None
