"""Messages that screens post up to the app (Textual's rule: messages up, attributes down)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class RunRequested(Message):
    """A screen asks for a run with these settings over the app's (e.g. `c`: continue a checkpoint)."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__()
        self.values = values
