"""window/draw.py: known states drawn off-screen, checked pixel by pixel."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pygame
import pytest

from ac_play import cartpole, scales
from ac_play.errors import AcPlayError
from ac_play.window import draw

SIZE = (800, 500)


pytestmark = pytest.mark.usefixtures("fonts")


@pytest.fixture(scope="module")
def track() -> cartpole.Track:
    env = gym.make("CartPole-v1")
    yield cartpole.Track.from_env(env)
    env.close()


def drawn(scene: draw.Scene, rect=None) -> pygame.Surface:
    surface = pygame.Surface(SIZE)
    draw.draw_frame(surface, scene, rect)
    return surface


def colour_at(surface: pygame.Surface, point) -> tuple[int, int, int]:
    return tuple(surface.get_at((round(point[0]), round(point[1]))))[:3]


def close_to(colour, wanted, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, wanted, strict=True))


def test_track_constants_come_from_the_env(track):
    physics = gym.make("CartPole-v1").unwrapped
    assert track.x_threshold == physics.x_threshold
    assert track.theta_threshold_radians == physics.theta_threshold_radians
    assert track.length == physics.length
    assert track.tau == physics.tau
    assert track.max_episode_steps == 500


def test_an_env_without_a_cart_is_refused():
    with pytest.raises(AcPlayError, match="CartPole only"):
        cartpole.Track.from_env(gym.make("Acrobot-v1"))


@pytest.mark.parametrize("theta", [-0.15, 0.0, 0.12])
def test_pole_tip_lands_where_the_angle_says(track, theta):
    scene = draw.Scene(track, x=0.5, theta=theta)
    surface = drawn(scene)
    view = draw.world_view(draw.layout(surface.get_rect()).scene, track)
    pivot = view.to_screen(0.5, cartpole.CART_HEIGHT)
    pole_pixels = 2 * track.length * view.scale

    def along(fraction, angle):
        reach = fraction * pole_pixels
        return pivot[0] + reach * math.sin(angle), pivot[1] - reach * math.cos(angle)

    assert close_to(colour_at(surface, along(0.95, theta)), draw.POLE)
    assert close_to(colour_at(surface, along(0.5, theta)), draw.POLE)
    assert not close_to(colour_at(surface, along(1.1, theta)), draw.POLE)
    if theta != 0.0:
        assert not close_to(colour_at(surface, along(0.95, -theta)), draw.POLE)


def test_cart_is_drawn_at_its_position_on_the_track(track):
    surface = drawn(draw.Scene(track, x=-1.5))
    view = draw.world_view(draw.layout(surface.get_rect()).scene, track)
    assert close_to(colour_at(surface, view.to_screen(-1.5, cartpole.CART_HEIGHT / 3)), draw.CART)
    assert not close_to(colour_at(surface, view.to_screen(1.5, cartpole.CART_HEIGHT / 3)), draw.CART)


def filled_length(surface: pygame.Surface, bar: pygame.Rect, colour) -> int:
    """How far along the bar's row (just below its rounded top edge) the fill colour reaches."""
    row = bar.y + 3
    filled = [x for x in range(bar.x, bar.right) if close_to(colour_at(surface, (x, row)), colour, 4)]
    return max(filled) - bar.x + 1 if filled else 0


@pytest.mark.parametrize("probs", [(0.2, 0.8), (0.65, 0.35)])
def test_bar_lengths_follow_the_probabilities_and_the_chosen_one_is_highlighted(track, probs):
    chosen = int(np.argmax(probs))
    surface = drawn(draw.Scene(track, probs=probs, action=chosen))
    parts = draw.layout(surface.get_rect())
    size = draw.text_size(parts.bars.inflate(0, parts.bars.height))
    bars = draw.bar_rects(parts.bars, 2, size)
    for index, (bar, prob) in enumerate(zip(bars, probs, strict=True)):
        colour = draw.CHOSEN if index == chosen else draw.BAR
        assert abs(filled_length(surface, bar, colour) - prob * bar.width) <= 4


