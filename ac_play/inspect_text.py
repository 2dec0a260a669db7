"""The policy map in a terminal: plain ANSI escape codes on stdout, so it works over SSH.

Each character cell shows two pixels: `▀` with the upper pixel's colour in front and the lower
one's behind (24-bit colour where the terminal says it has it, else the 256-colour cube). With
--no-color, NO_COLOR or a dumb terminal, one shade character per cell instead. The two maps sit
side by side when they fit, else one above the other; the whole picture fits the terminal
(80x24 at least) without wrapping.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import unicodedata
from dataclasses import dataclass

import numpy as np

from ac_play.inspect import VALUE_STOPS, Inspection, PlotAxes, PolicyMap, colours, inspect, prob_colours, value_colours
from ac_play.scales import nice_ticks, tick_labels

SHADES = " .:-=+*#%@"
"""Low to high, for --no-color: P(push right) 0 is a blank, 1 is '@'."""
GUTTER = 5
"""Columns left of a map for its angular-velocity labels ("-2 ┤")."""
GAP = 3
FRAME_LINES = 4
"""Lines besides the maps: the title, two of statistics, and the prompt's after them."""
BLOCK_LINES = 4
"""Lines of a row of maps besides their own: headings, angle labels, the axes' names, legends."""
MIN_COLUMNS, MAX_COLUMNS = 16, 64
MIN_ROWS, MAX_ROWS = 6, 24
RESET = "\x1b[0m"


@dataclass(frozen=True)
class Style:
    """How colour reaches the terminal: "truecolor", "256" or "none"."""

    colour: str = "truecolor"

    @property
    def glyphs(self) -> dict[str, str]:
        """The characters of the axes and the marks: plain ASCII where there is no colour either."""
        if self.colour == "none":
            return {"axis": "|", "limit": "|", "path": "o", "start": "X", "omega": "w"}
        return {"axis": "┤", "limit": "┃", "path": "•", "start": "◆", "omega": "ω"}

    @classmethod
    def detect(cls, no_color: bool, stream) -> Style:
        environ = os.environ
        if no_color or environ.get("NO_COLOR") or environ.get("TERM") == "dumb" or not can_encode(stream, "▀┃•◆┤ω█"):
            return cls("none")
        truecolor = environ.get("COLORTERM", "").lower() in ("truecolor", "24bit")
        return cls("truecolor" if truecolor else "256")

    def code(self, rgb, ground: int) -> str:
        """The escape setting the foreground (ground 38) or background (48) colour."""
        red, green, blue = (int(channel) for channel in rgb)
        if self.colour == "truecolor":
            return f"\x1b[{ground};2;{red};{green};{blue}m"
        return f"\x1b[{ground};5;{cube_index(red, green, blue)}m"


CUBE_LEVELS = np.array([0, 95, 135, 175, 215, 255])
"""The channel values of the 256-colour palette's 6x6x6 cube (colours 16 to 231)."""


def cube_index(red: int, green: int, blue: int) -> int:
    """The nearest colour of the 256-colour palette: from its cube, or its 24 greys (232 to 255)."""
    rgb = np.array([red, green, blue])
    levels = np.abs(rgb[:, None] - CUBE_LEVELS[None, :]).argmin(axis=1)
    cube_error = np.abs(CUBE_LEVELS[levels] - rgb).sum()
    grey = min(23, max(0, round((rgb.mean() - 8) / 10)))
    grey_error = np.abs(8 + 10 * grey - rgb).sum()
    if grey_error < cube_error:
        return 232 + grey
    return int(16 + 36 * levels[0] + 6 * levels[1] + levels[2])


def can_encode(stream, characters: str) -> bool:
    try:
        characters.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


@dataclass(frozen=True)
class Layout:
    """The maps' size in character cells, and whether they sit side by side."""

    columns: int
    rows: int
    side_by_side: bool


