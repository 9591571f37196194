"""Plotext charts of runs: per-epoch metrics, the per-batch loss, the learning rate, runs overlaid.

Every chart follows one `ChartView` (log-y, smoothing, x axis, outliers) that its screen hands
down; charts draw afresh at every render, so a change of view or size never reuses a figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from digitsum.curves import (
    ChartView,
    axis_label,
    batch_x,
    bucket_means,
    debiased_ema,
    epoch_ticks,
    epoch_x,
    fitted_range,
    step_ticks,
)
from digitsum.schedule import one_cycle_lr, schedule_points

Curve = tuple[str, list[float], list[float]]  # (legend label, xs, ys)
# line colours (matplotlib's tab10, readable on dark and light themes); the legend in the title matches them
LINE_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))

LABELLED_HEIGHT = 12  # charts this tall (full-screen, or a big terminal) name their x axis below it


def legend(title: str, labels: list[str], note: str = "") -> str:
    """The chart's title, a coloured key per line, then a note: in the border above the plot, never over the data."""
    keys = [f"[rgb{LINE_COLOURS[k % len(LINE_COLOURS)]}]━[/]{label}" for k, label in enumerate(labels)]
    return " ".join([f"[b]{title}[/b]", *keys, *([f"({note})"] if note else [])])