def scene_background(surface: pygame.Surface) -> tuple[int, int, int]:
    """A pixel of the scene's sky, away from the text, the cart and the limit markers."""
    scene = draw.layout(surface.get_rect()).scene
    return colour_at(surface, (scene.right - 5, scene.y + scene.height // 2))


def test_no_warning_tint_well_inside_the_limits(track):
    surface = drawn(draw.Scene(track, x=0.5 * track.x_threshold, theta=0.5 * track.theta_threshold_radians))
    assert scene_background(surface) == draw.BACKGROUND


@pytest.mark.parametrize("where", ["position", "angle"])
def test_warning_tint_appears_near_a_limit(track, where):
    near = {"x": 0.95 * track.x_threshold} if where == "position" else {"theta": -0.95 * track.theta_threshold_radians}
    red, green, blue = scene_background(drawn(draw.Scene(track, **near)))
    assert red > draw.BACKGROUND[0] + 40
    assert red - max(green, blue) > 30  # the slate background turns red


def test_frame_stays_inside_the_rect_it_is_given(track):
    surface = pygame.Surface(SIZE)
    surface.fill((1, 2, 3))
    left = pygame.Rect(0, 0, SIZE[0] // 2, SIZE[1])
    draw.draw_frame(surface, draw.Scene(track, probs=(0.5, 0.5), action=0, values=[1.0, 2.0]), left)
    right_half = pygame.surfarray.array3d(surface)[SIZE[0] // 2:, :, :]
    assert (right_half == (1, 2, 3)).all()
    assert colour_at(surface, (5, SIZE[1] - 3)) == draw.PANEL


def count_colour(surface: pygame.Surface, rect: pygame.Rect, colour, tolerance=10) -> int:
    pixels = pygame.surfarray.array3d(surface)[rect.left:rect.right, rect.top:rect.bottom, :].astype(int)
    return int((np.abs(pixels - np.array(colour)).max(axis=2) <= tolerance).sum())


def test_return_to_go_line_appears_only_once_the_episode_has_ended(track):
    values = np.linspace(90.0, 99.0, 200)
    playing = drawn(draw.Scene(track, values=values, value=99.0))
    ended = drawn(draw.Scene(track, values=values, value=99.0, returns_to_go=np.linspace(100.0, 1.0, 200)))
    chart = draw.layout(playing.get_rect()).chart
    assert count_colour(playing, chart, draw.VALUE_LINE) > 100
    assert count_colour(playing, chart, draw.RETURN_LINE) == 0
    assert count_colour(ended, chart, draw.RETURN_LINE) > 100


@pytest.mark.parametrize("mode", ["greedy", "sampled"])
def test_the_header_always_says_greedy_or_sampled(track, mode):
    surface = drawn(draw.Scene(track, mode=mode))
    header = draw.layout(surface.get_rect()).header
    other = "sampled" if mode == "greedy" else "greedy"
    assert count_colour(surface, header, draw.MODE_COLOURS[mode], 2) > 200
    assert count_colour(surface, header, draw.MODE_COLOURS[other], 2) == 0


def test_frame_scales_with_a_resized_window(track):
    small = pygame.Surface((400, 250))
    draw.draw_frame(small, draw.Scene(track, theta=0.1, probs=(0.3, 0.7), action=1))
    view = draw.world_view(draw.layout(small.get_rect()).scene, track)
    tip = draw.pole_tip(view, 0.0, 0.1, track)
    assert small.get_rect().collidepoint(tip)
    assert close_to(colour_at(small, view.to_screen(0.0, cartpole.CART_HEIGHT / 3)), draw.CART)


def test_render_bench_reports_the_median_frame_time_as_json():
    result = subprocess.run(
        [sys.executable, "-m", "ac_play", "bench", "--render", "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["frame"] == "800x500" and report["frames"] == 300
    assert 0 < report["median_ms"] <= report["p90_ms"] <= report["max_ms"]
    assert report["target_ms"] == 4.0


def test_the_hint_is_drawn_under_the_end_of_episode_message(track):
    ended = draw.Scene(track, message="episode over: return 72", countdown=0.8)
    hinted = draw.Scene(track, message="episode over: return 72", countdown=0.8,
                        hint="next episode in 4 s · p holds · space continues")
    scene = draw.layout(pygame.Rect((0, 0), SIZE)).scene
    below = pygame.Rect(scene.centerx, scene.y + 45, scene.width // 2, 30)  # under the message and its bar

    def text_pixels(surface):
        pixels = pygame.surfarray.pixels3d(surface.subsurface(below))
        return int(np.all(abs(pixels.astype(int) - np.array(draw.TEXT)) <= 12, axis=-1).sum())

    assert text_pixels(drawn(ended)) == 0
    assert text_pixels(drawn(hinted)) > 100


def value_line_rows(surface: pygame.Surface, chart: pygame.Rect) -> int:
    """How many pixel rows of the chart's plot (below its legend) the value line touches."""
    top = chart.top + 2 * draw.text_size(chart.inflate(0, chart.height))
    pixels = pygame.surfarray.array3d(surface)[chart.left:chart.right, top:chart.bottom, :].astype(int)
    hit = (np.abs(pixels - np.array(draw.VALUE_LINE)).max(axis=2) <= 10).any(axis=0)
    return int(hit.sum())


def test_a_tenth_of_noise_on_a_value_of_a_hundred_draws_almost_flat(track):
    noisy = 100.0 + 0.1 * np.sin(np.arange(300))
    surface = drawn(draw.Scene(track, values=noisy, value=100.0))
    chart = draw.layout(surface.get_rect()).chart
    falling = drawn(draw.Scene(track, values=np.linspace(100.0, 0.0, 300), value=0.0))
    # the noise stays within a few rows; a real fall crosses most of the chart
    assert value_line_rows(surface, chart) <= 6
    assert value_line_rows(falling, chart) > 0.5 * chart.height


@pytest.mark.parametrize(
    "low, high", [(99.18, 100.2), (-8.914, 110.1), (0.0, 1.0), (-0.07143, 0.2), (1234.5, 1250.0)]
)
def test_the_value_charts_scale_ends_on_round_numbers(low, high):
    ticks = draw.value_ticks([np.array([low, high])])
    assert ticks[0] <= low and ticks[-1] >= high
    steps = np.diff(ticks)
    np.testing.assert_allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert round(mantissa, 6) in (1.0, 2.0, 5.0)
    assert all(float(label) == tick for label, tick in zip(scales.tick_labels(ticks), ticks, strict=True))
