"""A run's learning curve as a strip along the bottom of the window, with a marker at the snapshot played.

Pure drawing, like `draw.py`: `draw_strip(surface, rect, strip)` takes plain numbers and owns no
window, so `watch RUN_DIR` and the live window after training share it and tests draw it
off-screen. Both axes end on round numbers (`scales.nice_ticks`); the same mapping from episode to
pixel column serves the drawing and a click on the strip (`nearest_snapshot`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pygame

from ac_play.scales import nice_ticks, tick_labels
from ac_play.window import draw

STRIP_SHARE = 0.24
"""The strip's share of the window's height; the CartPole frame keeps the rest."""
MIN_STRIP_HEIGHT = 90
MARKER = draw.POLE
"""The snapshot played: the pole's colour, the brightest thing on the strip."""
SNAPSHOT_TICK = draw.DIM_TEXT
BEST = draw.CHOSEN
RETURNS = draw.GRID
"""Each episode's return: faint, the running reward through it is what to follow."""
RUNNING = draw.VALUE_LINE
THRESHOLD = draw.LIMIT


@dataclass(frozen=True)
class Strip:
    """Everything the strip shows, as plain numbers."""

    returns: np.ndarray
    """The return of every episode of the run: episodes first_episode + 1, first_episode + 2, ..."""
    running: np.ndarray
    """The running reward after every episode, indexed as `returns`."""
    snapshot_episodes: Sequence[int]
    """The episode of each snapshot, increasing."""
    selected: int
    """Index into `snapshot_episodes` of the snapshot played."""
    best: int | None = None
    """Index of the snapshot with the best running reward."""
    threshold: float | None = None
    """The running reward at which the env counts as solved."""
    first_episode: int = 0
    """The episode before the curve's first point: 0, or where a resumed run's history starts."""

    @property
    def last_episode(self) -> int:
        return max(self.first_episode + len(self.returns), self.snapshot_episodes[-1] if self.snapshot_episodes else 0)


def split(rect: pygame.Rect) -> tuple[pygame.Rect, pygame.Rect]:
    """The CartPole frame above, the strip below."""
    height = max(MIN_STRIP_HEIGHT, round(rect.height * STRIP_SHARE))
    frame = pygame.Rect(rect.x, rect.y, rect.width, rect.height - height)
    return frame, pygame.Rect(rect.x, frame.bottom, rect.width, height)


@dataclass(frozen=True)
class Axes:
    """Where the curve goes inside the strip, and the round numbers its edges stand for."""

    plot: pygame.Rect
    episodes: list[float]
    """Round episode ticks: the first and last are the plot's left and right edges."""
    values: list[float]
    """Round return ticks: the first and last are the plot's bottom and top."""
    size: int
    """Text size of the labels."""

    def x(self, episodes) -> np.ndarray:
        low, high = self.episodes[0], self.episodes[-1]
        return self.plot.x + (np.asarray(episodes, dtype=float) - low) / (high - low) * self.plot.width

    def y(self, values) -> np.ndarray:
        low, high = self.values[0], self.values[-1]
        return self.plot.bottom - (np.asarray(values, dtype=float) - low) / (high - low) * self.plot.height


