"""`watch`'s explain mode: its panels read off-screen pixel by pixel, its keys posted as pygame events."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pygame
import pytest
from PIL import Image

from ac_play.cartpole import OBSERVATION_NAMES, Track
from ac_play.returns import RunningNormaliser
from ac_play.window import draw
from ac_play.window.bench import run_render_bench
from ac_play.window.explain import (
    BETTER,
    DEAD,
    PUSH_LEFT,
    PUSH_RIGHT,
    WORSE,
    Explanation,
    draw_explained_frame,
    explained_layout,
    saliency_bars,
    shade,
)
from ac_play.window.playthrough import KICK_ANGULAR_VELOCITY, Playthrough
from ac_play.window.viewer import Viewer

SIZE = (800, 500)
PARTS = explained_layout(pygame.Rect((0, 0), SIZE))


@pytest.fixture
def viewer(display, bundled_snapshot):
    pygame.event.clear()
    play = Playthrough(bundled_snapshot, seed=3)
    yield Viewer(play, "cartpole-v1.npz", explain=True)
    play.close()


def press(viewer: Viewer, key: int) -> None:
    """Post a key press and let the viewer's own loop take it (and draw a frame)."""
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode="", mod=0))
    viewer.run(frames=viewer.frames + 1)


def frame_of(viewer: Viewer) -> pygame.Surface:
    surface = pygame.Surface(SIZE)
    draw_explained_frame(surface, viewer.scene(), viewer.explainer.explain(viewer.play))
    return surface


def pixels(surface: pygame.Surface, rect: pygame.Rect) -> np.ndarray:
    """The rect's pixels as [height, width, 3]."""
    return pygame.surfarray.array3d(surface.subsurface(rect)).transpose(1, 0, 2).astype(int)


def count_near(image: np.ndarray, colour, tolerance: int = 10) -> int:
    return int((np.abs(image - np.array(colour)).max(axis=2) <= tolerance).sum())


def bar_pixels(surface: pygame.Surface) -> tuple[list[int], list[int]]:
    """Per saliency bar (top to bottom), its red pixels right of zero and its blue pixels left of it."""
    red, blue = [], []
    for bar in saliency_bars(PARTS.saliency, OBSERVATION_NAMES):
        left, right = bar.copy(), bar.copy()
        left.width = right.width = bar.width // 2
        right.x = bar.centerx
        red.append(count_near(pixels(surface, right), PUSH_RIGHT))
        blue.append(count_near(pixels(surface, left), PUSH_LEFT))
    return red, blue


def lit_cells(surface: pygame.Surface, tolerance: int = 2) -> int:
    """Pixels of the hidden strip lit by a firing unit (the brighter half of its shades)."""
    strip = pixels(surface, PARTS.hidden)
    return sum(count_near(strip, shade(level), tolerance) for level in range(8, 16))


def let_time_pass(viewer: Viewer, seconds: float, frame: float = 0.25) -> None:
    for _ in range(round(seconds / frame)):
        if viewer.play.done:
            return
        viewer.advance(frame)


def test_the_saliency_bars_change_when_the_state_changes(viewer):
    before = bar_pixels(frame_of(viewer))
    let_time_pass(viewer, 0.5)
    press(viewer, pygame.K_LEFT)  # a push: a state the agent rarely sees
    after = bar_pixels(frame_of(viewer))
    assert sum(before[0]) + sum(before[1]) > 100  # bars are drawn
    assert before != after


def test_a_negative_saliency_draws_blue_left_of_the_centre_and_a_positive_one_red_right():
    explanation = Explanation(
        names=OBSERVATION_NAMES, saliency=np.array([-1.0, 0.5, 0.0, 1.0]), saliency_max=1.0,
        hidden=np.ones(8), hidden_max=1.0, ever_fired=np.ones(8, dtype=bool), advantages=None,
    )
    surface = pygame.Surface(SIZE)
    draw_explained_frame(surface, draw.Scene(Track.from_env_id("CartPole-v1")), explanation)
    red, blue = bar_pixels(surface)
    assert blue[0] > 0 and red[0] == 0
    assert red[1] > 0 and blue[1] == 0 and red[1] < red[3]
    assert red[2] == blue[2] == 0
    assert red[3] > 0 and blue[3] == 0


def test_the_hidden_strip_lights_units_and_follows_the_state(viewer):
    first = frame_of(viewer)
    let_time_pass(viewer, 1.0)
    press(viewer, pygame.K_LEFT)
    second = frame_of(viewer)
    assert lit_cells(first) > 0 and lit_cells(second) > 0
    assert not np.array_equal(pixels(first, PARTS.hidden), pixels(second, PARTS.hidden))


def test_dead_units_are_those_no_state_of_the_episode_fired(display, bundled_snapshot):
    snapshot = dataclasses.replace(bundled_snapshot, params={k: v.copy() for k, v in bundled_snapshot.params.items()})
    snapshot.params["W1"][:, :10] = 0.0
    snapshot.params["b1"][:10] = -1.0  # ten units that can never fire
    play = Playthrough(snapshot, seed=4)
    viewer = Viewer(play, "ten dead", explain=True)
    w1, b1 = snapshot.params["W1"], snapshot.params["b1"]
    fired = np.zeros(len(b1), dtype=bool)
    dead_counts = []
    for _ in range(60):
        fired |= (play.obs @ w1 + b1) > 0
        viewer.single_step()
        dead_counts.append(viewer.explainer.explain(play).dead)
    fired |= (play.obs @ w1 + b1) > 0
    assert dead_counts[-1] == int((~fired).sum()) >= 10
    assert dead_counts == sorted(dead_counts, reverse=True)  # a unit once fired stays alive
    surface = frame_of(viewer)
    assert count_near(pixels(surface, PARTS.hidden), DEAD, 2) > 0
    play.close()


