"""Steering a running engine from another thread: pause, resume, stop, save now.

The engine runs in a worker thread; a gate subscriber holds it at one BatchEnd so that the
request from the test thread is known to arrive in the middle of the run.
"""

from __future__ import annotations

import threading
import time

from digitsum.checkpoints import load_checkpoint, model_from_checkpoint
from digitsum.control import Control
from digitsum.events import BatchEnd, CheckpointSaved, EpochEnd, Finished, Paused, Resumed


# --- the Control object itself ----------------------------------------------------------------
def test_a_new_control_is_running_with_nothing_requested():
    control = Control()
    assert not control.paused and not control.stop_requested
    assert control.take_save_requests() == []


def test_pause_blocks_the_waiter_until_resume_from_another_thread():
    control = Control()
    control.pause()
    assert control.paused and control.wait_while_paused(timeout=0.05) is False
    threading.Timer(0.05, control.resume).start()
    assert control.wait_while_paused(timeout=10) is True and not control.paused


def test_stop_also_releases_a_paused_waiter():
    control = Control()
    control.pause()
    threading.Timer(0.05, control.stop).start()
    assert control.wait_while_paused(timeout=10) is True
    assert control.stop_requested


def test_save_requests_are_handed_over_once_in_order():
    control = Control()
    control.save_now()
    control.save_now("before-lr-change")
    assert control.take_save_requests() == ["manual", "before-lr-change"]
    assert control.take_save_requests() == []


# --- a real run in a worker thread ------------------------------------------------------------
def test_pause_really_stops_batches_until_resume(make_config, engine_thread):
    control = Control()
    worker = engine_thread(make_config(augment=False, epochs=1), control, gate_at=(1, 2))
    worker.wait_at_gate()

    control.pause()  # from the test thread, while the engine is mid-epoch
    worker.release.set()
    assert worker.paused.wait(60), "no Paused event"
    held = worker.count()
    time.sleep(0.5)
    assert worker.count() == held == 2  # not one batch while paused
    assert worker.thread.is_alive()

    control.resume()
    result = worker.join()

    assert worker.count() == 8  # all 8 batches of the epoch: it went on and finished
    assert not result.stopped and result.epoch == 1
    paused, resumed = worker.of(Paused), worker.of(Resumed)
    assert [(p.epoch, p.batch) for p in paused] == [(1, 2)] and [(r.epoch, r.batch) for r in resumed] == [(1, 2)]


def test_stop_ends_the_run_early_with_a_loadable_last_checkpoint(make_config, engine_thread):
    control = Control()
    worker = engine_thread(make_config(augment=False), control, gate_at=(1, 3))
    worker.wait_at_gate()

    control.stop()
    result = worker.join()

    assert worker.count() == 3
    finished = worker.of(Finished)
    assert len(finished) == 1 and finished[0].stopped is True and finished[0].epoch == 0
    assert result.stopped and not worker.of(EpochEnd)
    last = load_checkpoint(result.last)
    assert last["epoch"] == 0
    model_from_checkpoint(last, result.last)


def test_save_now_writes_a_loadable_checkpoint_named_after_its_tag(make_config, engine_thread):
    control = Control()
    worker = engine_thread(make_config(augment=False), control, gate_at=(1, 4))
    worker.wait_at_gate()

    control.save_now("snap")
    control.stop()  # the save is honoured first, then the run ends
    result = worker.join()

    saved = [e for e in worker.of(CheckpointSaved) if e.kind == "snap"]
    assert len(saved) == 1
    path = result.run_dir / "snap-e001-b00004.pt"
    assert saved[0].path == str(path) and path.is_file()
    ckpt = load_checkpoint(path)
    assert ckpt["kind"] == "snap" and ckpt["batch"] == 4
    model = model_from_checkpoint(ckpt, path)
    assert not model.training


def test_the_engine_emits_batch_ends_from_its_own_thread(make_config, engine_thread):
    control = Control()
    seen_threads = []
    worker = engine_thread(make_config(augment=False), control, gate_at=(1, 1))
    worker.engine.subscribe(lambda e: seen_threads.append(threading.get_ident()) if isinstance(e, BatchEnd) else None)
    worker.wait_at_gate()
    control.stop()
    worker.join()
    assert seen_threads and set(seen_threads) == {worker.thread.ident} != {threading.get_ident()}
