"""The chart keys every screen with charts shares: log-y, smoothing, x axis, outliers, full-screen."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from digitsum.curves import ChartView
from tui.widgets.charts import SteeredChart


class ChartScreen(Screen[None]):
    """Holds the one `ChartView` of its charts and hands it down whenever a key changes it."""

    BINDINGS = [
        Binding("l", "log_y", "Log-y", show=False),
        Binding("plus,equals_sign", "smooth(1)", "Smoother", show=False),
        Binding("minus", "smooth(-1)", "Less smooth", show=False),
        Binding("x", "next_x", "X axis", show=False),
        Binding("o", "fit", "Outliers", show=False),
        Binding("z,enter", "zoom", "Zoom"),
        Binding("right_square_bracket", "cycle(1)", "Next chart", show=False),
        Binding("left_square_bracket", "cycle(-1)", "Previous chart", show=False),
        Binding("escape", "unzoom", "Back", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.view = ChartView()

    def on_mount(self) -> None:
        """Textual runs this and a subclass's own on_mount: charts start with the screen's view."""
        for chart in self.charts():
            chart.steer(self.view)

    def steer(self, view: ChartView) -> None:
        self.view = view
        for chart in self.charts():
            chart.steer(view)
        self.notify(f"charts: {view.describe()}", timeout=3)

    def action_log_y(self) -> None:
        self.steer(self.view.toggled("log_y"))

    def action_smooth(self, direction: int) -> None:
        self.steer(self.view.smoother(direction))

    def action_next_x(self) -> None:
        self.steer(self.view.next_x())

    def action_fit(self) -> None:
        self.steer(self.view.toggled("fit"))

    def charts(self) -> list[SteeredChart]:
        return list(self.query(SteeredChart))

    def action_zoom(self) -> None:
        """Full-screen the focused chart (the first when none is), or back to all of them."""
        if self.maximized is not None:
            self.minimize()
            return
        chart = self.focused if isinstance(self.focused, SteeredChart) else self.charts()[0]
        self.show_full(chart)

    def action_cycle(self, direction: int) -> None:
        """The next or previous chart: focused, and full-screen if the screen shows one full-screen."""
        charts = self.charts()
        current = self.maximized or self.focused
        index = charts.index(current) if current in charts else -1
        chart = charts[(index + direction) % len(charts)]
        if self.maximized is not None:
            self.show_full(chart)
        else:
            chart.focus()

    def show_full(self, chart: SteeredChart) -> None:
        chart.focus()
        self.maximize(chart, container=False)

    def action_unzoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
