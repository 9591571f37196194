"""Plotext charts of a run: per-epoch losses, accuracies, MAE, and the per-batch loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from digitsum.curves import bucket_means, debiased_ema, epoch_ticks


class SteeredChart(PlotextPlot):
    """A chart the screen steers with attributes (log-y, smoothing); drawn afresh at every render.

    Drawing in render(): plotext's log scale takes the log of the stored data in place at each
    build, so a figure built twice from the same data would be wrong (or raise).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log_y = False  # set by the screen (key l)
        self.smoothing = 0.0  # debiased EMA weight, set by the screen (keys + and -)

    def steer(self, log_y: bool, smoothing: float) -> None:
        self.log_y, self.smoothing = log_y, smoothing
        self.refresh()

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.draw(plt)
        return super().render()

    def draw(self, plt: Any) -> None:
        raise NotImplementedError

    def use_log(self, plt: Any, lowest: float | None) -> None:
        if self.log_y and lowest is not None and lowest > 0:
            plt.yscale("log")


class HistoryChart(SteeredChart):
    """One per-epoch chart: a line per history key, whole-number epoch ticks, legend above the data."""

    def __init__(self, title: str, series: dict[str, str], percent: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title, self.series, self.percent = title, series, percent
        self.history: list[dict[str, Any]] = []
        self.loggable = not percent  # accuracies stay linear: log-y is for losses and errors

    def show(self, history: list[dict[str, Any]]) -> None:
        self.history = list(history)
        self.refresh()

    def draw(self, plt: Any) -> None:
        plt.title(self.title + (f"  (smoothed {self.smoothing:g})" if self.smoothing else ""))
        scale = 100.0 if self.percent else 1.0
        lowest = None
        last = 0
        for key, label in self.series.items():
            points = [(h["epoch"], h[key] * scale) for h in self.history if h.get(key) is not None]
            if points:
                xs = [x for x, _ in points]
                ys = debiased_ema([y for _, y in points], self.smoothing)
                plt.plot(xs, ys, label=label, marker="braille")
                lowest = min(ys) if lowest is None else min(lowest, *ys)
                last = max(last, xs[-1])
        if last:
            plt.xticks(epoch_ticks(last))
        if self.loggable:
            self.use_log(plt, lowest)


class BatchLossChart(SteeredChart):
    """The per-batch train loss: smoothed on the whole series, then bucket-averaged to the chart's width."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.losses: list[float] = []

    def show(self, losses: Sequence[float]) -> None:
        self.losses = list(losses)
        self.refresh()

    def draw(self, plt: Any) -> None:
        plt.title("train loss per batch" + (f"  (smoothed {self.smoothing:g})" if self.smoothing else ""))
        xs, ys = bucket_means(debiased_ema(self.losses, self.smoothing), max(8, self.size.width - 8))
        if ys:
            plt.plot(xs, ys, marker="braille")
            self.use_log(plt, min(ys))


class RunsChart(PlotextPlot):
    """One per-epoch metric of several runs overlaid, a line per run labelled by its letter (compare screen).

    The figure is drawn afresh on every render: plotext's log scale takes the log of the stored
    data in place at each build, so a log chart built a fourth time raised a math domain error.
    """

    def __init__(self, title: str, key: str, percent: bool = False, log: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title, self.key, self.percent, self.log_scale = title, key, percent, log
        self.runs: list[tuple[str, list[dict[str, Any]]]] = []

    def show(self, runs: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
        """`runs`: (label, history) pairs; epochs without the metric are left out of that line."""
        self.runs = list(runs)
        self.refresh()

    def render(self) -> RenderResult:
        self._draw()
        return super().render()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        scale = 100.0 if self.percent else 1.0
        lowest = None
        for label, history in self.runs:
            points = [(h["epoch"], h[self.key] * scale) for h in history if h.get(self.key) is not None]
            if points:
                xs, ys = zip(*points)
                plt.plot(list(xs), list(ys), label=label, marker="braille")
                lowest = min(ys) if lowest is None else min(lowest, *ys)
        if self.log_scale and lowest is not None and lowest > 0:  # losses of runs differ by orders of magnitude
            plt.yscale("log")
