"""Charts: episode return and running reward with the solve threshold, and small sparklines."""

from __future__ import annotations

import math
from collections import deque

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Sparkline
from textual_plotext import PlotextPlot

MAX_POINTS = 400
"""Points drawn per series: more than a wide terminal has columns, far fewer than a long run."""
SPARK_POINTS = 120


def thin(values: list[float], limit: int = MAX_POINTS) -> list[float]:
    """Every k-th value, so the chart costs the same at episode 100 and at episode 100,000."""
    stride = max(1, -(-len(values) // limit))
    return values[::stride]


def round_ticks(top: float, count: int = 5) -> list[float]:
    """Tick values 0, step, 2 step... up to top, with step 1, 2 or 5 times a power of ten."""
    rough = top / count
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return [i * step for i in range(int(top // step) + 1)]


class ReturnChart(PlotextPlot):
    """Episode return (dots) and running reward (line) against the episode number."""

    def __init__(self, threshold: float | None, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.episodes: list[int] = []
        self.returns: list[float] = []
        self.running: list[float] = []
        self.dirty = True
        self.drawn: tuple | None = None  # (size, data version) of `picture`
        self.version = 0
        self.picture = None

    def add(self, episode: int, episode_return: float, running_reward: float) -> None:
        self.episodes.append(episode)
        self.returns.append(episode_return)
        self.running.append(running_reward)
        self.dirty = True

    def clear(self) -> None:
        self.episodes, self.returns, self.running = [], [], []
        self.dirty = True

    def replot(self) -> None:
        """Redraw when new data came in; called by a timer, not per episode."""
        if not self.dirty:
            return
        self.dirty = False
        plt = self.plt
        plt.clear_data()
        plt.xlabel("episode")
        if self.episodes:
            x = thin(self.episodes)
            plt.scatter(x, thin(self.returns), marker="dot", color="blue")
            plt.plot(x, thin(self.running), marker="braille", color="green")
        else:
            plt.xlim(0, 100)  # empty axes with the solve line say what is coming
        if self.threshold is not None:
            plt.hline(self.threshold, "red")
            top = max([self.threshold, *self.returns[-MAX_POINTS:]]) * 1.05
            plt.ylim(0, top)
            plt.yticks(round_ticks(top))
        self.version += 1
        self.refresh()

    def render(self):
        # plotext rebuilds the whole picture on every render; repaints of the screen for other
        # widgets' sake must not pay for that again
        key = (self.size, self.version, self.app.theme)
        if key != self.drawn:
            self.picture, self.drawn = super().render(), key
        return self.picture


class MetricSpark(Horizontal):
    """One statistic: its name, a sparkline of recent values and the newest value."""

    def __init__(self, title: str, **kwargs):
        super().__init__(**kwargs)
        self.title = title
        self.values: deque[float] = deque(maxlen=SPARK_POINTS)

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="spark-title")
        yield Sparkline([], summary_function=max)
        yield Label("–", classes="spark-value")

    def add(self, value: float) -> None:
        self.values.append(value)

    def clear(self) -> None:
        self.values.clear()
        self.show()

    def show(self) -> None:
        self.query_one(Sparkline).data = list(self.values)
        self.query_one(".spark-value", Label).update(f"{self.values[-1]:+.3g}" if self.values else "–")
