"""Errors a user can act on: each becomes one line and an exit code, never a traceback."""

from __future__ import annotations


class DigitsumError(Exception):
    """Base class: the message is the whole story told to the user."""

    exit_code = 1


class BadInput(DigitsumError):
    """Missing, corrupt or ill-shaped input (data, checkpoint, option): exit 2."""

    exit_code = 2


def failure_text(exc: BaseException) -> str:
    """One line for any error: a user error's own message, else a bug's kind and first line (no traceback)."""
    if isinstance(exc, DigitsumError):
        return str(exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class TrainingFailed(DigitsumError):
    """The run itself failed (e.g. a NaN loss): exit 1."""

    exit_code = 1
