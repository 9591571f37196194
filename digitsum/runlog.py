"""`metrics.jsonl`: the run's history as it happens, one JSON object per line.

Writing is a subscriber like any other; reading copes with a file that is still growing,
was truncated or ends in half a line, so another process can follow a live run.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from digitsum.errors import BadInput
from digitsum.events import BatchEnd, EpochEnd, Event, Failed, Finished, RunStarted

LOG_NAME = "metrics.jsonl"


class RunLog:
    """Appends every event to `<run_dir>/metrics.jsonl`; batch lines at most `batch_hz` a second."""

    def __init__(self, batch_hz: float = 4.0) -> None:
        self.batch_interval = 1.0 / batch_hz if batch_hz > 0 else 0.0
        self._fh = None
        self._last_batch = 0.0

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.open(Path(event.run_dir) / LOG_NAME)
        if self._fh is None:
            return
        if isinstance(event, BatchEnd) and not self._batch_due(event):
            return
        self.write(_loggable(event))
        if isinstance(event, (Finished, Failed)):
            self.close()

    def _batch_due(self, event: BatchEnd) -> bool:
        now = time.monotonic()
        if event.batch == event.batches or now - self._last_batch >= self.batch_interval:
            self._last_batch = now
            return True
        return False

    def open(self, path: Path) -> None:
        self.close()
        try:
            self._fh = open(path, "a", encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"{path}: cannot write run log ({exc.strerror or exc})") from None

    def write(self, record: dict[str, Any]) -> None:
        record = {**record, "time": round(time.time(), 3)}
        try:
            self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._fh.flush()
        except OSError as exc:
            raise BadInput(f"{self._fh.name}: cannot write run log ({exc.strerror or exc})") from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _loggable(event: Event) -> dict[str, Any]:
    record = event.to_dict()
    if isinstance(event, RunStarted) and not event.branched_from:
        record.pop("history", None)  # already in the log as earlier epoch lines (a branch's are not)
    return record


class LogFollower:
    """Reads new complete lines of a growing JSONL file; restarts from the top if it shrinks."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._head = b""  # the file's first bytes when read: if they change, the log was rewritten or replaced

    def poll(self) -> list[dict[str, Any]]:
        """Records appended since the last call (a half-written last line waits for the next)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        try:
            with open(self.path, "rb") as fh:
                if self._offset and (size < self._offset or fh.read(len(self._head)) != self._head):
                    self._offset, self._partial = 0, b""  # truncated, rewritten or replaced: read again from the start
                fh.seek(self._offset)
                chunk = fh.read(max(size - self._offset, 0))
        except OSError:
            return []
        if not chunk:
            return []
        if self._offset == 0:
            self._head = chunk[:64]
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return [rec for rec in map(_parse, lines) if rec is not None]


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "event" in record else None


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All complete records of a run log."""
    return LogFollower(path).poll()


def epoch_history(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest `epoch` record per epoch number, in order (a resumed run may repeat epochs)."""
    by_epoch: dict[int, dict[str, Any]] = {}
    for rec in records:
        if rec.get("event") == EpochEnd.event:
            by_epoch[int(rec["epoch"])] = rec
    return [by_epoch[k] for k in sorted(by_epoch)]


def make_run_dir(out: Path, model: str) -> Path:
    """A new, unique `<out>/<timestamp>-<model>[-n]` folder; mkdir is atomic, so two runs never share one."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{out}: cannot create output folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK):
        raise BadInput(f"{out}: output folder is not writable")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = out / (f"{stamp}-{model}" + (f"-{n}" if n else ""))
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise BadInput(f"{out}: cannot create run folder ({exc.strerror or exc})") from None
    raise BadInput(f"{out}: too many runs started at {stamp}")
