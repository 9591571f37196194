"""A run without --epochs plans its length to end within --budget minutes, before it trains.

The plan comes from a speed probe, is fixed before the first batch (so the one-cycle schedule
spans exactly the planned steps) and is recorded in config.json, the checkpoints and the start line.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
import torch
from runkit import run_engine, tiny_config

from digitsum import engine as engine_module
from digitsum import planner, recipes
from digitsum.checkpoints import load_checkpoint
from digitsum.composites import Augmentation
from digitsum.config import RunConfig
from digitsum.control import Control
from digitsum.engine import Engine
from digitsum.errors import BadInput
from digitsum.events import EpochEnd, Finished, RunStarted
from digitsum.planner import END_RESERVE_S, SAFETY, plan_epochs, process_age_s
from digitsum.runlog import RunLog

RECIPE_EPOCHS = 3


@pytest.fixture
def short_recipe(monkeypatch):
    """The fp32 CPU recipe at 3 epochs, so a planned tiny run stays quick."""
    key = ("sumnet", "cpu-fp32")
    monkeypatch.setitem(recipes.MACHINE_RECIPES, key, replace(recipes.MACHINE_RECIPES[key], epochs=RECIPE_EPOCHS))


def planned_config(tmp_path, **overrides) -> RunConfig:
    return tiny_config(tmp_path / "runs", epochs=None, **overrides)


# --- the arithmetic ------------------------------------------------------------------------------
def test_a_fast_machine_runs_the_recipe_and_finishes_well_inside_the_budget():
    epochs, predicted = plan_epochs(budget_min=15, recipe_epochs=28, epoch_s=10, spent_s=20)
    assert epochs == 28 and predicted == 20 + 28 * 10 + END_RESERVE_S


def test_a_slow_machine_gets_as_many_epochs_as_fit():
    epochs, predicted = plan_epochs(budget_min=15, recipe_epochs=28, epoch_s=60, spent_s=30)
    assert epochs == int((15 * 60 * (1 - SAFETY) - 30 - END_RESERVE_S) // 60) == 13
    assert predicted <= 15 * 60


def test_a_budget_too_small_for_one_epoch_still_trains_one():
    assert plan_epochs(budget_min=0.1, recipe_epochs=28, epoch_s=600, spent_s=5)[0] == 1


def test_the_process_age_counts_from_interpreter_start():
    assert 0 < process_age_s() < 3600


# --- the options ---------------------------------------------------------------------------------
def test_epochs_and_budget_together_are_one_bad_input_line():
    with pytest.raises(BadInput, match="--epochs and --budget exclude each other"):
        RunConfig(epochs=3, budget=5).validate()


def test_auto_options_stay_none_until_the_engine_resolves_them():
    config = RunConfig()
    assert (config.epochs, config.budget, config.batch_size, config.lr, config.train_size) == (None,) * 5


# --- planned runs --------------------------------------------------------------------------------
def test_a_planned_run_records_its_plan_everywhere(tmp_path, short_recipe):
    run = run_engine(planned_config(tmp_path, budget=10))
    start = run.of(RunStarted)[0]
    plan = start.plan
    assert plan["machine"] == "cpu-fp32" and plan["budget_min"] == 10
    assert plan["epochs"] == plan["recipe_epochs"] == RECIPE_EPOCHS  # a fast machine: the whole recipe
    assert plan["images_per_s"] > 0 and plan["epoch_s"] > 0 and plan["predicted_s"] < 10 * 60
    assert start.epochs == RECIPE_EPOCHS and len(run.of(EpochEnd)) == RECIPE_EPOCHS
    config = json.loads((run.run_dir / "config.json").read_text())
    assert config["plan"] == plan and config["epochs"] == RECIPE_EPOCHS and config["budget"] is None
    assert load_checkpoint(str(run.run_dir / "last.pt"))["plan"] == plan


def test_a_budget_that_fits_fewer_epochs_shortens_the_plan_and_the_schedule(tmp_path, short_recipe, monkeypatch):
    budget = 2.0
    monkeypatch.setattr(engine_module, "process_age_s", lambda: budget * 60 * (1 - SAFETY) - END_RESERVE_S - 0.5)
    run = run_engine(planned_config(tmp_path, budget=budget))
    plan = run.of(RunStarted)[0].plan
    assert plan["epochs"] == 1 < plan["recipe_epochs"]
    lrs = [e.lr for e in run.of(EpochEnd)]
    # the one-cycle schedule ends with the planned run (not near its peak)
    assert len(lrs) == 1 and lrs[0] < plan["recipe"]["lr"] / 10


def test_the_probe_leaves_the_run_as_an_unplanned_run_of_the_same_length(tmp_path, short_recipe):
    planned = run_engine(planned_config(tmp_path / "a", budget=10)).result.history
    fixed = run_engine(tiny_config(tmp_path / "b" / "runs", epochs=RECIPE_EPOCHS)).result.history
    assert [h["val_loss"] for h in planned] == [h["val_loss"] for h in fixed]


def test_resume_without_epochs_continues_the_recorded_plan(tmp_path, short_recipe):
    control = Control()

    def stop_after_epoch_1(event) -> None:
        if isinstance(event, EpochEnd) and event.epoch == 1:
            control.stop()

    first = run_engine(planned_config(tmp_path, budget=10), control=control, extra_subscribers=[stop_after_epoch_1])
    assert [h["epoch"] for h in first.result.history] == [1]
    more = run_engine(planned_config(tmp_path, resume=str(first.run_dir / "last.pt")))
    assert [h["epoch"] for h in more.result.history] == list(range(1, RECIPE_EPOCHS + 1))
    assert more.of(RunStarted)[0].plan["budget_min"] == 10


def test_a_machine_that_slows_after_the_plan_ends_the_run_before_an_epoch_would_overrun_the_budget(
    tmp_path, short_recipe, monkeypatch
):
    late = [0.0]  # seconds the wall clock is moved on: the machine got busy after the probe
    monkeypatch.setattr(planner, "wall_clock", lambda: time.time() + late[0])

    def slow_down_after_epoch_1(event) -> None:
        if isinstance(event, EpochEnd) and event.epoch == 1:
            late[0] = 10 * 60 - 2.0  # 2 s of the 10-minute budget left: no room for another epoch

    run = run_engine(planned_config(tmp_path, budget=10), extra_subscribers=[RunLog(), slow_down_after_epoch_1])
    assert run.of(RunStarted)[0].plan["epochs"] == RECIPE_EPOCHS
    assert [h["epoch"] for h in run.result.history] == [1] and run.result.stopped
    end = run.of(Finished)[0]
    assert "10-minute budget would run out during epoch 2 of 3" in end.why and "--resume" in end.why
    logged = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["event"] == "end" and logged[-1]["why"] == end.why  # the log ends saying how it ended
    late[0] = 0.0
    more = run_engine(planned_config(tmp_path, resume=str(run.run_dir / "last.pt")))  # the rest of the plan
    assert [h["epoch"] for h in more.result.history] == list(range(1, RECIPE_EPOCHS + 1)) and not more.result.why


def test_one_stall_inside_the_probe_does_not_set_the_plans_speed():
    clock, steps = [0.0], [0]

    def step() -> None:  # 10 ms a step, but one step stalls for 2 s (a neighbour's burst)
        steps[0] += 1
        clock[0] += 2.0 if steps[0] == planner.WARMUP_STEPS + 50 else 0.01

    rate = planner.time_steps(step, lambda: None, seconds=6.0, clock=lambda: clock[0])
    assert rate == pytest.approx(100, rel=0.02)  # one window of three held the stall; a single window read ~67


def test_a_pause_pushes_the_budget_back(monkeypatch):
    monkeypatch.setattr(planner, "wall_clock", lambda: 1000.0)
    deadline = planner.Deadline(at=1000.0 + END_RESERVE_S + 30)
    assert deadline.fits(30) and not deadline.fits(31)
    deadline.extend(60)  # the user paused for a minute
    assert deadline.fits(90)


def test_a_budget_with_resume_is_bad_input(tmp_path, tiny_run):
    with pytest.raises(BadInput, match="--resume continues the recorded plan"):
        run_engine(planned_config(tmp_path, budget=5, resume=str(tiny_run.run_dir / "last.pt")))


def test_the_recipe_bends_the_training_digits_and_a_resumed_run_keeps_what_its_plan_recorded(tmp_path, monkeypatch):
    key = ("sumnet", "cpu-fp32")
    wide = replace(recipes.MACHINE_RECIPES[key], epochs=2, augment=recipes.WIDE_AUGMENTATION)
    monkeypatch.setitem(recipes.MACHINE_RECIPES, key, wide)
    first = Engine(planned_config(tmp_path, budget=10))
    first.run()
    assert first.data.augment == Augmentation(degrees=15.0, zoom=(0.8, 1.2), shear=0.2, elastic=1.25, thickness=0.5)
    assert first.plan.recipe["augment"] == recipes.WIDE_AUGMENTATION  # recorded with the plan
    checkpoint = load_checkpoint(first.last_path)
    del checkpoint["plan"]["recipe"]["augment"]  # as a run planned before recipes bent digits recorded it
    older = tmp_path / "older.pt"
    torch.save(checkpoint, older)
    resumed = Engine(tiny_config(tmp_path / "runs", resume=str(older), epochs=3))
    resumed.run()
    assert resumed.data.augment == Augmentation()  # the default it trained with, not today's recipe
