"""`watch`'s explain mode: what the agent looks at, its hidden layer, and the learning signal.

`Explainer` keeps the books of one episode: the input gradients of each state the agent acts on
(computed once per state, however often a frame repeats it), which hidden units have fired so
far, and, once the episode ends, the advantage G_t - V(s_t) of every step. `draw_explained_frame`
draws draw.py's frame, rearranged to make room, with the three panels beside and below it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pygame

from ac_play.agent import input_gradients
from ac_play.cartpole import OBSERVATION_NAMES, OBSERVATION_SCALES, is_cartpole
from ac_play.scales import nice_ticks, tick_labels
from ac_play.window import draw

PUSH_RIGHT = draw.LIMIT
PUSH_LEFT = draw.CART
BETTER = draw.CHOSEN
WORSE = draw.POLE
FIRING = (255, 214, 120)
DEAD = (96, 44, 52)
SALIENCY_NOTE = "a typical rise favours push right (red) or left (blue)"
ADVANTAGE_CAPTION = "above 0: better than the critic expected, so the actor is pushed towards what it did"


def typical_scales(env) -> np.ndarray:
    """A typical size of each observation: CartPole's measured constants; for another env a
    quarter of each finite range of its observation space (a uniform spread has std range / 3.5),
    and 1 where the range is unbounded."""
    if env.spec is not None and is_cartpole(env.spec.id):
        return np.array(OBSERVATION_SCALES)
    low, high = env.observation_space.low, env.observation_space.high
    span = np.where(np.isfinite(high - low), (high - low) / 4, 1.0)
    return np.where(span > 0, span, 1.0).astype(float)


def observation_names(env) -> tuple[str, ...]:
    dim = env.observation_space.shape[0]
    if env.spec is not None and is_cartpole(env.spec.id):
        return OBSERVATION_NAMES
    return tuple(f"input {index}" for index in range(dim))


@dataclass(frozen=True)
class Explanation:
    """What the three panels show for one frame, as plain numbers."""

    names: tuple[str, ...]
    saliency: np.ndarray
    """[D] d(logit right - left)/d obs times each input's typical size: > 0 pushes right."""
    saliency_max: float
    """The largest |saliency| of the episode so far: a full bar, so bars compare across steps."""
    hidden: np.ndarray
    """[H] the ReLU activations of this state."""
    hidden_max: float
    """The largest activation of the episode so far: the brightest a unit gets."""
    ever_fired: np.ndarray
    """[H] bool: units active in some state of this episode so far; the others are dead."""
    advantages: np.ndarray | None
    """[T] G_t - V(s_t) in the value chart's units: of this episode once it has ended, until
    then of the last one (None before any ended)."""
    advantages_of_last: bool = False
    """True while `advantages` are the last episode's."""

    @property
    def dead(self) -> int:
        return int((~self.ever_fired).sum())


