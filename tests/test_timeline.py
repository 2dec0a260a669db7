"""`watch RUN_DIR`: a run's snapshots played one at a time, chosen on the learning curve along the bottom."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from ac_play.window import timeline

STRIP_SIZE = (800, 120)


def learning_curve(episodes: int = 339) -> tuple[np.ndarray, np.ndarray]:
    """Returns that climb from 10 to 500 with noise, and the running reward through them."""
    rng = np.random.default_rng(0)
    returns = np.clip(np.linspace(10, 500, episodes) + rng.normal(0, 60, episodes), 8, 500)
    running = np.empty(episodes)
    reward = returns[0]
    for index, episode_return in enumerate(returns):
        reward = 0.05 * episode_return + 0.95 * reward
        running[index] = reward
    return returns, running


def strip_at(selected: int) -> timeline.Strip:
    returns, running = learning_curve()
    episodes = [*range(20), *range(20, 339, 16), 339]
    return timeline.Strip(returns, running, episodes, selected, best=len(episodes) - 1, threshold=475.0)


def marker_columns(surface: pygame.Surface) -> set[int]:
    """The pixel columns where the marker's colour runs down most of the strip."""
    pixels = pygame.surfarray.pixels3d(surface)
    hit = np.all(pixels == np.array(timeline.MARKER), axis=2)
    return {int(x) for x in np.flatnonzero(hit.sum(axis=1) > surface.get_height() // 2)}


def test_the_marker_moves_to_the_snapshot_selected(fonts):
    surface = pygame.Surface(STRIP_SIZE)
    rect = surface.get_rect()
    columns = []
    for selected in (0, 30, len(strip_at(0).snapshot_episodes) - 1):
        timeline.draw_strip(surface, rect, strip_at(selected))
        columns.append(marker_columns(surface))
        assert timeline.marker_x(rect, strip_at(selected)) in columns[-1]
    lefts = [min(found) for found in columns]
    assert lefts == sorted(lefts) and len(set(lefts)) == 3


def test_the_episode_axis_ends_on_round_numbers_around_the_run():
    grid = timeline.axes(pygame.Rect((0, 0), STRIP_SIZE), strip_at(0))
    assert (grid.episodes[0], grid.episodes[-1]) == (0, 400)
    assert (grid.values[0], grid.values[-1]) == (0, 500)
    assert grid.x([0])[0] == grid.plot.x and grid.x([400])[0] == grid.plot.right


@pytest.mark.parametrize("selected", [0, 7, 25, 39])
def test_a_click_at_a_snapshots_marker_picks_that_snapshot(selected):
    rect = pygame.Rect((0, 380), STRIP_SIZE)
    strip = strip_at(selected)
    assert timeline.nearest_snapshot(rect, strip, timeline.marker_x(rect, strip)) == selected


def test_a_click_beyond_the_ends_picks_the_first_or_the_last():
    rect = pygame.Rect((0, 0), STRIP_SIZE)
    strip = strip_at(0)
    assert timeline.nearest_snapshot(rect, strip, -50) == 0
    assert timeline.nearest_snapshot(rect, strip, 10_000) == len(strip.snapshot_episodes) - 1
