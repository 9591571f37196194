"""The training screen: status on top, four charts, an event log. It only displays records.

Records arrive (engine bridge or log follower) through `feed`; drawing happens on a timer
a few times a second and only for the parts that changed, so redraws never compete with
torch for the CPU more than they must.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import RichLog

from digitsum.control import Control
from tui.runstate import RunState, describe
from tui.screens.charted import ChartScreen
from tui.widgets.charts import BatchLossChart, HistoryChart, LearningRateChart
from tui.widgets.footer import KeyFooter
from tui.widgets.status import RunStatus

REDRAW_HZ = 1.0
TIMER_EVENTS = ("batch", "system")  # frequent records that only the redraw timer draws


class TrainingScreen(ChartScreen):
    """Watches one run at a time; the app owns the engine and forwards its records here."""

    BINDINGS = [
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"),
        Binding("s", "save('manual')", "Save"),
        Binding("b", "save('marked')", "Mark"),
        Binding("n", "app.new_run", "New"),
        Binding("c", "app.browse", "Ckpts"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only
        self.control: Control | None = None  # the live run's control, handed down by the app that owns the engine
        self.state = RunState()
        self._dirty = True

    # --- steering the run (keys) ------------------------------------------------------------
    def live_control(self) -> Control | None:
        """The control of a run that is training now, or None after telling the user why not."""
        if self.read_only:
            self.notify("read-only: attached to a run; steer it where it runs", severity="warning")
            return None
        if self.control is None or not self.state.running:
            self.notify("no run is training", severity="warning")
            return None
        return self.control

    def action_pause(self) -> None:
        if control := self.live_control():
            control.pause()
            self.note("pause requested: the engine stops after this batch")

    def action_resume(self) -> None:
        if control := self.live_control():
            control.resume()

    def action_save(self, tag: str) -> None:
        """Paused, the engine writes a save within a fraction of a second; training, after this batch."""
        if control := self.live_control():
            control.save_now(tag)
            when = "now (paused)" if control.paused else "after this batch"
            self.notify(f"saving a {tag} checkpoint {when}...", timeout=3)

    def compose(self) -> ComposeResult:
        yield RunStatus(id="status")
        with Grid(id="charts"):
            yield HistoryChart("loss", {"train_loss": "train", "val_loss": "val"}, id="loss-chart")
            yield HistoryChart(
                "acc%",
                {"floor_acc": "floor", "ceil_acc": "ceil", "round_acc": "round"},
                percent=True,
                id="acc-chart",
            )
            yield HistoryChart("val MAE", {"mae": "mae"}, id="mae-chart")
            yield BatchLossChart(id="batch-chart")
            yield LearningRateChart(id="lr-chart")
        yield RichLog(id="log", max_lines=500, wrap=False, markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_interval(1 / REDRAW_HZ, self.redraw)
        self.redraw()

    def new_run(self, read_only: bool = False) -> None:
        """Forget the previous run (a new one or a resumed one starts from its own history)."""
        self.state = RunState()
        self.read_only = read_only
        self.state.epochs_changed = self.state.batches_changed = True
        self._dirty = True

    def feed(self, records: list[dict[str, Any]]) -> None:
        """Fold records into the state and log the noteworthy ones.

        Batch and system readings wait for the redraw timer; a change of phase (pause, resume,
        epoch, end, error) is drawn at once, since the user is waiting to see it.
        """
        self.state.apply(records)
        log = self.query_one("#log", RichLog)
        for record in records:
            line = describe(record)
            if line:
                log.write(line)
            if record.get("event") == "checkpoint" and record.get("kind") not in ("best", "last"):
                self.notify(
                    f"{line}; it continues exactly from epoch {record.get('epoch')}, batch {record.get('batch')}"
                )
        self._dirty = True
        if any(record.get("event") not in TIMER_EVENTS for record in records):
            self.redraw()

    def note(self, line: str) -> None:
        """A line from the UI itself (e.g. 'read-only', 'stopping...')."""
        self.query_one("#log", RichLog).write(line)

    def redraw(self) -> None:
        """Status while a run lives (the clock ticks); charts only when their data changed."""
        if not self.is_mounted or not (self._dirty or self.state.running):
            return
        self._dirty = False
        self.query_one(RunStatus).show(self.state, self.read_only)
        epochs_changed, batches_changed = self.state.take_changes()
        state = self.state
        if epochs_changed:
            for chart in self.query(HistoryChart):
                chart.show(state.history, state.batches)
        if batches_changed:
            self.query_one(BatchLossChart).show(
                state.batch_losses, state.batch_steps, state.batch_minutes, state.batches
            )
        if epochs_changed:  # the schedule moves little within an epoch: its chart is not worth a redraw a second
            self.query_one(LearningRateChart).show(state.max_lr, state.total_steps, state.step, state.batches)
