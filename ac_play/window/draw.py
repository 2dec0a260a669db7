"""Drawing one frame of CartPole, with the actor's and the critic's view of it, onto a Surface.

Pure drawing: `draw_frame(surface, scene, rect)` takes plain numbers and owns no window, clock
or event loop, so `watch`, the live window during training and the human mode all share it and
tests can draw known states off-screen. Distances come from the env's own constants (`Track`),
so the picture is to scale with the physics.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pygame

from ac_play.cartpole import CART_HEIGHT, CART_WIDTH, POLE_WIDTH, Track, nearness
from ac_play.scales import nice_ticks, tick_labels

WORLD_MARGIN = 1.15
"""The view spans the track plus 15%, so a cart at the limit is still fully drawn."""
VALUE_TICKS = 6
"""About how many round steps the value chart's scale is cut into (only its ends are labelled)."""
CHART_MIN_STEPS = 50
"""The value chart spans the episode so far, but at least this many steps (one second)."""

BACKGROUND = (30, 34, 42)
PANEL = (39, 44, 54)
GRID = (58, 64, 78)
TEXT = (220, 223, 228)
DIM_TEXT = (140, 147, 161)
TRACK = (138, 147, 166)
LIMIT = (224, 108, 117)
WARNING = (170, 52, 62)
CART = (97, 175, 239)
POLE = (240, 179, 90)
PIVOT = (235, 235, 235)
BAR = (79, 91, 112)
CHOSEN = (152, 195, 121)
VALUE_LINE = (86, 182, 194)
RETURN_LINE = (198, 120, 221)
MODE_COLOURS = {"greedy": (152, 195, 121), "sampled": (209, 154, 102), "human": (97, 175, 239)}


@dataclass
class Scene:
    """Everything one frame shows, as plain numbers."""

    track: Track
    x: float = 0.0
    theta: float = 0.0
    probs: Sequence[float] | None = None
    """The actor's probability of each action in this state, or None (human play)."""
    action: int | None = None
    """The action taken in this state, highlighted among the bars."""
    value: float | None = None
    """The critic's value of this state."""
    values: Sequence[float] = ()
    """The critic's value at every step of the episode so far."""
    returns_to_go: Sequence[float] | None = None
    """The discounted return that followed each step, once the episode has ended."""
    step: int = 0
    episode_return: float = 0.0
    episode: int = 1
    label: str = ""
    """Whose play this is: a checkpoint's name, "training" or "you"."""
    mode: str = "greedy"
    """"greedy", "sampled" or "human": always on screen, people confuse the first two."""
    fps: float | None = None
    speed: float = 1.0
    paused: bool = False
    source: str | None = None
    """Where the weights come from, e.g. "weights of training episode 120"."""
    value_units: str = "return"
    """"return" (discounted return units) or "normalised" (the critic's raw output)."""
    kick: int = 0
    """-1 or +1 while a push on the pole is shown, else 0."""
    message: str | None = None
    hint: str | None = None
    """A smaller line under the message: what the pause after an episode waits for."""
    countdown: float | None = None
    """Between 1 and 0: how much of the pause before the next episode is left, drawn as a bar."""


@dataclass(frozen=True)
class Layout:
    """Where each part of a frame goes inside its rect."""

    header: pygame.Rect
    scene: pygame.Rect
    bars: pygame.Rect
    chart: pygame.Rect


