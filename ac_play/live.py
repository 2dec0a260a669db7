"""The live window during training: the current policy plays its own episodes beside training.

pygame wants the main thread of its own process, so the window is a separate process (spawn)
fed the newest parameters through a pipe; it plays and draws its own episodes with them, so
drawing never slows training and training never stutters drawing. This module does not import
pygame: the TUI process uses it and never loads pygame itself.

Parent side: `LiveWindow`. `send` only drops the parameters into a one-item slot; a sender
thread ships the newest at most every SEND_INTERVAL seconds, so a slow or hung window can never
block a training step, and stale parameters are simply replaced.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import numpy as np

from ac_play.errors import AcPlayError

SEND_INTERVAL = 0.1
"""Seconds between parameter shipments: the window swaps weights per episode, so more is waste."""
START_TIMEOUT = 60.0
"""Seconds to wait for the window process to report it opened (spawn imports numpy, gymnasium, pygame)."""
LIVE_FPS = 20
"""Frames per second of the live window: enough to follow the pole, and a third of watch's 60, so
the window takes about a tenth of a core (mostly SDL presenting frames) away from training."""
WINDOW_NICENESS = 10
"""The window process yields the CPU to training whenever both want it."""
CLOSE_TIMEOUT = 3.0
WAIT_FRAME = 0.05


class LiveWindow:
    """A window in its own process, showing the newest parameters it was sent."""

    def __init__(self, env_id: str, label: str = "training"):
        self.env_id = env_id
        self.label = label
        self._process = None
        self._conn = None
        self._slot_lock = threading.Lock()
        self._slot: tuple | None = None
        self._wake = threading.Event()
        self._closing = False
        self._sender: threading.Thread | None = None
        self._last_sent = float("-inf")

    def start(self) -> None:
        """Open the window; AcPlayError with the child's reason if it cannot (no display)."""
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=window_main, args=(child_conn, self.env_id, self.label), name="ac-play live window", daemon=True
        )
        self._process.start()
        child_conn.close()
        status, reason = self._await_start()
        if status != "ok":
            self._process.join(CLOSE_TIMEOUT)
            raise AcPlayError(reason)
        self._sender = threading.Thread(target=self._send_loop, name="ac-play live window sender", daemon=True)
        self._sender.start()

    def _await_start(self) -> tuple[str, str]:
        try:
            if self._conn.poll(START_TIMEOUT):
                return self._conn.recv()
        except (EOFError, OSError):
            pass
        self._process.kill()
        return "error", "the live window's process did not start"

    def send(
        self,
        params: dict[str, np.ndarray],
        episode: int,
        normaliser: dict | None = None,
        gamma: float | None = None,
    ) -> None:
        """Hand over a copy of the parameters (of training `episode`); never blocks.

        `normaliser` (the trainer's `normaliser.state()`) and `gamma` let the window show the
        critic in return units next to the real return-to-go; without them it shows both normalised.
        """
        with self._slot_lock:
            self._slot = ("params", params, episode, normaliser, gamma)
        self._wake.set()

    def send_from(self, trainer) -> None:
        """Send the trainer's current weights, at most every SEND_INTERVAL (copies only then).

        Call it from the training thread between updates: the trainer changes its arrays in place.
        """
        now = time.monotonic()
        if now - self._last_sent < SEND_INTERVAL or not self.alive:
            return
        self._last_sent = now
        params = {name: array.copy() for name, array in trainer.agent.params.items()}
        self.send_training(params, trainer.config, trainer.progress.episode, trainer.normaliser)

    def send_training(self, params: dict[str, np.ndarray], config, episode: int, normaliser) -> None:
        """Send copied weights with what the window needs to show the critic in return units."""
        state = normaliser.state() if config.normalize == "running" else None
        self.send(params, episode, state, config.gamma)

    @property
    def alive(self) -> bool:
        """False once the user closed the window (or it was never opened, or closed here)."""
        return self._process is not None and self._process.is_alive() and not self._closing

    def _send_loop(self) -> None:
        while not self._closing:
            self._wake.wait()
            self._wake.clear()
            with self._slot_lock:
                message, self._slot = self._slot, None
            if message is None:
                continue
            try:
                self._conn.send(message)
            except (BrokenPipeError, EOFError, OSError):
                return  # the window was closed; training goes on
            time.sleep(SEND_INTERVAL)

    def close(self) -> None:
        """Close the window and end its process (training stopping closes the window)."""
        if self._process is None:
            return
        self._closing = True
        self._wake.set()
        if self._sender is not None:
            self._sender.join(CLOSE_TIMEOUT)
        if self._sender is None or not self._sender.is_alive():
            # with the sender stuck on a full pipe (a hung window), skip straight to terminate
            try:
                self._conn.send(("close",))
            except (BrokenPipeError, EOFError, OSError):
                pass
            self._process.join(CLOSE_TIMEOUT)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(CLOSE_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()  # a stopped or wedged process ignores SIGTERM
            self._process.join(CLOSE_TIMEOUT)
        self._conn.close()
        self._process = None


class Feed:
    """The window process's end of the pipe: the newest parameters, or the order to close."""

    def __init__(self, conn):
        self.conn = conn
        self.latest: tuple | None = None
        self.closed = False

    def poll(self, timeout: float = 0.0) -> None:
        """Read everything waiting, keeping only the newest parameters."""
        try:
            while not self.closed and self.conn.poll(timeout):
                message = self.conn.recv()
                timeout = 0.0
                if message[0] == "close":
                    self.closed = True
                else:
                    self.latest = message
        except (EOFError, OSError):
            self.closed = True  # training's process is gone

    def apply(self, viewer) -> None:
        """Before a new episode: play it with the newest weights."""
        if self.latest is None:
            return
        from ac_play.agent import ActorCritic
        from ac_play.playthrough import ValueScale

        _, params, episode, normaliser, gamma = self.latest
        self.latest = None
        viewer.play.agent = ActorCritic(params)
        viewer.play.scale = ValueScale(gamma if gamma is not None else ValueScale.gamma, normaliser)
        viewer.source = f"weights of training episode {episode}"

    def on_frame(self, viewer) -> None:
        self.poll()
        if self.closed:
            viewer.running = False


def window_main(conn, env_id: str, label: str) -> None:
    """The window process: open the window, report, then play with the newest weights."""
    from ac_play import viewer as viewing

    if hasattr(os, "nice"):
        os.nice(WINDOW_NICENESS)

    try:
        viewing.open_window(f"ac-play: {label}")
    except AcPlayError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ok", ""))
    feed = Feed(conn)
    try:
        if wait_for_weights(feed, label):
            play_with_feed(feed, env_id, label)
    except KeyboardInterrupt:
        pass  # Ctrl-C in the terminal reaches this process too; training handles it
    finally:
        viewing.pygame.display.quit()


def wait_for_weights(feed: Feed, label: str) -> bool:
    """Show a waiting note until the first weights arrive; False if closed meanwhile."""
    from ac_play import render
    from ac_play.viewer import pygame

    while feed.latest is None:
        if any(event.type == pygame.QUIT for event in pygame.event.get()) or feed.closed:
            return False
        screen = pygame.display.get_surface()
        screen.fill(render.BACKGROUND)
        note = render.text(f"{label}: waiting for the first update's weights", 24, render.TEXT)
        screen.blit(note, note.get_rect(center=screen.get_rect().center))
        pygame.display.flip()
        feed.poll(WAIT_FRAME)
    return True


def play_with_feed(feed: Feed, env_id: str, label: str, frames: int | None = None):
    """Play episodes with the newest weights until the window closes; returns the Viewer."""
    from ac_play.agent import ActorCritic
    from ac_play.playthrough import Playthrough, ValueScale
    from ac_play.viewer import Viewer

    play = Playthrough(ActorCritic(feed.latest[1]), env_id, ValueScale(), seed=0, greedy=True)
    viewer = Viewer(play, label)
    viewer.frame_rate = LIVE_FPS
    feed.apply(viewer)
    play.reset()  # its first episode, with the scale the weights came with
    viewer.before_episode = feed.apply
    try:
        viewer.run(frames, on_frame=feed.on_frame)
    finally:
        play.close()
    return viewer
