"""Alerts: a run that finished, failed or stalled rings the bell and notifies the desktop (OSC 9 / 777)."""

from __future__ import annotations

from digitsum.alerts import BELL, Alert, Alerts, notification

ALERT = Alert("digitsum: run finished", "after epoch 3; best val loss 0.1000 at epoch 3", "information")


def test_outside_tmux_the_bell_then_osc_9_and_osc_777():
    seq = notification(ALERT, env={})
    assert seq == (
        BELL
        + "\x1b]9;digitsum: run finished: after epoch 3, best val loss 0.1000 at epoch 3\x07"
        + "\x1b]777;notify;digitsum: run finished;after epoch 3, best val loss 0.1000 at epoch 3\x07"
    )


def test_inside_tmux_the_sequences_pass_through_with_doubled_escapes():
    plain, wrapped = notification(ALERT, env={}), notification(ALERT, env={"TMUX": "/tmp/tmux-0/default,1,0"})
    assert wrapped == BELL + "\x1bPtmux;" + plain[1:].replace("\x1b", "\x1b\x1b") + "\x1b\\"


def test_control_characters_never_end_the_sequence_early():
    seq = notification(Alert("t", "line one\nline two\x07", "error"), env={})
    assert seq.count("\x07") == 3  # the bell and the two terminators only
    assert "line one line two" in seq


def epoch(n: int, val_loss: float) -> dict:
    return {"event": "epoch", "epoch": n, "epochs": 20, "val_loss": val_loss}


def collect(patience: int = 3):
    alerts: list[Alert] = []
    return Alerts(alerts.append, patience), alerts


def test_a_stall_alerts_once_after_patience_epochs_and_again_after_a_new_best():
    watch, alerts = collect(patience=3)
    for n, loss in enumerate([5.0, 4.0, 4.5, 4.2, 4.1, 4.3, 4.4], start=1):
        watch(epoch(n, loss))
    assert [a.severity for a in alerts] == ["warning"]
    assert alerts[0].body.startswith("val loss has not improved for 3 epochs (best 4.0000); epoch 5/20")
    for n, loss in enumerate([3.0, 3.5, 3.6, 3.7], start=8):
        watch(epoch(n, loss))
    assert len(alerts) == 2 and "epoch 11/20" in alerts[1].body


def test_patience_0_never_alerts_a_stall():
    watch, alerts = collect(patience=0)
    for n in range(1, 30):
        watch(epoch(n, 5.0))
    assert alerts == []


def test_the_end_and_a_failure_are_told_with_what_matters():
    watch, alerts = collect()
    watch({"event": "end", "epoch": 3, "stopped": False, "best_metrics": {"val_loss": 0.1, "epoch": 3}})
    watch({"event": "end", "epoch": 1, "stopped": True, "best_metrics": {}})
    watch({"event": "error", "message": "loss became nan at epoch 2, batch 3", "epoch": 2, "batch": 3})
    assert [(a.title, a.body) for a in alerts] == [
        ("digitsum: run finished", "after epoch 3; best val loss 0.1000 at epoch 3"),
        ("digitsum: run stopped", "after epoch 1; no epoch finished"),
        ("digitsum: run failed", "loss became nan at epoch 2, batch 3 (epoch 2, batch 3)"),
    ]
