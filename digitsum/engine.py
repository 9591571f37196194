"""The training loop: one readable `run()` that emits events and obeys a `Control`.

It knows nothing of its watchers: the headless reporter, the run log and the TUI all
subscribe to the same events. Each epoch's randomness is derived from (seed, epoch), so a
run resumed from `last.pt` continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitsum.allocator import keep_freed_memory, release_freed_memory
from digitsum.checkpoints import load_checkpoint, model_from_checkpoint, save_checkpoint
from digitsum.composites import COMPOSER, Augmentation
from digitsum.config import RunConfig
from digitsum.control import Control
from digitsum.data import MEAN, STD, DataBundle, load_data, normalize
from digitsum.distributed import DistContext, digest
from digitsum.errors import BadInput, TrainingFailed, failure_text
from digitsum.events import (
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    Event,
    Failed,
    Finished,
    Paused,
    Resumed,
    RunStarted,
    Subscriber,
    SystemStats,
)
from digitsum.losses import OBJECTIVES
from digitsum.metrics import compute_metrics
from digitsum.models import build_model
from digitsum.planner import (
    DEFAULT_BUDGET_MIN,
    LOOP_OVERHEAD,
    Deadline,
    Plan,
    plan_epochs,
    probe_training,
    process_age_s,
    timed,
    wall_clock,
)
from digitsum.recipes import (
    MachineRecipe,
    ema_decay,
    kwargs_for_loss,
    machine_class,
    machine_recipe,
    objective_name,
    weight_decay_for,
)
from digitsum.runlock import RunLock
from digitsum.runlog import make_run_dir
from digitsum.schedule import one_cycle_lr
from digitsum.system import SystemSampler
from digitsum.weight_average import WeightAverage

EVAL_BATCH = 64  # as fast per image as 500 on a CPU, and its activations stay on the heap
# (digitsum.allocator); 500 measured 1,490 vs 3,130 img/s for seed, 4,200 vs 4,900 for sumnet
SYSTEM_INTERVAL = 2.0  # seconds between SystemStats events
SAVE_S = 0.5  # an epoch's checkpoint writes and events, for the plan
GPU_SYNC_EVERY = 16  # batches between reading losses back from a GPU


@dataclass
class RunResult:
    run_dir: Path
    best: Path | None  # None when no epoch finished
    last: Path
    epoch: int
    stopped: bool
    best_metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    why: str = ""  # why the engine ended the run early (the budget ran out); "" when it finished or was stopped


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    return torch.device(name)


def pick_precision(name: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where the hardware does it natively; None means fp32."""
    if name == "fp32":
        return None
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
    else:
        supported = bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if name == "bf16" and not supported:
        raise BadInput(f"--precision bf16: not supported on this {device.type} device")
    return torch.bfloat16 if supported else None


def evaluate(
    model: nn.Module,
    images: np.ndarray,
    sums: np.ndarray,
    device: torch.device,
    precision: torch.dtype | None,
    control: Control | None = None,
) -> tuple[dict[str, float], np.ndarray]:
    """Metrics and float predictions of `model` on uint8 images, in large no-grad batches."""
    model.eval()
    preds = []
    with torch.inference_mode():
        for i in range(0, len(images), EVAL_BATCH):
            if control is not None and control.stop_requested:
                break
            x = normalize(torch.from_numpy(images[i : i + EVAL_BATCH]).to(device))
            preds.append(autocast_forward(model, x, precision).float().cpu())
    pred = torch.cat(preds) if preds else torch.empty(0)
    return compute_metrics(pred, torch.from_numpy(sums[: len(pred)])), pred.numpy()


def autocast_forward(model: nn.Module, x: torch.Tensor, precision: torch.dtype | None, **kwargs: Any):
    """The model on a channels-last batch under the run's precision: one way in for training, evaluation, reading."""
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device_type=x.device.type, dtype=precision or torch.float32, enabled=precision is not None):
        return model(x, **kwargs)


