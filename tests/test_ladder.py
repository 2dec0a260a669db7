"""`ac-play human --ladder` and `--agent RUN_DIR --at EPISODE`: stages of a run's training as opponents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pygame
import pytest
from test_human import post_key, pump, start_round

from ac_play import history
from ac_play.errors import AcPlayError
from ac_play.window import draw, human_screens, scores
from ac_play.window.human import Game, make_game
from ac_play.window.human_screens import STATUS_HEIGHT, draw_game, stage_line, window_size
from ac_play.window.ladder import STAGE_FRACTIONS, Ladder, beats, stage_indices

STEP_MS = 40.0  # one env step at the default speed of 0.5 (25 steps a second)


@pytest.fixture(scope="module")
def bundled_run() -> history.History:
    return history.load_or_bundled(None)


@pytest.fixture
def window(display, tmp_path, monkeypatch):
    monkeypatch.setenv(scores.DATA_DIR_VARIABLE, str(tmp_path))
    pygame.event.clear()
    return pygame.display.set_mode(window_size(solo=False))


@pytest.fixture
def run_dir(tmp_path, bundled_run):
    """A run folder holding only a history: the bundled agent's."""
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copyfile(bundled_run.path, folder / history.HISTORY_NAME)
    return folder


def ladder_game(seed: int = 5) -> Game:
    return make_game(None, seed=seed, name="ada", ladder=True)


def balance(game: Game, most_steps: int = 600) -> None:
    """The player's side, held up by keys: push the way the pole leans and falls, one step per frame."""
    for _ in range(most_steps):
        if game.state != "playing":
            return
        _, _, theta, theta_dot = game.player.obs
        leaning_right = theta + 0.5 * theta_dot > 0
        push, other = (pygame.K_RIGHT, pygame.K_LEFT) if leaning_right else (pygame.K_LEFT, pygame.K_RIGHT)
        post_key(other, down=False)
        post_key(push)
        pump(game)
        game.update(STEP_MS)


# choosing the stages


def test_stages_are_the_first_snapshot_the_first_past_each_fraction_and_the_best():
    running = [9.0, 30.0, 40.0, 60.0, 120.0, 119.0, 250.0, 340.0, 480.0, 500.0, 470.0]
    # CartPole-v1's 475: 23.75, 47.5, 95, 190, 332.5 and 475 first reached at 1, 3, 4, 6, 7, 8; the best at 9
    assert stage_indices(running, best_index=9, threshold=475) == [0, 1, 3, 4, 6, 7, 8, 9]
    assert len(STAGE_FRACTIONS) + 2 == 8


def test_a_run_that_jumps_or_never_learns_has_fewer_stages_none_repeated():
    assert stage_indices([5.0, 500.0], best_index=1, threshold=475) == [0, 1]
    assert stage_indices([9.0, 12.0, 11.0], best_index=1, threshold=475) == [0, 1]


def test_the_bundled_ladder_climbs_from_the_untrained_agent_to_the_best(bundled_run):
    ladder = Ladder.of_run(None)
    episodes = [stage.episode for stage in ladder.stages]
    running = [stage.progress.running_reward for stage in ladder.stages]
    assert 6 <= len(ladder.stages) <= 10
    assert episodes[0] == bundled_run.episodes[0] and episodes == sorted(set(episodes))
    assert running[-1] == max(s.progress.running_reward for s in bundled_run.snapshots)
    assert all(later > earlier for earlier, later in zip(running, running[1:], strict=False))
    assert ladder.name == "cartpole-v1.history.npz (bundled)"


def test_a_stage_is_beaten_by_outlasting_it_or_by_reaching_the_step_limit_with_it():
    assert beats(30, 12, False, False) and not beats(12, 12, False, False) and not beats(11, 30, False, False)
    assert beats(500, 500, True, True)


def test_losing_keeps_the_stage_and_beating_the_last_one_says_so():
    ladder = Ladder.of_run(None)
    ladder.finish(False)
    assert ladder.number == 1 and ladder.news == f"Not beaten yet: Enter to try stage 1 of {len(ladder.stages)} again"
    ladder.current = len(ladder.stages) - 1
    ladder.finish(True)
    assert ladder.number == len(ladder.stages) and ladder.highest_beaten == len(ladder.stages)
    assert ladder.news == f"You climbed the whole ladder: all {len(ladder.stages)} stages beaten!"


# playing the ladder with posted keys


