"""The checkpoint browser: every checkpoint under the output folder, sortable, with its history.

Listing and loading read files with torch, so both happen in thread workers: the screen
draws at once and fills in when the files are read. Rows can be marked (space) to compare
their runs (m); f writes a run's report figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Static

from digitsum.formatting import checkpoint_metrics, metrics_line
from digitsum.runlock import holder
from tui.messages import RunRequested
from tui.screens.modals import ConfirmModal, NewRunModal
from tui.widgets.charts import HistoryChart
from tui.widgets.footer import KeyFooter
from tui.workers import toast_failures

# (column title, CheckpointInfo field, sort descending?)
SORTS = (
    ("created", "created", True),
    ("val loss", "val_loss", False),
    ("round acc", "round_acc", True),
    ("MAE", "mae", False),
    ("epoch", "epoch", True),
    ("run", "run", False),
)


def sort_rows(rows: list[Any], sort: int) -> list[Any]:
    """Sort by the chosen field; checkpoints without that metric (epoch 0) go last."""
    _, key, descending = SORTS[sort]
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]
    return sorted(present, key=lambda r: getattr(r, key), reverse=descending) + missing


COLUMNS = (
    (" ", "mark"),
    ("run", "run"),
    ("kind", "kind"),
    ("model", "model"),
    ("ep", "epoch"),
    ("val loss", "val_loss"),
    ("round", "round_acc"),
    ("MAE", "mae"),
    ("created", "created"),
)


class BrowserScreen(Screen[None]):
    """A DataTable of checkpoints above a detail pane (history chart + metrics)."""

    # the footer holds 80 columns: sort and back are hinted by the title and the help screen instead
    BINDINGS = [
        Binding("enter", "open", "Inference", show=True),
        Binding("space", "mark", "Mark"),
        Binding("m", "compare", "Compare"),
        Binding("f", "report", "Report"),
        Binding("e", "evaluate", "Eval"),
        Binding("c", "continue_run", "Continue"),
        Binding("d", "delete", "Delete"),
        Binding("o", "sort", "Sort", show=False),
        Binding("R", "reload", "Reload", show=False),
        Binding("escape", "back", "Back", show=False),
        Binding("question_mark,f1", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, root: str | Path, data: str | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.data = data  # what the app trains on, if anything: `e` evaluates on it
        self.rows: list[Any] = []
        self.sort = 0
        self.marked: set[str] = set()  # checkpoint paths; compare takes their run folders
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Static(f"checkpoints in {self.root}  (loading...)", id="browser-title")
        yield DataTable(id="checkpoints", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="detail"):
            chart = HistoryChart("loss", {"train_loss": "train", "val_loss": "val"}, id="detail-chart")
            chart.can_focus = False  # arrows and enter belong to the table here; no chart keys on this screen
            yield chart
            yield Static("", id="detail-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.action_reload()

    # --- listing ------------------------------------------------------------------------
    def action_reload(self) -> None:
        self.load_rows()

    @work(thread=True, exclusive=True, group="list")
    @toast_failures("listing checkpoints")
    def load_rows(self) -> None:
        from digitsum.checkpoints import list_checkpoints
        from digitsum.errors import BadInput

        try:
            rows, problem = list_checkpoints(self.root), ""
        except BadInput as exc:
            rows, problem = [], str(exc)
        self.app.call_from_thread(self.show_rows, rows, problem)

    def show_rows(self, rows: list[Any], problem: str = "") -> None:
        self.rows = sort_rows(rows, self.sort)
        self.problem = problem
        self.marked &= {r.path for r in self.rows}  # deleted or vanished files are no longer marked
        table = self.query_one(DataTable)
        current = self.current
        cells = [
            [self._mark_cell(r.path), r.run, r.kind, *checkpoint_metrics(r), r.created[5:16].replace("T", " ")]
            for r in self.rows
        ]
        table.clear(columns=True)
        for k, (title, key) in enumerate(COLUMNS):  # widths fitted here: DataTable's own fitting waits for idle
            table.add_column(title, key=key, width=max([len(title)] + [len(str(row[k])) for row in cells]))
        for r, row in zip(self.rows, cells):
            table.add_row(*row, key=r.path)
        if current is not None and current.path in [r.path for r in self.rows]:
            table.move_cursor(row=[r.path for r in self.rows].index(current.path))
        self.show_title()
        if not self.rows:
            self.query_one("#detail-text", Static).update("")

    def show_title(self) -> None:
        title = self.problem or (
            f"{len(self.rows)} checkpoints in {self.root}  sorted by {SORTS[self.sort][0]} (o)"
            if self.rows
            else f"no checkpoints in {self.root} yet"
        )
        if self.marked and not self.problem:
            runs = len(self.marked_runs)
            title += f"  {len(self.marked)} marked, {runs} run{'s' * (runs != 1)}"
        self.query_one("#browser-title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))

    def _mark_cell(self, path: str) -> Text:
        return Text("*", style="bold yellow") if path in self.marked else Text(" ")

    @property
    def marked_runs(self) -> list[Path]:
        """The distinct run folders of the marked checkpoints (best.pt and last.pt are one run)."""
        return sorted({Path(path).parent for path in self.marked})

    @property
    def current(self) -> Any | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_sort(self) -> None:
        self.sort = (self.sort + 1) % len(SORTS)
        self.show_rows(self.rows)

    # --- detail pane ----------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.current is not None:
            self.load_detail(self.current)

    @work(thread=True, exclusive=True, group="detail")
    @toast_failures("reading the checkpoint")
    def load_detail(self, row: Any) -> None:
        from digitsum.checkpoints import load_checkpoint
        from digitsum.errors import BadInput

        try:
            ckpt = load_checkpoint(row.path)
        except BadInput as exc:
            self.app.call_from_thread(self.show_detail, row, [], str(exc))
            return
        self.app.call_from_thread(
            self.show_detail, row, list(ckpt.get("history") or []), (ckpt.get("data") or {}).get("description", "")
        )

    def show_detail(self, row: Any, history: list[dict[str, Any]], note: str, extra: str = "") -> None:
        self.query_one("#detail-chart", HistoryChart).show(history)
        text = Text()
        text.append(f"{row.path}\n", style="bold")
        text.append(f"{row.kind} {row.model}, epoch {row.epoch}\n")
        if row.val_loss is not None:
            text.append(f"val loss {row.val_loss:.3f}\nround {row.round_acc:.1%}  MAE {row.mae:.3f}\n")
        text.append(note + "\n", style="dim")
        text.append(extra)
        self.query_one("#detail-text", Static).update(text)

    # --- actions ----------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        from tui.screens.inference import InferenceScreen

        if self.current is not None:
            self.app.push_screen(InferenceScreen(self.current.path, self.data))

    def action_evaluate(self) -> None:
        if self.current is not None:
            self.query_one("#detail-text", Static).update(f"evaluating {self.current.path} ...")
            self.evaluate(self.current)

    @work(thread=True, exclusive=True, group="detail")
    @toast_failures("evaluation")
    def evaluate(self, row: Any) -> None:
        from digitsum.errors import DigitsumError
        from digitsum.inference import evaluate_checkpoint

        try:
            ev = evaluate_checkpoint(row.path, data=self.data)
            m = ev.metrics
            extra = f"eval on {ev.data}:\n{metrics_line(m, len(ev.targets))}"
        except DigitsumError as exc:
            extra = f"evaluation failed: {exc}"
        self.app.call_from_thread(self.show_detail, row, [], "", extra)

    def action_continue_run(self) -> None:
        row = self.current
        if row is None:
            return
        path = Path(row.path)
        in_use = holder(path.parent) if path.name == "last.pt" else None  # other checkpoints branch anew
        if in_use:
            self.notify(f"{path.parent.name} is being trained by another digitsum run ({in_use})", severity="warning")
            return
        values = {"resume": row.path, "epochs": row.epoch + 5}
        self.app.push_screen(
            NewRunModal(values, title="Continue training", fields=("epochs",)),
            lambda chosen: self.post_message(RunRequested(chosen)) if chosen else None,
        )

    def action_delete(self) -> None:
        row = self.current
        if row is not None:
            self.app.push_screen(ConfirmModal(f"Delete {row.path}?"), lambda yes: self._delete(row, yes))

    def _delete(self, row: Any, yes: bool | None) -> None:
        if yes:
            try:
                Path(row.path).unlink()
                self.notify(f"deleted {row.path}")
            except OSError as exc:
                self.notify(f"cannot delete {row.path}: {exc.strerror}", severity="error")
            self.action_reload()

    # --- marks, compare, report ---------------------------------------------------------------
    def action_mark(self) -> None:
        """Toggle the mark of this row and step down, so a run of rows is marked by repeated presses."""
        row = self.current
        if row is None:
            return
        self.marked ^= {row.path}
        table = self.query_one(DataTable)
        table.update_cell(row.path, "mark", self._mark_cell(row.path))
        table.action_cursor_down()
        self.show_title()

    def action_compare(self) -> None:
        from tui.screens.compare import CompareScreen

        runs = self.marked_runs
        if len(runs) < 2:
            self.notify("mark rows of at least 2 different runs with space, then press m", severity="warning")
            return
        self.app.push_screen(CompareScreen(runs))

    def action_report(self) -> None:
        row = self.current
        if row is not None:
            run_dir = Path(row.path).parent
            self.notify(f"writing the report of {run_dir.name} ...")
            self.make_report(run_dir)

    @work(thread=True, group="report")
    @toast_failures("report")
    def make_report(self, run_dir: Path) -> None:
        """history.png, history.csv and inference.png in the run folder (matplotlib; evaluates best.pt)."""
        from digitsum.figures import write_report

        written = write_report(run_dir)
        names = ", ".join(path.name for path in written)
        self.app.call_from_thread(self.notify, f"wrote {names} in {run_dir}", title="report", timeout=10)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
