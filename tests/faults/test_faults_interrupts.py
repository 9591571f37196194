"""Issue 4, item 1: SIGINT / SIGTERM during `digitsum run`, mid-batch and mid-validation.

The engine must stop at the next batch (or validation chunk) boundary, leave a loadable
last.pt, print where it is and how to resume, and exit 130 (SIGINT) / 143 (SIGTERM).

The four scenarios run as real `python -m digitsum run` processes, started together (one
module fixture) so the suite pays the start-up wait once; each is then judged by its own test.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from faultkit import kill_quietly, read_events, start_cli

pytestmark = pytest.mark.slow

SCENARIOS = {
    # mid-batch: 16 training batches; the signal goes at the first logged batch.
    ("SIGINT", "mid-batch"),
    ("SIGTERM", "mid-batch"),
    # mid-validation: 2 training batches, 600 validation images (chunks of 500 and 100: seconds on CPU);
    # the signal goes as soon as the last training batch of epoch 1 is logged, i.e. while validating.
    ("SIGINT", "mid-validation"),
    ("SIGTERM", "mid-validation"),
}


@dataclass
class Scenario:
    sig: signal.Signals
    where: str
    out: Path
    proc: object = None
    sent_after: list = field(default_factory=list)  # events seen when the signal was sent
    stdout: str = ""
    stderr: str = ""

    def events(self, kind=None, **match):
        logs = list(self.out.glob("*/metrics.jsonl"))
        if not logs:
            return []
        return [
            e
            for e in read_events(logs[0])
            if (kind is None or e.get("event") == kind) and all(e.get(k) == v for k, v in match.items())
        ]

    def due(self) -> bool:
        if self.where == "mid-batch":
            return bool(self.events("batch", epoch=1))
        return bool(self.events("batch", epoch=1, batch=2))


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    runs = {}
    for sig_name, where in sorted(SCENARIOS):
        tmp = tmp_path_factory.mktemp(f"{sig_name}-{where}")
        sizes = (
            ["--train-size", "512", "--val-size", "64"]
            if where == "mid-batch"
            else ["--train-size", "64", "--val-size", "600"]
        )
        sc = Scenario(getattr(signal, sig_name), where, tmp / "out")
        sc.proc = start_cli(
            "run",
            "--model",
            "seed",
            "--epochs",
            "2",
            "--batch-size",
            "32",
            *sizes,
            "--device",
            "cpu",
            "--precision",
            "fp32",
            "--out",
            sc.out,
            cwd=tmp,
        )
        runs[(sig_name, where)] = sc
    try:
        deadline = time.monotonic() + 240
        pending = dict(runs)
        while pending and time.monotonic() < deadline:
            for key, sc in list(pending.items()):
                if sc.proc.poll() is not None:  # ended on its own: judged (and failed) by its test
                    del pending[key]
                elif sc.due():
                    sc.sent_after = sc.events()
                    sc.proc.send_signal(sc.sig)
                    del pending[key]
            time.sleep(0.02)
        for sc in runs.values():
            sc.stdout, sc.stderr = sc.proc.communicate(timeout=240)
    finally:
        for sc in runs.values():
            kill_quietly(sc.proc)
    return runs


@pytest.mark.parametrize("sig_name,where", sorted(SCENARIOS))
def test_signal_stops_cleanly(sig_name, where, interrupted):
    from digitsum.checkpoints import load_checkpoint

    sc = interrupted[(sig_name, where)]
    assert sc.sent_after, f"the signal was never sent (rc {sc.proc.returncode})\n{sc.stdout}\n{sc.stderr}"
    assert not [e for e in sc.sent_after if e["event"] == "epoch"], "too late: an epoch had already finished"
    assert sc.proc.returncode == 128 + sc.sig, (sc.proc.returncode, sc.stdout, sc.stderr)
    assert "Traceback" not in sc.stderr + sc.stdout
    assert sc.stderr.strip() == ""

    assert not sc.events("epoch"), "the interrupted epoch must not be recorded as finished"
    end = sc.events("end")
    assert end and end[-1]["stopped"] is True and end[-1]["epoch"] == 0
    if where == "mid-batch":  # stopped after the batch in flight, long before the 16th
        assert max(e["batch"] for e in sc.events("batch")) < 16
    else:  # all training batches done, then stopped inside validation
        assert max(e["batch"] for e in sc.events("batch")) == 2

    run_dir = next(sc.out.iterdir())
    last = run_dir / "last.pt"
    ckpt = load_checkpoint(last)
    assert ckpt["epoch"] == 0 and ckpt["kind"] == "last"
    lines = [line for line in sc.stdout.splitlines() if line.startswith("interrupted:")]
    assert lines == [f"interrupted: {last} holds epoch 0; resume with digitsum run --resume {last}"], sc.stdout
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "config.json", "last.pt", "metrics.jsonl"]


def test_second_sigint_aborts_at_once(cli, tmp_path, monkeypatch):
    """The CLI's handler: a first SIGINT asks for a stop; a second one aborts (exit 130, one line)."""
    import os

    from digitsum import engine

    def train_step(self, x, y, epoch, batch):
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the handler `run` installed: stop requested
        os.kill(os.getpid(), signal.SIGINT)  # the impatient second Ctrl+C: KeyboardInterrupt right here
        raise AssertionError("the second SIGINT did not abort")

    monkeypatch.setattr(engine.Engine, "_train_step", train_step)
    res = cli(
        "run",
        "--model",
        "seed",
        "--train-size",
        "256",
        "--val-size",
        "64",
        "--batch-size",
        "32",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--out",
        tmp_path / "out",
    )
    assert res.code == 130, res
    assert "Traceback" not in res.err
    # typer turns the KeyboardInterrupt into exit 130 itself (silently); older typer reaches main's line
    assert res.err.strip() in ("", "digitsum: interrupted"), res.err
    from digitsum.checkpoints import load_checkpoint

    run_dir = next((tmp_path / "out").iterdir())
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 0
    ends = [e for e in read_events(run_dir / "metrics.jsonl") if e["event"] in ("end", "error")]
    assert [(e["event"], e["message"], e["epoch"], e["batch"]) for e in ends] == [("error", "interrupted", 1, 0)]
