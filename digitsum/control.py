"""Thread-safe steering of a running engine: pause, resume, save now, stop.

The engine polls it between batches, so any thread (a TUI, a signal handler) may call it.
"""

from __future__ import annotations

import threading


class Control:
    """Requests from outside the training thread, honoured at the next batch boundary."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._saves: list[str] = []

    # --- called by watchers -------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        """Ask the run to end after the current batch (it saves `last.pt` first)."""
        self._stop.set()
        self._running.set()

    def save_now(self, tag: str = "manual") -> None:
        """Ask for a checkpoint of the current weights, named after `tag`."""
        with self._lock:
            self._saves.append(tag)

    # --- read by the engine -------------------------------------------------
    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block until resumed or stopped; True when running again."""
        return self._running.wait(timeout)

    def take_save_requests(self) -> list[str]:
        with self._lock:
            tags, self._saves = self._saves, []
        return tags
