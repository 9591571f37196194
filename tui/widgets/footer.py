"""The key bar at the bottom of every screen."""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    """The screen's keys; the command palette (ctrl+p) is named in the help, since 80 columns are full of keys."""

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)
