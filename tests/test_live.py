"""The live window during training: its own process, fed the newest weights, never in training's way."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pygame
import pytest

from ac_play import checkpoint, headless, history
from ac_play.config import TrainConfig
from ac_play.errors import AcPlayError
from ac_play.returns import RunningNormaliser
from ac_play.snapshot import Snapshot
from ac_play.training import Progress
from ac_play.window.live import LiveWindow
from ac_play.window.live_window import Feed, play_with_feed


def at_episode(snapshot: Snapshot, episode: int, params=None, normaliser=None) -> Snapshot:
    """The snapshot as if training had reached `episode`, with other weights or statistics if given."""
    return dataclasses.replace(
        snapshot,
        progress=Progress(episode=episode),
        params=params if params is not None else snapshot.params,
        normaliser=normaliser if normaliser is not None else snapshot.normaliser,
    )


@pytest.fixture
def window():
    assert os.environ["SDL_VIDEODRIVER"] == "dummy"  # the spawned process inherits it
    live = LiveWindow("test")
    live.start()
    yield live
    live.close()


def test_the_live_module_does_not_load_pygame():
    code = "import sys, ac_play.window.live; print('pygame' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_stopping_training_closes_the_window_and_ends_its_process(window, bundled_snapshot):
    pid = window.pid
    assert window.alive and pid is not None
    window.send(at_episode(bundled_snapshot, 12))
    window.close()
    assert not window.alive and window.pid is None
    assert window.exitcode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_send_never_blocks_training_even_when_the_window_hangs(window, bundled_snapshot):
    pid = window.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        # a blocking send would hang on the stopped reader's full pipe forever; a timing bound
        # would fail on a busy machine instead, so the test only asks that all 300 sends return
        sender = threading.Thread(
            target=lambda: [window.send(at_episode(bundled_snapshot, episode)) for episode in range(300)],
            daemon=True,
        )
        sender.start()
        sender.join(timeout=30)
        assert not sender.is_alive()
    finally:
        os.kill(pid, signal.SIGCONT)


def test_closing_the_window_leaves_training_going(window, bundled_snapshot):
    os.kill(window.pid, signal.SIGTERM)  # what the user closing the window amounts to: the process ends
    deadline = time.monotonic() + 10
    while window.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not window.alive
    window.send(at_episode(bundled_snapshot, 7))
    window.close()


def test_no_display_is_one_clear_error(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    live = LiveWindow()
    with pytest.raises(AcPlayError, match="^no display to open a window on .*ac-play eval"):
        live.start()
    assert not live.alive


def test_the_window_plays_with_the_newest_weights_it_was_sent(display, bundled_snapshot):
    training_end, window_end = multiprocessing.Pipe()
    stale = {k: np.zeros_like(v) for k, v in bundled_snapshot.params.items()}
    training_end.send(("snapshot", at_episode(bundled_snapshot, 3, params=stale, normaliser=RunningNormaliser())))
    training_end.send(("snapshot", at_episode(bundled_snapshot, 42)))
    feed = Feed(window_end)
    feed.poll()
    viewer = play_with_feed(feed, "training", frames=20)
    assert viewer.source == "weights of training episode 42, running reward 0.0"
    assert viewer.scene().source == "weights of training episode 42, running reward 0.0"
    np.testing.assert_array_equal(viewer.play.agent.params["W1"], bundled_snapshot.params["W1"])
    assert viewer.play.scale.units == "return"
    assert viewer.play.steps > 0


def test_new_weights_wait_for_the_next_episode_and_close_ends_the_loop(display, bundled_snapshot):
    training_end, window_end = multiprocessing.Pipe()
    training_end.send(("snapshot", at_episode(bundled_snapshot, 1, normaliser=RunningNormaliser())))
    feed = Feed(window_end)
    feed.poll()
    viewer = play_with_feed(feed, "training", frames=5)
    assert viewer.play.scale.units == "normalised"
    newer = {k: v * 0.5 for k, v in bundled_snapshot.params.items()}
    training_end.send(("snapshot", at_episode(bundled_snapshot, 80, params=newer)))
    viewer.run(frames=10, on_frame=feed.on_frame)
    assert viewer.source == "weights of training episode 1, running reward 0.0"
    viewer.next_episode()
    assert viewer.source == "weights of training episode 80, running reward 0.0"
    np.testing.assert_array_equal(viewer.play.agent.params["Wa"], newer["Wa"])
    training_end.send(("close",))
    viewer.run(frames=100, on_frame=feed.on_frame)
    assert not viewer.running and viewer.frames < 100


def finished(final: Snapshot, best: Snapshot | None = None, ended: str = "finished", run_dir=None) -> tuple:
    """What `LiveWindow.finish` sends when training has ended."""
    return ("finished", final, best, ended, None if run_dir is None else str(run_dir))


def test_after_training_the_window_plays_the_final_weights_and_its_header_says_so(display, bundled_snapshot):
    training_end, window_end = multiprocessing.Pipe()
    stale = {k: v * 0.5 for k, v in bundled_snapshot.params.items()}
    training_end.send(("snapshot", at_episode(bundled_snapshot, 300, params=stale)))
    feed = Feed(window_end)
    feed.poll()
    viewer = play_with_feed(feed, "training", frames=5)
    episode = viewer.episode
    training_end.send(finished(at_episode(bundled_snapshot, 339)))
    viewer.run(frames=6, on_frame=feed.on_frame)
    # at once, not after the episode on screen: the header must name the weights that play
    assert viewer.episode == episode + 1 and viewer.play.steps <= 5
    assert viewer.scene().label == "training finished at episode 339 · final weights"
    assert viewer.scene().source.startswith("final weights: episode 339, running reward")
    np.testing.assert_array_equal(viewer.play.agent.params["W1"], bundled_snapshot.params["W1"])
    viewer.frame_rate = 500  # a quicker clock for the test; training sends nothing more, the window plays on
    viewer.run(frames=60, on_frame=feed.on_frame)
    viewer.next_episode()
    viewer.run(frames=80, on_frame=feed.on_frame)
    assert viewer.running and viewer.frames == 80
    assert viewer.scene().label == "training finished at episode 339 · final weights"


def test_the_best_weights_take_turns_with_the_final_ones_and_are_named(display, bundled_snapshot):
    training_end, window_end = multiprocessing.Pipe()
    worse = {k: v * 0.9 for k, v in bundled_snapshot.params.items()}
    final = at_episode(bundled_snapshot, 500, params=worse)
    best = dataclasses.replace(bundled_snapshot, progress=Progress(episode=301, running_reward=478.04))
    training_end.send(finished(final, best))
    feed = Feed(window_end)
    feed.poll()
    viewer = play_with_feed(feed, "training", frames=2)
    shown = []
    for _ in range(4):
        shown.append((viewer.scene().label, viewer.scene().source, viewer.play.agent.params["Wa"][0, 0]))
        viewer.next_episode()
    assert [label for label, _, _ in shown] == [
        "training finished at episode 500 · final weights", "training finished at episode 500 · best weights"] * 2
    assert shown[1][1] == "best weights: episode 301, running reward 478.0"
    assert [weight for _, _, weight in shown] == [worse["Wa"][0, 0], bundled_snapshot.params["Wa"][0, 0]] * 2


def test_a_best_with_the_final_weights_is_not_shown_twice(display, bundled_snapshot):
    training_end, window_end = multiprocessing.Pipe()
    training_end.send(finished(at_episode(bundled_snapshot, 339), at_episode(bundled_snapshot, 339), "stopped"))
    feed = Feed(window_end)
    feed.poll()
    viewer = play_with_feed(feed, "training", frames=2)
    for _ in range(3):
        assert viewer.scene().label == "training stopped at episode 339 · final weights"
        viewer.next_episode()


def test_training_again_after_the_end_brings_back_the_newest_weights(display, bundled_snapshot):
    training_end, window_end = multiprocessing.Pipe()
    training_end.send(finished(at_episode(bundled_snapshot, 339)))
    feed = Feed(window_end, "training run-7")
    feed.poll()
    viewer = play_with_feed(feed, "training run-7", frames=2)
    training_end.send(("snapshot", at_episode(bundled_snapshot, 350)))  # the TUI's space after SOLVED
    viewer.run(frames=3, on_frame=feed.on_frame)
    assert viewer.scene().label == "training run-7"
    assert viewer.scene().source == "weights of training episode 350, running reward 0.0"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A short real run (30 episodes), its folder with history.npz."""
    folder = tmp_path_factory.mktemp("run") / "run"
    assert headless.run_headless(TrainConfig(episodes=30, seed=3, update="episode"), out=folder) == 0
    return folder


