"""Errors a user can act on: each becomes one line and an exit code, never a traceback."""

from __future__ import annotations


class DigitsumError(Exception):
    """Base class: the message is the whole story told to the user."""

    exit_code = 1


class BadInput(DigitsumError):
    """Missing, corrupt or ill-shaped input (data, checkpoint, option): exit 2."""

    exit_code = 2


class TrainingFailed(DigitsumError):
    """The run itself failed (e.g. a NaN loss): exit 1."""

    exit_code = 1