def axes(rect: pygame.Rect, strip: Strip) -> Axes:
    """The plot inside the strip's rect: room on the left for the value labels, below for the episodes."""
    size = max(14, rect.height // 7)
    episodes = nice_ticks(min(0, strip.first_episode), max(1, strip.last_episode), whole=True)
    shown = [series for series in (strip.returns, strip.running) if len(series)]
    low = min([0.0, *(float(np.min(series)) for series in shown)])
    high = max([1.0, *(float(np.max(series)) for series in shown)])
    if strip.threshold is not None:
        high = max(high, strip.threshold)
    values = nice_ticks(low, high)
    margin = draw.text(tick_labels(values)[-1], size, draw.DIM_TEXT).get_width() + 14
    top = rect.y + size + 8
    plot = pygame.Rect(rect.x + margin, top, rect.width - margin - 16, rect.bottom - top - size - 8)
    return Axes(plot, episodes, values, size)


def nearest_snapshot(rect: pygame.Rect, strip: Strip, x: float) -> int:
    """The index of the snapshot whose episode is drawn nearest to pixel column `x`."""
    columns = axes(rect, strip).x(strip.snapshot_episodes)
    return int(np.argmin(np.abs(columns - x)))


def marker_x(rect: pygame.Rect, strip: Strip) -> int:
    """The pixel column of the selected snapshot's marker."""
    return round(float(axes(rect, strip).x([strip.snapshot_episodes[strip.selected]])[0]))


def draw_strip(surface: pygame.Surface, rect: pygame.Rect, strip: Strip) -> None:
    """The learning curve over the run, the snapshots as ticks below it, and the marker at the one played."""
    rect = pygame.Rect(rect)
    surface.fill(draw.PANEL, rect)
    if not len(strip.snapshot_episodes):
        return
    grid = axes(rect, strip)
    plot = grid.plot
    pygame.draw.rect(surface, draw.BACKGROUND, plot.inflate(8, 8), border_radius=4)
    draw_labels(surface, rect, grid)
    if strip.threshold is not None:
        y = round(float(grid.y([strip.threshold])[0]))
        for x in range(plot.x, plot.right, 8):  # dashed: a line to reach, not one reached
            pygame.draw.line(surface, THRESHOLD, (x, y), (min(x + 4, plot.right), y))
    episodes = strip.first_episode + 1 + np.arange(len(strip.returns))
    for series, colour in ((strip.returns, RETURNS), (strip.running, RUNNING)):
        points = curve_points(grid, episodes, series)
        if len(points) >= 2:
            pygame.draw.aalines(surface, colour, False, points)
            if colour == RUNNING:  # two antialiased lines a pixel apart: the curve to follow, 2 px thick
                pygame.draw.aalines(surface, colour, False, [(x, y + 1) for x, y in points])
    for x in grid.x(strip.snapshot_episodes):
        pygame.draw.line(surface, SNAPSHOT_TICK, (round(x), plot.bottom + 2), (round(x), plot.bottom + 5))
    if strip.best is not None:
        best = round(float(grid.x([strip.snapshot_episodes[strip.best]])[0]))
        tip = plot.bottom + 1
        pygame.draw.polygon(surface, BEST, [(best, tip), (best - 4, tip + 6), (best + 4, tip + 6)])
    draw_marker(surface, grid, strip)


def curve_points(grid: Axes, episodes: np.ndarray, series: np.ndarray) -> list:
    """About one point per pixel column: a long run's curve costs no more to draw than a short one's."""
    stride = max(1, len(series) // max(1, grid.plot.width))
    xs, ys = grid.x(episodes[::stride]), grid.y(series[::stride])
    return np.column_stack([xs, ys]).tolist()


def draw_marker(surface: pygame.Surface, grid: Axes, strip: Strip) -> None:
    episode = strip.snapshot_episodes[strip.selected]
    x = round(float(grid.x([episode])[0]))
    plot = grid.plot
    pygame.draw.line(surface, MARKER, (x, plot.y - 4), (x, plot.bottom + 7), 3)
    label = draw.text(f"episode {episode}", grid.size, MARKER, True)
    # inside the plot beside the marker, on whichever side has room, and at the top or bottom,
    # whichever is away from the curve there (a learning curve ends high: a label at the top
    # would hide its end)
    index = min(max(episode - strip.first_episode - 1, 0), len(strip.running) - 1)
    high = len(strip.running) and grid.y([strip.running[index]])[0] < plot.centery
    anchor = "bottom" if high else "top"
    box = label.get_rect(**{f"{anchor}left": (x + 6, getattr(plot, anchor))})
    if box.right > plot.right:
        box = label.get_rect(**{f"{anchor}right": (x - 6, getattr(plot, anchor))})
    pygame.draw.rect(surface, draw.BACKGROUND, box.inflate(6, 2))  # readable over the curve and the threshold
    surface.blit(label, box)


def draw_labels(surface: pygame.Surface, rect: pygame.Rect, grid: Axes) -> None:
    """The title, the value axis's ends on the left and the episode axis's ends below."""
    plot, size = grid.plot, grid.size
    title = draw.text("learning curve: running reward (return of each episode faint)", size, draw.DIM_TEXT)
    surface.blit(title, (rect.x + 8, rect.y + 3))
    values = tick_labels(grid.values)
    for name, y in ((values[-1], plot.y), (values[0], plot.bottom)):
        label = draw.text(name, size, draw.DIM_TEXT)
        surface.blit(label, label.get_rect(midright=(plot.x - 8, y)))
    episodes = tick_labels(grid.episodes)
    for name, x, anchor in ((episodes[0], plot.x, "topleft"), (episodes[-1], plot.right, "topright")):
        label = draw.text(name, size, draw.DIM_TEXT)
        surface.blit(label, label.get_rect(**{anchor: (x, plot.bottom + 7)}))
    word = draw.text("episode", size, draw.DIM_TEXT)
    surface.blit(word, word.get_rect(midtop=(plot.centerx, plot.bottom + 7)))