def test_the_advantage_chart_shows_both_signs_after_an_episode_with_pushes(display, bundled_snapshot):
    # a critic that expects about 60 (the bundled one expects its full ~99 everywhere): an episode
    # pushed over near its end then goes better than expected early on and worse near the fall
    normaliser = RunningNormaliser()
    normaliser.load_state({**bundled_snapshot.normaliser.state(), "mean": 60.0})
    play = Playthrough(dataclasses.replace(bundled_snapshot, normaliser=normaliser), seed=3)
    viewer = Viewer(play, "cartpole-v1.npz", explain=True)
    viewer.speed = 8.0
    for push in (pygame.K_LEFT, pygame.K_RIGHT, pygame.K_LEFT):
        let_time_pass(viewer, 0.25)  # 100 steps at 8x
        press(viewer, push)
    let_time_pass(viewer, 0.35)
    while not viewer.play.done:  # push right until the pole falls
        press(viewer, pygame.K_RIGHT)
        let_time_pass(viewer, 0.005, frame=0.005)
    assert viewer.finished[-1].pushes > 3 and len(viewer.play.rewards) < 500
    viewer.run(frames=viewer.frames + 1)
    chart = pixels(pygame.display.get_surface(), PARTS.advantage)
    assert count_near(chart, BETTER) > 20 and count_near(chart, WORSE) > 20
    advantages = viewer.explainer.explain(viewer.play).advantages
    np.testing.assert_allclose(advantages, viewer.play.returns_to_go - np.array(viewer.play.values))
    assert advantages[0] > 0 > advantages[-1]
    play.close()


def test_the_last_episode_s_advantages_stay_while_the_next_plays(viewer):
    viewer.speed = 8.0
    let_time_pass(viewer, 20.0)
    finished = viewer.explainer.explain(viewer.play).advantages
    viewer.next_episode()
    shown = viewer.explainer.explain(viewer.play)
    assert shown.advantages_of_last and np.array_equal(shown.advantages, finished)


def test_before_any_episode_ended_the_advantage_chart_claims_no_last_episode(viewer):
    shown = viewer.explainer.explain(viewer.play)
    assert shown.advantages is None and not shown.advantages_of_last


def test_gradients_are_computed_once_per_state_however_often_it_is_drawn(viewer):
    first = viewer.explainer.explain(viewer.play)
    again = viewer.explainer.explain(viewer.play)
    assert again.saliency is first.saliency
    viewer.single_step()
    assert viewer.explainer.explain(viewer.play).saliency is not first.saliency


def test_x_toggles_explain_mode_and_the_frame_with_it(display, bundled_snapshot):
    pygame.event.clear()
    play = Playthrough(bundled_snapshot, seed=3)
    viewer = Viewer(play, "cartpole-v1.npz")
    screen = pygame.display.get_surface()
    viewer.run(frames=1)
    assert not viewer.explainer.on and sum(map(sum, bar_pixels(screen))) == 0
    press(viewer, pygame.K_x)
    assert viewer.explainer.on and sum(map(sum, bar_pixels(screen))) > 100
    press(viewer, pygame.K_x)
    assert not viewer.explainer.on and sum(map(sum, bar_pixels(screen))) == 0
    play.close()


def test_turned_on_mid_episode_it_counts_every_state_played_while_it_was_off(display, bundled_snapshot):
    explained = []
    for on in (True, False):
        play = Playthrough(bundled_snapshot, seed=3)
        viewer = Viewer(play, "cartpole-v1.npz", explain=on)
        let_time_pass(viewer, 1.0)
        viewer.explainer.on = True
        explained.append(viewer.explainer.explain(viewer.play))
        play.close()
    always, later = explained
    np.testing.assert_array_equal(later.ever_fired, always.ever_fired)
    np.testing.assert_allclose(later.saliency, always.saliency, rtol=1e-12)  # one batch, or a row at a time
    assert later.saliency_max == pytest.approx(always.saliency_max, rel=1e-12)


def test_watch_explain_starts_in_explain_mode(cli, tmp_path):
    gif = tmp_path / "explained.gif"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    result = cli("watch", "--explain", "--frames", "3", "--record", gif, env=env)
    assert result.returncode == 0, result.stderr
    assert "recorded 3 frames" in result.stdout
    with Image.open(gif) as image:
        first = pygame.image.frombytes(image.convert("RGB").tobytes(), image.size, "RGB")
    assert sum(map(sum, bar_pixels(first))) > 100
    assert lit_cells(first, tolerance=12) > 0


def test_bench_render_times_explain_mode_on_a_line_of_its_own(capsys, fonts):
    run_render_bench(frames=5)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" 800x500")[0] for line in lines] == ["render", "render in explain mode"]
    assert all("5 frames: median" in line and "the 4 ms target" in line for line in lines)
    run_render_bench(json_out=True, frames=5)
    explain = json.loads(capsys.readouterr().out)["explain"]
    assert 0 < explain["median_ms"] <= explain["p90_ms"] <= explain["max_ms"]


def test_a_click_pushes_away_from_the_side_clicked_in_the_narrower_scene(viewer):
    # x 300 is right of the pole in explain mode's scene (its centre near 248), left of it in the full one
    before = float(viewer.play.env.unwrapped.state[3])
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(300, 150)))
    viewer.run(frames=viewer.frames + 1)
    assert float(viewer.play.env.unwrapped.state[3]) - before < -0.5 * KICK_ANGULAR_VELOCITY
