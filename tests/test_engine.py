"""The training engine: run folder artifacts, best checkpoint, reproducibility, resume, failures."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from runkit import run_engine

from digitsum import engine as engine_module
from digitsum.checkpoints import load_checkpoint, model_from_checkpoint
from digitsum.config import RunConfig
from digitsum.control import Control
from digitsum.data import load_data
from digitsum.engine import Engine, evaluate, pick_device, pick_precision
from digitsum.errors import BadInput, TrainingFailed
from digitsum.events import BatchEnd, CheckpointSaved, EpochEnd, Failed, Finished, RunStarted
from digitsum.recipes import machine_recipe, objective_name, weight_decay_for
from digitsum.runlog import epoch_history, read_log
from digitsum.schedule import one_cycle_lr

LOSS_KEYS = ("train_loss", "val_loss", "floor_acc", "ceil_acc", "round_acc", "mae")


def losses(history):
    return [[h[k] for k in LOSS_KEYS] for h in history]


# --- a finished run ---------------------------------------------------------------------------
def test_a_tiny_run_writes_best_last_metrics_and_config_into_its_run_folder(tiny_run):
    run_dir = tiny_run.run_dir
    assert run_dir.parent == Path(tiny_run.config.out)
    assert {p.name for p in run_dir.iterdir()} >= {"best.pt", "last.pt", "metrics.jsonl", "config.json"}
    assert tiny_run.result.best == run_dir / "best.pt" and tiny_run.result.last == run_dir / "last.pt"


def test_config_json_records_the_settings_and_what_was_actually_used(tiny_run):
    config = json.loads((tiny_run.run_dir / "config.json").read_text())
    assert {k: config[k] for k in ("train_size", "val_size", "epochs", "batch_size", "seed")} == {
        "train_size": 256,
        "val_size": 64,
        "epochs": 2,
        "batch_size": 32,
        "seed": 0,
    }
    assert config["device_used"] == "cpu" and config["precision_used"] == "fp32"
    assert config["loss"] == "auto" and config["loss_used"] == "nll" and config["weight_decay_used"] == 0.1
    assert config["model_kwargs"]["head_kind"] == "digits" and config["model_kwargs"]["answer"] == "mode"
    # what was left `auto` is recorded as the machine recipe resolved it (fp32 CPU here)
    assert RunConfig.from_dict(config).validate() == replace(
        tiny_run.config, lr=machine_recipe("sumnet", "cpu-fp32").lr
    )
    assert config["plan"]["machine"] == "cpu-fp32" and config["plan"]["epochs"] == 2
    assert config["plan"]["budget_min"] is None  # --epochs fixed the length: no probe, no budget


def test_events_tell_the_story_in_order(tiny_run):
    assert isinstance(tiny_run.events[0], RunStarted)
    assert isinstance(tiny_run.events[-1], Finished)
    assert tiny_run.events[0].batches_per_epoch == 8
    batches = tiny_run.of(BatchEnd)
    assert [(b.epoch, b.batch) for b in batches] == [(e, b) for e in (1, 2) for b in range(1, 9)]
    assert [e.epoch for e in tiny_run.of(EpochEnd)] == [1, 2]
    finished = tiny_run.events[-1]
    assert finished.stopped is False and finished.epoch == 2
    assert {c.kind for c in tiny_run.of(CheckpointSaved)} >= {"best", "last"}


def test_epoch_records_hold_every_metric_of_the_design(tiny_run):
    for record in tiny_run.result.history:
        for key in (
            "epoch",
            "epochs",
            "train_loss",
            "val_loss",
            "floor_acc",
            "ceil_acc",
            "round_acc",
            "mae",
            "lr",
            "seconds",
            "images_per_s",
        ):
            assert key in record and math.isfinite(record[key]), key
        assert 0 <= record["round_acc"] <= 1 and record["images_per_s"] > 0


def test_best_checkpoint_holds_the_epoch_with_the_lowest_validation_loss(tiny_run):
    history = tiny_run.result.history
    best_epoch = min(history, key=lambda h: h["val_loss"])["epoch"]
    best = load_checkpoint(tiny_run.run_dir / "best.pt")
    assert best["epoch"] == best_epoch
    assert best["metrics"]["val_loss"] == min(h["val_loss"] for h in history)
    assert tiny_run.result.best_metrics["epoch"] == best_epoch


def test_last_checkpoint_holds_the_final_epoch_and_the_full_history(tiny_run):
    last = load_checkpoint(tiny_run.run_dir / "last.pt")
    assert last["epoch"] == 2 and losses(last["history"]) == losses(tiny_run.result.history)
    assert last["normalization"] == {"mean": 0.5, "std": 0.5}
    assert last["optimizer"]["state"] and last["seed"] == 0
    assert last["format"] == "digitsum-checkpoint"


def test_best_checkpoint_reproduces_its_recorded_validation_metrics(tiny_run):
    best = load_checkpoint(tiny_run.run_dir / "best.pt")
    model = model_from_checkpoint(best)
    cfg = tiny_run.config
    bundle = load_data(cfg.data, seed=cfg.seed, train_size=cfg.train_size, val_size=cfg.val_size)
    metrics, preds = evaluate(model, bundle.val_images, bundle.val_sums, torch.device("cpu"), None)
    assert len(preds) == 64
    assert metrics["loss"] == pytest.approx(best["metrics"]["val_loss"], rel=1e-5)
    assert metrics["round_acc"] == pytest.approx(best["metrics"]["round_acc"])


def test_run_log_subscriber_writes_one_epoch_line_per_epoch(tiny_run):
    records = read_log(tiny_run.run_dir / "metrics.jsonl")
    assert records[0]["event"] == "start" and records[-1]["event"] == "end"
    assert losses(epoch_history(records)) == losses(tiny_run.result.history)
    last_batches = [(r["epoch"], r["batch"]) for r in records if r["event"] == "batch" and r["batch"] == 8]
    assert last_batches == [(1, 8), (2, 8)]


def test_best_checkpoint_follows_the_lowest_val_loss_even_when_a_later_epoch_is_worse(make_config, monkeypatch):
    scripted = iter([5.0, 3.0, 4.0])

    def scripted_evaluate(*args, **kwargs):
        metrics, preds = evaluate(*args, **kwargs)
        return {**metrics, "loss": next(scripted)}, preds

    monkeypatch.setattr(engine_module, "evaluate", scripted_evaluate)
    result = Engine(make_config(epochs=3, train_size=64, val_size=16, augment=False, fresh_each_epoch=False)).run()

    assert [h["val_loss"] for h in result.history] == [5.0, 3.0, 4.0]
    assert load_checkpoint(result.best)["epoch"] == 2
    assert load_checkpoint(result.last)["epoch"] == 3
    assert result.best_metrics["epoch"] == 2


# --- reproducibility and resume ---------------------------------------------------------------
@pytest.fixture
def stopped_copy(stopped_after_epoch_1, tmp_path) -> Path:
    """A private copy of the run stopped after epoch 1, ready to be resumed."""
    run_dir = stopped_after_epoch_1.run_dir
    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


def test_two_runs_with_the_same_seed_give_identical_histories(tiny_run, stopped_after_epoch_1):
    # the stopped run is a second run of the same config and seed: its one epoch matches exactly
    second = stopped_after_epoch_1.result.history
    assert len(second) == 1
    assert losses(second) == losses(tiny_run.result.history[:1])
    assert stopped_after_epoch_1.run_dir != tiny_run.run_dir


def test_the_stopped_run_ended_after_epoch_1_with_last_pt_at_epoch_1(stopped_after_epoch_1):
    finished = stopped_after_epoch_1.events[-1]
    assert isinstance(finished, Finished) and finished.stopped and finished.epoch == 1
    assert load_checkpoint(stopped_after_epoch_1.run_dir / "last.pt")["epoch"] == 1


def test_resuming_a_stopped_run_continues_exactly_as_the_uninterrupted_run(tiny_run, stopped_copy):
    before = load_checkpoint(stopped_copy / "last.pt")["history"]

    resumed = Engine(RunConfig(resume=str(stopped_copy / "last.pt"), epochs=2, precision="fp32")).run()

    assert resumed.run_dir == stopped_copy  # the same run folder, its history intact
    assert resumed.epoch == 2 and not resumed.stopped
    assert resumed.history[0] == before[0] and [h["epoch"] for h in resumed.history] == [1, 2]
    np.testing.assert_allclose(losses(resumed.history), losses(tiny_run.result.history), rtol=0, atol=1e-6)
    assert load_checkpoint(stopped_copy / "last.pt")["epoch"] == 2
    assert sorted(p.name for p in stopped_copy.glob("*.pt")) == ["best.pt", "last.pt"]


def test_resuming_at_the_total_already_reached_trains_nothing(stopped_copy):
    before = (stopped_copy / "last.pt").read_bytes()
    result = Engine(RunConfig(resume=str(stopped_copy / "last.pt"), epochs=1, precision="fp32")).run()
    assert result.epoch == 1 and len(result.history) == 1
    assert (stopped_copy / "last.pt").read_bytes() == before


def test_resuming_without_a_precision_option_keeps_the_checkpoints_precision(stopped_copy):
    # epochs=1: nothing left to train, but the resumed run still records what it would train with
    Engine(RunConfig(resume=str(stopped_copy / "last.pt"), epochs=1)).run()
    config = json.loads((stopped_copy / "config.json").read_text())
    assert config["precision"] == "fp32"
    assert config["precision_used"] == "fp32"


# --- devices -------------------------------------------------------------------------------------
def test_device_auto_picks_the_cpu_when_cuda_is_unavailable(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")


def test_device_auto_picks_cuda_here_only_if_this_machine_has_it():
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_device_cuda_without_cuda_is_bad_input(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BadInput, match="no CUDA device"):
        pick_device("cuda")


def test_precision_fp32_means_no_autocast():
    assert pick_precision("fp32", torch.device("cpu")) is None


def test_one_cycle_lr_warms_up_then_anneals():
    lrs = [one_cycle_lr(s, 100, 1.0) for s in range(101)]
    assert lrs[0] == pytest.approx(1 / 25) and max(lrs) == pytest.approx(1.0)
    assert lrs.index(max(lrs)) == 25 and lrs[-1] == pytest.approx(1e-4)


def test_auto_loss_is_the_models_own_objective_and_an_explicit_one_wins():
    assert objective_name("auto", "sumnet", "mode") == "nll"  # the digit head: its sum's likelihood
    assert objective_name("auto", "sumnet") == "huber"  # a head answering the mean (older checkpoints) regresses
    assert objective_name("auto", "seed") == "mse"  # the assignment's network keeps the assignment's loss
    assert objective_name("mse", "sumnet", "mode") == "mse"


def test_a_regression_loss_makes_the_digit_head_answer_its_rounded_mean(make_config):
    run = run_engine(make_config(loss="huber", epochs=1))
    config = json.loads((run.run_dir / "config.json").read_text())
    assert config["loss_used"] == "huber" and config["model_kwargs"]["answer"] == "mean"


def test_the_likelihood_loss_on_a_model_that_reads_no_digits_is_bad_input_before_any_data(make_config, tmp_path):
    missing = tmp_path / "no-such-data"  # were the data read first, this would be the complaint (or a download)
    with pytest.raises(BadInput, match="--loss nll needs a model that reads four digits"):
        Engine(make_config(loss="nll", model="seed", data=str(missing))).run()


def test_default_weight_decay_is_the_models_own_and_an_explicit_one_wins():
    assert weight_decay_for(None, "sumnet") == 0.1
    assert weight_decay_for(None, "seed") == 0.0  # the assignment's plain Adam
    assert weight_decay_for(0.0, "sumnet") == 0.0


def test_the_reported_train_loss_is_mse_whatever_the_objective(make_config):
    """Before the first step both runs hold the same weights and batch: the same first reported loss."""
    first = {}
    for loss in ("mse", "huber", "nll"):
        events: list = []
        control = Control()

        def events_and_stop(e, events=events, control=control):
            events.append(e)
            if isinstance(e, BatchEnd):
                control.stop()

        Engine(make_config(loss=loss, epochs=1), control=control, subscribers=[events_and_stop]).run()
        first[loss] = next(e.loss for e in events if isinstance(e, BatchEnd))
    assert first["huber"] == pytest.approx(first["mse"], rel=1e-6) and first["mse"] > 10
    assert first["nll"] == pytest.approx(first["mse"], rel=1e-6)


# --- failures ---------------------------------------------------------------------------------
def test_a_nan_loss_raises_training_failed_naming_epoch_and_batch_and_emits_failed(make_config, monkeypatch):
    monkeypatch.setattr(
        engine_module.nn.functional, "mse_loss", lambda pred, target: (pred - target).mean() * float("nan")
    )
    events = []
    with pytest.raises(TrainingFailed, match=r"loss became nan at epoch 1, batch 1") as info:
        Engine(make_config(train_size=64, val_size=16, augment=False), subscribers=[events.append]).run()
    assert info.value.exit_code == 1
    failed = [e for e in events if isinstance(e, Failed)]
    assert len(failed) == 1 and (failed[0].epoch, failed[0].batch) == (1, 1)
    assert "epoch 1, batch 1" in failed[0].message
    assert not any(isinstance(e, Finished) for e in events)


def test_a_batch_larger_than_the_training_set_is_bad_input_and_emits_failed(make_config):
    events = []
    with pytest.raises(BadInput, match=r"--batch-size 512 is larger than the 256 training images"):
        Engine(make_config(batch_size=512), subscribers=[events.append]).run()
    assert [type(e) for e in events] == [Failed]


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("epochs", 0, "--epochs must be at least 1"),
        ("batch_size", 0, "--batch-size must be at least 1"),
        ("lr", 0.0, "--lr must be positive"),
        ("device", "tpu", "--device must be"),
        ("precision", "fp8", "--precision must be"),
        ("train_size", 0, "--train-size"),
        ("loss", "l3", "--loss must be auto, mse, huber, nll"),
        ("weight_decay", -0.1, "--weight-decay must be 0 or more"),
    ],
)
def test_impossible_settings_are_bad_input_before_anything_runs(make_config, tmp_path, option, value, message):
    with pytest.raises(BadInput, match=message):
        Engine(make_config(**{option: value}))
    assert not (tmp_path / "runs").exists()


def test_resuming_from_a_missing_checkpoint_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="no such checkpoint"):
        Engine(RunConfig(resume=str(tmp_path / "nope.pt"), epochs=2)).run()
