"""Tell a user who looked away: a run finished, failed, or stopped improving.

`Alerts` is a subscriber like the run log: it turns events into short alert texts and hands
them to a sink (the headless CLI writes the terminal's bell and a desktop notification escape
sequence; the TUI adds a toast). OSC 9 (iTerm2, WezTerm, Windows Terminal, kitty, ...) and
OSC 777 (VTE, foot, ...) reach the desktop over SSH too; inside tmux they must be wrapped in
tmux's DCS passthrough (and tmux needs `set -g allow-passthrough on`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from digitsum.events import Event

BELL = "\a"


@dataclass(frozen=True)
class Alert:
    title: str
    body: str
    severity: str  # information | warning | error


def notification(alert: Alert, env: Mapping[str, str] | None = None) -> str:
    """The bell plus OSC 9 and OSC 777 desktop notifications, wrapped for tmux when inside it."""
    body = _printable(alert.body)
    title = _printable(alert.title)
    sequences = f"\x1b]9;{title}: {body}\x07\x1b]777;notify;{title};{body}\x07"
    if "TMUX" in (os.environ if env is None else env):
        sequences = "\x1bPtmux;" + sequences.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return BELL + sequences


def _printable(text: str) -> str:
    """No control characters inside an escape sequence (a newline or BEL would end it early)."""
    return "".join(ch if ch.isprintable() else " " for ch in text).replace(";", ",")


class Alerts:
    """Subscriber of events or log records: finished, failed, and no val-loss improvement for `patience` epochs."""

    def __init__(self, sink: Callable[[Alert], None], patience: int = 5) -> None:
        self.sink, self.patience = sink, patience
        self.best, self.since_best, self.warned = math.inf, 0, False

    def __call__(self, event: Event | Mapping[str, Any]) -> None:
        record = event.to_dict() if isinstance(event, Event) else event
        kind = record.get("event")
        if kind == "epoch":
            self._epoch(record)
        elif kind == "end":
            verb = "stopped" if record.get("stopped") else "finished"
            best = record.get("best_metrics") or {}
            detail = f"best val loss {best['val_loss']:.4f} at epoch {best['epoch']}" if best else "no epoch finished"
            if record.get("why"):
                detail += f"; {record['why']}"
            self.sink(Alert(f"digitsum: run {verb}", f"after epoch {record.get('epoch', 0)}; {detail}", "information"))
        elif kind == "error":
            where = f" (epoch {record['epoch']}, batch {record.get('batch', 0)})" if record.get("epoch") else ""
            self.sink(Alert("digitsum: run failed", f"{record.get('message', '')}{where}", "error"))

    def _epoch(self, record: Mapping[str, Any]) -> None:
        if record["val_loss"] < self.best:
            self.best, self.since_best, self.warned = record["val_loss"], 0, False
            return
        self.since_best += 1
        if self.patience > 0 and self.since_best >= self.patience and not self.warned:
            self.warned = True
            body = (
                f"val loss has not improved for {self.since_best} epochs (best {self.best:.4f}); "
                f"epoch {record['epoch']}/{record.get('epochs', '?')}"
            )
            self.sink(Alert("digitsum: run stalled", body, "warning"))
