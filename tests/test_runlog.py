"""metrics.jsonl: the rate-limited writer and a follower that copes with a file still being written."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from digitsum import runlog
from digitsum.events import BatchEnd, EpochEnd, Finished, Paused, RunStarted
from digitsum.runlog import LOG_NAME, LogFollower, RunLog, epoch_history, read_log


def started(run_dir: Path) -> RunStarted:
    return RunStarted(
        run_id=run_dir.name,
        run_dir=str(run_dir),
        model="sumnet",
        device="cpu",
        data="test",
        epochs=2,
        start_epoch=0,
        batches_per_epoch=10,
        train_size=320,
        val_size=64,
        history=[{"epoch": 0, "val_loss": 1.0}],
    )


def epoch_end(epoch: int, val_loss: float = 2.0) -> EpochEnd:
    return EpochEnd(
        epoch=epoch,
        epochs=2,
        train_loss=3.0,
        val_loss=val_loss,
        floor_acc=0.1,
        ceil_acc=0.2,
        round_acc=0.3,
        mae=1.5,
        lr=1e-3,
        seconds=1.0,
        images_per_s=320.0,
    )


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- writing ------------------------------------------------------------------------------------
class FakeClock:
    """Stands in for the module's `time`: monotonic() advances only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def time() -> float:
        return time.time()


def test_run_log_rate_limits_batch_lines_but_always_writes_the_last_batch_of_an_epoch(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(runlog, "time", clock)
    log = RunLog(batch_hz=4.0)  # at most one batch line per 0.25 s
    log(started(tmp_path))
    for epoch in (1, 2):
        for batch in range(1, 11):
            clock.now += 0.1  # ten batches a second
            log(BatchEnd(epoch=epoch, batch=batch, batches=10, loss=float(batch)))
    log.close()

    batches = [(r["epoch"], r["batch"]) for r in lines(tmp_path / LOG_NAME) if r["event"] == "batch"]
    assert batches == [(1, 1), (1, 4), (1, 7), (1, 10), (2, 3), (2, 6), (2, 9), (2, 10)]


def test_run_log_writes_the_last_batch_even_right_after_another_line(tmp_path, monkeypatch):
    monkeypatch.setattr(runlog, "time", FakeClock())  # the clock never moves
    log = RunLog(batch_hz=4.0)
    log(started(tmp_path))
    for batch in range(1, 4):
        log(BatchEnd(epoch=1, batch=batch, batches=3, loss=1.0))
    log.close()
    assert [r["batch"] for r in lines(tmp_path / LOG_NAME) if r["event"] == "batch"] == [1, 3]


def test_run_log_without_a_rate_limit_writes_every_batch(tmp_path):
    log = RunLog(batch_hz=0)
    log(started(tmp_path))
    for batch in range(1, 6):
        log(BatchEnd(epoch=1, batch=batch, batches=5, loss=1.0))
    log.close()
    assert [r["batch"] for r in lines(tmp_path / LOG_NAME) if r["event"] == "batch"] == [1, 2, 3, 4, 5]


def test_every_line_is_flushed_json_with_an_event_field_and_a_time(tmp_path):
    log = RunLog()
    log(started(tmp_path))
    log(epoch_end(1))
    log(Paused(epoch=2, batch=3))
    # read while the log is still open: lines are flushed as they happen
    records = lines(tmp_path / LOG_NAME)
    log.close()
    assert [r["event"] for r in records] == ["start", "epoch", "pause"]
    assert all(isinstance(r["time"], float) for r in records)
    assert records[1]["val_loss"] == 2.0 and records[1]["images_per_s"] == 320.0


def test_the_start_line_leaves_out_the_history_already_in_the_log(tmp_path):
    log = RunLog()
    log(started(tmp_path))
    log.close()
    (record,) = lines(tmp_path / LOG_NAME)
    assert "history" not in record and record["run_dir"] == str(tmp_path)


def test_events_before_run_started_are_not_written_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = RunLog()
    log(epoch_end(1))
    log.close()
    assert list(tmp_path.iterdir()) == []


def test_a_resumed_run_appends_to_the_existing_log(tmp_path):
    for epoch in (1, 2):
        log = RunLog()
        log(started(tmp_path))
        log(epoch_end(epoch))
        log.close()
    assert [r["event"] for r in lines(tmp_path / LOG_NAME)] == ["start", "epoch", "start", "epoch"]


# --- following ------------------------------------------------------------------------------
def test_follower_of_a_missing_file_returns_nothing_until_it_appears(tmp_path):
    path = tmp_path / LOG_NAME
    follower = LogFollower(path)
    assert follower.poll() == []
    path.write_text('{"event":"start"}\n')
    assert follower.poll() == [{"event": "start"}]


def test_follower_returns_a_partial_last_line_only_once_it_is_complete(tmp_path):
    path = tmp_path / LOG_NAME
    path.write_text('{"event":"start"}\n{"event":"batch","lo')
    follower = LogFollower(path)

    assert follower.poll() == [{"event": "start"}]
    assert follower.poll() == []
    with open(path, "a") as fh:
        fh.write('ss":1.5}\n')
    assert follower.poll() == [{"event": "batch", "loss": 1.5}]
    assert follower.poll() == []


def test_follower_rereads_from_the_start_after_truncation(tmp_path):
    path = tmp_path / LOG_NAME
    path.write_text("".join(f'{{"event":"batch","batch":{i}}}\n' for i in range(5)))
    follower = LogFollower(path)
    assert len(follower.poll()) == 5

    path.write_text('{"event":"start","run":"new"}\n')
    assert follower.poll() == [{"event": "start", "run": "new"}]


def test_follower_skips_garbage_and_records_without_an_event(tmp_path):
    path = tmp_path / LOG_NAME
    path.write_text('not json\n{"no_event":1}\n[1,2]\n\n{"event":"end"}\n')
    assert LogFollower(path).poll() == [{"event": "end"}]


def test_follower_sees_what_a_live_run_log_writes(tmp_path):
    follower = LogFollower(tmp_path / LOG_NAME)
    log = RunLog()
    log(started(tmp_path))
    assert [r["event"] for r in follower.poll()] == ["start"]
    log(epoch_end(1))
    log(Finished(run_dir=str(tmp_path), best="b", last="l", epoch=1, stopped=False))
    assert [r["event"] for r in follower.poll()] == ["epoch", "end"]
    log.close()


def test_epoch_history_keeps_the_latest_record_of_each_epoch_in_order(tmp_path):
    path = tmp_path / LOG_NAME
    log = RunLog()
    log(started(tmp_path))
    log(epoch_end(2, val_loss=9.0))
    log(epoch_end(1, val_loss=5.0))
    log(epoch_end(2, val_loss=4.0))  # a resumed run repeats epoch 2
    log.close()
    history = epoch_history(read_log(path))
    assert [(h["epoch"], h["val_loss"]) for h in history] == [(1, 5.0), (2, 4.0)]


def test_read_log_of_a_missing_file_is_empty(tmp_path):
    assert read_log(tmp_path / "nope.jsonl") == []


@pytest.mark.parametrize("hz, interval", [(4.0, 0.25), (0, 0.0)])
def test_batch_rate_is_given_in_lines_per_second(hz, interval):
    assert RunLog(batch_hz=hz).batch_interval == interval
