"""Inference: a checkpoint's predictions on validation images, one at a time or as a grid.

Evaluation runs in a thread worker; the screen shows "evaluating..." until it is done.
Under a single image, the model's reading of each digit (sumnet); `o` opens the user's own image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static

from digitsum.formatting import metrics_line, verdict
from tui.captions import caption, reading_caption, render_image, worst_first
from tui.screens.modals import OpenImageModal
from tui.widgets.footer import KeyFooter
from tui.workers import toast_failures

if TYPE_CHECKING:
    from digitsum.reading import Reading

VIEWS = ("all", "wrong", "worst")


@dataclass(frozen=True)
class OwnImage:
    """An image file the user opened, made into a composite, with the model's answer and reading."""

    path: str
    image: np.ndarray
    prediction: float
    reading: Reading | None  # None for a model without per-digit structure (seed)


class InferenceScreen(Screen[None]):
    """Browse a checkpoint's predictions; attributes (view, index, grid) drive one redraw."""

    BINDINGS = [
        Binding("left", "step(-1)", "Prev"),
        Binding("right", "step(1)", "Next"),
        Binding("g", "toggle_grid", "Grid"),
        Binding("v", "cycle_view", "View"),
        Binding("h", "toggle_halfblocks", "Blocks"),
        Binding("o", "open_image", "Open"),
        Binding("escape", "back", "Back"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    view: reactive[str] = reactive("all")
    position: reactive[int] = reactive(0)
    grid: reactive[bool] = reactive(False)
    halfblocks: reactive[bool] = reactive(False)

    def __init__(self, checkpoint: str, data: str | None = None, limit: int | None = None) -> None:
        super().__init__()
        self.checkpoint, self.data, self.limit = checkpoint, data, limit
        self.evaluation: Any = None
        self.order: list[int] = []
        self.opened: OwnImage | None = None  # shown instead of the set until a key moves on
        self.predictor: Any = None

    def compose(self) -> ComposeResult:
        yield Static(f"evaluating {self.checkpoint} ...", id="inference-metrics")
        yield Static("", id="inference-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.run_evaluation()

    @work(thread=True, exclusive=True, group="evaluate")
    @toast_failures("evaluation")
    def run_evaluation(self) -> None:
        from digitsum.errors import DigitsumError
        from digitsum.inference import evaluate_checkpoint

        try:
            evaluation = evaluate_checkpoint(self.checkpoint, data=self.data, limit=self.limit)
        except DigitsumError as exc:
            self.app.call_from_thread(
                self.query_one("#inference-metrics", Static).update, Text(f"cannot evaluate: {exc}", style="bold red")
            )
            return
        self.app.call_from_thread(self.show_evaluation, evaluation)

    def show_evaluation(self, evaluation: Any) -> None:
        self.evaluation = evaluation
        m = evaluation.metrics
        name = f"{os.path.basename(os.path.dirname(self.checkpoint))}/{os.path.basename(self.checkpoint)}"
        text = Text(
            metrics_line(m, len(evaluation.targets)) + "\n",
            no_wrap=True,
            overflow="ellipsis",
        )
        text.append(f"{name} on {evaluation.data}", style="dim")
        self.query_one("#inference-metrics", Static).update(text)
        self.reorder()

    # --- what to show ----------------------------------------------------------------------
    def reorder(self) -> None:
        ev = self.evaluation
        if ev is None:
            return
        preds, targets = np.asarray(ev.predictions, dtype=float), np.asarray(ev.targets)
        if self.view == "wrong":
            self.order = [i for i in range(len(targets)) if not verdict(preds[i], targets[i])[1]]
        elif self.view == "worst":
            self.order = worst_first(preds, targets)
        else:
            self.order = list(range(len(targets)))
        self.position = 0
        self.redraw()

    def watch_view(self) -> None:
        self.reorder()

    def watch_position(self) -> None:
        self.redraw()

    def watch_grid(self) -> None:
        self.redraw()

    def watch_halfblocks(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    @property
    def page(self) -> int:
        """Images per grid page: as many as fit the screen."""
        cols, rows = self.grid_shape
        return cols * rows

    @property
    def grid_shape(self) -> tuple[int, int]:
        width, height = self.size
        return max(1, width // 40), max(1, (height - 4) // 6)

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        body = self.query_one("#inference-body", Static)
        if self.opened is not None:
            body.update(self.opened_view(self.opened))
            return
        if self.evaluation is None:
            return
        if not self.order:
            body.update(Text(f"view '{self.view}': no images (press v for another view)", style="bold"))
            return
        header = Text(f"view {self.view} ({len(self.order):,} images)  ", style="dim")
        if self.grid:
            body.update(Group(header, self.grid_text()))
        else:
            i = self.order[self.position]
            ev = self.evaluation
            header.append(f"{self.position + 1}/{len(self.order)}")
            image = render_image(ev.images[i], min(84, self.size.width - 2), self.halfblocks)
            lines = [header, image, caption(i, float(ev.predictions[i]), int(ev.targets[i]))]
            reading = ev.reading(i)
            if reading is not None:
                lines.append(reading_caption(reading, verdict(ev.predictions[i], ev.targets[i])[0], ev.true_digits(i)))
            body.update(Group(*lines))

    def opened_view(self, own: OwnImage) -> Group:
        """The opened file: its composite, the answer and the reading (no truth to judge it by)."""
        header = Text(f"your image: {own.path}  (escape or arrows: back to the set)", style="dim", no_wrap=True)
        lines = [header, render_image(own.image, min(84, self.size.width - 2), self.halfblocks)]
        lines.append(Text(f"predicted {own.prediction:.2f}  rounded {round(own.prediction)}", style="bold"))
        if own.reading is not None:
            lines.append(reading_caption(own.reading, round(own.prediction)))
        return Group(*lines)

    def grid_text(self) -> Any:
        from rich.table import Table

        cols, _ = self.grid_shape
        start = self.position - self.position % self.page
        ev, table = self.evaluation, Table.grid(padding=(0, 2))
        for _ in range(cols):
            table.add_column(width=38)
        cells = []
        for i in self.order[start : start + self.page]:
            cells.append(
                Group(
                    render_image(ev.images[i], 36, self.halfblocks),
                    caption(i, float(ev.predictions[i]), int(ev.targets[i]), short=True),
                )
            )
        for r in range(0, len(cells), cols):
            table.add_row(*cells[r : r + cols])
        return table

    # --- the user's own image ----------------------------------------------------------------
    def action_open_image(self) -> None:
        self.app.push_screen(OpenImageModal(), self.open_path)

    def open_path(self, path: str | None) -> None:
        if path:
            self.predict_image(path)

    @work(thread=True, exclusive=True, group="open-image")
    @toast_failures("open image")
    def predict_image(self, path: str) -> None:
        from digitsum.images import load_image_as_composite
        from digitsum.inference import Predictor

        image = load_image_as_composite(path)
        if self.predictor is None:
            has = self.evaluation is not None and self.evaluation.predictor is not None
            self.predictor = self.evaluation.predictor if has else Predictor.load(self.checkpoint)
        prediction = float(self.predictor.predict(image[None])[0])
        reading = self.predictor.read(image[None])[0]
        self.app.call_from_thread(self.show_opened, OwnImage(path, image, prediction, reading))

    def show_opened(self, own: OwnImage) -> None:
        self.opened = own
        self.redraw()

    def leave_opened(self) -> bool:
        """Back from an opened image to the set; False when none was open."""
        if self.opened is None:
            return False
        self.opened = None
        self.redraw()
        return True

    # --- keys --------------------------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        if self.leave_opened():
            return
        if self.order:
            step = self.page if self.grid else 1
            self.position = min(max(0, self.position + delta * step), len(self.order) - 1)

    def action_toggle_grid(self) -> None:
        if not self.leave_opened():
            self.grid = not self.grid

    def action_cycle_view(self) -> None:
        if self.leave_opened():
            return
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]

    def action_toggle_halfblocks(self) -> None:
        if os.environ.get("NO_COLOR"):
            self.notify("half-blocks need colour (NO_COLOR is set): staying with ASCII", severity="warning")
            return
        self.halfblocks = not self.halfblocks

    def action_back(self) -> None:
        if self.leave_opened():
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