def test_beating_stage_1_offers_stage_2_and_the_scores_file_records_it(window, tmp_path):
    game = ladder_game()
    ladder = game.ladder
    first, second = ladder.stages[0].episode, ladder.stages[1].episode
    assert game.agent_name == f"the agent at episode {first}"
    start_round(game)
    balance(game)
    assert game.state == "result"
    assert game.player.steps > game.opponent.steps  # the untrained agent falls first
    count = len(ladder.stages)
    assert ladder.news == f"Stage 1 of {count} beaten! Enter: stage 2 of {count}, the agent at episode {second}"
    [saved] = scores.read_scores(tmp_path / "scores.jsonl")
    assert (saved.ladder, saved.stage, saved.stages, saved.beaten) == (ladder.name, 1, count, True)
    assert saved.agent == f"{ladder.name}, episode {first}"
    start_round(game)  # Enter on the result screen: the next round is stage 2
    assert (ladder.number, game.agent_name) == (2, f"the agent at episode {second}")
    assert game.opponent.label == f"the agent at episode {second}"
    assert np.array_equal(game.opponent.agent.params["W1"], ladder.stages[1].params["W1"])
    assert stage_line(game) == f"stage 2 of {count}"
    assert game.summary().endswith(f"; highest stage beaten 1 of {count}")


def pole_pixels(surface: pygame.Surface, rect: pygame.Rect) -> int:
    pixels = pygame.surfarray.array3d(surface.subsurface(rect)).astype(int)
    return int((np.abs(pixels - np.array(draw.POLE)).max(axis=2) <= 6).sum())


def test_the_status_line_draws_the_stage_in_the_poles_colour(window, bundled):
    ladder, plain = ladder_game(), Game(bundled.agent, "cartpole-v1.npz", name="ada")
    status = pygame.Rect(0, window.get_height() - STATUS_HEIGHT, window.get_width(), STATUS_HEIGHT)
    drawn = []
    for game in (ladder, plain):
        start_round(game)
        draw_game(window, game)
        drawn.append(pole_pixels(window, status))
    assert drawn[0] > 150 and drawn[1] == 0
    assert stage_line(plain) == ""


def test_the_title_names_the_ladder_and_the_stage_to_beat(window):
    game = ladder_game()
    count, last = len(game.ladder.stages), game.ladder.stages[-1].episode
    intro, now = (words for words, _, _ in human_screens.title_lines(game)[2:4])
    assert intro.startswith(f"A ladder of {count} stages of the agent's training, from episode ")
    assert intro.endswith(f"to {last}: outlast a stage to move up.")
    assert now == f"Now stage 1 of {count}: the agent at episode {game.ladder.stages[0].episode}."


# one stage of a run: --agent RUN_DIR --at EPISODE


def test_at_plays_the_snapshot_at_or_before_the_episode(window, run_dir, bundled_run):
    episodes = bundled_run.episodes
    index = next(i for i in range(len(episodes) - 1) if episodes[i + 1] - episodes[i] > 1)  # past the dense start
    game = make_game(str(run_dir), name="ada", at=episodes[index + 1] - 1)
    expected = bundled_run.snapshots[index]
    assert game.agent_name == f"run at episode {expected.episode}"
    assert np.array_equal(game.agent.params["W1"], expected.params["W1"])


def test_a_run_folder_without_at_plays_its_last_snapshot(window, run_dir, bundled_run):
    game = make_game(str(run_dir), name="ada")
    assert game.agent_name == f"run at episode {bundled_run.snapshots[-1].episode}"


def test_a_folder_without_a_history_given_as_agent_is_still_no_checkpoint(window, tmp_path):
    with pytest.raises(AcPlayError, match="is a folder, not a checkpoint"):
        make_game(str(tmp_path), name="ada")


