"""The headless watcher: a rich progress bar per epoch and one line of metrics per epoch."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from digitsum.events import BatchEnd, CheckpointSaved, EpochEnd, Event, Failed, Paused, Resumed, RunStarted
from digitsum.formatting import epoch_line, plan_line


class ConsoleReporter:
    """Subscriber for `digitsum run`; draws on stderr when stdout is reserved for JSON."""

    def __init__(self, console: Console, progress: bool = True) -> None:
        self.console = console
        self.show_progress = progress and console.is_terminal
        self.progress: Progress | None = None
        self.task = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, BatchEnd):
            self._batch(event)
        elif isinstance(event, EpochEnd):
            self._stop_progress()
            self.console.print(epoch_line(event.to_dict()), highlight=False, soft_wrap=True)
        elif isinstance(event, (Paused, Resumed)):
            self.console.print(f"[yellow]{event.event}d at epoch {event.epoch}, batch {event.batch}[/]")
        elif isinstance(event, CheckpointSaved) and event.kind not in ("best", "last"):
            self.console.print(f"saved {event.path}")
        elif isinstance(event, Failed):
            self._stop_progress()

    def _started(self, e: RunStarted) -> None:
        resumed = f", resuming after epoch {e.start_epoch}" if e.start_epoch else ""
        self.console.print(
            f"[bold]{e.run_id}[/]  model {e.model} on {e.device}  "
            f"{e.train_size:,} train / {e.val_size:,} val images{resumed}",
            highlight=False,
        )
        self.console.print(f"data: {e.data}", highlight=False)
        if e.plan:
            self.console.print(plan_line(e.plan), highlight=False, soft_wrap=True)
        for note in e.notes:
            self.console.print(f"note: {note}", highlight=False, soft_wrap=True)

    def _batch(self, e: BatchEnd) -> None:
        if not self.show_progress:
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn(f"epoch {e.epoch}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed]:>5.0f} img/s  loss {task.fields[loss]:8.3f}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=e.batches, speed=0.0, loss=e.loss)
        self.progress.update(self.task, completed=e.batch, speed=e.images_per_s, loss=e.loss)

    def _stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
