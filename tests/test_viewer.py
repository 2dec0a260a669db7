"""`ac-play watch`: keys and clicks posted as pygame events, time fed in, and the CLI end to end."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pygame
import pytest
from PIL import Image

from ac_play.returns import RunningNormaliser
from ac_play.window import draw as render
from ac_play.window.playthrough import KICK_ANGULAR_VELOCITY, Playthrough
from ac_play.window.viewer import END_HOLD, MAX_SPEED, MIN_SPEED, Viewer


@pytest.fixture
def viewer(display, bundled_snapshot):
    pygame.event.clear()
    play = Playthrough(bundled_snapshot, seed=3)
    yield Viewer(play, "cartpole-v1.npz")
    play.close()


def press(viewer: Viewer, key: int, char: str = "", frames: int = 1) -> None:
    """Post a key press and let the viewer's own loop take it."""
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char, mod=0))
    viewer.run(frames=viewer.frames + frames)


def test_space_pauses_and_right_arrow_then_steps_once(viewer):
    viewer.advance(0.1)
    press(viewer, pygame.K_SPACE)
    assert viewer.paused and viewer.scene().paused
    steps = viewer.play.steps
    viewer.advance(1.0)
    viewer.run(frames=viewer.frames + 5)
    assert viewer.play.steps == steps
    press(viewer, pygame.K_RIGHT)
    assert viewer.play.steps == steps + 1
    press(viewer, pygame.K_PERIOD, ".")
    assert viewer.play.steps == steps + 2
    press(viewer, pygame.K_SPACE)
    viewer.advance(0.2)
    assert viewer.play.steps > steps + 2


def let_time_pass(viewer: Viewer, seconds: float, frame: float = 1 / 60) -> None:
    for _ in range(round(seconds / frame)):
        viewer.advance(frame)


def test_time_runs_at_fifty_steps_a_second_times_the_speed(viewer):
    let_time_pass(viewer, 0.5)
    assert abs(viewer.play.steps - 25) <= 1
    press(viewer, pygame.K_PLUS, "+")
    steps = viewer.play.steps
    let_time_pass(viewer, 0.5)
    assert viewer.speed == 2.0
    assert abs(viewer.play.steps - steps - 50) <= 1


def test_a_stalled_frame_catches_up_only_a_quarter_second(viewer):
    viewer.advance(5.0)
    assert viewer.play.steps == 12


def test_plus_and_minus_change_speed_between_a_quarter_and_eight(viewer):
    for _ in range(6):
        press(viewer, pygame.K_PLUS, "+")
    assert viewer.speed == MAX_SPEED == 8.0
    assert viewer.scene().speed == 8.0
    for _ in range(8):
        press(viewer, pygame.K_MINUS, "-")
    assert viewer.speed == MIN_SPEED == 0.25


def test_g_switches_between_greedy_and_sampled_and_the_frame_says_which(viewer):
    assert viewer.scene().mode == "greedy"
    press(viewer, pygame.K_g, "g")
    assert not viewer.play.greedy and viewer.scene().mode == "sampled"
    press(viewer, pygame.K_g, "g")
    assert viewer.scene().mode == "greedy"


def test_greedy_takes_the_most_probable_action(viewer):
    for _ in range(20):
        viewer.advance(0.02)
        assert viewer.play.action == int(np.argmax(viewer.play.probs))


@pytest.mark.parametrize(("key", "direction"), [(pygame.K_LEFT, -1), (pygame.K_RIGHT, 1)])
def test_arrow_keys_push_the_pole_while_running(viewer, key, direction):
    before = float(viewer.play.env.unwrapped.state[3])
    viewer.key(key)
    after = float(viewer.play.env.unwrapped.state[3])
    assert after - before == pytest.approx(direction * KICK_ANGULAR_VELOCITY)
    assert float(viewer.play.obs[3]) == pytest.approx(after, abs=1e-6)
    assert viewer.scene().kick == direction


def test_a_click_left_of_the_pole_pushes_it_right(viewer):
    before = float(viewer.play.env.unwrapped.state[3])
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(5, 150)))
    viewer.run(frames=1)
    # one frame of physics runs after the push; the push itself dwarfs it
    assert float(viewer.play.env.unwrapped.state[3]) - before > 0.5 * KICK_ANGULAR_VELOCITY


def test_r_restarts_the_episode(viewer):
    let_time_pass(viewer, 0.4)
    assert viewer.play.steps >= 19
    press(viewer, pygame.K_r, "r")
    assert viewer.play.steps <= 1
    assert viewer.episode == 1 and viewer.finished == []


