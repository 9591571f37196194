"""The CLI contract of DESIGN.md, end to end through the real `digitsum` entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TINY = ["--train-size", "256", "--val-size", "64", "--epochs", "2", "--batch-size", "32"]


def digitsum(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitsum", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("runs")
    proc = digitsum("run", *TINY, "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_run_json_names_run_folder_best_checkpoint_and_best_metrics(finished_run):
    run_dir = Path(finished_run["run_dir"])
    assert {p.name for p in run_dir.iterdir()} >= {"best.pt", "last.pt", "metrics.jsonl", "config.json"}
    assert Path(finished_run["best"]) == run_dir / "best.pt"
    for key in ("epoch", "val_loss", "floor_acc", "ceil_acc", "round_acc", "mae"):
        assert key in finished_run


@pytest.mark.slow
def test_run_log_has_one_epoch_line_per_epoch_with_all_fields(finished_run):
    lines = [json.loads(line) for line in (Path(finished_run["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    epochs = [rec for rec in lines if rec["event"] == "epoch"]
    assert [rec["epoch"] for rec in epochs] == [1, 2]
    for key in (
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
        assert key in epochs[0]
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "end"
    assert any(rec["event"] == "batch" for rec in lines)


@pytest.mark.slow
def test_eval_json_prints_the_metrics_of_the_checkpoint(finished_run):
    proc = digitsum("eval", finished_run["best"], "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 64
    assert result["loss"] == pytest.approx(finished_run["val_loss"], rel=1e-4)
    assert set(result) == {"n", "loss", "mae", "floor_acc", "ceil_acc", "round_acc"}


@pytest.mark.slow
def test_predict_json_lists_index_prediction_target(finished_run):
    proc = digitsum("predict", finished_run["best"], "--count", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["index"] for r in rows] == [0, 1, 2]
    from digitsum.inference import evaluate_checkpoint

    expected = evaluate_checkpoint(Path(finished_run["best"]), None, "cpu", limit=3)  # the same model, in process
    assert [r["target"] for r in rows] == [int(t) for t in expected.targets]
    assert [r["prediction"] for r in rows] == pytest.approx([float(p) for p in expected.predictions], abs=1e-4)
    assert all(0 <= r["target"] <= 36 for r in rows)


@pytest.mark.slow
def test_predict_draws_each_image_as_ascii_text(finished_run):
    proc = digitsum("predict", finished_run["best"], "--count", "2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("predicted") == 2
    assert "@" in proc.stdout or "%" in proc.stdout


@pytest.mark.slow
def test_checkpoints_json_lists_every_checkpoint_with_its_metrics(finished_run):
    proc = digitsum("checkpoints", str(Path(finished_run["run_dir"]).parent), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {Path(r["path"]).name: r for r in json.loads(proc.stdout)}
    assert set(rows) == {"best.pt", "last.pt"}
    assert set(rows["best.pt"]) == {"path", "run", "kind", "model", "epoch", "val_loss", "round_acc", "mae", "created"}
    run_dir = Path(finished_run["run_dir"])
    last_epoch = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    last_epoch = [r for r in last_epoch if r["event"] == "epoch"][-1]
    assert rows["last.pt"] | {"path": ""} == {
        "path": "",
        "run": run_dir.name,
        "kind": "last",
        "model": "sumnet",
        "epoch": 2,
        "val_loss": pytest.approx(last_epoch["val_loss"]),
        "round_acc": pytest.approx(last_epoch["round_acc"]),
        "mae": pytest.approx(last_epoch["mae"]),
        "created": rows["last.pt"]["created"],
    }
    best = rows["best.pt"]
    assert (best["kind"], best["epoch"], best["val_loss"]) == ("best", finished_run["epoch"], finished_run["val_loss"])


@pytest.mark.slow
def test_checkpoints_table_at_80_columns_names_run_kind_and_file(finished_run):
    env = {**__import__("os").environ, "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-m", "digitsum", "checkpoints", str(Path(finished_run["run_dir"]).parent)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    body = [line for line in proc.stdout.splitlines() if "best.pt" in line or "last.pt" in line]
    assert len(body) == 2 and all(len(line) <= 80 for line in proc.stdout.splitlines())
    assert any("best" in line.split("best.pt")[0] for line in body)


@pytest.mark.slow
def test_resume_continues_to_the_total_epoch_count_in_the_same_folder(finished_run, tmp_path):
    import shutil

    run_dir = tmp_path / Path(finished_run["run_dir"]).name  # a copy: other tests read the module's run
    shutil.copytree(finished_run["run_dir"], run_dir)
    proc = digitsum("run", "--resume", str(run_dir / "last.pt"), "--epochs", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(result["run_dir"]) == run_dir
    epochs = [
        json.loads(line)["epoch"]
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if json.loads(line)["event"] == "epoch"
    ]
    assert epochs == [1, 2, 3]


@pytest.mark.slow
def test_exported_assignment_files_train_and_eval_uses_all_images(tmp_path):
    data = tmp_path / "data"
    proc = digitsum("data", "export", str(data), "--count", "300", "--per-file", "200")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in data.iterdir()) == ["data0.npy", "data1.npy", "lab0.npy", "lab1.npy"]
    assert np.load(data / "data0.npy").shape == (200, 40, 168)
    proc = digitsum(
        "run",
        "--data",
        str(data),
        "--model",
        "seed",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--out",
        str(tmp_path / "runs"),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    best = json.loads(proc.stdout.strip().splitlines()[-1])["best"]
    proc = digitsum("eval", best, "--data", str(data), "--json")
    assert json.loads(proc.stdout)["n"] == 300


def test_help_lists_every_command():
    proc = digitsum("--help")
    assert proc.returncode == 0
    for command in ("run", "eval", "predict", "checkpoints", "data", "tui"):
        assert command in proc.stdout


def test_bad_data_is_one_line_and_exit_2(tmp_path):
    proc = digitsum("run", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "runs"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "nope" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_version_prints_the_package_version(capsys):
    from digitsum import __version__
    from digitsum.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"digitsum {__version__}\n"
