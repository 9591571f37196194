"""Issue 4, item 5: runs started at the same second get distinct folders; the attach side
(`LogFollower`) copes with a log another process is appending to, truncating, replacing,
or leaving with a partial last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from digitsum.errors import BadInput

FIXED = datetime(2024, 5, 6, 7, 8, 9)


class _FrozenClock:
    @staticmethod
    def now(tz=None):
        return FIXED


@pytest.fixture
def frozen_clock(monkeypatch):
    from digitsum import runlog

    monkeypatch.setattr(runlog, "datetime", _FrozenClock)
    return FIXED.strftime("%Y%m%d-%H%M%S")


def test_same_second_threads_get_distinct_run_dirs(tmp_path, frozen_clock):
    from digitsum.runlog import make_run_dir

    out, results, errors = tmp_path / "out", [], []
    barrier = threading.Barrier(24)

    def start():
        barrier.wait()
        try:
            results.append(make_run_dir(out, "seed"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 24 and all(p.is_dir() for p in results)
    names = sorted(p.name for p in results)
    assert f"{frozen_clock}-seed" in names and f"{frozen_clock}-seed-23" in names


def test_run_dir_never_reuses_an_existing_folder(tmp_path, frozen_clock):
    from digitsum.runlog import make_run_dir

    out = tmp_path / "out"
    (out / f"{frozen_clock}-seed").mkdir(parents=True)
    (out / f"{frozen_clock}-seed" / "metrics.jsonl").write_text("old run\n")
    new = make_run_dir(out, "seed")
    assert new.name == f"{frozen_clock}-seed-1"
    assert (out / f"{frozen_clock}-seed" / "metrics.jsonl").read_text() == "old run\n"


def test_too_many_runs_in_one_second_is_one_clear_error(tmp_path, frozen_clock):
    from digitsum.runlog import make_run_dir

    out = tmp_path / "out"
    for n in range(1000):
        (out / (f"{frozen_clock}-seed" + (f"-{n}" if n else ""))).mkdir(parents=True)
    with pytest.raises(BadInput, match="too many runs started at"):
        make_run_dir(out, "seed")


MAKE_DIRS = r"""
import os, sys, time
from pathlib import Path
from digitsum.runlog import make_run_dir
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.0005)
for _ in range(15):
    print(make_run_dir(Path(sys.argv[1]), "seed").name, flush=True)
