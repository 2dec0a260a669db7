"""`ac-play human`: the game clock, the keys, the rounds and their scores, driven by posted pygame events."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pygame
import pytest

from ac_play.agent import ActorCritic
from ac_play.window import draw, human_screens, keys, scores
from ac_play.window.human import COUNTDOWN_MS, Game, GameClock, play, player_action
from ac_play.window.human_screens import draw_game, window_size

FRAME_MS = 16.0


@pytest.fixture(scope="module")
def agent(bundled) -> ActorCritic:
    return bundled.agent


@pytest.fixture
def window(display, tmp_path, monkeypatch):
    """The game's window size on the dummy driver, scores in this test's own folder, no events left over."""
    monkeypatch.setenv(scores.DATA_DIR_VARIABLE, str(tmp_path))
    pygame.event.clear()
    return pygame.display.set_mode(window_size(solo=False))


def make_game(agent: ActorCritic, **options) -> Game:
    settings = {"seed": 7, "speed": 0.5, "name": "ada", **options}
    return Game(agent, "cartpole-v1.npz", **settings)


def post_key(key: int, down: bool = True) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN if down else pygame.KEYUP, key=key))


def pump(game: Game) -> None:
    """What the window loop does with events: hand each one to the game."""
    for event in pygame.event.get():
        game.handle_event(event)


def play_for(game: Game, milliseconds: float, frame_ms: float = FRAME_MS) -> None:
    """Game time in frames (60 Hz unless told), as the window loop feeds it."""
    for _ in range(round(milliseconds / frame_ms)):
        pump(game)
        game.update(frame_ms)


def start_round(game: Game) -> None:
    post_key(pygame.K_RETURN)
    pump(game)
    assert game.state == "countdown"
    game.update(COUNTDOWN_MS)
    assert game.state == "playing"


# the clock and the rule for no key


def test_clock_gives_speed_times_fifty_steps_per_second_of_game_time():
    for speed, steps_in_four_seconds in ((0.25, 50), (0.5, 100), (1.0, 200), (2.0, 400)):
        clock = GameClock(speed * 50)
        assert sum(clock.advance(FRAME_MS) for _ in range(250)) == steps_in_four_seconds


def test_clock_never_drifts_over_uneven_frames():
    clock = GameClock(25)
    frames = [7, 33, 16, 16, 1, 50, 17] * 100  # 14 s of game time
    assert sum(clock.advance(ms) for ms in frames) == 25 * sum(frames) // 1000


def test_clock_gives_nothing_until_a_step_is_due():
    clock = GameClock(25)  # one step every 40 ms
    assert [clock.advance(ms) for ms in (39, 1, 39, 2)] == [0, 1, 0, 1]


def test_game_steps_per_second_come_from_the_env_tau_and_the_speed(agent):
    assert make_game(agent, speed=0.5).steps_per_second == pytest.approx(25)
    assert make_game(agent, speed=2.0).steps_per_second == pytest.approx(100)


def test_no_key_alternates_pushes_and_one_key_pushes_its_way():
    assert [player_action(False, False, step) for step in range(4)] == [0, 1, 0, 1]
    assert [player_action(True, True, step) for step in range(2)] == [0, 1]
    assert {player_action(True, False, step) for step in range(4)} == {0}
    assert {player_action(False, True, step) for step in range(4)} == {1}


# playing with posted key events


@pytest.mark.parametrize(("key", "sign"), [(pygame.K_RIGHT, 1), (pygame.K_d, 1), (pygame.K_LEFT, -1), (pygame.K_a, -1)])
def test_held_key_pushes_the_cart_its_way(window, agent, key, sign):
    game = make_game(agent)
    start_round(game)
    start_x = float(game.player.obs[0])
    post_key(key)
    play_for(game, 240)  # 6 steps at 25 steps/s, before the pole can fall
    assert game.player.steps == 6
    assert sign * game.player.obs[1] > 0.5  # cart velocity
    assert sign * (game.player.obs[0] - start_x) > 0


def test_released_key_goes_back_to_alternating_pushes(window, agent):
    game = make_game(agent)
    start_round(game)
    post_key(pygame.K_RIGHT)
    actions = []
    for _ in range(3):
        play_for(game, 40, frame_ms=40)  # one step at 25 steps/s
        actions.append(game.player.action)
    post_key(pygame.K_RIGHT, down=False)
    for _ in range(4):
        play_for(game, 40, frame_ms=40)
        actions.append(game.player.action)
    assert actions == [1, 1, 1, 1, 0, 1, 0]


def test_both_sides_start_from_the_same_state_for_a_seed(window, agent):
    first, again = make_game(agent, seed=11), make_game(agent, seed=11)
    for game in (first, again):
        start_round(game)
    assert np.array_equal(first.player.start, first.opponent.start)
    assert np.array_equal(first.player.start, again.player.start)
    other = make_game(agent, seed=12)
    start_round(other)
    assert not np.array_equal(other.player.start, first.player.start)


def test_next_round_starts_from_the_next_seed_on_both_sides(window, agent):
    game = make_game(agent, seed=11)
    start_round(game)
    play_for(game, 60_000)
    assert game.state == "result"
    post_key(pygame.K_r)
    pump(game)
    assert game.round_seed == 12
    assert np.array_equal(game.player.start, game.opponent.start)
    assert np.array_equal(game.player.start, start_of(agent, 12))


def start_of(agent: ActorCritic, seed: int) -> np.ndarray:
    game = make_game(agent, seed=seed)
    start_round(game)
    return game.player.start


def test_nothing_moves_during_the_countdown_or_the_pause(window, agent):
    game = make_game(agent)
    post_key(pygame.K_SPACE)
    pump(game)
    play_for(game, COUNTDOWN_MS - 100)
    assert game.state == "countdown" and game.player.steps == 0
    play_for(game, 200)
    assert game.state == "playing"
    post_key(pygame.K_ESCAPE)
    pump(game)
    steps = game.player.steps
    play_for(game, 1000)
    assert game.state == "paused" and game.player.steps == steps
    post_key(pygame.K_RETURN)
    play_for(game, 400)
    assert game.state == "playing" and game.player.steps > steps


def test_round_ends_when_the_pole_falls_and_is_written_to_the_scores_file(window, agent, tmp_path):
    game = make_game(agent)
    start_round(game)
    post_key(pygame.K_LEFT)
    play_for(game, 2000)
    assert game.state == "result"
    assert game.player.ending() == "pole fell"
    assert game.opponent.steps == 500  # the bundled agent plays its episode out to the step limit
    [saved] = scores.read_scores(tmp_path / "scores.jsonl")
    assert (saved.name, saved.seed, saved.speed) == ("ada", 7, 0.5)
    assert (saved.player_steps, saved.agent_steps, saved.agent) == (game.player.steps, 500, "cartpole-v1.npz")
    assert game.record == {"wins": 0, "ties": 0, "losses": 1, "rounds": 1, "best": game.player.steps, "agent_best": 500}


def test_solo_round_is_saved_without_an_agent(window, agent, tmp_path):
    game = make_game(agent, solo=True)
    start_round(game)
    assert game.opponent is None
    play_for(game, 10_000)
    assert game.state == "result"
    [saved] = scores.read_scores(tmp_path / "scores.jsonl")
    assert (saved.agent_steps, saved.agent) == (None, None)
    assert saved.player_steps == game.player.steps > 0


def test_abandoned_round_is_not_saved(window, agent, tmp_path):
    game = make_game(agent)
    start_round(game)
    play_for(game, 200)
    for _ in range(2):
        post_key(pygame.K_ESCAPE)  # pause, then leave
    pump(game)
    assert game.state == "title" and game.player is None
    assert scores.read_scores(tmp_path / "scores.jsonl") == []


def test_round_after_a_bad_line_is_saved_below_it_and_the_file_left_as_it_was(window, agent, tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text("{not json\n")
    game = make_game(agent)
    start_round(game)
    play_for(game, 10_000)
    assert game.state == "result" and game.notice == ""
    assert path.read_text().startswith("{not json\n")
    assert [s.player_steps for s in scores.read_scores(path, warn=lambda message: None)] == [game.player.steps]
    assert [p.name for p in tmp_path.iterdir()] == ["scores.jsonl"]


def test_round_written_only_in_part_says_so_on_screen(window, agent, tmp_path, monkeypatch):
    write = os.write
    monkeypatch.setattr(scores.os, "write", lambda handle, data: write(handle, data[: len(data) // 2]))
    game = make_game(agent)
    start_round(game)
    play_for(game, 10_000)
    assert game.state == "result"
    assert game.notice.startswith("this round was not saved: the scores file") and "not fully written" in game.notice


def test_summary_counts_the_rounds_played_with_posted_keys(window, agent, tmp_path):
    game = make_game(agent)
    for _ in range(2):
        start_round(game)  # Enter: from the title, then from the result screen
        play_for(game, 10_000)
        assert game.state == "result"
    post_key(pygame.K_q)
    play(game, window)
    saved = scores.read_scores(tmp_path / "scores.jsonl")
    best = max(score.player_steps for score in saved)
    assert len(saved) == 2 and all(score.agent_steps == 500 for score in saved)
    assert game.summary() == f"2 rounds: you won 0, the agent 2, 0 tied; your best {best} steps, the agent's 500"


def test_summary_counts_wins_ties_and_losses_and_the_best_of_each_side(agent):
    game = make_game(agent)
    for player_steps, agent_steps in ((500, 120), (30, 30), (12, 480)):
        game.tally(player_steps, agent_steps)
    assert game.summary() == "3 rounds: you won 1, the agent 1, 1 tied; your best 500 steps, the agent's 480"


def test_summary_of_a_solo_session_and_of_no_rounds(agent):
    assert make_game(agent).summary() == "no rounds finished"
    solo = make_game(agent, solo=True)
    solo.tally(1, None)
    assert solo.summary() == "1 round; your best 1 step"


def test_h_toggles_the_agent_hint_on_the_player_side(window, agent):
    game = make_game(agent)
    start_round(game)
    player_bars = pygame.Rect(0, 0, 640, 560).inflate(-4, -4)
    hidden = capture(window, game, player_bars)
    post_key(pygame.K_h)
    pump(game)
    assert game.hint
    shown = capture(window, game, player_bars)
    assert hidden != shown


def capture(window: pygame.Surface, game: Game, rect: pygame.Rect) -> bytes:
    draw_game(window, game)
    return pygame.image.tobytes(window.subsurface(rect), "RGB")


def test_q_quits_from_any_screen(window, agent):
    for state_keys in ([], [pygame.K_RETURN]):
        game = make_game(agent)
        for key in [*state_keys, pygame.K_q]:
            post_key(key)
        pump(game)
        assert not game.running


def test_window_loop_hands_posted_keys_to_the_game_and_stops_on_q(window, agent):
    game = make_game(agent)
    post_key(pygame.K_RETURN)
    post_key(pygame.K_h)
    post_key(pygame.K_q)
    play(game, window)
    assert (game.state, game.hint, game.running) == ("countdown", True, False)


def colour_count(surface: pygame.Surface, colour, rect: pygame.Rect | None = None, tolerance: int = 6) -> int:
    area = surface.subsurface(rect) if rect is not None else surface
    pixels = pygame.surfarray.array3d(area).astype(int)
    return int((np.abs(pixels - np.array(colour)).max(axis=2) <= tolerance).sum())


def test_every_screen_draws_what_it_is_for(window, agent):
    game = make_game(agent)
    draw_game(window, game)  # the title: its rules, the arrow-key line in the cart's colour
    assert colour_count(window, draw.CART) > 300
    post_key(pygame.K_RETURN)
    pump(game)
    draw_game(window, game)  # the countdown: a big number in the pole's colour over the split screen
    assert game.state == "countdown" and colour_count(window, draw.POLE) > 2000
    game.update(COUNTDOWN_MS)
    play_for(game, 200)
    draw_game(window, game)
    # the split screen: a cart in each half, and the status line with the hints of play
    halves = [pygame.Rect(x, 0, 640, 560) for x in (0, 640)]
    assert all(colour_count(window, draw.CART, half) > 300 for half in halves)
    play_for(game, 10_000)
    draw_game(window, game)
    assert game.state == "result"
    words, colour = human_screens.outcome(game)
    assert words == "The agent wins this round"  # nobody pressed a key
    assert colour_count(window, colour) > 300  # the headline, in the outcome's colour


def test_each_screen_shows_the_hints_of_its_own_keys(agent):
    game = make_game(agent)
    assert keys.hints(game.keymap, "title").startswith("Enter / space: start")
    assert "Esc: pause" in keys.hints(game.keymap, "playing")
    assert "Enter / space: go on" in keys.hints(game.keymap, "paused")
    assert "Enter / space / r: another round" in keys.hints(game.keymap, "result")
    assert "push" not in keys.hints(game.keymap, "result")  # no hint for a key that does nothing there


# the command line


def run_cli(*argv: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ac_play", "human", *argv], capture_output=True, text=True, env=env, timeout=60
    )


def test_without_a_display_it_prints_one_line_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env[scores.DATA_DIR_VARIABLE] = str(tmp_path)
    result = run_cli(env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("ac-play: error: no display")
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_display_is_refused_instead_of_an_invisible_window(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env.update({"DISPLAY": ":99999", scores.DATA_DIR_VARIABLE: str(tmp_path)})
    result = run_cli(env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("ac-play: error: no display")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("speed", ["0.1", "3"])
def test_speed_outside_a_quarter_to_double_is_refused(tmp_path, speed):
    result = run_cli("--speed", speed, env={**os.environ, scores.DATA_DIR_VARIABLE: str(tmp_path)})
    assert result.returncode == 2
    assert "--speed must be between 0.25 and 2" in result.stderr


def test_scores_flag_lists_a_played_round(window, agent, tmp_path):
    game = make_game(agent, name="grace")
    start_round(game)
    play_for(game, 10_000)
    result = run_cli("--scores", env={**os.environ, scores.DATA_DIR_VARIABLE: str(tmp_path)})
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[2].split()
    assert row[:6] == ["1", "grace", str(game.player.steps), "500", "0.5x", "7"]


PLAY_THEN_QUIT = """
import sys, pygame
from ac_play import cli
pygame.display.init()
# the player: Enter every 250 ms (start, another round), no push keys, and closes the window after
# {quit_ms} ms (a timer per event type: q would replace Enter's)
pygame.time.set_timer(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN), 250)
pygame.time.set_timer(pygame.QUIT, {quit_ms}, loops=1)
sys.exit(cli.main(["human", "--speed", "2", "--seed", "3"]))
"""


def play_then_quit(tmp_path, quit_ms: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", scores.DATA_DIR_VARIABLE: str(tmp_path)}
    code = PLAY_THEN_QUIT.format(quit_ms=quit_ms)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


def test_leaving_the_game_prints_the_rounds_played_in_one_line(tmp_path):
    result = play_then_quit(tmp_path, quit_ms=5500)  # a 3 s countdown, then about a second of play
    assert result.returncode == 0, result.stderr
    saved = scores.read_scores(tmp_path / "scores.jsonl")
    assert saved, "no round was finished in time"
    best = max(score.player_steps for score in saved)
    rounds = f"{len(saved)} round" + ("s" if len(saved) > 1 else "")
    expected = f"{rounds}: you won 0, the agent {len(saved)}, 0 tied; your best {best} steps, the agent's 500"
    assert result.stdout.splitlines() == [expected]


def test_leaving_before_a_round_ends_says_none_was_finished(tmp_path):
    result = play_then_quit(tmp_path, quit_ms=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "no rounds finished\n"
    assert scores.read_scores(tmp_path / "scores.jsonl") == []
