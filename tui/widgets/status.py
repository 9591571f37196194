"""The run's vital signs: phase, epoch k/N, batch progress, speed, times, best, where, CPU/RSS/GPU."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from digitsum.formatting import duration
from tui.runstate import RunState, fmt_system

PHASE_STYLE = {
    "paused": "bold reverse yellow",
    "failed": "bold reverse red",
    "finished": "bold green",
    "stopped": "bold yellow",
    "training": "bold cyan",
    "starting": "dim",
    "read-only": "bold magenta",
}


class RunStatus(Vertical):
    """Three lines at the top of the training screen; `show(state)` pushes new figures down."""

    DEFAULT_CSS = """
        RunStatus {
            height: 3;
            padding: 0 1;
            background: $boost;
        }

        RunStatus.-paused {
            background: $warning 30%;
        }

        #status-progress {
            height: 1;
        }

        #phase {
            width: auto;
            margin-right: 1;
        }

        #epoch {
            width: auto;
            margin-right: 1;
        }

        #batch-progress {
            width: 1fr;
        }

        #batch-progress Bar {
            width: 1fr;
        }

        #speed {
            width: auto;
        }

        #times, #status-where {
            height: 1;
        }

        #where {
            width: 1fr;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }

        /* process readings (SystemStats) at the right of the last status line; the path yields first */
        #system {
            width: auto;
            margin-left: 1;
        }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="status-progress"):
            yield Static(id="phase")
            yield Static(id="epoch")
            yield ProgressBar(total=1, show_eta=False, show_percentage=False, id="batch-progress")
            yield Static(id="speed")
        yield Static(id="times")
        with Horizontal(id="status-where"):
            yield Static(id="where")
            yield Static(id="system")

    def show(self, state: RunState, read_only: bool = False) -> None:
        phase = state.phase.upper()
        label = Text(f" {phase} ", style=PHASE_STYLE.get(state.phase, ""))
        if read_only:
            label.append(" read-only", style="magenta")
        self.query_one("#phase", Static).update(label)
        self.set_class(state.phase == "paused", "-paused")
        budget = f" (plan, {state.budget_min:g} min)" if state.budget_min else ""
        self.query_one("#epoch", Static).update(f"epoch {state.epoch}/{state.epochs}{budget}")
        bar = self.query_one("#batch-progress", ProgressBar)
        bar.update(total=max(state.batches, 1), progress=state.batch)
        self.query_one("#speed", Static).update(f" {state.batch}/{state.batches}  {state.images_per_s:,.0f} img/s")
        best = state.best
        best_text = f"best val {best['val_loss']:.3f} @ epoch {best['epoch']}" if best else "best val --"
        self.query_one("#times", Static).update(
            Text(
                f"elapsed {duration(state.elapsed)}  ETA {duration(state.eta)}  {best_text}  "
                f"{state.model} on {state.device}",
                overflow="ellipsis",
                no_wrap=True,
            )
        )
        self.query_one("#where", Static).update(
            Text(f"{state.run_dir} | {state.data}", overflow="ellipsis", no_wrap=True)
        )
        # the last reading stays after the run ends, dimmed: it is then history, not the present
        self.query_one("#system", Static).update(
            Text(fmt_system(state.system), style="" if state.running else "dim", no_wrap=True)
        )
