"""One writer per run folder: an OS lock (flock) on `<run_dir>/.lock`, held for the run's life.

The kernel drops a flock when its process dies, kill -9 included, so a crash never leaves a
stale lock behind; the file's text (pid, host, since) only names the holder in the refusal.
Readers (attach, browser, eval, report, compare) never take it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime
from pathlib import Path

from digitsum.errors import BadInput

LOCK_NAME = ".lock"


class RunLock:
    """Holds the lock on one run folder until `release()` (or the process ends)."""

    def __init__(self, run_dir: Path, fd: int) -> None:
        self.run_dir, self._fd = run_dir, fd

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Take the folder's lock, or refuse with one line naming the holder (BadInput, exit 2)."""
        path = Path(run_dir) / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise BadInput(f"{run_dir}: cannot lock run folder ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise BadInput(f"{run_dir}: in use by another digitsum run ({holder}); refusing a second writer") from None
        _write_holder(fd)
        return cls(Path(run_dir), fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def holder(run_dir: Path) -> str | None:
    """Who holds the folder now ("pid 12 on box since 10:02:03"), or None when it is free."""
    path = Path(run_dir) / LOCK_NAME
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(fd)
    finally:
        os.close(fd)
    return None


def _write_holder(fd: int) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now().isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        since = str(info.get("since", "?")).replace("T", " ")
        return f"pid {info.get('pid', '?')} on {info.get('host', '?')} since {since}"
    except (OSError, ValueError):
        return "holder unknown"