def run_human(*argv: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", scores.DATA_DIR_VARIABLE: str(data_dir)}
    return subprocess.run([sys.executable, "-m", "ac_play", "human", *argv],
                          capture_output=True, text=True, env=env, timeout=60)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("ac-play: error: ")
    return line


OPEN_THEN_CLOSE = """
import sys, pygame
from ac_play import cli
pygame.display.init()
pygame.time.set_timer(pygame.QUIT, 200, loops=1)  # the player closes the window at once
sys.exit(cli.main(["human", *sys.argv[1:]]))
"""


@pytest.mark.parametrize("argv", [["--ladder"], ["--agent", "RUN", "--at", "30"]], ids=["ladder", "at"])
def test_the_game_opens_with_a_ladder_or_one_stage_and_closes(run_dir, tmp_path, argv):
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", scores.DATA_DIR_VARIABLE: str(tmp_path)}
    argv = [str(run_dir) if arg == "RUN" else arg for arg in argv]
    result = subprocess.run([sys.executable, "-c", OPEN_THEN_CLOSE, *argv],
                            capture_output=True, text=True, env=env, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "no rounds finished\n", "")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--at", "5"], "--at picks a snapshot of a run: give the run with --agent RUN_DIR"),
        (["--agent", "RUN", "--at", "-1"], "argument --at: expected 0 or more, not -1"),
        (["--agent", "RUN", "--at", "1.5"], "argument --at: expected a whole number, not '1.5'"),
        (["--ladder", "--solo"], "--ladder plays the stages of one run"),
        (["--ladder", "RUN", "--agent", "RUN"], "it takes no --agent, --at or --solo"),
    ],
    ids=["at-without-run", "negative", "not-whole", "ladder-solo", "ladder-agent"],
)
def test_bad_flags_are_one_line_and_exit_2(run_dir, tmp_path, argv, words):
    line = one_error_line(run_human(*(str(run_dir) if arg == "RUN" else arg for arg in argv), data_dir=tmp_path))
    assert words in line


def test_an_episode_beyond_the_run_names_the_runs_range(run_dir, tmp_path, bundled_run):
    line = one_error_line(run_human("--agent", str(run_dir), "--at", "10000", data_dir=tmp_path))
    assert f"from {bundled_run.episodes[0]} to {bundled_run.last_episode}, not 10000" in line


@pytest.mark.parametrize(
    ("damage", "flags"),
    [("garbage", ["--ladder"]), ("truncated", ["--at", "3", "--agent"]), ("missing", ["--ladder"])],
    ids=["garbage", "truncated", "missing"],
)
def test_a_bad_or_missing_history_is_one_line_and_exit_2(run_dir, tmp_path, damage, flags):
    path = run_dir / history.HISTORY_NAME
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04" + os.urandom(300))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.unlink()
    line = one_error_line(run_human(*flags, str(run_dir), data_dir=tmp_path))
    assert str(run_dir) in line


# the scores file


def ladder_round(stage: int, beaten: bool, ladder: str = "/runs/a", stages: int = 8) -> scores.Score:
    return scores.Score(name="ada", date="2026-01-02T10:00:00", seed=3, speed=0.5, player_steps=40, agent_steps=20,
                        agent=f"{ladder}, episode 9", ladder=ladder, stage=stage, stages=stages, beaten=beaten)


def test_ladder_rounds_read_back_beside_older_lines_without_ladder_fields(tmp_path):
    path = tmp_path / "scores.jsonl"
    old = {"name": "bo", "date": "2025-01-01", "seed": 1, "speed": 0.5, "player_steps": 9, "agent_steps": 500,
           "agent": "cartpole-v1.npz"}
    path.write_text(json.dumps(old) + "\n")
    scores.append_score(ladder_round(2, True), path)
    older, climbed = scores.read_scores(path)
    assert (older.ladder, older.stage, older.beaten) == (None, None, None)
    assert (climbed.ladder, climbed.stage, climbed.stages, climbed.beaten) == ("/runs/a", 2, 8, True)


@pytest.mark.parametrize(
    "fields",
    [{"stage": 9}, {"stage": 0}, {"stage": True}, {"beaten": None}, {"beaten": 1}, {"ladder": None}, {"stages": "8"}],
    ids=["past-the-top", "zero", "bool-stage", "no-beaten", "int-beaten", "no-ladder", "text-stages"],
)
def test_a_hand_edited_ladder_round_is_skipped(tmp_path, fields):
    scores_file = scores.ScoreFile(tmp_path / "scores.jsonl")
    line = {**asdict(ladder_round(3, True)), **fields}
    scores_file.path.write_text(json.dumps(line) + "\n" + json.dumps(asdict(ladder_round(1, True))) + "\n")
    assert [s.stage for s in scores_file.all()] == [1] and scores_file.skipped == 1


def test_scores_flag_prints_the_highest_stage_beaten_on_each_ladder(tmp_path):
    path = tmp_path / "scores.jsonl"
    for score in (ladder_round(1, True), ladder_round(3, True), ladder_round(4, False),
                  ladder_round(1, False, ladder="/runs/\x1bb", stages=6)):
        scores.append_score(score, path)
    result = run_human("--scores", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        "ladder /runs/\\x1bb: no stage of 6 beaten yet",  # sorted by name, printed with escapes
        "ladder /runs/a: highest stage beaten 3 of 8",
    ]
