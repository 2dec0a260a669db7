"""`watch RUN_DIR`: a run's snapshots played one at a time, chosen on the learning curve along the bottom."""

from __future__ import annotations

import shutil

import numpy as np
import pygame
import pytest
from conftest import reset_fonts

from ac_play import headless, history
from ac_play.config import TrainConfig
from ac_play.window import scrub, timeline, viewer

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


# -- watch RUN_DIR: a trained run's history -------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A short real run, its folder with history.npz: an update every 16 episodes, so 5 snapshots in 60 episodes."""
    folder = tmp_path_factory.mktemp("run") / "run"
    assert headless.run_headless(TrainConfig(episodes=60, seed=3, update="episode"), out=folder) == 0
    assert (folder / history.HISTORY_NAME).is_file()
    return folder


@pytest.fixture(scope="module")
def run(run_dir):
    return history.load(run_dir)


@pytest.fixture
def scrubber(display, run_dir):
    """`watch RUN_DIR` as the window sees it, on SDL's dummy driver."""
    reset_fonts()
    shown, name = scrub.load_viewer(str(run_dir), seed=0, greedy=True, speed=1.0, episodes=None)
    assert name == str(run_dir)
    yield shown
    shown.play.close()


def press(shown: viewer.Viewer, key: int, char: str = "") -> None:
    """A key as pygame delivers it, handled by one frame of the window's loop."""
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char, mod=0))
    shown.run(frames=shown.frames + 1)


def click(shown: viewer.Viewer, pos: tuple[int, int]) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
    shown.run(frames=shown.frames + 1)


def plays(shown: scrub.TimelineViewer, snapshot) -> bool:
    """Whether the weights playing are this snapshot's."""
    return all(np.array_equal(shown.play.agent.params[name], array) for name, array in snapshot.params.items())


def test_a_run_folder_starts_at_its_last_snapshot_and_the_header_says_where_it_stood(scrubber, run):
    last = run.snapshots[-1]
    assert scrubber.timeline.index == len(run) - 1 and plays(scrubber, last)
    reward = round(last.progress.running_reward)
    assert scrubber.scene().label == f"episode {last.episode} of {run.last_episode}, running reward {reward}"
    assert run.last_episode == 60


def test_brackets_home_and_end_step_through_the_snapshots_and_the_weights_played(scrubber, run):
    assert len(run) >= 4
    last = len(run) - 1
    steps = [(pygame.K_LEFTBRACKET, "[", last - 1), (pygame.K_LEFTBRACKET, "[", last - 2),
             (pygame.K_RIGHTBRACKET, "]", last - 1), (pygame.K_HOME, "", 0), (pygame.K_LEFTBRACKET, "[", 0),
             (pygame.K_RIGHTBRACKET, "]", 1), (pygame.K_END, "", last), (pygame.K_RIGHTBRACKET, "]", last)]
    for key, char, index in steps:
        press(scrubber, key, char)
        snapshot = run.snapshots[index]
        assert scrubber.timeline.index == index and plays(scrubber, snapshot), (char or key, index)
        assert scrubber.scene().label.startswith(f"episode {snapshot.episode} of 60, running reward ")


def test_home_shows_the_untrained_agent_and_its_critic_in_its_own_units(scrubber, run):
    press(scrubber, pygame.K_HOME)
    first = run.snapshots[0]
    assert first.episode == 0 and scrubber.scene().label.startswith("episode 0 of 60, running reward ")
    assert scrubber.play.scale.units == ("return" if first.value_normaliser else "normalised")
    for key, index in ((pygame.K_RIGHTBRACKET, 1), (pygame.K_END, len(run) - 1)):
        press(scrubber, key, "]" if key == pygame.K_RIGHTBRACKET else "")
        assert scrubber.play.scale.units == "return"
        assert scrubber.play.scale.running.state() == run.snapshots[index].value_normaliser.state()
    assert run.snapshots[1].normaliser.state() != run.snapshots[-1].normaliser.state()