def ended_window(final: Snapshot, run_dir) -> tuple:
    """A window that played training's weights, then was told training ended in `run_dir`."""
    training_end, window_end = multiprocessing.Pipe()
    training_end.send(("snapshot", at_episode(final, 20)))
    feed = Feed(window_end)
    feed.poll()
    viewer = play_with_feed(feed, "training", frames=2)
    assert viewer.timeline is None
    training_end.send(finished(final, None, "finished", run_dir))
    viewer.run(frames=4, on_frame=feed.on_frame)
    return training_end, feed, viewer


def press(viewer, feed, key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode="", mod=0))
    viewer.run(frames=viewer.frames + 1, on_frame=feed.on_frame)


def test_after_training_the_window_offers_the_timeline_and_a_snapshot_picked_plays_on(display, trained_run):
    run = history.load(trained_run)
    final = run.snapshots[-1]
    training_end, feed, viewer = ended_window(final, trained_run)
    assert viewer.timeline is not None and not viewer.picked  # offered: final and best still take turns
    assert viewer.scene().label == f"training finished at episode {final.episode} · final weights"
    assert viewer.scene().source.endswith(" · [ ] Home End: the run's timeline")
    press(viewer, feed, pygame.K_HOME)
    assert viewer.picked and viewer.timeline.index == 0
    assert viewer.scene().label.startswith("episode 0 of 30, running reward ")
    for _ in range(2):  # the next episodes too: the end of training no longer takes turns
        np.testing.assert_array_equal(viewer.play.agent.params["W1"], run.snapshots[0].params["W1"])
        viewer.next_episode()
    press(viewer, feed, pygame.K_END)
    np.testing.assert_array_equal(viewer.play.agent.params["Wa"], final.params["Wa"])
    training_end.send(("snapshot", at_episode(final, 31)))  # the TUI's space after SOLVED: training goes on
    viewer.run(frames=viewer.frames + 2, on_frame=feed.on_frame)
    assert viewer.timeline is None and viewer.scene().label == "training"