class Explainer:
    """The per-episode bookkeeping behind explain mode, fed the playthrough it explains."""

    def __init__(self, names: tuple[str, ...], scales: np.ndarray, on: bool = False):
        self.names = names
        self.scales = np.asarray(scales, dtype=float)
        self.on = on
        self._episode: list | None = None
        self._key: tuple | None = None
        self.advantages: np.ndarray | None = None
        self.last_advantages: np.ndarray | None = None

    @classmethod
    def for_env(cls, env, on: bool = False) -> Explainer:
        return cls(observation_names(env), typical_scales(env), on)

    def _start(self, play) -> None:
        # Playthrough.reset starts a new rewards list: that list stands for the episode
        self._episode = play.rewards
        self._key = None
        self._pending: list[tuple[np.ndarray, int]] = []
        self.saliency_max = 0.0
        self.hidden_max = 0.0
        self.ever_fired = np.zeros(play.agent.hidden, dtype=bool)
        if self.advantages is not None:
            self.last_advantages = self.advantages
        self.advantages = None

    def observe(self, play) -> None:
        """Take in the state the agent acts on now; a state already seen costs nothing.

        With the mode off, the state is only kept: its gradients are worked out, all at once, when
        the mode is turned on, so plain watching pays nothing per step and the dead units still
        count every state of the episode.
        """
        if play.rewards is not self._episode or len(self.ever_fired) != play.agent.hidden:
            self._start(play)
        key = (id(play.agent), play.action, play.obs.tobytes())
        if key == self._key:
            return
        self._key = key
        self._pending.append((play.obs.astype(float), play.action))
        if self.on:
            self._take_in(play.agent)

    def _take_in(self, agent) -> None:
        """The kept states' gradients in one batch; the last of them is the state shown."""
        obs = np.array([state for state, _ in self._pending])
        grads = input_gradients(agent, obs, np.array([action for _, action in self._pending]))
        self._pending.clear()
        saliency = grads.logit_diff * self.scales
        self.saliency, self.hidden = saliency[-1], grads.hidden[-1]
        self.ever_fired |= (grads.hidden > 0).any(axis=0)
        self.saliency_max = max(self.saliency_max, float(np.abs(saliency).max()))
        self.hidden_max = max(self.hidden_max, float(grads.hidden.max()))

    def explain(self, play) -> Explanation:
        """The panels' numbers for the playthrough as it is now."""
        self.observe(play)
        if self._pending:  # turned on since these states were played
            self._take_in(play.agent)
        if play.done and self.advantages is None:
            values = np.asarray(play.values, dtype=float)
            self.advantages = np.asarray(play.returns_to_go, dtype=float) - values  # one V per step taken
        return Explanation(
            self.names, self.saliency, self.saliency_max, self.hidden, self.hidden_max, self.ever_fired.copy(),
            self.advantages if play.done else self.last_advantages,
            advantages_of_last=not play.done and self.last_advantages is not None,
        )


# -- drawing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplainedLayout:
    """draw.Layout's parts, moved to make room for the saliency, hidden and advantage panels."""

    header: pygame.Rect
    scene: pygame.Rect
    saliency: pygame.Rect
    hidden: pygame.Rect
    bars: pygame.Rect
    chart: pygame.Rect
    advantage: pygame.Rect


