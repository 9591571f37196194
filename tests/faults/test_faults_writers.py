"""One writer per run folder, and one failure funnel once a run has started.

A second writer of a run folder is refused before it writes anything (exit 2, one line naming
the holder); the lock dies with its process. Any exception after the `start` line ends the run
with exactly one `error` line in its log and exit 1.
"""

from __future__ import annotations

import errno
import os
import signal

import pytest
from faultkit import TINY, assert_one_line_error, kill_quietly, read_events, single_run_dir, start_cli, wait_for

from digitsum.errors import BadInput
from digitsum.runlock import RunLock, holder

RUN = ["run", "--model", "seed", *TINY, "--precision", "fp32"]


# --- the lock ----------------------------------------------------------------------------------
def test_a_second_lock_on_the_same_folder_is_refused_naming_the_holder(tmp_path):
    first = RunLock.acquire(tmp_path)
    try:
        with pytest.raises(BadInput, match=rf"in use by another digitsum run \(pid {os.getpid()} on .+ since "):
            RunLock.acquire(tmp_path)
        assert holder(tmp_path).startswith(f"pid {os.getpid()} on ")
    finally:
        first.release()
    assert holder(tmp_path) is None
    RunLock.acquire(tmp_path).release()  # free again


@pytest.mark.slow
def test_a_second_writer_is_refused_and_kill_9_frees_the_folder(cli, tmp_path):
    """Two `run --resume RUN/last.pt` at once: the second exits 2 and adds nothing to the log."""
    res = cli(*RUN, "--epochs", "1", "--out", tmp_path / "out")
    assert res.code == 0, res.err
    run_dir = single_run_dir(tmp_path / "out")
    last, log = run_dir / "last.pt", run_dir / "metrics.jsonl"
    first = start_cli(*RUN, "--resume", last, "--epochs", "50", cwd=tmp_path)
    try:
        wait_for(lambda: [e for e in read_events(log) if e["event"] == "batch" and e["epoch"] == 2], 120, first)
        before = log.read_text()
        second = cli(*RUN, "--resume", last, "--epochs", "50")
        assert second.code == 2, second.err
        assert_one_line_error(second.err, str(run_dir), f"pid {first.pid} on ", "since ")
        assert log.read_text().startswith(before)
        assert sum(e["event"] == "start" for e in read_events(log)) == 2  # the first run's two starts only
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        kill_quietly(first)
    again = cli(*RUN, "--resume", last, "--epochs", "2")
    assert again.code == 0, again.err


# --- the funnel --------------------------------------------------------------------------------
def test_an_oserror_while_saving_mid_run_exits_1_with_one_error_line(cli, tmp_path, monkeypatch):
    from digitsum import engine

    real_save, saves = engine.save_checkpoint, []

    def save(payload, path):
        saves.append(path)
        if payload["kind"] == "best":  # the first best.pt, at the end of epoch 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_save(payload, path)

    monkeypatch.setattr(engine, "save_checkpoint", save)
    res = cli(*RUN, "--epochs", "2", "--out", tmp_path / "out")
    assert res.code == 1, (res.code, res.err)
    assert_one_line_error(res.err, "OSError", "Input/output error")
    events = read_events(single_run_dir(tmp_path / "out") / "metrics.jsonl")
    errors = [e for e in events if e["event"] == "error"]
    assert len(errors) == 1 and events[-1] is errors[0]
    assert (errors[0]["epoch"], errors[0]["batch"]) == (1, 8)  # after the last of epoch 1's 8 batches


def test_a_runtime_error_from_the_model_mid_epoch_exits_1_naming_epoch_and_batch(cli, tmp_path, monkeypatch):
    from digitsum import engine

    real_forward, calls = engine.autocast_forward, []

    def forward(model, x, precision):
        if model.training:
            calls.append(1)
            if len(calls) == 8 + 3:  # epoch 2, batch 3 (0-based index 2 on the way in)
                raise RuntimeError("CUDA error: an illegal memory access was encountered\nmore detail")
        return real_forward(model, x, precision)

    monkeypatch.setattr(engine, "autocast_forward", forward)
    res = cli(*RUN, "--epochs", "3", "--out", tmp_path / "out")
    assert res.code == 1, (res.code, res.err)
    assert_one_line_error(res.err, "RuntimeError: CUDA error: an illegal memory access was encountered")
    events = read_events(single_run_dir(tmp_path / "out") / "metrics.jsonl")
    assert [e["event"] for e in events if e["event"] in ("end", "error")] == ["error"]
    assert events[-1]["event"] == "error" and (events[-1]["epoch"], events[-1]["batch"]) == (2, 2)