def test_a_history_written_after_the_end_of_training_is_offered_at_the_next_episode(display, trained_run, tmp_path):
    run = history.load(trained_run)
    _, feed, viewer = ended_window(run.snapshots[-1], tmp_path)
    assert viewer.timeline is None
    shutil.copy(trained_run / history.HISTORY_NAME, tmp_path / history.HISTORY_NAME)
    viewer.next_episode()
    assert viewer.timeline is not None and len(viewer.timeline.run) == len(run)


def test_a_damaged_history_costs_the_timeline_not_the_window(display, trained_run, tmp_path):
    (tmp_path / history.HISTORY_NAME).write_bytes((trained_run / history.HISTORY_NAME).read_bytes()[:500])
    run = history.load(trained_run)
    _, feed, viewer = ended_window(run.snapshots[-1], tmp_path)
    assert viewer.timeline is None and viewer.running
    assert "no timeline: " in viewer.scene().source and history.HISTORY_NAME in viewer.scene().source
    press(viewer, feed, pygame.K_HOME)  # the keys do nothing without a timeline
    assert viewer.scene().label.startswith("training finished at episode")


def test_another_runs_history_in_the_folder_costs_the_timeline_not_the_window(display, trained_run, tmp_path):
    other = tmp_path / "other"
    assert headless.run_headless(TrainConfig(episodes=40, seed=3, update="episode", hidden=8), out=other) == 0
    (tmp_path / history.HISTORY_NAME).write_bytes((other / history.HISTORY_NAME).read_bytes())
    _, feed, viewer = ended_window(history.load(trained_run).snapshots[-1], tmp_path)
    assert viewer.timeline is None and viewer.running
    assert "no timeline: the folder's history is another run's" in viewer.scene().source
    viewer.run(frames=viewer.frames + 3, on_frame=feed.on_frame)  # and it plays on


