"""Draw a cart and its pole with braille characters: a pure function of the state, no Textual.

Each terminal cell holds a 2 x 4 grid of braille dots, and a cell is about twice as tall as it
is wide, so dots are close to square and one scale serves both axes. The scale comes from the
env (`cartpole.Track`): the drawing spans the track from -x_threshold to +x_threshold (beyond it
the episode ends), and the pole is 2 * length long, as gymnasium's own renderer draws it.
"""

from __future__ import annotations

import math

from ac_play.cartpole import CART_HEIGHT, CART_WIDTH, Track

BRAILLE_BASE = 0x2800
# bit of each dot, indexed [row][column] inside one cell (Unicode braille pattern order)
DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))



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
    scale = (canvas.dots_x - 1) / (2 * x_threshold)  # dots per metre
    track_y = 0
    canvas.line(0, track_y, canvas.dots_x - 1, track_y)
    centre = (x + x_threshold) * scale
    half_cart = CART_WIDTH / 2 * scale
    cart_top = track_y + 1 + CART_HEIGHT * scale
    canvas.box(centre - half_cart, track_y + 1, centre + half_cart, cart_top)
    tip_x = centre + pole_length * scale * math.sin(theta)
    tip_y = cart_top + pole_length * scale * math.cos(theta)
    canvas.line(centre, cart_top, tip_x, tip_y)
    canvas.line(centre + 1, cart_top, tip_x + 1, tip_y)  # two dots wide, so it reads as a pole
    return canvas.rows()
