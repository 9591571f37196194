"""Small dialogs: yes/no confirmation, the new-run form and an image path. They return results by `dismiss`."""

from __future__ import annotations

import os
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmModal(ModalScreen[bool]):
    """Ask before doing something that cannot be undone (quit a run, delete a file)."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, id="question")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class FormModal(ModalScreen[Any]):
    """A dialog of inputs: enter or its first button submits, escape or Cancel gives None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    SUBMIT_ID = ""  # the id of the button that submits

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == self.SUBMIT_ID:
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:
        raise NotImplementedError


FIELDS = (
    ("model", "model (sumnet, seed)"),
    ("epochs", "epochs (total)"),
    ("data", "data (builtin or DIR)"),
    ("lr", "learning rate"),
)


class NewRunModal(FormModal):
    """The four settings people change most; everything else keeps the current run's values."""

    SUBMIT_ID = "start"

    def __init__(
        self,
        values: dict[str, Any],
        title: str = "New run",
        fields: tuple[str, ...] = ("model", "epochs", "data", "lr"),
    ) -> None:
        super().__init__()
        self.values, self.title_text = values, title
        self.fields = [(key, label) for key, label in FIELDS if key in fields]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="new-run"):
            yield Static(self.title_text, classes="dialog-title")
            if self.values.get("resume"):
                yield Static(f"from {self.values['resume']}", classes="dim")
            with Grid(id="form"):
                for key, label in self.fields:
                    yield Label(label)
                    value = self.values.get(key)
                    yield Input("" if value is None else str(value), placeholder="auto", id=f"field-{key}")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Start (enter)", variant="success", id="start")
                yield Button("Cancel (esc)", id="cancel")

    def submit(self) -> None:
        """Check the numbers here, so a typo is one red line in the form, not a failed run."""
        raw = {key: self.query_one(f"#field-{key}", Input).value.strip() for key, _ in self.fields}
        try:
            values = {key: PARSE[key](text) for key, text in raw.items()}
        except ValueError:
            self.query_one("#form-error", Static).update("epochs must be a whole number and lr a number")
            return
        if (values.get("epochs") or 1) < 1 or not (values.get("lr") or 1) > 0:
            self.query_one("#form-error", Static).update("epochs must be >= 1 and lr > 0")
            return
        self.dismiss({**self.values, **values})


def _or_auto(kind: type) -> Any:
    """An empty field means `auto`: the run plans it (epochs from the budget, lr from the recipe)."""
    return lambda text: kind(text) if text else None


PARSE = {"model": str, "data": lambda text: text or "builtin", "epochs": _or_auto(int), "lr": _or_auto(float)}


class OpenImageModal(FormModal):
    """Ask for the path of an image of four digits (a photo, a scan, a saved composite)."""

    DEFAULT_CSS = "OpenImageModal { align: center middle; }"
    SUBMIT_ID = "open"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="open-image"):
            yield Static("Open an image", classes="dialog-title")
            yield Input(placeholder="path to a PNG, JPEG, ... of four digits", id="image-path")
            yield Static("", id="open-error")
            with Horizontal(classes="buttons"):
                yield Button("Open (enter)", variant="success", id="open")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#image-path", Input).focus()

    def submit(self) -> None:
        """An empty path is a red line in the dialog; whether the file is an image is the loader's to say."""
        path = os.path.expanduser(self.query_one("#image-path", Input).value.strip())
        if not path:
            self.query_one("#open-error", Static).update("type the path of an image file")
            return
        self.dismiss(path)