def layout_for(width: int, height: int) -> Layout:
    """The larger of the maps side by side and one above the other that fit `width` x `height` cells."""
    side = Layout(min((width - 2 * GUTTER - GAP) // 2, MAX_COLUMNS), min(height - FRAME_LINES - BLOCK_LINES, MAX_ROWS),
                  True)
    stacked = Layout(min(width - GUTTER, MAX_COLUMNS), min((height - FRAME_LINES) // 2 - BLOCK_LINES, MAX_ROWS), False)
    fitting = [shape for shape in (side, stacked) if shape.columns >= MIN_COLUMNS and shape.rows >= MIN_ROWS]
    if not fitting:  # a tiny terminal: the least map that still reads, wrapped as the terminal wraps it
        return Layout(MIN_COLUMNS, MIN_ROWS, side.columns >= stacked.columns)
    return max(fitting, key=lambda shape: shape.columns * shape.rows)


def render(inspection: Inspection, width: int, height: int, style: Style) -> list[str]:
    """The whole picture, one string per terminal line."""
    shape = layout_for(width, height)
    pixel_rows = shape.rows if style.colour == "none" else 2 * shape.rows
    policy = inspection.grid(shape.columns, pixel_rows)
    ticks = policy.value_ticks()
    panels = [
        Panel("P(push right)", prob_colours(policy.probs_right), policy.probs_right, 0.0, 1.0),
        Panel(f"critic V ({policy.value_units})", value_colours(policy), policy.values, ticks[0], ticks[-1]),
    ]
    legends = [prob_legend(style), value_legend(style, ticks)]
    grids = [map_rows(panel, policy, inspection, style) for panel in panels]
    lines = [inspection.title(width)]
    if shape.side_by_side:
        lines += block(panels, grids, legends, policy, shape, style)
    else:
        for panel, grid, legend in zip(panels, grids, legends, strict=True):
            lines += block([panel], [grid], [legend], policy, shape, style)
    lines += inspection.stats_lines()
    return [fit(line, width) for line in lines]


@dataclass(frozen=True)
class Panel:
    heading: str
    rgb: np.ndarray
    """[pixel rows, columns, 3]"""
    values: np.ndarray
    low: float
    high: float


def block(panels: list[Panel], grids: list[list[str]], legends: list[str], policy: PolicyMap, shape: Layout,
          style: Style) -> list[str]:
    """Headings, the maps' rows with angular-velocity labels, the angle axis, the legends."""
    span = GUTTER + shape.columns + GAP
    glyphs = style.glyphs
    lines = [join([" " * GUTTER + panel.heading for panel in panels], span)]
    labels = velocity_labels(policy, shape.rows, glyphs["omega"])
    for row in range(shape.rows):
        lines.append("".join(f"{labels[row]:>{GUTTER - 2}} {glyphs['axis']}" + grid[row] + " " * GAP
                             for grid in grids).rstrip())
    axis_name = f"pole angle (degrees); {glyphs['omega']} in rad/s"[:shape.columns]
    lines.append(join([" " * GUTTER + angle_labels(shape.columns, policy)] * len(panels), span))
    lines.append(join([" " * GUTTER + axis_name] * len(panels), span))
    lines.append(join([" " * GUTTER + legend for legend in legends], span))
    return lines


def join(parts: list[str], span: int) -> str:
    """Parts padded to `span` visible columns each (escape codes take none)."""
    padded = [part + " " * max(0, span - visible_width(part)) for part in parts[:-1]]
    return ("".join(padded) + parts[-1]).rstrip()


def velocity_labels(policy: PolicyMap, rows: int, omega: str) -> list[str]:
    """An angular-velocity label on the text row holding each round number, `omega` on the top row."""
    labels = [""] * rows
    extent = policy.extent
    axes = PlotAxes(extent, 0, 0, 1, rows)
    for tick, name in zip(*velocity_ticks(extent.velocity), strict=True):
        _, y = axes.to_pixel(0.0, tick)
        row = min(rows - 1, math.floor(y))  # the bottom edge belongs to the last row
        labels[row] = labels[row] or name
    if not labels[0]:
        labels[0] = omega
    return labels


def velocity_ticks(limit: float) -> tuple[list[float], list[str]]:
    ticks = [tick for tick in nice_ticks(-limit, limit, count=4) if abs(tick) <= limit]
    return ticks, tick_labels(ticks)


def angle_labels(columns: int, policy: PolicyMap) -> str:
    """Round angles in degrees, each centred under its column; one that would touch its neighbour is left out."""
    extent_degrees = np.degrees(policy.extent.angle)
    labelled = nice_ticks(-extent_degrees, extent_degrees, count=max(2, columns // 6))
    ticks = [tick for tick in labelled if abs(tick) <= extent_degrees]
    axes = PlotAxes(policy.extent, 0, 0, columns, 1)
    line = [" "] * columns
    for tick, name in zip(ticks, tick_labels(ticks), strict=True):
        centre, _ = axes.to_pixel(np.radians(tick), 0.0)
        start = min(max(0, round(centre - len(name) / 2)), columns - len(name))
        if all(char == " " for char in line[max(0, start - 1):start + len(name) + 1]):
            line[start:start + len(name)] = name
    return "".join(line).rstrip()


def map_rows(panel: Panel, policy: PolicyMap, inspection: Inspection, style: Style) -> list[str]:
    """The map as text rows: half-blocks (two pixels a cell) in colour, one shade a cell without."""
    marks = overlay(policy, inspection, 1 if style.colour == "none" else 2, style.glyphs)
    if style.colour == "none":
        shades = np.clip((panel.values - panel.low) / ((panel.high - panel.low) or 1.0), 0, 1)
        index = np.minimum((shades * len(SHADES)).astype(int), len(SHADES) - 1)
        return ["".join(marks.get((row, column), SHADES[index[row, column]]) for column in range(len(policy.angles)))
                for row in range(len(index))]
    rows = []
    for row in range(len(policy.velocities) // 2):
        cells = []
        for column in range(len(policy.angles)):
            upper, lower = panel.rgb[2 * row, column], panel.rgb[2 * row + 1, column]
            mark = marks.get((row, column))
            if mark is None:
                cells.append(style.code(upper, 38) + style.code(lower, 48) + "▀")
            else:  # the mark on the cell's average colour, in black or white, whichever stands out
                behind = (upper.astype(int) + lower) // 2
                ink = (0, 0, 0) if luminance(behind) > 140 else (255, 255, 255)
                cells.append(style.code(ink, 38) + style.code(behind, 48) + mark)
        rows.append("".join(cells) + RESET)
    return rows


def overlay(policy: PolicyMap, inspection: Inspection, pixels_per_cell: int,
            glyphs: dict[str, str]) -> dict[tuple[int, int], str]:
    """Characters drawn over the map, by text (row, column): the failure limits, the greedy path, its start."""
    rows = len(policy.velocities) // pixels_per_cell
    axes = PlotAxes(policy.extent, 0, 0, len(policy.angles), rows)
    marks = {}
    limit = inspection.track.theta_threshold_radians
    for side in (-limit, limit):
        for row in range(rows):
            velocity = policy.velocities[row * pixels_per_cell]
            cell = axes.cell(side, velocity)
            if cell is not None:
                marks[(row, cell[1])] = glyphs["limit"]
    for angle, velocity in inspection.trajectory:
        cell = axes.cell(angle, velocity)
        if cell is not None:
            marks[cell] = glyphs["path"]
    start = axes.cell(*inspection.trajectory[0])
    if start is not None:
        marks[start] = glyphs["start"]
    return marks


def luminance(rgb) -> float:
    red, green, blue = (float(channel) for channel in rgb)
    return 0.299 * red + 0.587 * green + 0.114 * blue


def prob_legend(style: Style) -> str:
    if style.colour == "none":
        return f"left 0 {SHADES} 1 right"
    return "left " + swatches(style, prob_colours(np.linspace(0, 1, 9))) + " right, 0.5 pale"


def value_legend(style: Style, ticks: list[float]) -> str:
    names = tick_labels(ticks)
    if style.colour == "none":
        return f"{names[0]} {SHADES} {names[-1]}"
    return f"{names[0]} " + swatches(style, colours(np.linspace(0, 1, 9), 0, 1, VALUE_STOPS)) + f" {names[-1]}"


def swatches(style: Style, rgb: np.ndarray) -> str:
    return "".join(style.code(colour, 38) + "█" for colour in rgb) + RESET


def visible_width(line: str) -> int:
    """Terminal columns a line takes: escape codes none, wide characters (中) two."""
    width, in_escape = 0, False
    for char in line:
        if in_escape:
            in_escape = not char.isalpha()
        elif char == "\x1b":
            in_escape = True
        else:
            width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def fit(line: str, width: int) -> str:
    """A line cut to `width` visible columns, ending in "…" where it was cut (lines with escapes already fit)."""
    if visible_width(line) <= width or "\x1b" in line:
        return line
    while visible_width(line) > width - 1:
        line = line[:-1]
    return line + "…"


def print_map(inspection: Inspection, no_color: bool, stream) -> None:
    size = shutil.get_terminal_size()
    for line in render(inspection, size.columns, size.lines, Style.detect(no_color, stream)):
        print(line, file=stream)



def run_inspect(path: str | None, seed: int = 0, cart_x: float = 0.0, cart_v: float = 0.0,
                no_color: bool = False) -> int:
    """`ac-play inspect [CHECKPOINT]`: the policy map, printed to fit the terminal."""
    print_map(inspect(path, seed, cart_x, cart_v), no_color, sys.stdout)
    return 0
