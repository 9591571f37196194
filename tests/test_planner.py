"""A run without --epochs plans its length to end within --budget minutes, before it trains.

The plan comes from a speed probe, is fixed before the first batch (so the one-cycle schedule
spans exactly the planned steps) and is recorded in config.json, the checkpoints and the start line.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from runkit import run_engine, tiny_config

from digitsum import engine as engine_module
from digitsum import recipes
from digitsum.checkpoints import load_checkpoint
from digitsum.config import RunConfig
from digitsum.control import Control
from digitsum.errors import BadInput
from digitsum.events import EpochEnd, RunStarted
from digitsum.planner import END_RESERVE_S, SAFETY, plan_epochs, process_age_s

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


def test_a_budget_with_resume_is_bad_input(tmp_path, tiny_run):
    with pytest.raises(BadInput, match="--resume continues the recorded plan"):
        run_engine(planned_config(tmp_path, budget=5, resume=str(tiny_run.run_dir / "last.pt")))
