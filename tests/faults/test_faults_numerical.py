"""Issue 4, item 3: a NaN/inf loss stops the run cleanly: one line naming the epoch and batch, the best
checkpoint kept (and named only if it exists), an `error` event in the run log, exit 1."""

from __future__ import annotations

import re

import pytest
from faultkit import TINY, assert_one_line_error, read_events, single_run_dir

pytestmark = pytest.mark.slow

RUN = ["run", "--model", "seed", *TINY, "--precision", "fp32"]


def _poison_training(monkeypatch, at_call: int, value: float):
    """Make the model's output `value` on the at_call-th training forward (8 batches an epoch here)."""
    from digitsum import engine

    real_forward = engine.autocast_forward
    calls = []

    def forward(model, x, precision):
        out = real_forward(model, x, precision)
        if model.training:
            calls.append(1)
            if len(calls) == at_call:
                return out * value
        return out

    monkeypatch.setattr(engine, "autocast_forward", forward)


def test_huge_learning_rate_fails_cleanly(cli, tmp_path):
    """A real divergence, no mocking: --lr 1e6 blows the loss up to inf/NaN within the first epochs."""
    res = cli(*RUN, "--epochs", "3", "--lr", "1e6", "--seed", "1", "--out", tmp_path / "out")
    assert res.code == 1, (res.code, res.out, res.err)
    line = assert_one_line_error(res.err, "loss became")
    found = re.search(r"loss became (nan|inf|-inf) at epoch (\d+), batch (\d+); ", line)
    assert found, line
    run_dir = single_run_dir(tmp_path / "out")
    errors = [e for e in read_events(run_dir / "metrics.jsonl") if e["event"] == "error"]
    assert [(e["epoch"], e["batch"]) for e in errors] == [(int(found.group(2)), int(found.group(3)))]
    from digitsum.checkpoints import load_checkpoint

    load_checkpoint(run_dir / "last.pt")
    if (run_dir / "best.pt").exists():
        assert f"best checkpoint kept at {run_dir / 'best.pt'}" in line
    else:  # never claim a file that is not there
        assert "no best checkpoint yet" in line and str(run_dir / "last.pt") in line


@pytest.mark.parametrize("value", [float("nan")], ids=["nan"])  # inf: see the --lr 1e6 and validation cases
def test_nonfinite_loss_after_a_best_epoch(value, cli, tmp_path, monkeypatch):
    """Epoch 1 finishes (best.pt saved); the loss turns non-finite at epoch 2, batch 3."""
    from digitsum.checkpoints import load_checkpoint

    _poison_training(monkeypatch, at_call=8 + 3, value=value)
    res = cli(*RUN, "--epochs", "3", "--out", tmp_path / "out")
    assert res.code == 1, (res.code, res.out, res.err)
    run_dir = single_run_dir(tmp_path / "out")
    best = run_dir / "best.pt"
    assert_one_line_error(res.err, "at epoch 2, batch 3", f"best checkpoint kept at {best}")
    assert re.search(r"loss became (nan|inf)", res.err)
    assert load_checkpoint(best)["epoch"] == 1
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 1
    events = read_events(run_dir / "metrics.jsonl")
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1]
    assert [(e["epoch"], e["batch"]) for e in events if e["event"] == "error"] == [(2, 3)]
    assert "epoch   1/3" in res.out  # the finished epoch was reported before the failure


def test_nonfinite_loss_in_first_epoch_names_no_missing_file(cli, tmp_path, monkeypatch):
    _poison_training(monkeypatch, at_call=2, value=float("nan"))
    res = cli(*RUN, "--epochs", "2", "--out", tmp_path / "out")
    assert res.code == 1
    run_dir = single_run_dir(tmp_path / "out")
    assert_one_line_error(
        res.err, "loss became nan at epoch 1, batch 2", "no best checkpoint yet", f"{run_dir / 'last.pt'} holds epoch 0"
    )
    assert not (run_dir / "best.pt").exists()


def test_nonfinite_validation_loss(cli, tmp_path, monkeypatch):
    """Training loss finite, but the model's validation outputs are inf (e.g. corrupted BatchNorm statistics)."""
    from digitsum import engine

    real_forward = engine.autocast_forward

    def forward(model, x, precision):
        out = real_forward(model, x, precision)
        return out if model.training else out * float("inf")

    monkeypatch.setattr(engine, "autocast_forward", forward)
    res = cli(*RUN, "--epochs", "2", "--out", tmp_path / "out")
    assert "Traceback" not in res.err
    assert res.code == 1, (res.code, res.out, res.err)
    run_dir = single_run_dir(tmp_path / "out")
    assert_one_line_error(res.err, "validation loss became inf at epoch 1", f"{run_dir / 'last.pt'} holds epoch 0")
    assert not (run_dir / "best.pt").exists()
    events = read_events(run_dir / "metrics.jsonl")
    assert not [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in events if e["event"] == "error"] == [1]