"""


@pytest.mark.slow
def test_two_processes_same_second_get_distinct_run_dirs(tmp_path):
    """Two processes create run folders in the same instant (real clock): mkdir is the lock."""
    out, go = tmp_path / "out", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MAKE_DIRS, str(out), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    go.touch()  # both imported torch and now race for the same second's names
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    names = [line for stdout, _ in outputs for line in stdout.split()]
    assert len(names) == 30 and len(set(names)) == 30, names
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


# --- the attach side ---------------------------------------------------------------------------
def _rec(i: int, event: str = "batch") -> dict:
    return {"event": event, "epoch": 1, "batch": i, "loss": 1.0 / (i + 1)}


def _line(i: int, event: str = "batch") -> bytes:
    return (json.dumps(_rec(i, event)) + "\n").encode()


def test_follower_partial_last_line_waits_for_its_end(tmp_path):
    from digitsum.runlog import LogFollower

    log = tmp_path / "metrics.jsonl"
    follower = LogFollower(log)
    assert follower.poll() == []  # not there yet: no error
    whole, half = _line(0), _line(1)
    log.write_bytes(whole + half[:10])
    assert follower.poll() == [_rec(0)]
    assert follower.poll() == []
    with open(log, "ab") as fh:
        fh.write(half[10:-1])
    assert follower.poll() == []  # still no newline
    with open(log, "ab") as fh:
        fh.write(b"\n")
    assert follower.poll() == [_rec(1)]


def test_follower_skips_garbage_lines(tmp_path):
    from digitsum.runlog import LogFollower, read_log

    log = tmp_path / "metrics.jsonl"
    # a writer killed mid-line, then a resumed run appending; a non-object; bad UTF-8; an event-less object
    log.write_bytes(
        _line(0) + b'{"event":"ba' + _line(1) + b"[1, 2]\n" + b"\xff\xfe{\n" + b'{"no":"event"}\n' + b"\n" + _line(2)
    )
    assert LogFollower(log).poll() == [_rec(0), _rec(2)]
    assert read_log(log) == [_rec(0), _rec(2)]


def test_follower_restarts_after_truncation(tmp_path):
    from digitsum.runlog import LogFollower

    log = tmp_path / "metrics.jsonl"
    log.write_bytes(b"".join(_line(i) for i in range(5)))
    follower = LogFollower(log)
    assert len(follower.poll()) == 5
    log.write_bytes(_line(100))  # truncated and rewritten (shorter)
    assert follower.poll() == [_rec(100)]
    with open(log, "ab") as fh:
        fh.write(_line(101))
    assert follower.poll() == [_rec(101)]


def test_follower_notices_a_rewrite_that_outgrew_the_old_log(tmp_path):
    """Truncated in place and rewritten past the old length between two polls: size alone cannot tell."""
    from digitsum.runlog import LogFollower

    log = tmp_path / "metrics.jsonl"
    log.write_bytes(_line(0, "start") + _line(1))
    follower = LogFollower(log)
    assert len(follower.poll()) == 2
    with open(log, "r+b") as fh:
        fh.truncate(0)
        fh.write(b"".join(_line(i) for i in range(10, 20)))
    assert follower.poll() == [_rec(i) for i in range(10, 20)]


def test_follower_notices_a_replaced_log(tmp_path):
    """A new file moved over the old path (e.g. a fresh run's log), longer than what was read: read it whole."""
    from digitsum.runlog import LogFollower

    log = tmp_path / "metrics.jsonl"
    log.write_bytes(_line(0) + _line(1))
    follower = LogFollower(log)
    assert len(follower.poll()) == 2
    fresh = tmp_path / "fresh.jsonl"
    fresh.write_bytes(b"".join(_line(i, "epoch") for i in range(10)))
    os.replace(fresh, log)
    assert follower.poll() == [_rec(i, "epoch") for i in range(10)]


def test_follower_vanishing_log(tmp_path):
    from digitsum.runlog import LogFollower

    log = tmp_path / "metrics.jsonl"
    log.write_bytes(_line(0))
    follower = LogFollower(log)
    assert follower.poll() == [_rec(0)]
    log.unlink()
    assert follower.poll() == []
    log.write_bytes(_line(7))
    assert follower.poll() == [_rec(7)]


WRITER = r"""
import json, sys, time
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "ab", buffering=0) as fh:
    for i in range(n):
        line = (json.dumps({"event": "batch", "epoch": 1, "batch": i, "loss": 1.0 / (i + 1)}) + "\n").encode()
        cut = (i * 7) % len(line)
        fh.write(line[:cut])       # half a line on disk ...
        time.sleep(0.0005 * (i % 3))
        fh.write(line[cut:])       # ... completed a moment later
"""


def test_follower_tails_a_live_writer_process(tmp_path):
    """Another process appends 2,000 records in torn writes; polling all the while loses and repeats none."""
    from digitsum.runlog import LogFollower

    log = tmp_path / "metrics.jsonl"
    log.touch()
    follower = LogFollower(log)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log), "2000"])
    seen, polls = [], 0
    try:
        while writer.poll() is None:
            seen += follower.poll()
            polls += 1
            time.sleep(0.001)
    finally:
        writer.wait(60)
    seen += follower.poll()
    assert writer.returncode == 0
    assert [r["batch"] for r in seen] == list(range(2000))
    assert polls > 1


def test_follower_reads_a_real_run_log_while_it_grows(tmp_path):
    """The RunLog writer and the follower in one process: every record the writer flushed is read once."""
    from digitsum.events import BatchEnd, RunStarted
    from digitsum.runlog import LogFollower, RunLog

    writer = RunLog(batch_hz=0)
    writer(
        RunStarted(
            run_id="r",
            run_dir=str(tmp_path),
            model="seed",
            device="cpu",
            data="d",
            epochs=1,
            start_epoch=0,
            batches_per_epoch=50,
            train_size=1,
            val_size=1,
            config={},
            history=[],
        )
    )
    follower = LogFollower(tmp_path / "metrics.jsonl")
    seen = follower.poll()
    for b in range(1, 51):
        writer(BatchEnd(epoch=1, batch=b, batches=50, loss=float(b), images_per_s=1.0))
        if b % 7 == 0:
            seen += follower.poll()
    writer.close()
    seen += follower.poll()
    assert [r["event"] for r in seen] == ["start"] + ["batch"] * 50
    assert [r["batch"] for r in seen[1:]] == list(range(1, 51))