def test_the_window_process_plays_on_after_training_until_it_is_closed(window, bundled_snapshot):
    window.send(at_episode(bundled_snapshot, 30))
    window.finish(at_episode(bundled_snapshot, 40), None)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    window.wait(stop)  # training is over; only the stop (a signal, in the CLI) ends the wait
    assert time.monotonic() - started >= 0.9 and window.alive
    os.kill(window.pid, signal.SIGTERM)  # the user closing it
    give_up = threading.Event()
    guard = threading.Timer(60.0, give_up.set)  # against a hang only: how fast it ends is bench's business
    guard.start()
    window.wait(give_up)
    guard.cancel()
    assert not window.alive and not give_up.is_set()


class TrainWithWindow:
    """`ac-play train --headless --window` in its own session (a terminal's Ctrl-C reaches the group)."""

    def __init__(self, out, *flags):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ac_play", "train", "--headless", "--window", "--out", str(out), *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, start: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line.startswith(start):
                return line

    def window_pid(self) -> int:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid), "-f", "spawn_main"],
                               capture_output=True, text=True)
        return int(found.stdout.split()[0])

    def end(self, timeout: float = 10) -> tuple[int, str]:
        """Exit code and stderr, once it ends."""
        try:
            _, stderr = self.process.communicate(timeout=timeout)
        finally:
            self.kill()
        return self.process.returncode, stderr

    def kill(self) -> None:
        """However the test went, nothing of it is left waiting for a window nobody closes."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def train_with_window(tmp_path):
    runs = []

    def start(*flags) -> TrainWithWindow:
        runs.append(TrainWithWindow(tmp_path, *flags))
        return runs[-1]

    yield start
    for run in runs:
        run.kill()


needs_pgrep = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the window process with pgrep")


@needs_pgrep
def test_headless_training_keeps_the_window_open_with_the_run_saved_until_it_is_closed(tmp_path, train_with_window):
    run = train_with_window("--episodes", "40")
    assert run.wait_for_line("not solved: 40 episodes")
    assert run.wait_for_line("checkpoint: ") == f"checkpoint: {tmp_path / 'final.npz'}"
    assert run.wait_for_line("the live window") == headless.WINDOW_STAYS
    assert {"final.npz", "best.npz", "metrics.jsonl"} <= {path.name for path in tmp_path.iterdir()}
    assert not (tmp_path / ".lock").exists()  # the run folder is already let go
    time.sleep(1.0)
    assert run.process.poll() is None  # training is over, the window plays on
    os.kill(run.window_pid(), signal.SIGTERM)  # the window closed
    code, stderr = run.end()
    assert code == 0, stderr
    assert "Traceback" not in stderr


@needs_pgrep
def test_sigterm_while_the_window_stays_open_ends_at_once_with_143(tmp_path, train_with_window):
    run = train_with_window("--episodes", "40")
    run.wait_for_line("the live window")
    window = run.window_pid()
    run.process.send_signal(signal.SIGTERM)
    code, stderr = run.end(timeout=60)  # a wait for the window would never end: no speed bound needed
    assert code == 143, stderr
    assert "Traceback" not in stderr
    with pytest.raises(ProcessLookupError):
        os.kill(window, 0)
    assert checkpoint.load(tmp_path / "final.npz").meta["progress"]["episode"] == 40


@needs_pgrep
def test_ctrl_c_stops_training_and_the_window_stays_until_closed(tmp_path, train_with_window):
    run = train_with_window("--episodes", "100000", "--hidden", "16")
    run.wait_for_line("episode    100")
    os.killpg(run.process.pid, signal.SIGINT)  # as a terminal sends it: to the window's process too
    assert run.wait_for_line("the live window") == headless.WINDOW_STAYS
    time.sleep(0.5)
    assert run.process.poll() is None
    os.killpg(run.process.pid, signal.SIGINT)  # a second Ctrl-C ends the wait
    code, stderr = run.end()
    assert code == 130, stderr
    assert "interrupted at episode" in stderr and "Traceback" not in stderr
    assert (tmp_path / "final.npz").is_file()


def test_headless_window_without_a_display_is_still_one_line_and_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    result = subprocess.run(
        [sys.executable, "-m", "ac_play", "train", "--headless", "--window", "--episodes", "5",
         "--out", tmp_path / "run"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("ac-play: error: no display to open a window on")
    assert "ac-play eval" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and headless.WINDOW_STAYS not in result.stdout
    # refused before anything was written, so the same --out works once there is a display
    assert not (tmp_path / "run").exists()
