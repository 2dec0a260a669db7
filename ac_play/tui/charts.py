"""Charts: episode return and running reward with the solve threshold, and small sparklines."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import pairwise

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Label
from textual_plotext import PlotextPlot

from ac_play.scales import min_span, nice_ticks, tick_labels

MIN_POINTS = 100
"""Points drawn per series before the chart knows its width."""
SPARK_POINTS = 120
"""The newest values a sparkline keeps."""
SPARK_BARS = "▁▂▃▄▅▆▇█"
SPARKS = {"actor_loss": "actor", "critic_loss": "critic", "entropy": "entropy", "mean_value": "value"}
"""The statistics of each update under the return chart: EpisodeStats field -> title."""


def thin(values: Sequence, limit: int) -> list:
    """Every k-th value and always the last, so the chart costs the same at episode 100 and
    100,000 and still ends at the newest episode."""
    values = list(values)
    stride = max(1, -(-len(values) // limit))
    kept = values[::stride]
    if values and (len(values) - 1) % stride:
        kept.append(values[-1])
    return kept


def spark_bars(values: Sequence[float], width: int, scale: tuple[float, float] | None = None) -> str:
    """The newest `width` values as bars ▁ to █, on a scale of at least `min_span`, so noise on
    a steady value stays flat; or on a fixed `scale` (low, high), as a fraction's 0 to 1."""
    values = list(values)[-width:] if width > 0 else []
    if not values:
        return ""
    low, high = scale or (min(values), max(values))
    floor = min_span(low, high)
    top = len(SPARK_BARS) - 1
    if scale is None and high - low < floor:
        # the middle of the data on the half-height bar itself, not on the edge between two
        # bars, where the least noise would flicker between them
        middle = (high + low) / 2
        low = middle - floor * (top // 2) / top
        high = low + floor
    return "".join(SPARK_BARS[min(top, max(0, round((v - low) / (high - low) * top)))] for v in values)


SGR = re.compile(r"\x1b\[([0-9;]*)m")
"""An ANSI colour code, as plotext writes them: a few per run of same-coloured characters."""


@lru_cache(maxsize=256)
def sgr_style(codes: str) -> Style | None:
    """The style of text after `codes` (the colour codes since the last reset), as rich reads them."""
    spans = Text.from_ansi(codes + "x").spans
    return spans[0].style if spans else None


def ansi_runs(line: str) -> Iterator[tuple[str, Style | None]]:
    """One line of plotext's coloured output as runs of text, each with its style as rich reads it."""
    codes, start = "", 0
    for match in SGR.finditer(line):
        if match.start() > start:
            yield line[start:match.start()], sgr_style(codes)
        codes = "" if match[1] in ("", "0") else codes + match[0]
        start = match.end()
    if start < len(line):
        yield line[start:], sgr_style(codes)


def ansi_strips(ansi: str, base: Style, width: int) -> list[Strip]:
    """plotext's coloured output as Textual's strips, one a line, `width` cells each, over `base`:
    what rendering Text.from_ansi would give, many times faster (a chart's picture is thousands
    of short runs of a handful of styles, each looked up once; the UI thread's time is taken from
    training)."""
    return [Strip([Segment(run, base + style if style else base) for run, style in ansi_runs(line)])
            .adjust_cell_length(width, base) for line in ansi.removesuffix("\n").split("\n")]


def buckets(values: Sequence[float], width: int) -> list[float]:
    """At most `width` values: consecutive runs averaged, oldest first."""
    values = list(values)
    if len(values) <= width:
        return values
    edges = [round(i * len(values) / width) for i in range(width + 1)]
    return [sum(values[a:b]) / (b - a) for a, b in pairwise(edges) if b > a]


class ReturnChart(PlotextPlot):
    """Episode return (dots) and running reward (line) against the episode number."""

    def __init__(self, threshold: float | None, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.episodes: list[int] = []
        self.returns: list[float] = []
        self.running: list[float] = []
        self.span = (0.0, 0.0)  # lowest and highest return so far, and 0: the y axis covers them
        self.dirty = True
        self.drawn: tuple | None = None  # (size, data version) of `picture`
        self.version = 0
        self.picture = None

    def add(self, episode: int, episode_return: float, running_reward: float) -> None:
        self.episodes.append(episode)
        self.returns.append(episode_return)
        self.running.append(running_reward)
        self.span = (min(self.span[0], episode_return), max(self.span[1], episode_return))
        self.dirty = True

    def clear(self) -> None:
        self.episodes, self.returns, self.running = [], [], []
        self.span = (0.0, 0.0)
        self.dirty = True

    def replot(self) -> None:
        """Redraw when new data came in (the app calls it with each batch of episodes)."""
        if not self.dirty:
            return
        self.dirty = False
        plt = self.plt
        plt.clear_data()
        plt.xlabel("episode")
        first, last = (self.episodes[0], self.episodes[-1]) if self.episodes else (0, 100)
        if self.episodes:
            # two points a column are as many as braille shows; more only cost plotext time
            limit = max(MIN_POINTS, 2 * self.size.width)
            x = thin(self.episodes, limit)
            plt.scatter(x, thin(self.returns, limit), marker="dot", color="blue")
            plt.plot(x, thin(self.running, limit), marker="braille", color="green")
        # whole episode numbers inside the data's own range, which fills the width
        plt.xlim(first, max(last, first + 1))
        xticks = [t for t in nice_ticks(first, last, whole=True) if first <= t <= max(last, first + 1)]
        plt.xticks(xticks, tick_labels(xticks))
        if self.threshold is not None:
            plt.hline(self.threshold, "red")
        low, high = self.span
        if self.threshold is not None:
            low, high = min(low, self.threshold), max(high, self.threshold)
        yticks = nice_ticks(low, high)
        plt.ylim(yticks[0], yticks[-1])
        plt.yticks(yticks, tick_labels(yticks))
        self.version += 1
        self.refresh()

    def render_line(self, y: int) -> Strip:
        # plotext rebuilds the whole picture on every render; repaints of the screen for other
        # widgets' sake must not pay for that again. Its lines go straight to strips: through
        # render(), Textual would convert the whole picture once more for every new version
        key = (self.size, self.version, self.app.theme)
        if key != self.drawn:
            self.picture, self.drawn = ansi_strips(self.plotext_output(), self.rich_style, self.size.width), key
        return self.picture[y] if y < len(self.picture) else Strip.blank(self.size.width, self.rich_style)

    def plotext_output(self) -> str:
        """PlotextPlot.render's steps up to plotext's ANSI text, which it hands to the slow Text.from_ansi."""
        width, height = self.size
        self.plt.plotsize(width, height)
        self.plt._set_size(width, height)  # as PlotextPlot does: plotsize alone does not resize
        self.plt.theme(self._get_plotext_theme_name(self.app.theme))
        return self.plt.build()


class SparkBars(Widget):
    """Bars of the values given, sized to the widget at each render (no Textual Sparkline: its
    scale always runs from the data's minimum to its maximum, which turns noise into spikes)."""

    def __init__(self, scale: tuple[float, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.values: list[float] = []
        self.scale = scale

    def show(self, values: Sequence[float]) -> None:
        self.values = list(values)
        self.refresh()

    def render(self) -> str:
        width = self.size.width
        return spark_bars(buckets(self.values, width), width, self.scale)


class MetricSpark(Horizontal):
    """One statistic: its name, a sparkline of recent values and the newest value."""

    def __init__(self, title: str, **kwargs):
        super().__init__(**kwargs)
        self.title = title
        self.values: deque[float] = deque(maxlen=SPARK_POINTS)

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="spark-title")
        yield SparkBars()
        yield Label("–", classes="spark-value")

    def add(self, value: float) -> None:
        self.values.append(value)

    def clear(self) -> None:
        self.values.clear()
        self.show()

    def show(self) -> None:
        self.query_one(SparkBars).show(self.values)
        # fixed width: without layout=False every redraw reflowed and repainted the whole screen, which
        # cost training a fifth of its speed (the UI's thread holds the interpreter meanwhile)
        self.query_one(".spark-value", Label).update(f"{self.values[-1]:+.3g}" if self.values else "–", layout=False)


class SparkGrid(Horizontal):
    """The per-update sparklines under the return chart, two by two."""

    def compose(self) -> ComposeResult:
        for key, title in SPARKS.items():
            yield MetricSpark(title, id=f"spark-{key}")

    def add(self, stats) -> None:
        """The newest update's values (`stats` is its last EpisodeStats)."""
        for key in SPARKS:
            self.query_one(f"#spark-{key}", MetricSpark).add(getattr(stats, key))

    def show(self) -> None:
        for spark in self.query(MetricSpark):
            spark.show()

    def clear(self) -> None:
        for spark in self.query(MetricSpark):
            spark.clear()
