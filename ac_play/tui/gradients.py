"""The gradients tab: how the hand-written backward pass moves the weights, one value per update.

It shares the return chart's place (`g` switches between them): at 80x24 there is no room for
both, and the return chart matters more while a run starts.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Label

from ac_play.agent import PARAM_NAMES
from ac_play.config import TrainConfig
from ac_play.learning_stats import GRADIENT_PREFIX
from ac_play.training import EpisodeStats
from ac_play.tui.charts import MetricSpark, ReturnChart, SparkBars

UPDATE_POINTS = 600
"""The newest updates a row keeps (a run solves CartPole in about 40 rollout updates, or a few
hundred episode updates); a row narrower than that averages neighbours."""
LEGEND = "shared W1 b1 · actor Wa ba · critic Wc bc"
"""Which layer each name is (the help screen, `?`, says more)."""
LOG_FLOOR = 1e-12
"""Where the log scale stops: a gradient of exactly zero (a bias the notebook never uses)."""


def norm_text(value: float) -> str:
    return f"{value:.2g}"


def percent_text(value: float) -> str:
    return f"{value:.0%}"


class UpdateSpark(MetricSpark):
    """One statistic per update: a sparkline (log scale for norms, 0 to 1 for a fraction) and its newest value."""

    def __init__(self, title: str, key: str, value_text: Callable[[float], str], log_scale: bool, **kwargs):
        super().__init__(title, **kwargs)
        self.key = key
        self.value_text = value_text
        self.log_scale = log_scale
        self.values = deque(maxlen=UPDATE_POINTS)

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="spark-title")
        yield SparkBars(scale=None if self.log_scale else (0.0, 1.0))
        yield Label("–", classes="spark-value")

    def show(self) -> None:
        # the tab hidden: its rows keep their values and draw nothing until it is shown
        if not self.parent.display:
            return
        bars = [math.log10(max(v, LOG_FLOOR)) for v in self.values] if self.log_scale else self.values
        self.query_one(SparkBars).show(bars)
        text = self.value_text(self.values[-1]) if self.values else "–"
        self.query_one(".spark-value", Label).update(text, layout=False)  # fixed width: no reflow


def rows() -> list[UpdateSpark]:
    gradients = [UpdateSpark(name, f"{GRADIENT_PREFIX}{name}", norm_text, log_scale=True) for name in PARAM_NAMES]
    return gradients + [
        UpdateSpark("dead", "dead_units", percent_text, log_scale=False),
        UpdateSpark("Δθ/|θ|", "update_size", norm_text, log_scale=True),
    ]


class GradientPanel(Vertical):
    """Each layer's gradient norm, the dead ReLUs and the update's size, one value per update."""

    def __init__(self, config: TrainConfig, **kwargs):
        super().__init__(**kwargs)
        steps = config.epochs * config.minibatches if config.update == "rollout" else 1
        self.border_title = "gradients per update · [$accent]g[/]: return"
        self.border_subtitle = f"‖grad‖ log scale · mean of {steps} steps" if steps > 1 else "‖grad‖ log scale"
        self.rows = rows()  # kept, not queried: a query walks the DOM, once per update adds up

    def compose(self) -> ComposeResult:
        yield from self.rows
        yield Label(LEGEND, id="gradients-legend")

    def add(self, stats: list[EpisodeStats]) -> None:
        """The values of each update among `stats` (the last episode of an update carries them once)."""
        for index, episode in enumerate(stats):
            if index + 1 < len(stats) and stats[index + 1].update == episode.update:
                continue
            for row in self.rows:
                row.add(getattr(episode, row.key))

    def show(self) -> None:
        for row in self.rows:
            row.show()


class ChartTabs(ContentSwitcher):
    """The return chart or the gradient panel, in the same place."""

    def __init__(self, threshold: float | None, config: TrainConfig, **kwargs):
        super().__init__(initial="returns", **kwargs)
        self.threshold = threshold
        self.config = config

    def compose(self) -> ComposeResult:
        chart = ReturnChart(self.threshold, id="returns")
        chart.border_subtitle = "[$accent]g[/]: gradients"
        yield chart
        yield GradientPanel(self.config, id="gradients")

    def add(self, stats: list[EpisodeStats]) -> None:
        chart = self.query_one(ReturnChart)
        for episode in stats:
            chart.add(episode.episode, episode.episode_return, episode.running_reward)
        self.query_one(GradientPanel).add(stats)

    def show(self) -> None:
        """Draw what was added since the last time (only the tab in view draws anything)."""
        self.query_one(ReturnChart).replot()
        self.query_one(GradientPanel).show()

    def clear(self) -> None:
        """A new run: nothing in the return chart nor in the gradient rows."""
        self.query_one(ReturnChart).clear()
        for row in self.query_one(GradientPanel).rows:
            row.clear()

    def toggle(self) -> None:
        self.current = "gradients" if self.current == "returns" else "returns"
        if self.current == "gradients":
            self.query_one(GradientPanel).show()
