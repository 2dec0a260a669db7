"""`ac-play inspect --png`: the policy map as an image, drawn with pygame on a plain Surface (no display).

Two panels, P(push right) and the critic's V, over pole angle (across) and angular velocity
(up), each with its round-numbered axes, the failure limits dashed, a greedy episode's path in
white and a colour bar. Every point is placed through `panel_axes`, the mapping tests use too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pygame

from ac_play.errors import AcPlayError, printable
from ac_play.files import check_new_file, replace_atomically
from ac_play.inspect import (
    VALUE_STOPS,
    Extent,
    Inspection,
    PlotAxes,
    colours,
    inspect,
    prob_colours,
    value_colours,
)
from ac_play.scales import nice_ticks, tick_labels
from ac_play.window.draw import BACKGROUND, DIM_TEXT, GRID, PANEL, TEXT, text

IMAGE_SIZE = (1200, 640)
PLOT_SIZE = 400
"""Each map is a square this many pixels wide."""
PLOT_TOP = 120
PLOT_LEFTS = (96, 686)
GRID_CELLS = 160
"""States across and up each map: 25,600 in one forward pass, drawn smoothly scaled to PLOT_SIZE."""
BAR_GAP, BAR_WIDTH = 18, 16
PATH = (255, 255, 255)
OUTLINE = (16, 18, 22)
PATH_ALPHA = 190
LIMIT_LINE = (245, 245, 245)
DASH = 8


def panel_axes(extent: Extent) -> list[PlotAxes]:
    """Where the P(push right) map (first) and the V map (second) are drawn in the image."""
    return [PlotAxes(extent, left, PLOT_TOP, PLOT_SIZE, PLOT_SIZE) for left in PLOT_LEFTS]


def draw_policy_map(inspection: Inspection) -> pygame.Surface:
    """The whole image: title, both maps with their axes, limits, path and colour bars, the statistics."""
    surface = pygame.Surface(IMAGE_SIZE)
    surface.fill(BACKGROUND)
    policy = inspection.grid(GRID_CELLS, GRID_CELLS)
    ticks = policy.value_ticks()
    units = "discounted return" if policy.value_units == "return" else "normalised"
    maps = [
        ("P(push right)", prob_colours(policy.probs_right), prob_bar()),
        (f"critic V ({units})", value_colours(policy), value_bar(ticks)),
    ]
    draw_title(surface, inspection)
    for axes, (heading, rgb, bar) in zip(panel_axes(policy.extent), maps, strict=True):
        draw_panel(surface, axes, heading, rgb)
        draw_limits(surface, axes, inspection.track.theta_threshold_radians)
        draw_path(surface, axes, inspection.trajectory)
        draw_colour_bar(surface, axes, *bar)
    for row, line in enumerate(inspection.stats_lines()):
        surface.blit(text(line, 22, DIM_TEXT), (24, IMAGE_SIZE[1] - 62 + 26 * row))
    return surface


def draw_title(surface: pygame.Surface, inspection: Inspection) -> None:
    width = IMAGE_SIZE[0] - 48
    label = printable(inspection.label)
    title = text(f"Policy map of {label}: where it pushes, and what it expects", 32, TEXT, True)
    while title.get_width() > width and len(label) > 1:  # a long path keeps its end: the file's name
        label = label[1:]
        title = text(f"Policy map of …{label}", 32, TEXT, True)
    surface.blit(title, (24, 18))
    legend = (f"cart held at x {inspection.cart_x:g} m, v {inspection.cart_v:g} m/s;  white: a greedy episode "
              f"from seed {inspection.seed} ({inspection.episode_length} steps, its own cart states), dot at its "
              f"start;  dashed: the pole falls past {math.degrees(inspection.track.theta_threshold_radians):g}°")
    surface.blit(text(legend, 20, DIM_TEXT), (24, 54))


def draw_panel(surface: pygame.Surface, axes: PlotAxes, heading: str, rgb: np.ndarray) -> None:
    """The heatmap, its heading and both axes with round numbers."""
    plot = pygame.Rect(axes.left, axes.top, axes.width, axes.height)
    pygame.draw.rect(surface, PANEL, plot.inflate(2, 2))
    cells = pygame.surfarray.make_surface(np.ascontiguousarray(rgb.transpose(1, 0, 2)))
    surface.blit(pygame.transform.smoothscale(cells, plot.size), plot)
    surface.blit(text(heading, 26, TEXT, True), (plot.x, plot.y - 34))
    extent = axes.extent
    degrees = math.degrees(extent.angle)
    angle_ticks = [tick for tick in nice_ticks(-degrees, degrees, count=6) if abs(tick) <= degrees]
    for tick, name in zip(angle_ticks, tick_labels(angle_ticks), strict=True):
        x, _ = axes.to_pixel(math.radians(tick), 0.0)
        pygame.draw.line(surface, GRID, (x, plot.bottom), (x, plot.bottom + 5))
        label = text(name, 20, DIM_TEXT)
        surface.blit(label, label.get_rect(midtop=(x, plot.bottom + 8)))
    velocity_ticks = [tick for tick in nice_ticks(-extent.velocity, extent.velocity, count=4)
                      if abs(tick) <= extent.velocity]
    for tick, name in zip(velocity_ticks, tick_labels(velocity_ticks), strict=True):
        _, y = axes.to_pixel(0.0, tick)
        pygame.draw.line(surface, GRID, (plot.x - 5, y), (plot.x, y))
        label = text(name, 20, DIM_TEXT)
        surface.blit(label, label.get_rect(midright=(plot.x - 8, y)))
    name = text("pole angle (degrees): leaning left, right", 20, TEXT)
    surface.blit(name, name.get_rect(midtop=(plot.centerx, plot.bottom + 30)))
    side = pygame.transform.rotate(text("pole angular velocity (rad/s): turning left, right", 20, TEXT), 90)
    surface.blit(side, side.get_rect(midright=(plot.x - 36, plot.centery)))


def draw_limits(surface: pygame.Surface, axes: PlotAxes, limit: float) -> None:
    """The failure angles, dashed, over the whole height of the map."""
    for side in (-limit, limit):
        x, top = axes.to_pixel(side, axes.extent.velocity)
        _, bottom = axes.to_pixel(side, -axes.extent.velocity)
        for y in np.arange(top, bottom, 2 * DASH):
            pygame.draw.line(surface, LIMIT_LINE, (x, y), (x, min(bottom, y + DASH)), 2)


def draw_path(surface: pygame.Surface, axes: PlotAxes, trajectory: np.ndarray) -> None:
    """The greedy episode, translucent so the map shows through its loops; a dot where it starts."""
    plot = pygame.Rect(axes.left, axes.top, axes.width, axes.height)
    points = [(x - plot.x, y - plot.y) for x, y in (axes.to_pixel(*state) for state in trajectory)]
    layer = pygame.Surface(plot.size, pygame.SRCALPHA)  # drawn on its own, so a path leaving the map is cut
    if len(points) > 1:
        pygame.draw.aalines(layer, PATH, False, points)
    layer.set_alpha(PATH_ALPHA)
    surface.blit(layer, plot)
    start = axes.to_pixel(*trajectory[0])
    if plot.collidepoint(start):
        pygame.draw.circle(surface, OUTLINE, start, 7)
        pygame.draw.circle(surface, PATH, start, 5)


def prob_bar() -> tuple[np.ndarray, list[tuple[float, str]]]:
    steps = np.linspace(0.0, 1.0, PLOT_SIZE)
    return prob_colours(steps), [(0.0, "0 left"), (0.5, "0.5"), (1.0, "1 right")]


def value_bar(ticks: list[float]) -> tuple[np.ndarray, list[tuple[float, str]]]:
    steps = np.linspace(0.0, 1.0, PLOT_SIZE)
    names = tick_labels(ticks)
    marks = [((tick - ticks[0]) / (ticks[-1] - ticks[0]), name) for tick, name in zip(ticks, names, strict=True)]
    return colours(steps, 0.0, 1.0, VALUE_STOPS), marks


def draw_colour_bar(surface: pygame.Surface, axes: PlotAxes, rgb: np.ndarray, marks: list[tuple[float, str]]) -> None:
    """A vertical bar of the map's colours, lowest at the bottom, labelled at `marks` (fractions up the bar)."""
    bar = pygame.Rect(axes.left + axes.width + BAR_GAP, axes.top, BAR_WIDTH, axes.height)
    column = np.repeat(rgb[::-1][None, :, :], BAR_WIDTH, axis=0)  # surfarray is [x, y]: top of the bar first
    surface.blit(pygame.surfarray.make_surface(np.ascontiguousarray(column)), bar)
    for fraction, name in marks:
        y = bar.bottom - fraction * (bar.height - 1)
        pygame.draw.line(surface, TEXT, (bar.right, y), (bar.right + 4, y))
        label = text(name, 20, DIM_TEXT)
        surface.blit(label, label.get_rect(midleft=(bar.right + 7, y)))


def write_png(inspection: Inspection, path: Path) -> None:
    """Draw the image and write it beside its place, then rename it there: never half a PNG."""
    pygame.font.init()
    surface = draw_policy_map(inspection)
    try:
        replace_atomically(path, lambda out: pygame.image.save(surface, out, path.name))
    except (OSError, pygame.error) as exc:
        raise AcPlayError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from None


def run_png(path: str | None, png: str, force: bool = False, seed: int = 0, cart_x: float = 0.0,
            cart_v: float = 0.0) -> int:
    """`ac-play inspect --png PATH`: the policy map written as an image; its statistics printed."""
    target = check_new_file(png, (".png",), force, "png", "policy-map.png")  # before any work, as watch --record
    inspection = inspect(path, seed, cart_x, cart_v)
    write_png(inspection, target)
    for line in inspection.stats_lines():
        print(line)
    print(f"wrote the policy map of {printable(inspection.label)} to {printable(str(target))}")
    return 0