class SteeredChart(PlotextPlot):
    """A chart drawn from `curves()` the way `view` says; focusable, so `z` can show it full-screen.

    Drawing in render(): plotext's log scale takes the log of the stored data in place at each
    build, so a figure built twice from the same data would be wrong (or raise).
    """

    DEFAULT_CSS = """
    SteeredChart {
        border-top: solid $panel-lighten-2;
        border-title-align: left;
        border-title-color: $foreground;
    }
    SteeredChart:focus {
        border-top: heavy $accent;
    }
    """
    can_focus = True
    loggable = True  # accuracies stay linear: log-y is for losses, errors and rates
    per_batch = False  # outliers of a per-batch curve are its 2 % tails, not its first epoch
    smoothed = True  # noisy measurements are; a planned schedule is not
    has_outliers = True  # measurements do; a planned schedule does not

    def __init__(self, title: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.view = ChartView()

    def steer(self, view: ChartView) -> None:
        self.view = view
        self.redraw()

    def redraw(self) -> None:
        """New data or view: the legend line first (set inside render it would show a frame late), then the plot."""
        labels = self.labels()
        labels = labels if len(labels) > 1 else []
        note = f"smoothed {self.view.smoothing:g}" if self.view.smoothing and self.smoothed else ""
        title = legend(self.title, labels, note)
        if note and len(Text.from_markup(title).plain) > self.size.width - 2:  # the keys matter more than the note
            title = legend(self.title, labels)
        self.border_title = title
        self.refresh()

    def on_resize(self) -> None:
        self.redraw()

    def curves(self) -> list[Curve]:
        raise NotImplementedError

    def labels(self) -> list[str]:
        """The curves' legend labels, known without computing the curves (the legend is set at every redraw)."""
        raise NotImplementedError

    def x_label(self) -> str:
        return axis_label(self.view.x_axis)

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.draw(plt)
        return super().render()

    def draw(self, plt: Any) -> None:
        curves = self.curves()
        plt.xaxes(True, False)  # axes left and below only: the rows a frame would take go to the data
        plt.yaxes(True, False)
        if self.size.height >= LABELLED_HEIGHT:
            plt.xlabel(self.x_label())
        for k, (_, xs, ys) in enumerate(curves):
            if ys:
                plt.plot(xs, ys, marker="braille", color=LINE_COLOURS[k % len(LINE_COLOURS)])
        last_x = max((max(xs) for _, xs, _ in curves if xs), default=0)
        if self.x_label() == "step":
            plt.xticks(step_ticks(last_x))
        elif self.x_label() == "epoch" and not self.per_batch:
            plt.xticks(epoch_ticks(int(last_x)))
        self.set_y_range(plt, [ys for _, _, ys in curves])

    def set_y_range(self, plt: Any, curves: list[list[float]]) -> None:
        """Log scale when asked (and possible); outliers left out of the range when asked."""
        values = [v for ys in curves for v in ys]
        if not values:
            return
        log = self.loggable and self.view.log_y and min(values) > 0
        if log:
            plt.yscale("log")
        fitted = fitted_range(curves, self.per_batch, log) if self.view.fit and self.has_outliers else None
        if fitted:  # on a log scale plotext takes the limits as logarithms
            plt.ylim(*(math.log10(v) for v in fitted)) if log else plt.ylim(*fitted)


class HistoryChart(SteeredChart):
    """One per-epoch chart: a line per history key, on the x axis the view chooses."""

    def __init__(self, title: str, series: dict[str, str], percent: bool = False, **kwargs: Any) -> None:
        super().__init__(title, **kwargs)
        self.series, self.percent = series, percent
        self.loggable = not percent
        self.history: list[dict[str, Any]] = []
        self.batches_per_epoch = 0

    def show(self, history: list[dict[str, Any]], batches_per_epoch: int = 0) -> None:
        self.history, self.batches_per_epoch = list(history), batches_per_epoch
        self.redraw()

    def curves(self) -> list[Curve]:
        return [(label, *self.metric(self.history, key, self.batches_per_epoch)) for key, label in self.series.items()]

    def labels(self) -> list[str]:
        return list(self.series.values())

    def metric(self, history: list[dict[str, Any]], key: str, batches: int) -> tuple[list[float], list[float]]:
        """One metric's (x, y) over the epochs that have it, smoothed as the view says (percent: x100)."""
        rows = [h for h in history if h.get(key) is not None]
        scale = 100.0 if self.percent else 1.0
        return epoch_x(rows, self.view.x_axis, batches), debiased_ema(
            [h[key] * scale for h in rows], self.view.smoothing
        )

    def x_label(self) -> str:
        return axis_label(self.view.x_axis, self.batches_per_epoch > 0)


class BatchLossChart(SteeredChart):
    """The per-batch train loss: smoothed on the whole series, then bucket-averaged to the chart's width."""

    per_batch = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("train loss per batch", **kwargs)
        self.losses: list[float] = []
        self.steps: list[int] = []
        self.minutes: list[float] = []
        self.batches_per_epoch = 0

    def show(self, losses: Sequence[float], steps: Sequence[int], minutes: Sequence[float], batches: int) -> None:
        self.losses, self.steps, self.minutes = list(losses), list(steps), list(minutes)
        self.batches_per_epoch = batches
        self.redraw()

    def curves(self) -> list[Curve]:
        xs = batch_x(self.steps, self.minutes, self.view.x_axis, self.batches_per_epoch)
        smoothed = debiased_ema(self.losses, self.view.smoothing)
        return [("loss", *bucket_means(smoothed, max(8, self.size.width - 8), xs))]

    def labels(self) -> list[str]:
        return ["loss"]


class LearningRateChart(SteeredChart):
    """The whole one-cycle schedule as planned, and the part the run has already trained through."""

    smoothed = has_outliers = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("lr", **kwargs)
        self.total_steps = self.step = self.batches_per_epoch = 0
        self.max_lr = 0.0
        self.exponent = 0  # rates are drawn in units of 10**exponent: plotext would print 0.00300 and 0.00000

    def show(self, max_lr: float, total_steps: int, step: int, batches_per_epoch: int) -> None:
        self.max_lr, self.total_steps, self.step = max_lr, total_steps, step
        self.batches_per_epoch = batches_per_epoch
        self.exponent = math.floor(math.log10(max_lr)) if max_lr > 0 else 0
        self.title = f"lr ×1e{self.exponent}" if self.exponent else "lr"
        self.redraw()

    def on_x(self, steps: list[int]) -> list[float]:
        """Steps on the chosen axis; time has no future, so the schedule reads by epoch then."""
        if self.view.x_axis == "step" or not self.batches_per_epoch:
            return [float(s) for s in steps]
        return [s / self.batches_per_epoch for s in steps]

    def x_label(self) -> str:
        return "step" if self.view.x_axis == "step" or not self.batches_per_epoch else "epoch"

    def curves(self) -> list[Curve]:
        unit = 10**self.exponent
        steps, rates = schedule_points(self.total_steps, self.max_lr)
        planned = ("planned", self.on_x(steps), [r / unit for r in rates])
        done = [s for s in steps if s < self.step] + ([self.step] if self.step > 0 else [])
        if not done:
            return [planned]
        done_rates = [one_cycle_lr(s, self.total_steps, self.max_lr) / unit for s in done]
        return [planned, ("done", self.on_x(done), done_rates)]

    def labels(self) -> list[str]:
        return ["planned", "done"] if self.step > 0 else ["planned"]


class RunsChart(HistoryChart):
    """One per-epoch metric of several runs overlaid, a line per run labelled by its letter (compare screen)."""

    def __init__(self, title: str, key: str, percent: bool = False, **kwargs: Any) -> None:
        super().__init__(title, {key: key}, percent=percent, **kwargs)
        self.key = key
        self.runs: list[tuple[str, list[dict[str, Any]], int]] = []

    def steps_known(self) -> bool:
        """A step axis needs every run's batches per epoch; otherwise all runs stay on epochs alike."""
        return all(batches for _, _, batches in self.runs)

    def x_label(self) -> str:
        return axis_label(self.view.x_axis, self.steps_known())

    def labels(self) -> list[str]:
        return [label for label, _, _ in self.runs]

    def show_runs(self, runs: Sequence[tuple[str, list[dict[str, Any]], int]]) -> None:
        """`runs`: (label, history, batches per epoch); epochs without the metric are left out of that line."""
        self.runs = list(runs)
        self.redraw()

    def curves(self) -> list[Curve]:
        known = self.steps_known()
        return [
            (label, *self.metric(history, self.key, batches if known else 0)) for label, history, batches in self.runs
        ]
