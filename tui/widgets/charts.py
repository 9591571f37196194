"""Plotext charts of a run: per-epoch losses, accuracies, MAE, and the per-batch loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import RenderResult
from textual_plotext import PlotextPlot


def bucket_means(values: Sequence[float], buckets: int) -> tuple[list[float], list[float]]:
    """Downsample to at most `buckets` points (mean per bucket): plotters choke on more points than columns."""
    n = len(values)
    if n <= buckets or buckets < 1:
        return [float(i + 1) for i in range(n)], [float(v) for v in values]
    xs, ys = [], []
    for k in range(buckets):
        lo, hi = k * n // buckets, (k + 1) * n // buckets
        if hi > lo:
            chunk = values[lo:hi]
            xs.append((lo + hi + 1) / 2)
            ys.append(sum(chunk) / len(chunk))
    return xs, ys


class HistoryChart(PlotextPlot):
    """One per-epoch chart: a line per history key; redrawn only when told new data came."""

    def __init__(self, title: str, series: dict[str, str], percent: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title, self.series, self.percent = title, series, percent

    def on_mount(self) -> None:
        self.show([])

    def show(self, history: list[dict[str, Any]]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        epochs = [h["epoch"] for h in history]
        scale = 100.0 if self.percent else 1.0
        for key, label in self.series.items():
            ys = [h[key] * scale for h in history if h.get(key) is not None]
            if ys:
                plt.plot(epochs[: len(ys)], ys, label=label, marker="braille")
        self.refresh()


class BatchLossChart(PlotextPlot):
    """The per-batch train loss, bucket-averaged to the chart's width."""

    def on_mount(self) -> None:
        self.show([])

    def show(self, losses: Sequence[float]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("train loss per batch")
        xs, ys = bucket_means(losses, max(8, self.size.width - 8))
        if ys:
            plt.plot(xs, ys, marker="braille")
        self.refresh()


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
