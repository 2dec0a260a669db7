"""Draw a cart and its pole with braille characters: a pure function of the state, no Textual.

Each terminal cell holds a 2 x 4 grid of braille dots, and a cell is about twice as tall as it
is wide, so dots are close to square and one scale serves both axes of the cart and its pole.
The sizes come from the env (`cartpole.Track`): the pole is 2 * length long, as gymnasium's own
renderer draws it, and the cart and pole are as large as the panel's height allows (up to a
third of its width for the cart), so a big panel gets a big picture. The track always spans the
panel, its two ends being -x_threshold and +x_threshold: the cart touches an end exactly when
the episode would end there.
"""

from __future__ import annotations

import math

from ac_play.cartpole import CART_HEIGHT, CART_WIDTH, Track

BRAILLE_BASE = 0x2800
# bit of each dot, indexed [row][column] inside one cell (Unicode braille pattern order)
DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
CART_SHARE = 3
"""The cart is at most a third of the panel's width: room for it to travel and for the pole to lean."""



class BrailleCanvas:
    """A grid of dots, `width` x `height` cells, with (0, 0) at the bottom left."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.dots_x, self.dots_y = 2 * width, 4 * height
        self.cells = [[0] * width for _ in range(height)]

    def dot(self, x: float, y: float) -> None:
        col, row = round(x), self.dots_y - 1 - round(y)
        if 0 <= col < self.dots_x and 0 <= row < self.dots_y:
            self.cells[row // 4][col // 2] |= DOT_BITS[row % 4][col % 2]

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        steps = max(1, math.ceil(max(abs(x1 - x0), abs(y1 - y0))))
        for i in range(steps + 1):
            t = i / steps
            self.dot(x0 + t * (x1 - x0), y0 + t * (y1 - y0))

    def box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        for y in range(round(y0), round(y1) + 1):
            self.line(x0, y, x1, y)

    def rows(self) -> list[str]:
        return ["".join(chr(BRAILLE_BASE + bits) for bits in row) for row in self.cells]


def draw_cartpole(x: float, theta: float, width: int, height: int, track: Track) -> list[str]:
    """Rows of braille text showing a cart at position x (m) with its pole at angle theta (rad).

    theta is measured from upright, positive to the right, as in gymnasium's CartPole.
    """
    canvas = BrailleCanvas(width, height)
    x_threshold, pole_length = track.x_threshold, track.pole_length
    scale = figure_scale(canvas, pole_length)  # dots per metre, for the cart and the pole
    track_y = 0
    end = canvas.dots_x - 1
    canvas.line(0, track_y, end, track_y)
    half_cart = CART_WIDTH / 2 * scale
    travel = max(0.0, end - 2 * half_cart)  # dots the cart's centre moves between the limits
    centre = half_cart + (x + x_threshold) / (2 * x_threshold) * travel
    cart_top = track_y + 1 + CART_HEIGHT * scale
    canvas.box(centre - half_cart, track_y + 1, centre + half_cart, cart_top)
    tip_x = centre + pole_length * scale * math.sin(theta)
    tip_y = cart_top + pole_length * scale * math.cos(theta)
    canvas.line(centre, cart_top, tip_x, tip_y)
    canvas.line(centre + 1, cart_top, tip_x + 1, tip_y)  # two dots wide, so it reads as a pole
    return canvas.rows()


def figure_scale(canvas: BrailleCanvas, pole_length: float) -> float:
    """Dots per metre: an upright pole on its cart fills the height above the track, unless
    that would make the cart wider than a third of the panel."""
    fill_height = (canvas.dots_y - 2) / (CART_HEIGHT + pole_length)
    fit_width = canvas.dots_x / (CART_SHARE * CART_WIDTH)
    return max(1.0, min(fill_height, fit_width))
