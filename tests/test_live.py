"""The live window during training: its own process, fed the newest weights, never in training's way."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

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
        slowest = 0.0
        for episode in range(300):
            started = time.perf_counter()
            window.send(at_episode(bundled_snapshot, episode))
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.005
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
    assert viewer.source == "weights of training episode 42"
    assert viewer.scene().source == "weights of training episode 42"
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
    assert viewer.source == "weights of training episode 1"
    viewer.next_episode()
    assert viewer.source == "weights of training episode 80"
    np.testing.assert_array_equal(viewer.play.agent.params["Wa"], newer["Wa"])
    training_end.send(("close",))
    viewer.run(frames=100, on_frame=feed.on_frame)
    assert not viewer.running and viewer.frames < 100


def test_headless_training_with_a_window_finishes_and_closes_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ac_play", "train", "--headless", "--window", "--episodes", "40", "--out", tmp_path],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "final.npz").is_file()
    assert "Traceback" not in result.stderr