def layout(rect: pygame.Rect) -> Layout:
    """Header on top, the cart-pole in the middle, bars and the value chart below."""
    pad = max(4, rect.height // 60)
    header_h = max(22, rect.height // 12)
    panel_h = int(rect.height * 0.32)
    scene_h = rect.height - header_h - panel_h
    header = pygame.Rect(rect.x, rect.y, rect.width, header_h)
    scene = pygame.Rect(rect.x, header.bottom, rect.width, scene_h)
    panel_y = scene.bottom + pad
    inner_h = rect.bottom - panel_y - pad
    bars_w = int(rect.width * 0.36)
    bars = pygame.Rect(rect.x + pad, panel_y, bars_w - 2 * pad, inner_h)
    chart = pygame.Rect(rect.x + bars_w + pad, panel_y, rect.width - bars_w - 2 * pad, inner_h)
    return Layout(header, scene, bars, chart)


@dataclass(frozen=True)
class View:
    """Maps the world (metres, x to the right, y up) to pixels of the scene rect."""

    scale: float
    centre_x: float
    ground_y: float

    def to_screen(self, x: float, y: float) -> tuple[float, float]:
        return self.centre_x + x * self.scale, self.ground_y - y * self.scale


def world_view(scene_rect: pygame.Rect, track: Track) -> View:
    """The largest scale at which the whole track and an upright pole fit the scene rect."""
    world_w = 2 * track.x_threshold * WORLD_MARGIN
    world_h = (track.pole_length + CART_HEIGHT) * 1.4
    scale = min(scene_rect.width / world_w, scene_rect.height / world_h)
    ground_y = scene_rect.bottom - scene_rect.height * 0.14
    return View(scale, scene_rect.centerx, ground_y)


def pole_tip(view: View, x: float, theta: float, track: Track) -> tuple[float, float]:
    """Pixel position of the pole's tip: the pivot plus 2 * length along the angle."""
    pole = track.pole_length
    return view.to_screen(x + pole * math.sin(theta), CART_HEIGHT + pole * math.cos(theta))


def wheel_radius(view: View) -> int:
    return max(2, round(CART_HEIGHT * view.scale / 4))


def draw_frame(surface: pygame.Surface, scene: Scene, rect: pygame.Rect | None = None) -> None:
    """Draw the whole frame for `scene` into `rect` of `surface` (default: all of it)."""
    rect = pygame.Rect(rect) if rect is not None else surface.get_rect()
    parts = layout(rect)
    previous_clip = surface.get_clip()
    surface.set_clip(rect.clip(previous_clip))  # long labels in a narrow rect must not spill over
    try:
        surface.fill(PANEL, rect)
        draw_header(surface, scene, parts.header)
        draw_world(surface, scene, parts.scene)
        draw_bars(surface, scene, parts.bars)
        draw_chart(surface, scene, parts.chart)
    finally:
        surface.set_clip(previous_clip)


@functools.lru_cache(maxsize=16)
def font(size: int, bold: bool = False) -> pygame.font.Font:
    if not pygame.font.get_init():
        pygame.font.init()
        text.cache_clear()
    face = pygame.font.Font(None, size)
    face.bold = bold
    return face


@functools.lru_cache(maxsize=512)
def text(words: str, size: int, colour: tuple[int, int, int], bold: bool = False) -> pygame.Surface:
    """Rendered text, cached: most labels repeat from frame to frame."""
    return font(size, bold).render(words, True, colour)


def text_size(rect: pygame.Rect) -> int:
    return max(14, rect.height // 22 + 8)


def draw_header(surface: pygame.Surface, scene: Scene, rect: pygame.Rect) -> None:
    size = max(14, int(rect.height * 0.62))
    mid = rect.centery
    title = text(scene.label or "agent", size, TEXT, True)
    surface.blit(title, title.get_rect(midleft=(rect.x + 10, mid)))
    mode_colour = MODE_COLOURS.get(scene.mode, TEXT)
    badge = text(scene.mode.upper(), size, BACKGROUND, True)
    box = badge.get_rect(midleft=(rect.x + 24 + title.get_width(), mid)).inflate(14, 6)
    pygame.draw.rect(surface, mode_colour, box, border_radius=box.height // 2)
    surface.blit(badge, badge.get_rect(center=box.center))
    right = f"{scene.speed:g}x" + ("  PAUSED" if scene.paused else "")
    if scene.fps is not None:
        right = f"{scene.fps:4.0f} fps   " + right
    status = text(right, size, TEXT if not scene.paused else POLE)
    surface.blit(status, status.get_rect(midright=(rect.right - 10, mid)))


def draw_world(surface: pygame.Surface, scene: Scene, rect: pygame.Rect) -> None:
    track = scene.track
    warn = track.danger(scene.x, scene.theta)
    surface.fill(blend(BACKGROUND, WARNING, 0.45 * warn), rect)
    view = world_view(rect, track)
    left, ground = view.to_screen(-track.x_threshold, 0.0)
    right, _ = view.to_screen(track.x_threshold, 0.0)
    size = text_size(rect)
    rail = ground + wheel_radius(view)
    pygame.draw.line(surface, TRACK, (rect.x, rail), (rect.right, rail), 2)
    for limit_x, limit in ((left, -track.x_threshold), (right, track.x_threshold)):
        colour = blend(TRACK, LIMIT, nearness(scene.x / limit))
        pygame.draw.line(surface, colour, (limit_x, rail - 0.3 * view.scale), (limit_x, rail + 6), 3)
        label = text(f"{limit:+g} m", size - 2, colour)
        surface.blit(label, label.get_rect(midtop=(limit_x, rail + 8)))
    draw_angle_limits(surface, scene, view)
    draw_cart_and_pole(surface, scene, view)
    limit_steps = f" / {track.max_episode_steps}" if track.max_episode_steps else ""
    lines = [f"episode {scene.episode}   step {scene.step}{limit_steps}   return {scene.episode_return:g}"]
    if scene.source:
        lines.append(scene.source)
    for row, line in enumerate(lines):
        surface.blit(text(line, size, TEXT if row == 0 else DIM_TEXT), (rect.x + 10, rect.y + 8 + row * (size + 2)))
    if scene.message:
        note = text(scene.message, size + 4, POLE, True)
        box = note.get_rect(topright=(rect.right - 10, rect.y + 8))
        surface.blit(note, box)
        if scene.countdown is not None:
            bar = pygame.Rect(box.x, box.bottom + 4, round(box.width * scene.countdown), 3)
            pygame.draw.rect(surface, POLE, bar)
        if scene.hint:
            hint = text(scene.hint, size, TEXT)
            surface.blit(hint, hint.get_rect(topright=(rect.right - 10, box.bottom + 12)))


def draw_cart_and_pole(surface: pygame.Surface, scene: Scene, view: View) -> None:
    track = scene.track
    cart_left, cart_top = view.to_screen(scene.x - CART_WIDTH / 2, CART_HEIGHT)
    size = (round(CART_WIDTH * view.scale), round(CART_HEIGHT * view.scale))
    cart = pygame.Rect((round(cart_left), round(cart_top)), size)
    wheel = wheel_radius(view)
    for wheel_x in (cart.left + cart.width // 4, cart.right - cart.width // 4):
        pygame.draw.aacircle(surface, TRACK, (wheel_x, cart.bottom), wheel)
    pygame.draw.rect(surface, CART, cart, border_radius=max(2, cart.height // 5))
    pivot = view.to_screen(scene.x, CART_HEIGHT)
    tip = pole_tip(view, scene.x, scene.theta, track)
    pygame.draw.aaline(surface, POLE, pivot, tip, max(2, round(POLE_WIDTH * view.scale)))
    pygame.draw.aacircle(surface, PIVOT, pivot, max(3, round(POLE_WIDTH * view.scale * 0.6)))
    if scene.kick:
        draw_kick(surface, tip, scene.kick, view.scale)


def draw_angle_limits(surface: pygame.Surface, scene: Scene, view: View) -> None:
    """Faint lines at the angles where the episode ends, reddening as the pole nears one."""
    limit = scene.track.theta_threshold_radians
    pivot = view.to_screen(scene.x, CART_HEIGHT)
    for side in (-1, 1):
        colour = blend(GRID, LIMIT, nearness(side * scene.theta / limit))
        pygame.draw.aaline(surface, colour, pivot, pole_tip(view, scene.x, side * limit, scene.track))


def draw_kick(surface: pygame.Surface, tip: tuple[float, float], direction: int, scale: float) -> None:
    """An arrow beside the pole's tip, pointing the way it was pushed."""
    reach = 0.35 * scale
    start = (tip[0] - direction * reach, tip[1])
    end = (tip[0] - direction * 0.08 * scale, tip[1])
    pygame.draw.aaline(surface, LIMIT, start, end, 3)
    head = 0.07 * scale
    back = end[0] - direction * head
    pygame.draw.polygon(surface, LIMIT, [end, (back, end[1] - head), (back, end[1] + head)])


def draw_bars(surface: pygame.Surface, scene: Scene, rect: pygame.Rect) -> None:
    """One bar per action, its length the action's probability, the chosen one highlighted."""
    size = text_size(rect.inflate(0, rect.height))
    surface.blit(text("actor: action probabilities", size, DIM_TEXT), (rect.x, rect.y))
    names = scene.track.action_names
    count = len(scene.probs) if scene.probs is not None else len(names)
    for index, bar in enumerate(bar_rects(rect, count, size)):
        name = names[index] if index < len(names) else f"action {index}"
        chosen = scene.action == index
        surface.blit(text(name, size, TEXT if chosen else DIM_TEXT, chosen), (bar.x, bar.y - size))
        pygame.draw.rect(surface, GRID, bar, 1, border_radius=3)
        if scene.probs is None:
            continue
        prob = float(scene.probs[index])
        filled = pygame.Rect(bar.x, bar.y, round(bar.width * prob), bar.height)
        pygame.draw.rect(surface, CHOSEN if chosen else BAR, filled, border_radius=3)
        number = text(f"{prob:.2f}", size, TEXT, chosen)
        surface.blit(number, number.get_rect(midright=(bar.right - 6, bar.centery)))


def bar_rects(rect: pygame.Rect, count: int, size: int) -> list[pygame.Rect]:
    """The full-length outline of each action's bar (a probability of 1 fills it)."""
    top = rect.y + size + 4
    slot = (rect.bottom - top) / max(1, count)
    height = max(6, int(slot - size - 8))
    return [pygame.Rect(rect.x, round(top + i * slot + size), rect.width, height) for i in range(count)]


def draw_chart(surface: pygame.Surface, scene: Scene, rect: pygame.Rect) -> None:
    """The critic's value over the episode, and the return that really followed once it ends."""
    size = text_size(rect.inflate(0, rect.height))
    value_text = "critic V(s)" + (f" {scene.value:.2f}" if scene.value is not None else "")
    legend = text(value_text, size, VALUE_LINE, True)
    surface.blit(legend, (rect.x, rect.y))
    if scene.returns_to_go is not None:
        surface.blit(text("actual return-to-go", size, RETURN_LINE, True), (rect.x + legend.get_width() + 16, rect.y))
    unit = text("discounted return" if scene.value_units == "return" else "normalised", size - 2, DIM_TEXT)
    surface.blit(unit, unit.get_rect(topright=(rect.right, rect.y + 1)))
    plot = pygame.Rect(rect.x, rect.y + size + 4, rect.width, rect.height - size - 4)
    pygame.draw.rect(surface, BACKGROUND, plot, border_radius=4)
    series = [np.asarray(scene.values, dtype=float)]
    if scene.returns_to_go is not None:
        series.append(np.asarray(scene.returns_to_go, dtype=float))
    if len(series[0]) < 2:
        return
    ticks = value_ticks(series)
    low, high = ticks[0], ticks[-1]
    names = tick_labels(ticks)
    labels = [(text(names[-1], size - 2, DIM_TEXT), high), (text(names[0], size - 2, DIM_TEXT), low)]
    margin = max(label.get_width() for label, _ in labels) + 12
    lines = pygame.Rect(plot.x + margin, plot.y + 8, plot.width - margin - 8, plot.height - 16)
    for (label, _), y in zip(labels, (lines.top, lines.bottom), strict=True):
        surface.blit(label, label.get_rect(midright=(lines.x - 6, y)))
        pygame.draw.line(surface, GRID, (lines.x, y), (lines.right, y))
    steps = max(len(series[0]), CHART_MIN_STEPS)
    for values, colour in zip(series, (VALUE_LINE, RETURN_LINE), strict=False):
        points = chart_points(values, lines, steps, low, high)
        # two antialiased lines a pixel apart read as one smooth 2 px line
        pygame.draw.aalines(surface, colour, False, points)
        pygame.draw.aalines(surface, colour, False, [(x, y + 1) for x, y in points])


def value_ticks(series: list[np.ndarray]) -> list[float]:
    """Round, evenly spaced numbers around every value shown; the first and last bound the chart.

    The span is at least `scales.min_span`, so a steady value draws flat, not as a zigzag."""
    low = min(float(s.min()) for s in series if len(s))
    high = max(float(s.max()) for s in series if len(s))
    return nice_ticks(low, high, count=VALUE_TICKS)


def chart_points(values: np.ndarray, plot: pygame.Rect, steps: int, low: float, high: float) -> list:
    """values [T] -> pixel points, at most about one per pixel column."""
    stride = max(1, len(values) // max(1, plot.width))
    picked = values[::stride]
    xs = plot.x + np.arange(len(picked)) * stride * (plot.width / max(1, steps - 1))
    ys = plot.bottom - (picked - low) / (high - low) * plot.height
    return np.column_stack([xs, ys]).tolist()


def blend(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