class Engine:
    """Trains one run; call `run()` (blocking) from whichever thread should do the work."""

    def __init__(
        self, config: RunConfig, *, control: Control | None = None, subscribers: Iterable[Subscriber] = ()
    ) -> None:
        self.config = config.validate()  # as asked; _setup resolves `auto` and the plan into it
        self.control = control or Control()  # pause / resume / save now / stop, from any thread
        self.subscribers: list[Subscriber] = list(subscribers)  # who hears the events (log, console, TUI)
        self.dist = DistContext.from_env()  # torchrun's rank and world, or a single process
        # --- what a run holds, all set by _setup (and _resume for a continued run) ---
        self.device = torch.device("cpu")  # where it trains
        self.precision: torch.dtype | None = None  # bf16 autocast, or None for fp32
        self.machine = ""  # machine class: cpu-bf16 | cpu-fp32 | cuda
        self.recipe: MachineRecipe | None = None  # what the `auto` options resolved to on this machine
        self.objective_name, self.objective = "", None  # the training loss (validation reports MSE)
        self.data: DataBundle | None = None  # fixed validation set, and each epoch's training composites
        self.batches = 0  # training batches per epoch on this rank
        self.model: nn.Module | None = None  # the weights that train (and are saved raw beside the EMA)
        self.model_kwargs: dict[str, Any] = {}  # its constructor arguments, saved to rebuild it
        self.net: nn.Module | None = None  # what the forward pass runs: the model, DDP-wrapped under torchrun
        self.optimizer: torch.optim.Optimizer | None = None  # fused AdamW
        self.weight_decay = 0.0  # its decay, resolved from the model's recipe
        self.ema: WeightAverage | None = None  # the weights' moving average: what is validated and saved
        self.plan: Plan | None = None  # the run's length, fixed before training (planner)
        self.deadline: Deadline | None = None  # the budget's end, when this process planned the run against one
        self.ended_why = ""  # why the engine itself ended the run before its planned last epoch
        self.history: list[dict[str, Any]] = []  # one record per finished epoch
        self.start_epoch = 0  # epochs finished before this process started
        self.start_batch = 0  # batches of epoch start_epoch + 1 already trained (mid-epoch checkpoint)
        self.resumed_rng: dict[str, Any] = {}  # torch RNG and partial epoch losses of a mid-epoch checkpoint
        self.step = 0  # optimizer steps taken: where the one-cycle schedule stands
        self.total_steps = 0  # planned steps of the whole run
        self.run_dir = Path()  # OUT/<run-id>; resumed runs continue in place, other checkpoints branch
        self.run_id = ""
        self.branched_from = ""  # the checkpoint a branch started from
        self.best_loss = math.inf  # lowest validation loss so far (best.pt holds it)
        self.best_path, self.last_path = Path(), Path()
        self.lock: RunLock | None = None  # one writer per run folder
        self.position = (0, 0)  # (epoch, batch) now: where a failure is reported
        self.system: SystemSampler | None = None  # CPU/RSS/GPU readings, every SYSTEM_INTERVAL seconds
        self._last_system = 0.0  # when the last reading was emitted
        self.epoch_losses: list[float] = []  # reported train losses of the epoch so far
        self.notes: list[str] = []  # what the start line should tell beyond the plan
        self._drawn: dict[int, tuple[Any, Any]] = {}  # an epoch's training data drawn ahead (by the probe)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        """Tell every subscriber; under torchrun only rank 0 speaks (and so only it logs)."""
        if not self.dist.is_main:
            return
        for subscriber in self.subscribers:
            subscriber(event)

    # --- the run, start to end -------------------------------------------------------------
    def run(self) -> RunResult:
        """Train until the planned epoch, a stop request or a failure; events tell the story as it goes.

        The one failure funnel: a run refused during set-up raises its BadInput (exit 2) and writes
        nothing into any run folder; once started, any exception ends it with exactly one Failed
        event (one `error` line in the log) and leaves as TrainingFailed (exit 1), or as the
        KeyboardInterrupt it was.
        """
        try:
            self._setup()
        except BaseException as exc:
            self._release()
            if isinstance(exc, Exception):  # the TUI hears it; no run log is open yet, so none is written
                self._tell_failure(failure_text(exc))
            raise
        try:
            self._start()
            epoch = self._train()
        except KeyboardInterrupt:
            self._tell_failure("interrupted")
            raise
        except Exception as exc:
            # once started, even a BadInput (a full disk mid-run) is a failed run: exit 1, not 2
            failure = exc if isinstance(exc, TrainingFailed) else TrainingFailed(failure_text(exc))
            self._tell_failure(str(failure))
            if failure is exc:
                raise
            raise failure from exc
        finally:
            self.dist.close()
            self._release()
        return self._finish(epoch)

    def _train(self) -> int:
        """The loop: draw the epoch's data, train its batches, validate, save; returns the last finished epoch."""
        for epoch in range(self.start_epoch + 1, self.config.epochs + 1):
            first_batch, self.start_batch = self.start_batch, 0
            started = time.perf_counter()
            if not self._run_epoch(epoch, first_batch):
                return epoch - 1
            if epoch < self.config.epochs and self._out_of_time(
                epoch, time.perf_counter() - started - self._paused_for
            ):
                return epoch
        return self.config.epochs

    def _out_of_time(self, epoch: int, epoch_s: float) -> bool:
        """Whether another epoch like this one would end past the budget (every rank ends together)."""
        if self.deadline is None or not self.dist.any(not self.deadline.fits(epoch_s)):
            return False
        self.ended_why = (
            f"the {self.plan.budget_min:g}-minute budget would run out during epoch {epoch + 1} of {self.config.epochs}"
            f" at {epoch_s:.0f} s/epoch ({self.plan.epoch_s:.0f} planned); --resume {self.last_path} trains the rest"
        )
        return True

    def _start(self) -> None:
        cfg = self.config
        self.system, self._last_system = SystemSampler(), time.monotonic()
        self.total_steps = cfg.epochs * self.batches
        self.position = (self.start_epoch, self.start_batch)
        self.emit(
            RunStarted(
                run_id=self.run_id,
                run_dir=str(self.run_dir),
                model=cfg.model,
                device=str(self.device),
                data=self.data.description,
                epochs=cfg.epochs,
                start_epoch=self.start_epoch,
                batches_per_epoch=self.batches,
                train_size=len(self.data.train_sums),
                val_size=len(self.data.val_sums),
                config=cfg.to_dict(),
                history=self.history,
                plan=self.plan.to_dict(),
                start_batch=self.start_batch,
                branched_from=self.branched_from,
                notes=self.notes,
            )
        )
        if not self.last_path.exists():
            self._save(self.last_path, "last", self.start_epoch)

    def _finish(self, epoch: int) -> RunResult:
        stopped = self.control.stop_requested or bool(self.ended_why)
        best = min(self.history, key=lambda h: h["val_loss"]) if self.history else {}
        best_path = self.best_path if self.best_path.exists() else None
        self.emit(
            Finished(
                run_dir=str(self.run_dir),
                best=str(best_path or ""),
                last=str(self.last_path),
                epoch=epoch,
                stopped=stopped,
                best_metrics=best,
                why=self.ended_why,
            )
        )
        return RunResult(self.run_dir, best_path, self.last_path, epoch, stopped, best, self.history, self.ended_why)

    def _tell_failure(self, message: str) -> None:
        """One Failed event to every subscriber that can still listen (the failure may be a subscriber's)."""
        if not self.dist.is_main:
            return
        event = Failed(message=message, epoch=self.position[0], batch=self.position[1])
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:
                pass

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    # --- set-up ----------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.config
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        keep_freed_memory()  # every batch re-allocates the same activations: stop re-faulting them in
        self.device = pick_device(cfg.device)
        if self.device.type == "cuda" and self.dist.enabled:
            self.device = torch.device("cuda", self.dist.local_rank)
        self.dist.init(self.device.type)
        resumed = load_checkpoint(cfg.resume) if cfg.resume else None
        if resumed is not None:
            cfg = self._config_for_resume(resumed)
            self._claim_folder()  # refuse a second writer before anything is written
        self.precision = pick_precision(cfg.precision, self.device)
        self.machine = machine_class(self.device.type, self.precision is not None)
        self.recipe = machine_recipe(cfg.model, self.machine)
        cfg = self.config = _resolve_auto(cfg, self.recipe)
        # the model before the data: a wrong --loss is refused before a download (data never draws torch's RNG)
        torch.manual_seed(cfg.seed)
        self.model = (
            model_from_checkpoint(resumed, cfg.resume)
            if resumed
            else build_model(cfg.model, kwargs_for_loss(self.recipe.model_kwargs, cfg.loss))
        )
        self.model_kwargs = _model_kwargs(self.model)
        self.objective_name = objective_name(cfg.loss, cfg.model, getattr(self.model, "answer", "mean"))
        self.objective = OBJECTIVES[self.objective_name]
        if self.objective.reads_distribution and not getattr(self.model, "gives_distribution", False):
            raise BadInput(
                f"--loss {self.objective_name} needs a model that reads four digits (sumnet's digit head);"
                f" this {cfg.model} model predicts only a sum"
            )
        self.data = load_data(
            cfg.data,
            seed=cfg.seed,
            train_size=cfg.train_size,
            val_size=cfg.val_size,
            augment=_augmentation(
                cfg.augment, resumed["plan"]["recipe"] if resumed and resumed.get("plan") else self.recipe.to_dict()
            ),
            fresh_each_epoch=cfg.fresh_each_epoch,
        )
        n_train = len(self.data.train_sums) // self.dist.world  # this rank's share
        if cfg.batch_size > n_train:
            raise BadInput(
                f"--batch-size {cfg.batch_size} is larger than the {n_train:,} training images"
                + (f" per process ({self.dist.world} processes)" if self.dist.enabled else "")
            )
        self.batches = n_train // cfg.batch_size  # drop the ragged last batch: BatchNorm needs > 1
        self.model.to(self.device, memory_format=torch.channels_last)
        self.net = self.dist.wrap(self.model)
        self.weight_decay = weight_decay_for(cfg.weight_decay, cfg.model)
        self.optimizer = self._make_optimizer(self.model)
        self.ema = _make_ema(self.model, ema_decay(cfg.ema, cfg.batch_size))
        if resumed is not None:
            self._resume(resumed)
        self.plan = self._make_plan(resumed)
        if resumed is None and self.plan.budget_min is not None:  # a resumed plan's budget was its first command's
            self.deadline = Deadline(self.plan.deadline)
        self.config = replace(self.config, epochs=self.plan.epochs, budget=None)  # the budget lives on in the plan
        if resumed is None or self.branched_from:
            self._new_folder()
        self.run_id = self.run_dir.name
        self.best_path, self.last_path = self.run_dir / "best.pt", self.run_dir / "last.pt"
        if self.dist.is_main:
            self._write_config()

    def _make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW(model.parameters(), lr=self.config.lr, weight_decay=self.weight_decay, fused=True)

    def _config_for_resume(self, ckpt: dict[str, Any]) -> RunConfig:
        """The checkpoint's own settings (its plan included), except a new total epoch count, device and output."""
        if self.config.budget is not None:
            raise BadInput(
                "--budget plans a new run; --resume continues the recorded plan (or give --epochs N to change its end)"
            )
        saved = RunConfig.from_dict(ckpt.get("config") or {})
        if self.config.epochs is not None:
            saved.epochs = self.config.epochs
        saved.device, saved.resume = self.config.device, self.config.resume
        saved.precision = self.config.precision if self.config.precision != "auto" else saved.precision
        return saved.validate()

    def _claim_folder(self) -> None:
        """`last.pt` continues its run in place, locked before anything is written; other checkpoints branch."""
        source = Path(self.config.resume).resolve()
        if source.name != "last.pt":
            self.branched_from = str(source)  # its new folder is made when set-up has succeeded
            return
        self.run_dir = source.parent
        self.lock = RunLock.acquire(self.run_dir) if self.dist.is_main else None

    def _new_folder(self) -> None:
        """A new run, or a branch beside the run it came from: a fresh folder, locked at once."""
        out = Path(self.branched_from).parent.parent if self.branched_from else self.config.out_dir
        name = f"{self.config.model}-branch" if self.branched_from else self.config.model
        made = make_run_dir(out, name) if self.dist.is_main else None
        self.run_dir = Path(self.dist.broadcast(str(made) if made else None))
        self.lock = RunLock.acquire(self.run_dir) if self.dist.is_main else None
        if self.branched_from:
            self._inherit_best()

    def _resume(self, ckpt: dict[str, Any]) -> None:
        """Everything a checkpoint restores: optimizer, raw and averaged weights, history, position, RNG."""
        self.optimizer.load_state_dict(ckpt["optimizer"])
        _restore_training_weights(self.model, self.ema, ckpt)
        self.history = [dict(h) for h in ckpt.get("history") or []]
        self.start_epoch = int(ckpt["epoch"])
        self.start_batch = int(ckpt.get("batch") or 0)
        self.step = int(ckpt.get("step") or self.start_epoch * self.batches + self.start_batch)
        self.resumed_rng = dict(ckpt.get("position") or {})
        self.best_loss = min((h["val_loss"] for h in self.history), default=math.inf)
        if (ckpt.get("data") or {}).get("composer") != COMPOSER and self.data.pools is not None:
            self.notes.append(
                "this checkpoint's composites came from the numpy composer of digitsum before 0.2; its next epochs "
                "are drawn by the torch composer (same geometry and statistics, other images)"
            )

    def _inherit_best(self) -> None:
        """A branch keeps its origin's best.pt when that was saved at or before the branch point."""
        origin = Path(self.branched_from).parent / "best.pt"
        try:
            best = load_checkpoint(str(origin)) if origin.exists() else None
        except BadInput:
            best = None
        if best is not None and int(best.get("epoch", 0)) <= self.start_epoch:
            if self.dist.is_main:
                shutil.copyfile(origin, self.run_dir / "best.pt")
        else:
            self.best_loss = math.inf  # the branch's first epoch writes its own best.pt

    def _make_plan(self, resumed: dict[str, Any] | None) -> Plan:
        """Fix the run's length before training: --epochs as given, else the recipe's, cut to fit the budget."""
        cfg, recipe = self.config, self.recipe.to_dict()
        if resumed is not None and resumed.get("plan"):  # continue the recorded plan, to a new end if asked
            return Plan(**{**resumed["plan"], "epochs": cfg.epochs})
        if cfg.epochs is not None:
            return Plan(self.machine, recipe, cfg.epochs, self.recipe.epochs, None)
        budget = cfg.budget if cfg.budget is not None else DEFAULT_BUDGET_MIN
        epoch_s, images_per_s = self._probe_epoch_seconds()
        spent = process_age_s()
        epochs, predicted = plan_epochs(budget, self.recipe.epochs, epoch_s, spent)
        epochs = int(self.dist.broadcast(epochs))  # every rank trains the same length
        deadline = wall_clock() - spent + budget * 60
        return Plan(
            self.machine, recipe, epochs, self.recipe.epochs, budget, images_per_s, epoch_s, spent, predicted, deadline
        )

    def _probe_epoch_seconds(self) -> tuple[float, float]:
        """Predict one epoch's wall time: training steps of a scratch copy, drawing data, validating, saving."""
        cfg = self.config
        x_all, sums = self.data.train_for_epoch(1, self.device)
        y_all = sums.float()
        draw = torch.Generator(device=self.device).manual_seed(cfg.seed)  # its own stream: the run's stays untouched

        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            idx = torch.randint(0, len(y_all), (cfg.batch_size,), generator=draw, device=self.device)
            return normalize(x_all[idx]), y_all[idx]

        def step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
            optimizer.zero_grad(set_to_none=True)
            self._predict_and_loss(model.train(), x, y)[1].backward()
            optimizer.step()

        images_per_s = probe_training(self.model, self._make_optimizer, batch, step, self.device, cfg.batch_size)
        drawing = 0.0
        if self.data.fresh_each_epoch and self.data.pools is not None:  # draw epoch 2 now and keep it
            drawing = timed(lambda: self._drawn.setdefault(2, self.data.train_for_epoch(2, self.device)))
        n_val = min(len(self.data.val_sums), 8 * EVAL_BATCH)
        val_s = (
            timed(
                lambda: evaluate(
                    self.model, self.data.val_images[:n_val], self.data.val_sums[:n_val], self.device, self.precision
                )
            )
            * len(self.data.val_sums)
            / n_val
        )
        train_s = self.batches * cfg.batch_size / images_per_s * LOOP_OVERHEAD
        return train_s + drawing + val_s + SAVE_S, images_per_s * self.dist.world

    def _write_config(self) -> None:
        path = self.run_dir / "config.json"
        info = {
            **self.config.to_dict(),
            "model_kwargs": self.model_kwargs,
            "data_description": self.data.description,
            "device_used": str(self.device),
            "precision_used": str(self.precision or "fp32"),
            "loss_used": self.objective_name,
            "weight_decay_used": self.weight_decay,
            "world_size": self.dist.world,
            "branched_from": self.branched_from or None,
            "plan": self.plan.to_dict(),
        }
        try:
            path.write_text(json.dumps(info, indent=2) + "\n")
        except OSError as exc:
            raise BadInput(f"{path}: cannot write ({exc.strerror or exc})") from None

    # --- the loop ----------------------------------------------------------------------
    def _stop_agreed(self) -> bool:
        """A stop asked of any rank stops every rank (a lone stop would hang DDP's all-reduce)."""
        if self.dist.any(self.control.stop_requested):
            self.control.stop()
            return True
        return False

    def _shard_report(self, trained: np.ndarray) -> list[dict[str, Any]]:
        """Under torchrun: how many and which images each rank trained on this epoch."""
        if not self.dist.enabled:
            return []
        return self.dist.gather({"rank": self.dist.rank, "images": int(len(trained)), "digest": digest(trained)})

    @property
    def inference_model(self) -> nn.Module:
        """What is validated and saved as `state_dict`: the EMA of the weights when enabled."""
        return self.ema.module if self.ema is not None else self.model

    def _sample_system(self, epoch: int, batch: int) -> None:
        """A SystemStats event every SYSTEM_INTERVAL seconds; reading /proc costs microseconds."""
        now = time.monotonic()
        if now - self._last_system >= SYSTEM_INTERVAL:
            self._last_system = now
            self.emit(SystemStats(epoch=epoch, batch=batch, stats=self.system.sample(str(self.device))))

    # --- one epoch -----------------------------------------------------------------------------
    def _run_epoch(self, epoch: int, first_batch: int = 0) -> bool:
        """Train and validate one epoch (from `first_batch` when resuming mid-epoch); False when stopped."""
        cfg = self.config
        x_all, sums = self._drawn.pop(epoch, None) or self.data.train_for_epoch(epoch, self.device)
        y_all = sums.float()
        torch.manual_seed(cfg.seed * 1_000_003 + epoch)
        order = self.dist.shard(np.random.default_rng([cfg.seed, epoch, 3]).permutation(len(sums)))
        self.epoch_losses: list[float] = []
        if first_batch:  # a mid-epoch checkpoint: the random stream and losses as they stood
            _set_rng(self.resumed_rng, self.device)
            self.epoch_losses = [float(v) for v in self.resumed_rng.get("epoch_losses", [])]
        self.model.train()
        order_on_device = torch.from_numpy(order).to(self.device)  # once: a copy per batch would sync the GPU
        started, self._paused_for, window = time.perf_counter(), 0.0, []
        for b in range(first_batch, self.batches):
            self.position = (epoch, b)
            self._obey_control(epoch, b)
            if self._stop_agreed():
                return False
            idx = order_on_device[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            window.append(self._train_step(normalize(x_all[idx]), y_all[idx], epoch, b + 1))
            if len(window) == self.sync_every or b + 1 == self.batches:
                self._report_batches(epoch, b + 1 - len(window), window, started, first_batch)
                window = []
        seconds = time.perf_counter() - started - self._paused_for
        self.position = (epoch, self.batches)
        release_freed_memory()  # what the batches kept goes back before validation and saving need theirs
        val_started = time.perf_counter()
        metrics, _ = evaluate(
            self.inference_model, self.data.val_images, self.data.val_sums, self.device, self.precision, self.control
        )
        if self._stop_agreed():
            return False
        if not math.isfinite(metrics["loss"]):  # never record it as an epoch, nor claim a best.pt that is not there
            raise TrainingFailed(
                f"validation loss became {metrics['loss']} at epoch {epoch} (after batch {self.batches}); "
                f"{self.last_path} holds epoch {epoch - 1}"
            )
        shards = self._shard_report(order[: self.batches * cfg.batch_size])
        trained = (self.batches - first_batch) * cfg.batch_size
        train_loss = float(np.mean(self.epoch_losses))
        self._finish_epoch(epoch, train_loss, metrics, seconds, trained, time.perf_counter() - val_started, shards)
        release_freed_memory()  # and validation's, before the next epoch's data is drawn
        return True

    @property
    def sync_every(self) -> int:
        """Batches between reading losses back: every batch on a CPU (free), a window on a GPU (one sync each)."""
        return GPU_SYNC_EVERY if self.device.type == "cuda" else 1

    def _report_batches(self, epoch: int, first: int, window: list[torch.Tensor], started: float, skipped: int) -> None:
        """Read a window of losses back in one go; a NaN is still reported with the batch it appeared in."""
        values = torch.stack(window).tolist()
        if self.sync_every > 1:  # a GPU window (a CPU checked each loss in _train_step already)
            bad = next((k for k, v in enumerate(values) if not math.isfinite(v)), None)
            if self.dist.any(bad is not None):
                value = values[bad] if bad is not None else math.nan
                raise self._loss_failure(epoch, first + (bad if bad is not None else 0) + 1, value)
        elapsed = max(time.perf_counter() - started - self._paused_for, 1e-9)
        for k, value in enumerate(values):
            self.epoch_losses.append(value)
            done = first + k + 1
            self.emit(
                BatchEnd(
                    epoch=epoch,
                    batch=done,
                    batches=self.batches,
                    loss=value,
                    images_per_s=(done - skipped) * self.config.batch_size / elapsed,
                )
            )
        self._sample_system(epoch, first + len(values))

    def _loss_failure(self, epoch: int, batch: int, value: float) -> TrainingFailed:
        """A non-finite train loss: where it appeared and which checkpoint is left to go back to."""
        self.position = (epoch, batch)
        where = (
            f"best checkpoint kept at {self.best_path}"
            if self.best_path.exists()
            else f"no epoch finished, so no best checkpoint yet; {self.last_path} holds epoch {self.start_epoch}"
        )
        return TrainingFailed(f"loss became {value} at epoch {epoch}, batch {batch}; {where}")

    def _train_step(self, x: torch.Tensor, y: torch.Tensor, epoch: int, batch: int) -> torch.Tensor:
        """One optimizer step; returns the batch's MSE (the reported train loss) still on the device."""
        lr = one_cycle_lr(self.step, self.total_steps, self.config.lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        pred, loss = self._predict_and_loss(self.net, x, y)
        reported = nn.functional.mse_loss(pred.detach(), y)  # reported as MSE, like validation
        if self.sync_every == 1:  # reading it back is free on a CPU: stop a NaN before it reaches the weights
            value = reported.item()
            if self.dist.any(not math.isfinite(value)):
                raise self._loss_failure(epoch, batch, value)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        return reported

    def _predict_and_loss(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's predicted sums and the objective on them (or on their distribution, for nll)."""
        if self.objective.reads_distribution:
            pred, distribution = autocast_forward(net, x, self.precision, with_distribution=True)
            return pred.float(), self.objective.loss(distribution.float(), y)
        pred = autocast_forward(net, x, self.precision).float()
        return pred, self.objective.loss(pred, y)

    def _obey_control(self, epoch: int, batch: int) -> None:
        """Between batches: honour save requests, and block here while paused (still saving on request)."""
        self._take_saves(epoch, batch)
        if self.control.paused and not self.control.stop_requested:
            self.emit(Paused(epoch=epoch, batch=batch))
            t0 = time.perf_counter()
            while not self.control.wait_while_paused(timeout=0.2):
                self._take_saves(epoch, batch)
            self._take_saves(epoch, batch)
            paused = time.perf_counter() - t0
            self._paused_for += paused
            if self.deadline is not None:
                self.deadline.extend(paused)
            self.emit(Resumed(epoch=epoch, batch=batch))

    def _take_saves(self, epoch: int, batch: int) -> None:
        """`s`/`b` saves: `batch` batches of `epoch` done; the file holds what continuing from there needs."""
        for tag in self.control.take_save_requests():
            path = self.run_dir / f"{tag}-e{epoch:03d}-b{batch:05d}.pt"
            position = {**_get_rng(self.device), "epoch_losses": list(self.epoch_losses)} if batch else {}
            self._save(path, tag, epoch - 1, batch=batch, position=position)

    def _finish_epoch(
        self,
        epoch: int,
        train_loss: float,
        m: dict[str, float],
        seconds: float,
        trained: int,
        val_seconds: float,
        shards: list[dict[str, Any]],
    ) -> None:
        is_best = m["loss"] < self.best_loss
        record = {
            "epoch": epoch,
            "epochs": self.config.epochs,
            "train_loss": train_loss,
            "val_loss": m["loss"],
            "floor_acc": m["floor_acc"],
            "ceil_acc": m["ceil_acc"],
            "round_acc": m["round_acc"],
            "mae": m["mae"],
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "images_per_s": trained * self.dist.world / max(seconds, 1e-9),
            "val_seconds": val_seconds,
        }
        if shards:
            record["ranks"] = shards
        self.history.append(record)
        if is_best:
            self.best_loss = m["loss"]
            self._save(self.best_path, "best", epoch)
        self._save(self.last_path, "last", epoch)
        self.emit(EpochEnd(**record, is_best=is_best))

    def _save(self, path: Path, kind: str, epoch: int, batch: int = 0, position: dict[str, Any] | None = None) -> None:
        """Write one checkpoint; under torchrun only rank 0 writes (every rank holds the same weights)."""
        if not self.dist.is_main:
            return
        cfg = self.config
        metrics = self.history[-1] if self.history and epoch > 0 else {}
        save_checkpoint(
            {
                "kind": kind,
                "run_id": self.run_id,
                "model": {"name": cfg.model, "kwargs": self.model_kwargs},
                "state_dict": self.inference_model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                **_training_weights(self.model, self.ema),
                "epoch": epoch,
                "batch": batch,
                "step": self.step,
                "position": position or {},
                "metrics": dict(metrics),
                "history": [dict(h) for h in self.history],
                "normalization": {"mean": MEAN, "std": STD},
                "data": {
                    "spec": cfg.data,
                    "description": self.data.description,
                    "train_size": cfg.train_size,
                    "val_size": cfg.val_size,
                    "composer": COMPOSER,
                },
                "seed": cfg.seed,
                "config": cfg.to_dict(),
                "plan": self.plan.to_dict(),
                "branched_from": self.branched_from or None,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
            path,
        )
        self.emit(CheckpointSaved(path=str(path), kind=kind, epoch=epoch, batch=batch))


def _get_rng(device: torch.device) -> dict[str, Any]:
    """The torch random streams now (dropout draws from them), as tensors a weights_only load accepts."""
    state = {"cpu_rng": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng(state: dict[str, Any], device: torch.device) -> None:
    if "cpu_rng" in state:
        torch.set_rng_state(state["cpu_rng"])
    if "cuda_rng" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"], device)


def _make_ema(model: nn.Module, decay: float) -> WeightAverage | None:
    """An exponential moving average of the weights (and BatchNorm buffers): steadier, better on unseen digits."""
    return WeightAverage(model, decay) if decay else None


def _training_weights(model: nn.Module, ema) -> dict[str, Any]:
    """With EMA, `state_dict` holds the average; the raw weights travel beside it so resume is exact."""
    if ema is None:
        return {}
    return {"train_state_dict": model.state_dict(), "ema_updates": ema.updates, "ema_decay": ema.decay}


def _restore_training_weights(model: nn.Module, ema, ckpt: dict[str, Any]) -> None:
    """Undo `_training_weights`: raw weights into the model, the saved average into the EMA."""
    if "train_state_dict" not in ckpt:
        return
    model.load_state_dict(ckpt["train_state_dict"])
    if ema is not None:
        ema.module.load_state_dict(ckpt["state_dict"])
        ema.updates = int(ckpt.get("ema_updates", 1))
        # the decay the run began with: runs saved before it was scaled to the batch used the option as given
        ema.decay = float(ckpt.get("ema_decay", (ckpt.get("config") or {}).get("ema", ema.decay)))


def _augmentation(augment: bool, recipe: dict[str, Any]) -> bool | Augmentation:
    """The recipe's bending of training digits; a resumed run keeps its plan's (older plans: the default)."""
    if not augment:
        return False
    fields = dict(recipe.get("augment") or {})
    if "zoom" in fields:
        fields["zoom"] = tuple(fields["zoom"])
    return Augmentation(**fields)


def _resolve_auto(cfg: RunConfig, recipe: MachineRecipe) -> RunConfig:
    """Options left `auto` (None) take the machine recipe's value; what the user set stays."""
    return replace(
        cfg,
        batch_size=cfg.batch_size if cfg.batch_size is not None else recipe.batch_size,
        lr=cfg.lr if cfg.lr is not None else recipe.lr,
        train_size=cfg.train_size if cfg.train_size is not None else recipe.train_size,
    )


def _model_kwargs(model: nn.Module) -> dict[str, Any]:
    """Constructor arguments as plain data (lists, not tuples) so weights_only loading accepts them."""
    kwargs = getattr(model, "init_kwargs", {})
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