def test_another_snapshot_restarts_the_episode_at_once(scrubber):
    scrubber.frame_rate = 1000  # a quicker clock: the test only needs some steps taken
    scrubber.speed = 8.0
    scrubber.run(frames=40)
    press(scrubber, pygame.K_SPACE, " ")  # paused, so no step is taken after the choice
    assert scrubber.play.steps > 0 and scrubber.paused
    press(scrubber, pygame.K_LEFTBRACKET, "[")
    assert scrubber.play.steps == 0 and not scrubber.play.done and scrubber.play.values == [scrubber.play.value]


def test_a_click_on_the_strip_picks_the_snapshot_nearest_it(scrubber, run):
    screen = pygame.display.get_surface()
    rect = scrubber.strip_rect(screen)
    grid = timeline.axes(rect, scrubber.timeline.strip())
    for index in (3, 0, len(run) // 2):
        x = round(float(grid.x([run.episodes[index]])[0]))
        click(scrubber, (x, grid.plot.centery))
        assert scrubber.timeline.index == index and plays(scrubber, run.snapshots[index])
    pushes = scrubber.pushes
    click(scrubber, (100, 150))  # on the scene, a click still pushes the pole
    assert scrubber.pushes == pushes + 1 and scrubber.timeline.index == len(run) // 2


def test_the_marker_in_the_window_moves_with_the_keys(scrubber):
    screen = pygame.display.get_surface()
    rect = scrubber.strip_rect(screen)
    columns = []
    for key in (pygame.K_END, pygame.K_HOME):
        press(scrubber, key)
        columns.append(marker_columns(screen.subsurface(rect)))
    assert columns[0] and columns[1] and min(columns[1]) < min(columns[0])


def test_the_summary_names_the_snapshot_each_episode_played(scrubber, run):
    scrubber.frame_rate, scrubber.speed = 1000, 8.0
    press(scrubber, pygame.K_HOME)  # the untrained agent falls within a second or so
    while not scrubber.finished:
        scrubber.run(frames=scrubber.frames + 20)
    lines = scrubber.summary()
    assert lines[0].endswith(", untouched, the agent at episode 0")
    assert lines[-1].startswith("mean return over 1 untouched episode")


def test_a_snapshot_picked_after_an_episode_ended_numbers_the_next_as_the_summary_does(scrubber):
    scrubber.frame_rate, scrubber.speed = 1000, 8.0
    press(scrubber, pygame.K_HOME)
    while not scrubber.finished:
        scrubber.run(frames=scrubber.frames + 20)
    press(scrubber, pygame.K_RIGHTBRACKET)  # during the finished episode's hold
    assert scrubber.scene().episode == 2
    press(scrubber, pygame.K_RIGHTBRACKET)  # an unfinished episode is not counted: the same number
    assert scrubber.scene().episode == 2


def test_an_older_run_folder_without_a_history_plays_its_final_checkpoint(display, run_dir, tmp_path, capsys):
    older = tmp_path / "older"
    older.mkdir()
    shutil.copy(run_dir / "final.npz", older / "final.npz")
    shown, name = scrub.load_viewer(str(older), seed=0, greedy=True, speed=1.0, episodes=None)
    shown.play.close()
    assert name == str(older / "final.npz") and not isinstance(shown, scrub.TimelineViewer)
    assert capsys.readouterr().err == (f"ac-play: note: {older} has no history.npz (a run from before runs kept one): "
                                       "playing its final.npz\n")


def damaged(run_dir, tmp_path, how: str):
    folder = tmp_path / how
    folder.mkdir()
    data = (run_dir / history.HISTORY_NAME).read_bytes()
    if how == "corrupt":
        (folder / history.HISTORY_NAME).write_bytes(data[:200] + bytes(range(256)) * 4 + data[1224:])
    elif how == "truncated":
        (folder / history.HISTORY_NAME).write_bytes(data[: len(data) // 2])
    return folder


@pytest.mark.parametrize("how", ["corrupt", "truncated", "empty"])
def test_watch_of_a_run_folder_with_a_bad_or_no_history_is_one_line_and_exit_2(cli, run_dir, tmp_path, how):
    folder = damaged(run_dir, tmp_path, how)
    result = cli("watch", folder, "--frames", "5")
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("ac-play: error: ")
    assert str(folder / history.HISTORY_NAME) in result.stderr or (how == "empty" and str(folder) in result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
