"""Continuing from any checkpoint: in place from last.pt, as a branch from anything else, exactly.

A checkpoint records where in the run it stands (epoch and batch) and the random stream of a
mid-epoch save, so a continuation reproduces the uninterrupted run's validation losses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runkit import run_engine, tiny_config

from digitsum.checkpoints import load_checkpoint
from digitsum.control import Control
from digitsum.events import BatchEnd, CheckpointSaved, Paused
from digitsum.runlog import RunLog

EPOCHS = 3
COMPARED = ("val_loss", "train_loss", "round_acc", "mae")


def save_at(control: Control, epoch: int, batch: int, pause: bool = False):
    """A subscriber that asks for a manual save after batch `batch` of `epoch` (while paused when asked)."""

    def on_event(event) -> None:
        if isinstance(event, BatchEnd) and (event.epoch, event.batch) == (epoch, batch):
            if pause:
                control.pause()
            else:
                control.save_now("manual")
        elif isinstance(event, Paused):
            control.save_now("manual")
            control.resume()

    return on_event


def reference_and_save(tmp_path: Path, precision: str, epoch: int, batch: int, pause: bool = False):
    """One uninterrupted run that also wrote a manual checkpoint at (epoch, batch)."""
    control = Control()
    config = tiny_config(tmp_path / "runs", epochs=EPOCHS, precision=precision)
    run = run_engine(config, control=control, extra_subscribers=[save_at(control, epoch, batch, pause)])
    saved = [e for e in run.events if isinstance(e, CheckpointSaved) and e.kind == "manual"]
    assert len(saved) == 1
    return run, Path(saved[0].path)


def continue_from(checkpoint: Path, precision: str = "fp32"):
    """`run --resume CHECKPOINT --epochs 3`, in process, with its run log."""
    config = tiny_config(checkpoint.parent.parent, resume=str(checkpoint), epochs=EPOCHS, precision=precision)
    log = RunLog()
    try:
        return run_engine(config, extra_subscribers=[log])
    finally:
        log.close()


def largest_difference(a: list[dict], b: list[dict]) -> float:
    assert [h["epoch"] for h in a] == [h["epoch"] for h in b]
    return max(abs(x[k] - y[k]) for x, y in zip(a, b) for k in COMPARED)


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_a_mid_epoch_save_continues_as_the_uninterrupted_run(tmp_path, precision):
    reference, manual = reference_and_save(tmp_path, precision, epoch=2, batch=3)
    ckpt = load_checkpoint(str(manual))
    assert (ckpt["epoch"], ckpt["batch"]) == (1, 3)  # one epoch done, three batches of the second
    branch = continue_from(manual, precision)
    assert largest_difference(branch.result.history, reference.result.history) <= 1e-6


def test_a_save_taken_while_paused_continues_exactly(tmp_path):
    reference, manual = reference_and_save(tmp_path, "fp32", epoch=2, batch=5, pause=True)
    assert manual.name == "manual-e002-b00005.pt"
    assert largest_difference(continue_from(manual).result.history, reference.result.history) <= 1e-6


def test_an_epoch_boundary_checkpoint_branches_and_never_rewrites_the_original(tmp_path):
    reference, _ = reference_and_save(tmp_path, "fp32", epoch=1, batch=2)
    origin = reference.run_dir
    before = {p.name: p.stat().st_mtime_ns for p in origin.iterdir()}
    best = origin / "best.pt"
    branch = continue_from(best)
    assert branch.run_dir != origin and branch.run_dir.parent == origin.parent
    assert {p.name: p.stat().st_mtime_ns for p in origin.iterdir()} == before
    assert largest_difference(branch.result.history, reference.result.history) <= 1e-6
    config = json.loads((branch.run_dir / "config.json").read_text())
    assert config["branched_from"] == str(best.resolve())
    start = json.loads((branch.run_dir / "metrics.jsonl").read_text().splitlines()[0])
    best_epoch = load_checkpoint(str(best))["epoch"]
    assert start["branched_from"] == str(best.resolve())
    assert [h["epoch"] for h in start["history"]] == list(range(1, best_epoch + 1))


def test_last_pt_continues_in_place(tmp_path):
    config = tiny_config(tmp_path / "runs", epochs=1)
    first = run_engine(config)
    more = run_engine(tiny_config(tmp_path / "runs", epochs=2, resume=str(first.run_dir / "last.pt")))
    assert more.run_dir == first.run_dir
    assert [h["epoch"] for h in more.result.history] == [1, 2]


def test_a_checkpoint_from_the_numpy_composer_resumes_and_says_it_changed_composer(tmp_path, tiny_run):
    from digitsum.checkpoints import save_checkpoint
    from digitsum.events import RunStarted

    run_dir = tmp_path / "runs" / "old-run"
    run_dir.mkdir(parents=True)
    old = load_checkpoint(str(tiny_run.run_dir / "last.pt"))
    old["data"].pop("composer")  # as digitsum wrote it before the torch composer
    old.pop("plan")
    save_checkpoint(old, run_dir / "last.pt")
    resumed = run_engine(tiny_config(tmp_path / "runs", epochs=3, resume=str(run_dir / "last.pt")))
    (note,) = resumed.of(RunStarted)[0].notes
    assert "numpy composer" in note and "torch composer" in note
    assert [h["epoch"] for h in resumed.result.history] == [1, 2, 3]


def test_a_resumed_run_keeps_the_weight_average_decay_it_began_with(tmp_path, tiny_run):
    from digitsum.checkpoints import save_checkpoint

    saved = load_checkpoint(str(tiny_run.run_dir / "last.pt"))
    assert saved["ema_decay"] == pytest.approx(0.999 ** (32 / 64))  # the tiny runs' batch of 32, per 64 images
    run_dir = tmp_path / "runs" / "old-run"
    run_dir.mkdir(parents=True)
    saved.pop("ema_decay")  # as digitsum wrote it before the decay was scaled to the batch: 0.999 as given
    save_checkpoint(saved, run_dir / "last.pt")
    resumed = run_engine(tiny_config(tmp_path / "runs", epochs=3, resume=str(run_dir / "last.pt")))
    assert load_checkpoint(str(resumed.run_dir / "last.pt"))["ema_decay"] == 0.999
