"""The live window's own process: open the window, then play episodes with the newest snapshot.

Started by `live.LiveWindow` (spawn), which feeds it snapshots through a pipe; this is the only
side of the pipe that imports pygame.
"""

from __future__ import annotations

import os

import pygame

from ac_play.errors import AcPlayError
from ac_play.snapshot import Snapshot
from ac_play.window import draw
from ac_play.window.display import open_window
from ac_play.window.playthrough import Playthrough
from ac_play.window.viewer import WATCH_ADVICE, WINDOW_SIZE, Viewer

LIVE_FPS = 20
"""Frames per second of the live window: enough to follow the pole, and a third of watch's 60, so
the window takes about a tenth of a core (mostly SDL presenting frames) away from training."""
WINDOW_NICENESS = 10
"""The window process yields the CPU to training whenever both want it."""
WAIT_FRAME = 0.05


class Feed:
    """The window process's end of the pipe: the newest snapshot, or the order to close."""

    def __init__(self, conn):
        self.conn = conn
        self.latest: Snapshot | None = None
        self.closed = False

    def poll(self, timeout: float = 0.0) -> None:
        """Read everything waiting, keeping only the newest snapshot."""
        try:
            while not self.closed and self.conn.poll(timeout):
                message = self.conn.recv()
                timeout = 0.0
                if message[0] == "close":
                    self.closed = True
                else:
                    self.latest = message[1]
        except (EOFError, OSError):
            self.closed = True  # training's process is gone

    def apply(self, viewer: Viewer) -> None:
        """Before a new episode: play it with the newest weights."""
        if self.latest is None:
            return
        viewer.play.use(self.latest)
        viewer.source = f"weights of training episode {self.latest.episode}"
        self.latest = None

    def on_frame(self, viewer: Viewer) -> None:
        self.poll()
        if self.closed:
            viewer.running = False


def run_window(conn, label: str) -> None:
    """The window process: open the window, report, then play with the newest weights."""
    if hasattr(os, "nice"):
        os.nice(WINDOW_NICENESS)
    try:
        open_window(f"ac-play: {label}", WINDOW_SIZE, WATCH_ADVICE)
    except AcPlayError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ok", ""))
    feed = Feed(conn)
    try:
        if wait_for_weights(feed, label):
            play_with_feed(feed, label)
    except KeyboardInterrupt:
        pass  # Ctrl-C in the terminal reaches this process too; training handles it
    finally:
        pygame.display.quit()


def wait_for_weights(feed: Feed, label: str) -> bool:
    """Show a waiting note until the first weights arrive; False if closed meanwhile."""
    while feed.latest is None:
        if any(event.type == pygame.QUIT for event in pygame.event.get()) or feed.closed:
            return False
        screen = pygame.display.get_surface()
        screen.fill(draw.BACKGROUND)
        note = draw.text(f"{label}: waiting for the first update's weights", 24, draw.TEXT)
        screen.blit(note, note.get_rect(center=screen.get_rect().center))
        pygame.display.flip()
        feed.poll(WAIT_FRAME)
    return True


def play_with_feed(feed: Feed, label: str, frames: int | None = None) -> Viewer:
    """Play episodes with the newest weights until the window closes; returns the Viewer."""
    play = Playthrough(feed.latest, seed=0, greedy=True)
    viewer = Viewer(play, label)
    viewer.frame_rate = LIVE_FPS
    feed.apply(viewer)
    viewer.before_episode = feed.apply
    try:
        viewer.run(frames, on_frame=feed.on_frame)
    finally:
        play.close()
    return viewer
