"""`digitsum report` and `digitsum compare` from the command line, and the system readings a run logs."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest
from runkit import run_engine, tiny_config

from digitsum.cli import main
from digitsum.curves import ChartView, debiased_ema
from digitsum.events import SystemStats
from digitsum.figures import history_figure
from digitsum.recipes import machine_recipe
from digitsum.system import SystemSampler


@pytest.fixture
def two_runs(tiny_run, tmp_path) -> list[Path]:
    """The session's tiny run and a copy of it with another learning rate in its config (read-only use)."""
    first = tmp_path / "a" / tiny_run.run_dir.name
    shutil.copytree(tiny_run.run_dir, first)
    second = tmp_path / "b" / "other-run"
    shutil.copytree(tiny_run.run_dir, second)
    config = json.loads((second / "config.json").read_text())
    (second / "config.json").write_text(json.dumps({**config, "lr": 0.01}))
    return [first, second]


def test_report_writes_the_history_csv_and_both_figures(tiny_run, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(tiny_run.run_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == ["history.csv", "history.png", "inference.png"]
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [h["epoch"] for h in tiny_run.result.history]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx([h["val_loss"] for h in tiny_run.result.history])
    for png in ("history.png", "inference.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / png).stat().st_size > 5_000


def test_report_of_a_folder_that_is_no_run_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("digitsum: error: ")


def test_compare_json_gives_each_runs_best_epoch_and_the_settings_that_differ(two_runs, tiny_run, capsys):
    assert main(["compare", *map(str, two_runs), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    best = min(tiny_run.result.history, key=lambda h: h["val_loss"])
    assert [r["run"] for r in result["runs"]] == [p.name for p in two_runs]
    for row in result["runs"]:
        assert row["best"]["epoch"] == best["epoch"] and row["best"]["val_loss"] == pytest.approx(best["val_loss"])
    assert result["config_differences"] == {"lr": [pytest.approx(machine_recipe("sumnet", "cpu-fp32").lr), 0.01]}


def test_compare_draws_a_table_and_the_overlaid_curves(two_runs, capsys):
    assert main(["compare", *map(str, two_runs)]) == 0
    out = capsys.readouterr().out
    assert "config differences" in out and "lr" in out
    assert out.count(two_runs[1].name) >= 2  # in the best-metrics table and the differences table


# --- system readings ----------------------------------------------------------------------------
def test_the_sampler_reads_this_process():
    sampler = SystemSampler()
    sum(i * i for i in range(300_000))  # some CPU time between the two readings
    time.sleep(0.05)
    stats = sampler.sample("cpu")
    assert stats["rss_mb"] > 20 and stats["threads"] >= 1 and stats["cores"] >= 1
    assert 0 < stats["cpu_percent"] <= 100 * stats["cores"]


def test_a_run_emits_system_events_every_interval(tmp_path, monkeypatch):
    from digitsum import engine

    monkeypatch.setattr(engine, "SYSTEM_INTERVAL", 0.0)  # every batch
    run = run_engine(tiny_config(tmp_path / "runs", epochs=1))
    readings = run.of(SystemStats)
    assert len(readings) == 8  # one per batch of the one epoch
    assert [(r.epoch, r.batch) for r in readings] == [(1, b) for b in range(1, 9)]
    assert all(r.stats["rss_mb"] > 20 for r in readings)


def test_report_draws_its_figure_the_way_the_tui_charts_are_steered():
    """--log-y, --smooth, --x and --ignore-outliers mean for the PNG what l, +, x and o mean in the TUI."""
    history = [
        {"epoch": e, "train_loss": 175.0 / e**2, "val_loss": 150.0 / e**2, "mae": 9.0 / e, "seconds": 30.0}
        | {"floor_acc": 0.1 * e, "ceil_acc": 0.1 * e, "round_acc": 0.1 * e}
        for e in range(1, 6)
    ]
    plain = history_figure(history, "", ChartView(), batches_per_epoch=375)
    assert list(plain.axes[0].lines[0].get_xdata()) == [1, 2, 3, 4, 5] and plain.axes[0].get_yscale() == "linear"
    view = ChartView(log_y=True, smoothing=0.6, x_axis="step", fit=True)
    steered = history_figure(history, "", view, batches_per_epoch=375)
    loss, acc, mae = steered.axes
    assert list(loss.lines[0].get_xdata()) == [375, 750, 1125, 1500, 1875]
    assert loss.get_yscale() == "log" and mae.get_yscale() == "log" and acc.get_yscale() == "linear"
    assert loss.get_ylim()[1] < 150.0  # the first epoch's loss is out of the fitted range
    assert list(loss.lines[0].get_ydata()) == debiased_ema([h["train_loss"] for h in history], 0.6)
    assert "smoothed 0.6" in loss.get_title() and loss.get_xlabel() == "step"
    timed = history_figure(history, "", ChartView(x_axis="time"), batches_per_epoch=375)
    assert list(timed.axes[0].lines[0].get_xdata()) == [0.5, 1.0, 1.5, 2.0, 2.5]


def test_report_options_reach_the_figure_and_a_wrong_axis_is_one_line(tiny_run, tmp_path, capsys):
    out = tmp_path / "report"
    args = ["report", str(tiny_run.run_dir), "--out", str(out), "--log-y", "--smooth", "0.6", "--x", "time"]
    assert main([*args, "--ignore-outliers"]) == 0
    assert (out / "history.png").stat().st_size > 5_000
    assert main(["report", str(tiny_run.run_dir), "--out", str(out), "--linear-y"]) == 0
    assert main(["report", str(tiny_run.run_dir), "--x", "hours"]) == 2
    assert "'hours' is not one of 'epoch', 'step', 'time'" in capsys.readouterr().err
