"""Compare runs: their curves overlaid, their best epochs side by side, the settings that differ.

Opened from the checkpoint browser with the runs of the marked rows. Reading a run may load
a checkpoint with torch (when its log is gone), so loading happens in a thread worker.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from digitsum.curves import ChartView, batches_per_epoch
from tui.screens.charted import ChartScreen
from tui.widgets.charts import RunsChart
from tui.widgets.footer import KeyFooter
from tui.workers import toast_failures

# (column title, key in the best epoch's record, format, is lower better?)
BEST_COLUMNS = (
    ("val loss", "val_loss", ".3f", True),
    ("round", "round_acc", ".1%", False),
    ("MAE", "mae", ".3f", True),
    ("floor", "floor_acc", ".1%", False),
    ("ceil", "ceil_acc", ".1%", False),
)


def run_letter(index: int) -> str:
    """A, B, ... Z, then 27, 28 ...: short enough for chart legends 26 columns wide."""
    return string.ascii_uppercase[index] if index < 26 else str(index + 1)


def best_styles(values: list[float | None], lower_is_better: bool) -> list[str]:
    """Bold green for the best value of a column (all ties), nothing for the others."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return [""] * len(values)
    top = min(present) if lower_is_better else max(present)
    return ["bold green" if v == top else "" for v in values]


def short_value(value: Any, width: int = 18, keep_end: bool = True) -> str:
    """Cut to fit beside the other settings; paths keep their end (where runs' paths differ)."""
    text = "-" if value is None else str(value)
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def setting_cells(values: list[Any]) -> list[str]:
    """One setting across runs; of dict settings (model_kwargs...) only the entries that differ, as k=v."""
    if not all(isinstance(v, dict) for v in values):
        return [short_value(v) for v in values]
    keys = sorted({k for v in values for k in v})
    differing = [k for k in keys if any(v.get(k) != values[0].get(k) for v in values[1:])]
    return [short_value(" ".join(f"{k}={v[k]}" for k in differing if k in v) or "-", keep_end=False) for v in values]


class CompareScreen(ChartScreen):
    """Two or more run folders; letters (A, B, ...) tie the legends to the tables' rows."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, run_dirs: list[Path]) -> None:
        super().__init__()
        self.view = ChartView(log_y=True)  # runs' losses differ by orders of magnitude
        self.run_dirs = [Path(d) for d in run_dirs]
        self.runs: list[Any] = []  # digitsum.compare.RunSummary, once loaded

    def compose(self) -> ComposeResult:
        yield Static(f"comparing {len(self.run_dirs)} runs (loading...)", id="compare-title")
        with Horizontal(id="compare-charts"):
            yield RunsChart("val loss", "val_loss", id="compare-loss")
            yield RunsChart("round acc %", "round_acc", percent=True, id="compare-acc")
            yield RunsChart("val MAE", "mae", id="compare-mae")
        yield DataTable(id="compare-best", cursor_type="none", zebra_stripes=True)
        yield DataTable(id="compare-config", cursor_type="none")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="compare")
    @toast_failures("loading runs")
    def load_runs(self) -> None:
        from digitsum.compare import load_run
        from digitsum.errors import DigitsumError

        runs, problems = [], []
        for run_dir in self.run_dirs:
            try:
                runs.append(load_run(run_dir))
            except DigitsumError as exc:
                problems.append(str(exc))
        self.app.call_from_thread(self.show_runs, runs, problems)

    def show_runs(self, runs: list[Any], problems: list[str]) -> None:
        from digitsum.compare import comparison

        self.runs = runs
        letters = [run_letter(k) for k in range(len(runs))]
        for chart in self.query(RunsChart):
            chart.show_runs([(letter, r.history, batches_per_epoch(r.config)) for letter, r in zip(letters, runs)])
        summary = comparison(runs)
        self._show_best(letters, summary["runs"])
        self._show_config(letters, summary["config_differences"])
        title = f"comparing {len(runs)} runs; best = the epoch with the lowest val loss"
        if problems:
            title = f"{title}  ({len(problems)} could not be read)"
            for problem in problems:
                self.notify(problem, severity="warning")
        self.query_one("#compare-title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))

    def _show_best(self, letters: list[str], rows: list[dict[str, Any]]) -> None:
        table = self.query_one("#compare-best", DataTable)
        table.clear(columns=True)
        table.add_columns("", "run", "epochs", "best@", *(title for title, *_ in BEST_COLUMNS))
        styles = [best_styles([row["best"].get(key) for row in rows], lower) for _, key, _, lower in BEST_COLUMNS]
        for k, (letter, row) in enumerate(zip(letters, rows)):
            best = row["best"]
            cells = [
                Text("-") if best.get(key) is None else Text(format(best[key], fmt), style=styles[c][k])
                for c, (_, key, fmt, _) in enumerate(BEST_COLUMNS)
            ]
            table.add_row(
                Text(letter, style="bold"), row["run"], str(row["epochs"]), str(best.get("epoch", "-")), *cells
            )

    def _show_config(self, letters: list[str], diffs: dict[str, list[Any]]) -> None:
        """Rows are runs, columns the differing settings; values unlike run A's are highlighted."""
        table = self.query_one("#compare-config", DataTable)
        table.clear(columns=True)
        if not diffs:
            table.add_column("settings")
            table.add_row("the same in every run (out, device and resume aside)")
            return
        table.add_columns("", *diffs)
        shown = {key: setting_cells(values) for key, values in diffs.items()}
        for k, letter in enumerate(letters):
            cells = [
                Text(shown[key][k], style="bold yellow" if k and values[k] != values[0] else "")
                for key, values in diffs.items()
            ]
            table.add_row(Text(letter, style="bold"), *cells)

    def action_back(self) -> None:
        """Escape leaves a full-screen chart first, then the screen."""
        if self.maximized is not None:
            self.minimize()
        else:
            self.app.pop_screen()
