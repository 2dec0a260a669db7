"""The live window's own process: open the window, then play episodes with the newest snapshot.

Started by `live.LiveWindow` (spawn), which feeds it snapshots through a pipe; this is the only
side of the pipe that imports pygame. After training, the window plays on: the final weights,
and the run's best in turn when they differ, with the header saying which, until it is closed.
Once the trainer has written the run's history, the window offers its timeline under the CartPole
(`scrub`): the same keys as `watch RUN_DIR` pick a snapshot, which then plays instead.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygame

from ac_play import history
from ac_play.errors import AcPlayError
from ac_play.snapshot import Snapshot
from ac_play.window import draw
from ac_play.window.display import open_window
from ac_play.window.playthrough import Playthrough
from ac_play.window.scrub import TimelineViewer
from ac_play.window.viewer import WATCH_ADVICE, WINDOW_SIZE

LIVE_FPS = 20
"""Frames per second of the live window: enough to follow the pole, and a third of watch's 60, so
the window takes about a tenth of a core (mostly SDL presenting frames) away from training."""
WINDOW_NICENESS = 10
"""The window process yields the CPU to training whenever both want it."""
WAIT_FRAME = 0.05


@dataclass(frozen=True)
class Ending:
    """Training has ended ("finished", or "stopped" by an error): the weights played from then on."""

    final: Snapshot
    best: Snapshot | None
    """The run's best weights, when they differ from the final ones: they take turns."""
    ended: str = "finished"

    @classmethod
    def of(cls, final: Snapshot, best: Snapshot | None, ended: str) -> Ending:
        """The end of training; a best with the final weights (the usual case once solved) is not shown twice."""
        if best is not None and all(np.array_equal(best.params[k], v) for k, v in final.params.items()):
            best = None
        return cls(final, best, ended)

    def turn(self, number: int) -> tuple[Snapshot, str, str]:
        """The weights of the `number`th episode since the end, the header's title and the line naming them."""
        snapshot, which = (self.best, "best") if self.best is not None and number % 2 else (self.final, "final")
        title = f"training {self.ended} at episode {self.final.episode} · {which} weights"
        source = f"{which} weights: episode {snapshot.episode}, running reward {snapshot.progress.running_reward:.1f}"
        return snapshot, title, source