def test_s_saves_a_screenshot_of_the_window(viewer, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    press(viewer, pygame.K_s, "s")
    shots = list(tmp_path.glob("ac-play-*.png"))
    assert len(shots) == 1
    assert pygame.image.load(str(shots[0])).get_size() == pygame.display.get_surface().get_size()


@pytest.mark.parametrize("key", [pygame.K_q, pygame.K_ESCAPE])
def test_q_or_escape_quits_before_the_frame_budget(viewer, key):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode="", mod=0))
    viewer.run(frames=50)
    assert not viewer.running and viewer.frames == 1


def test_a_resized_window_is_drawn_to_its_new_size(viewer):
    pygame.display.set_mode((500, 320), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(500, 320), w=500, h=320))
    viewer.run(frames=2)
    screen = pygame.display.get_surface()
    assert screen.get_size() == (500, 320)
    assert tuple(screen.get_at((499, 319)))[:3] == render.PANEL
    pygame.display.set_mode((800, 500), pygame.RESIZABLE)


def test_finished_episode_shows_critic_and_return_to_go_then_the_budget_ends_the_run(display, bundled_snapshot):
    play = Playthrough(bundled_snapshot, seed=0)
    viewer = Viewer(play, "cartpole-v1.npz", speed=8.0, episodes=1)
    while not play.done:
        viewer.advance(0.25)
    scene = viewer.scene()
    assert scene.step == 500 and scene.episode_return == 500.0
    assert len(scene.values) == len(scene.returns_to_go) == 500
    assert scene.message == "episode over: return 500"
    viewer.advance(END_HOLD + 0.1)
    assert not viewer.running
    assert viewer.summary() == [
        "episode 1: return 500, length 500, untouched",
        "mean return over 1 untouched episode: 500.0 (std 0.0, min 500, max 500)",
    ]
    play.close()


def finish_by_pushing(viewer: Viewer) -> None:
    """Post left-arrow pushes, a frame each, until the pole falls: an episode over in a few dozen steps."""
    while not viewer.play.done:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT, unicode="", mod=0))
        viewer.run(frames=viewer.frames + 1)
        viewer.advance(viewer.track.tau / viewer.speed)  # one env step per push


def finish_untouched(viewer: Viewer) -> None:
    while not viewer.play.done:
        viewer.advance(0.25)


def drawn_pixels(colour) -> int:
    """Pixels of the window's last frame in exactly this colour."""
    screen = pygame.display.get_surface()
    return int(np.all(pygame.surfarray.pixels3d(screen) == np.array(colour), axis=-1).sum())


@pytest.fixture
def ended(display, bundled_snapshot):
    """A viewer whose first episode just ended, at speed 8."""
    pygame.event.clear()
    play = Playthrough(bundled_snapshot, seed=3)
    viewer = Viewer(play, "cartpole-v1.npz", speed=8.0)
    viewer.run(frames=1)
    finish_by_pushing(viewer)
    yield viewer
    play.close()


def test_the_comparison_is_still_drawn_well_after_the_old_second_and_a_half(ended):
    ended.advance(2.0)
    ended.run(frames=ended.frames + 1)
    assert ended.play.done and ended.episode == 1
    assert ended.scene().returns_to_go is not None
    assert drawn_pixels(render.RETURN_LINE) > 200  # the return-to-go's line and its legend, on screen
    assert ended.scene().hint == "next episode in 3 s · p holds · space continues"


def test_the_hold_counts_down_and_ends_by_itself_after_five_seconds(ended):
    ended.advance(END_HOLD - 0.5)
    assert ended.scene().hint.startswith("next episode in 1 s")
    assert 0 < ended.scene().countdown < 0.2
    ended.advance(0.6)
    assert ended.episode == 2 and not ended.play.done and ended.scene().hint is None


def test_space_during_the_hold_starts_the_next_episode(ended):
    press(ended, pygame.K_SPACE, " ")
    assert ended.episode == 2 and not ended.play.done and not ended.paused
    assert ended.scene().returns_to_go is None


def test_p_holds_the_comparison_until_space(ended):
    press(ended, pygame.K_p, "p")
    ended.advance(60.0)
    assert ended.play.done and ended.episode == 1
    assert ended.scene().hint == "paused · space continues" and ended.scene().countdown is None
    ended.run(frames=ended.frames + 1)
    assert drawn_pixels(render.RETURN_LINE) > 200
    press(ended, pygame.K_SPACE, " ")
    assert ended.episode == 2 and not ended.paused and not ended.play.done


