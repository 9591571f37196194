"""The engine-thread side of the TUI: a subscriber that batches events into UI messages.

Batch events arrive 10-20 times a second; posting each one would wake the UI thread as
often and steal CPU from torch. They are buffered here and sent at most `hz` times a
second; every other event flushes the buffer and goes at once, in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]


class EventBridge:
    """Call it with engine events (any thread); `send` receives lists of event dicts."""

    def __init__(self, send: Callable[[list[Record]], Any], hz: float = 1.0) -> None:
        self.send = send
        self.interval = 1.0 / hz
        self._lock = threading.Lock()
        self._pending: list[Record] = []
        self._last = 0.0
        self.batches_seen = 0

    def __call__(self, event: Any) -> None:
        record = event.to_dict()
        is_batch = record.get("event") == "batch"  # everything else (system, epoch, ...) goes at once
        now = time.monotonic()
        with self._lock:
            self._pending.append(record)
            self.batches_seen += is_batch
            if is_batch and now - self._last < self.interval:
                return
            self._last = now
            records, self._pending = self._pending, []
        self.send(records)
