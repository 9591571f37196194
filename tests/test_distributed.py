"""`torchrun --nproc-per-node 2 -m digitsum run`: DDP with gloo on CPU, rank 0 writes, shards differ."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitsum.distributed import DistContext, digest

TINY = ["--train-size", "512", "--val-size", "64", "--epochs", "2", "--batch-size", "16", "--precision", "fp32"]
# the single process sees each step's 2 x 16 images in one batch of 32 (DistributedSampler's strided split)
SINGLE = [*TINY[:-4], "--batch-size", "32", "--precision", "fp32"]


def test_shards_split_one_shared_order_into_disjoint_equal_parts():
    order = np.random.default_rng(0).permutation(11)
    shards = [DistContext(rank=r, world=2).shard(order) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 5
    assert not set(shards[0]) & set(shards[1])
    assert digest(shards[0]) != digest(shards[1])


def test_a_single_process_context_changes_nothing():
    ctx = DistContext()
    order = np.arange(7)
    assert not ctx.enabled and ctx.is_main
    assert (ctx.shard(order) == order).all()
    assert ctx.any(True) and not ctx.any(False)
    assert ctx.broadcast("x") == "x" and ctx.gather(3) == [3]


def _why(stderr: str) -> str:
    """The lines that say why a rank died (they scroll far above torchrun's own report), then the tail."""
    causes = [
        line
        for line in stderr.splitlines()
        if any(word in line for word in ("terminate", "what()", "Error", "error:", "Abort", "free(", "corrupt"))
    ]
    return "\n".join(causes[:20]) + "\n...\n" + stderr[-1500:]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node 2 -m digitsum ARGS`: two gloo processes on CPU."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "digitsum"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)


def _epochs(run_dir: Path) -> list[dict]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r["event"] == "epoch"]


@pytest.mark.slow
def test_two_gloo_processes_match_a_single_process_run_and_see_different_data(tmp_path):
    ddp = torchrun("run", *TINY, "--out", str(tmp_path / "ddp"), "--json")
    assert ddp.returncode == 0, _why(ddp.stderr)
    single = subprocess.run(
        [sys.executable, "-m", "digitsum", "run", *SINGLE, "--out", str(tmp_path / "one"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr[-2000:]

    ddp_runs = list((tmp_path / "ddp").iterdir())
    assert len(ddp_runs) == 1, "only rank 0 creates the run folder"
    run_dir = ddp_runs[0]
    assert {p.name for p in run_dir.iterdir()} >= {"best.pt", "last.pt", "metrics.jsonl", "config.json"}
    assert json.loads((run_dir / "config.json").read_text())["world_size"] == 2

    ddp_epochs = _epochs(run_dir)
    single_epochs = _epochs(next((tmp_path / "one").iterdir()))
    assert [e["epoch"] for e in ddp_epochs] == [e["epoch"] for e in single_epochs] == [1, 2]
    # same images per step, gradients averaged over both ranks: the same training up to BatchNorm's
    # per-rank statistics; a rank that trained alone (no all-reduce) or on other images drifts further
    for d, s in zip(ddp_epochs, single_epochs):
        assert d["train_loss"] == pytest.approx(s["train_loss"], rel=0.1), (d, s)
        assert d["val_loss"] == pytest.approx(s["val_loss"], rel=0.2), (d, s)
    for record in ddp_epochs:
        ranks = record["ranks"]
        assert [r["rank"] for r in ranks] == [0, 1]
        assert ranks[0]["images"] == ranks[1]["images"] == 512 // 2 // 16 * 16
        assert ranks[0]["digest"] != ranks[1]["digest"], "both ranks trained on the same images"
    starts = [
        json.loads(line)
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if json.loads(line)["event"] == "start"
    ]
    assert len(starts) == 1, "only rank 0 writes the log"


@pytest.mark.slow
def test_resume_under_ddp_continues_the_run_in_place(tmp_path):
    """A 2-epoch single-process run continued by two gloo processes to epoch 3: one folder, one history."""
    out = tmp_path / "out"
    first = subprocess.run(
        [sys.executable, "-m", "digitsum", "run", *TINY, "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    run_dir = Path(json.loads(first.stdout.strip().splitlines()[-1])["run_dir"])
    resumed = torchrun("run", "--resume", str(run_dir / "last.pt"), "--epochs", "3", "--json")
    assert resumed.returncode == 0, _why(resumed.stderr)
    assert list(out.iterdir()) == [run_dir]
    epochs = _epochs(run_dir)
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert [r["rank"] for r in epochs[2]["ranks"]] == [0, 1]  # the third epoch trained on two ranks
    from digitsum.checkpoints import load_checkpoint

    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 3