def test_an_episode_that_ends_while_paused_is_held_until_space(display, bundled_snapshot):
    pygame.event.clear()
    play = Playthrough(bundled_snapshot, seed=3)
    viewer = Viewer(play, "cartpole-v1.npz")
    press(viewer, pygame.K_SPACE, " ")
    while not play.done:
        viewer.kick(1)
        press(viewer, pygame.K_PERIOD, ".")
    viewer.advance(30.0)
    assert viewer.paused and play.done and viewer.scene().hint == "paused · space continues"
    press(viewer, pygame.K_SPACE, " ")
    assert viewer.episode == 2 and not viewer.paused
    play.close()


def test_the_last_episodes_hold_says_the_window_closes(display, bundled_snapshot):
    play = Playthrough(bundled_snapshot, seed=0)
    viewer = Viewer(play, "cartpole-v1.npz", speed=8.0, episodes=1)
    finish_untouched(viewer)
    assert viewer.scene().hint == "closing in 5 s · p holds · space continues"
    press(viewer, pygame.K_SPACE, " ")
    assert not viewer.running
    play.close()


def test_summary_lists_each_episode_and_averages_the_untouched_ones(display, bundled_snapshot):
    pygame.event.clear()
    play = Playthrough(bundled_snapshot, seed=0)
    viewer = Viewer(play, "cartpole-v1.npz", speed=8.0, episodes=3)
    finish_untouched(viewer)
    press(viewer, pygame.K_SPACE, " ")
    finish_by_pushing(viewer)
    pushed = viewer.finished[1]
    press(viewer, pygame.K_SPACE, " ")
    finish_untouched(viewer)
    assert 0 < pushed.pushes and pushed.length < 500
    assert viewer.summary() == [
        "episode 1: return 500, length 500, untouched",
        f"episode 2: return {pushed.length}, length {pushed.length}, pushed {pushed.pushes} times",
        "episode 3: return 500, length 500, untouched",
        "mean return over 2 untouched episodes: 500.0 (std 0.0, min 500, max 500)",
    ]
    play.close()


def test_a_click_counts_as_a_push_and_every_episode_pushed_gives_no_mean(display, bundled_snapshot):
    pygame.event.clear()
    play = Playthrough(bundled_snapshot, seed=0)
    viewer = Viewer(play, "cartpole-v1.npz", speed=8.0, episodes=1)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(5, 150)))
    viewer.run(frames=1)
    finish_untouched(viewer)
    assert viewer.finished[0].pushes == 1
    assert viewer.summary()[0].endswith(", pushed 1 time")
    assert viewer.summary()[-1] == "no mean: you pushed the pole in every episode"
    play.close()


def test_a_restarted_episode_is_not_listed_and_its_pushes_do_not_carry_over(viewer):
    viewer.kick(-1)
    press(viewer, pygame.K_r, "r")
    viewer.speed = 8.0
    finish_untouched(viewer)
    assert [(done.length, done.pushes) for done in viewer.finished] == [(500, 0)]


def test_critic_is_shown_in_return_units_with_the_checkpoints_normaliser(bundled_snapshot):
    play = Playthrough(bundled_snapshot, seed=0)
    assert play.scale.units == "return"
    while not play.done:
        play.step()
    # gamma 0.99 over a 500-step episode cut off by the time limit: about 1 / (1 - gamma)
    assert play.values[0] == pytest.approx(100.0, abs=3.0)
    assert play.returns_to_go[0] == pytest.approx(100.0, abs=3.0)
    play.close()


def test_without_normaliser_stats_returns_to_go_are_normalised_over_the_episode(bundled_snapshot):
    unseen = dataclasses.replace(bundled_snapshot, normaliser=RunningNormaliser())  # as the notebook preset saves
    play = Playthrough(unseen, seed=0)
    for _ in range(60):
        play.kick(1)
        play.step()
    assert play.done and play.scale.units == "normalised"
    assert play.returns_to_go.mean() == pytest.approx(0.0, abs=1e-9)
    assert play.returns_to_go.std() == pytest.approx(1.0, abs=1e-6)
    play.close()


def run_cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "ac_play", *map(str, args)],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )


def test_frames_and_record_write_a_gif_of_that_many_frames(tmp_path):
    result = run_cli("watch", "--frames", 100, "--record", tmp_path / "x.gif", "--speed", 8)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "x.gif") as gif:
        assert gif.n_frames == 100
        assert gif.size == (800, 500)
        assert gif.info["duration"] == 20
    assert "recorded 100 frames" in result.stdout
    assert "mean return over 1 untouched episode: 500.0" in result.stdout


def test_a_corrupt_checkpoint_gives_one_clear_line(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"this is not a zip file")
    result = run_cli("watch", broken)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("ac-play: error: ") and "broken.npz" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_display_suggests_eval_and_exits_2():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    result = run_cli("watch", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("ac-play: error: no display")
    assert "ac-play eval" in result.stderr and "Traceback" not in result.stderr