def explained_layout(rect: pygame.Rect) -> ExplainedLayout:
    """Header on top; the cart-pole with the input and hidden panels at its right; below, the
    probabilities, and the value chart with the advantage chart under it."""
    base = draw.layout(rect)
    pad = max(4, rect.height // 60)
    bottom_h = int(rect.height * 0.42)
    top_h = rect.height - base.header.height - bottom_h
    scene_w = int(rect.width * 0.62)
    scene = pygame.Rect(rect.x, base.header.bottom, scene_w, top_h)
    side = pygame.Rect(scene.right + pad, scene.y + pad, rect.right - scene.right - 2 * pad, top_h - 2 * pad)
    saliency_h = int(side.height * 0.58)
    saliency = pygame.Rect(side.x, side.y, side.width, saliency_h)
    hidden = pygame.Rect(side.x, saliency.bottom + pad, side.width, side.height - saliency_h - pad)
    panel_y = scene.bottom + pad
    inner_h = rect.bottom - panel_y - pad
    bars_w = int(rect.width * 0.3)
    bars = pygame.Rect(rect.x + pad, panel_y, bars_w - 2 * pad, inner_h)
    right = pygame.Rect(rect.x + bars_w + pad, panel_y, rect.width - bars_w - 2 * pad, inner_h)
    chart = pygame.Rect(right.x, right.y, right.width, right.height // 2 - pad // 2)
    advantage = pygame.Rect(right.x, chart.bottom + pad, right.width, right.bottom - chart.bottom - pad)
    return ExplainedLayout(base.header, scene, saliency, hidden, bars, chart, advantage)


def draw_explained_frame(
    surface: pygame.Surface, scene: draw.Scene, explanation: Explanation, rect: pygame.Rect | None = None
) -> None:
    """The watch frame of `scene` with the explain panels, into `rect` of `surface` (default: all)."""
    rect = pygame.Rect(rect) if rect is not None else surface.get_rect()
    parts = explained_layout(rect)
    previous_clip = surface.get_clip()
    surface.set_clip(rect.clip(previous_clip))
    try:
        surface.fill(draw.PANEL, rect)
        draw.draw_header(surface, scene, parts.header)
        draw.draw_world(surface, scene, parts.scene)
        draw_saliency(surface, explanation, parts.saliency)
        draw_hidden(surface, explanation, parts.hidden)
        draw.draw_bars(surface, scene, parts.bars)
        draw.draw_chart(surface, scene, parts.chart)
        draw_advantages(surface, explanation, parts.advantage, scene.value_units)
    finally:
        surface.set_clip(previous_clip)


def panel_text_size(rect: pygame.Rect) -> int:
    return max(15, min(20, rect.height // 7))


def fitted_text(words: str, size: int, colour: tuple[int, int, int], width: int, bold: bool = False) -> pygame.Surface:
    """Rendered text, a little smaller where it would not fit `width` (a narrow window)."""
    rendered = draw.text(words, size, colour, bold)
    while rendered.get_width() > width and size > 11:
        size -= 1
        rendered = draw.text(words, size, colour, bold)
    return rendered


def draw_saliency(surface: pygame.Surface, explanation: Explanation, rect: pygame.Rect) -> None:
    """One signed bar per input, from a centre line: right (red) pushes right, left (blue) pushes left."""
    size = panel_text_size(rect)
    surface.blit(fitted_text("what it looks at", size, draw.TEXT, rect.width, True), (rect.x, rect.y))
    surface.blit(fitted_text(SALIENCY_NOTE, size - 3, draw.DIM_TEXT, rect.width), (rect.x, rect.y + size))
    full = explanation.saliency_max or 1.0
    bars = saliency_bars(rect, explanation.names)
    for name, amount, bar in zip(explanation.names, explanation.saliency.tolist(), bars, strict=True):
        label = draw.text(name, size - 2, draw.TEXT)
        surface.blit(label, label.get_rect(midleft=(rect.x, bar.centery)))
        pygame.draw.rect(surface, draw.BACKGROUND, bar, border_radius=3)
        half = bar.width // 2
        length = round(half * min(1.0, abs(amount) / full))
        colour = PUSH_RIGHT if amount > 0 else PUSH_LEFT
        start = bar.centerx if amount > 0 else bar.centerx - length
        pygame.draw.rect(surface, colour, (start, bar.y, length, bar.height))
        pygame.draw.line(surface, draw.GRID, (bar.centerx, bar.y - 2), (bar.centerx, bar.bottom + 1))
        number = draw.text(f"{amount:+.2f}", size - 2, colour)
        surface.blit(number, number.get_rect(midleft=(bar.right + 6, bar.centery)))


def saliency_bars(rect: pygame.Rect, names: tuple[str, ...]) -> list[pygame.Rect]:
    """The full extent of each input's bar, zero at its centre: the names on the left, numbers right."""
    size = panel_text_size(rect)
    top = rect.y + 2 * size + 4
    slot = (rect.bottom - top) / max(1, len(names))
    label_w = max(draw.text(name, size - 2, draw.TEXT).get_width() for name in names) + 8
    number_w = draw.text("+0.00", size - 2, draw.TEXT).get_width() + 6
    width = max(8, rect.width - label_w - number_w)
    height = max(4, int(slot) - 6)
    return [pygame.Rect(rect.x + label_w, round(top + index * slot), width, height) for index in range(len(names))]


def hidden_grid(count: int, rect: pygame.Rect) -> tuple[int, int]:
    """(columns, cell size in px): the largest square cells that fit `count` of them in `rect`."""
    for cell in range(max(2, min(rect.width, rect.height)), 1, -1):
        columns = rect.width // cell
        if columns and -(-count // columns) * cell <= rect.height:
            return columns, cell
    return max(1, rect.width // 2), 2


def draw_hidden(surface: pygame.Surface, explanation: Explanation, rect: pygame.Rect) -> None:
    """Every ReLU unit as a cell, brighter the more it fires now; dead units (no state of the
    episode so far has fired them) in dark red."""
    size = panel_text_size(rect.inflate(0, rect.height))
    count = len(explanation.hidden)
    strip = pygame.Rect(rect.x, rect.y + size + 2, rect.width, rect.height - size - 2)
    columns, cell = hidden_grid(count, strip)
    shown = min(count, columns * max(1, strip.height // cell))  # thousands of units outgrow the strip
    title = f"hidden layer: {count} ReLU units, {explanation.dead} dead"
    if shown < count:
        title += f" (first {shown} shown)"
    surface.blit(fitted_text(title, size - 1, draw.TEXT, rect.width, True), (rect.x, rect.y))
    for unit, colour in enumerate(cell_colours(explanation)[:shown]):
        row, column = divmod(unit, columns)
        surface.fill(colour, (strip.x + column * cell, strip.y + row * cell, cell - 1, cell - 1))


def cell_colours(explanation: Explanation) -> list[tuple[int, int, int]]:
    brightness = np.clip(explanation.hidden / (explanation.hidden_max or 1.0), 0.0, 1.0)
    levels = np.round(brightness * 15).astype(int)  # 16 shades: few enough to cache
    fired = explanation.ever_fired.tolist()
    return [shade(level) if fired[unit] else DEAD for unit, level in enumerate(levels.tolist())]


@functools.lru_cache(maxsize=16)
def shade(level: int) -> tuple[int, int, int]:
    return draw.blend(draw.BACKGROUND, FIRING, 0.12 + 0.88 * level / 15) if level else draw.BACKGROUND


def draw_advantages(surface: pygame.Surface, explanation: Explanation, rect: pygame.Rect, units: str) -> None:
    """G_t - V(s_t) per step as signed bars around 0, once the episode is over."""
    size = panel_text_size(rect.inflate(0, rect.height)) - 1
    title = "learning signal: advantage G_t - V(s_t) per step" + (" (last episode)" * explanation.advantages_of_last)
    surface.blit(fitted_text(title, size, draw.TEXT, rect.width, True), (rect.x, rect.y))
    caption = fitted_text(ADVANTAGE_CAPTION, size - 2, draw.DIM_TEXT, rect.width)
    surface.blit(caption, caption.get_rect(bottomleft=(rect.x, rect.bottom)))
    plot = pygame.Rect(rect.x, rect.y + size + 2, rect.width, rect.height - 2 * size - 2)
    pygame.draw.rect(surface, draw.BACKGROUND, plot, border_radius=4)
    if explanation.advantages is None or not len(explanation.advantages):
        waiting = draw.text("drawn when the episode ends", size - 2, draw.DIM_TEXT)
        surface.blit(waiting, waiting.get_rect(center=plot.center))
        return
    surface.blit(advantage_chart(explanation.advantages, plot.size, units), plot)


def advantage_chart(advantages: np.ndarray, size: tuple[int, int], units: str) -> pygame.Surface:
    """The chart of one finished episode, drawn once and reused by every frame that holds it."""
    return cached_advantage_chart(advantages.astype(float).tobytes(), size, units)


@functools.lru_cache(maxsize=4)
def cached_advantage_chart(advantages: bytes, size: tuple[int, int], units: str) -> pygame.Surface:
    return render_advantages(np.frombuffer(advantages), size, units)


def render_advantages(advantages: np.ndarray, size: tuple[int, int], units: str) -> pygame.Surface:
    chart = pygame.Surface(size)
    chart.fill(draw.BACKGROUND)
    largest = float(np.abs(advantages).max()) or 1.0
    ticks = nice_ticks(-largest, largest, count=4)
    top = max(abs(ticks[0]), abs(ticks[-1]))
    low_name, _, high_name = tick_labels([-top, 0.0, top])  # the step to zero sets the digits
    labels = [draw.text(name, 13, draw.DIM_TEXT) for name in ("+" + high_name, low_name)]
    margin = max(label.get_width() for label in labels) + 10
    area = pygame.Rect(margin, 4, size[0] - margin - 6, size[1] - 8)
    zero = area.centery
    for label, y in zip(labels, (area.top, area.bottom), strict=True):
        chart.blit(label, label.get_rect(midright=(margin - 4, y)))
    pygame.draw.line(chart, draw.GRID, (area.x, zero), (area.right, zero))
    steps = max(len(advantages), draw.CHART_MIN_STEPS)
    columns = (np.arange(len(advantages)) * area.width / steps).astype(int)
    heights = np.round(advantages / top * (area.height / 2)).astype(int)
    width = max(1, int(area.width / steps) - (1 if area.width / steps >= 3 else 0))
    for column, height in zip(columns.tolist(), heights.tolist(), strict=True):
        if height:
            colour = BETTER if height > 0 else WORSE
            chart.fill(colour, (area.x + column, zero - max(height, 0), width, abs(height)))
    unit = draw.text("discounted return" if units == "return" else "normalised", 13, draw.DIM_TEXT)
    chart.blit(unit, unit.get_rect(topright=(size[0] - 4, 2)))
    return chart