class Feed:
    """The window process's end of the pipe: the newest snapshot, the end of training, or the order to close."""

    def __init__(self, conn, label: str = "training"):
        self.conn = conn
        self.label = label
        self.latest: Snapshot | None = None
        self.ending: Ending | None = None
        self.turns = 0
        self.changed = False
        """Training ended or started again: the episode on screen names weights no longer current."""
        self.closed = False
        self.run_dir: Path | None = None
        """The run folder, once training has ended: its history becomes the timeline."""
        self.timeline_note = ""
        self.history_seen: float | None = None
        """The modification time of the history last read, so an unchanged file is not read again."""

    def poll(self, timeout: float = 0.0) -> None:
        """Read everything waiting, keeping only the newest snapshot."""
        try:
            while not self.closed and self.conn.poll(timeout):
                self.take(self.conn.recv())
                timeout = 0.0
        except (EOFError, OSError):
            self.closed = True  # training's process is gone

    def take(self, message: tuple) -> None:
        kind = message[0]
        if kind == "close":
            self.closed = True
        elif kind == "finished":
            self.ending, self.latest, self.turns, self.changed = Ending.of(*message[1:4]), None, 0, True
            self.run_dir = Path(message[4]) if len(message) > 4 and message[4] else None
            self.history_seen = None
        else:
            self.latest = message[1]
            self.changed = self.changed or self.ending is not None  # training goes on (the TUI's space)
            self.ending = None

    @property
    def ready(self) -> bool:
        """Something to play: weights from training, or its end."""
        return self.latest is not None or self.ending is not None

    @property
    def first(self) -> Snapshot:
        return self.latest if self.latest is not None else self.ending.final

    def apply(self, viewer: TimelineViewer) -> None:
        """Before a new episode: play it with the newest weights (after training: final and best in turn,
        until a snapshot is picked on the timeline)."""
        if self.ending is not None:
            self.offer_timeline(viewer)
            if viewer.picked:
                return  # the snapshot picked plays on, episode after episode
            snapshot, viewer.label, viewer.source = self.ending.turn(self.turns)
            viewer.source += self.timeline_note if viewer.timeline is None else " · [ ] Home End: the run's timeline"
            self.turns += 1
        elif self.latest is not None:
            snapshot, viewer.label = self.latest, self.label
            viewer.source = weights_line(snapshot)
            self.latest = None
            viewer.drop_timeline()  # training goes on: the history on disk is no longer the whole run
        else:
            return
        self.changed = False
        viewer.play.use(snapshot)

    def offer_timeline(self, viewer: TimelineViewer) -> None:
        """The run's history under the CartPole, once the trainer has written it as far as the final weights.

        Looked for at each new episode: the TUI writes it when the run is solved or saved, not
        always by the time training ends, and an older one on disk ends before the final weights.
        """
        if viewer.timeline is not None or self.run_dir is None:
            return
        path = self.run_dir / history.HISTORY_NAME
        try:
            written = path.stat().st_mtime
        except OSError:
            return  # not written yet
        if written == self.history_seen:
            return
        self.history_seen = written
        try:
            run = history.load(path)
        except AcPlayError as exc:  # a damaged history costs the timeline, never the window
            self.run_dir, self.timeline_note = None, f" · no timeline: {exc}"
            return
        final = self.ending.final
        if run.config.env_id != final.config.env_id or run.snapshots[-1].agent.hidden != final.agent.hidden:
            # another run's history put in the folder: its weights would not fit this env's window
            self.run_dir, self.timeline_note = None, " · no timeline: the folder's history is another run's"
        elif run.episodes[-1] >= final.episode:
            viewer.offer(run)

    def on_frame(self, viewer: TimelineViewer) -> None:
        self.poll()
        if self.closed:
            viewer.running = False
        elif self.changed:
            viewer.next_episode()  # at once: the header must not name weights that no longer play


def run_window(conn, label: str, advice: str | None = None) -> None:
    """The window process: open the window, report, then play with the newest weights."""
    if hasattr(os, "nice"):
        os.nice(WINDOW_NICENESS)
    # the parent decides when the window closes: Ctrl-C in the terminal reaches this process too,
    # and after Ctrl-C has stopped training the window stays open with the final weights
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        open_window(f"ac-play: {label}", WINDOW_SIZE, advice or WATCH_ADVICE)
    except AcPlayError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ok", ""))
    feed = Feed(conn, label)
    try:
        if wait_for_weights(feed, label):
            play_with_feed(feed, label)
    finally:
        pygame.display.quit()


def wait_for_weights(feed: Feed, label: str) -> bool:
    """Show a waiting note until the first weights arrive; False if closed meanwhile."""
    while not feed.ready:
        if any(event.type == pygame.QUIT for event in pygame.event.get()) or feed.closed:
            return False
        screen = pygame.display.get_surface()
        screen.fill(draw.BACKGROUND)
        note = draw.text(f"{label}: waiting for the first update's weights", 24, draw.TEXT)
        screen.blit(note, note.get_rect(center=screen.get_rect().center))
        pygame.display.flip()
        feed.poll(WAIT_FRAME)
    return True


def weights_line(snapshot: Snapshot) -> str:
    """Which weights play during training: "weights of training episode 120, running reward 143.2"."""
    return f"weights of training episode {snapshot.episode}, running reward {snapshot.progress.running_reward:.1f}"


def play_with_feed(feed: Feed, label: str, frames: int | None = None) -> TimelineViewer:
    """Play episodes with the newest weights until the window closes; returns the viewer."""
    play = Playthrough(feed.first, seed=0, greedy=True)
    viewer = TimelineViewer(play, label)
    viewer.frame_rate = LIVE_FPS
    feed.apply(viewer)
    viewer.before_episode = feed.apply
    try:
        viewer.run(frames, on_frame=feed.on_frame)
    finally:
        play.close()
    return viewer
