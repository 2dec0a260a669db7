"""Scrubbing through a run's history: `watch RUN_DIR`, and the live window once training has ended.

The window plays one snapshot of the run at a time; the learning curve along the bottom
(`timeline.draw_strip`) marks which. `[` and `]` step through the snapshots, Home and End jump to
the first and the last, a click on the strip picks the snapshot nearest the click. A new choice
restarts the episode at once: someone scrubbing wants to see the other weights play now, not
after an episode that may last ten seconds. Each later episode plays the same snapshot.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pygame

from ac_play import checkpoint, history
from ac_play.errors import printable
from ac_play.history import History
from ac_play.snapshot import Snapshot
from ac_play.window import keys, timeline, viewer
from ac_play.window.playthrough import Playthrough
from ac_play.window.viewer import Viewer

KEYMAP = (
    keys.Key((pygame.K_LEFTBRACKET,), "[", "the snapshot before", "previous_snapshot", chars=("[",)),
    keys.Key((pygame.K_RIGHTBRACKET,), "]", "the snapshot after", "next_snapshot", chars=("]",)),
    keys.Key((pygame.K_HOME,), "Home", "the first snapshot: the untrained agent", "first_snapshot"),
    keys.Key((pygame.K_END,), "End", "the last snapshot: the agent when training stopped", "last_snapshot"),
)
"""The timeline's keys, on top of `watch`'s own; a click on the strip picks a snapshot too."""
FINAL = "final.npz"
"""What an older run folder without a history plays: the agent the run ended with."""


class Timeline:
    """A run's history and the snapshot chosen in it."""

    def __init__(self, run: History, threshold: float | None = None):
        self.run = run
        self.index = len(run) - 1
        """The last snapshot to start with: the agent the run ended with, the learning behind it on the strip."""
        self.threshold = threshold
        self.episodes = run.episodes

    @property
    def snapshot(self) -> Snapshot:
        return self.run.snapshots[self.index]

    def header(self) -> str:
        """"episode 120 of 339, running reward 143": where the weights played stood in the run."""
        reward = self.snapshot.progress.running_reward
        return f"episode {self.snapshot.episode} of {self.run.last_episode}, running reward {reward:.0f}"

    def source(self) -> str:
        best = " · the run's best" if self.index == self.run.best_index else ""
        return f"snapshot {self.index + 1} of {len(self.run)}{best} · [ ] Home End or a click below: another"

    def strip(self) -> timeline.Strip:
        run = self.run
        return timeline.Strip(run.curve_returns, run.curve_running, self.episodes, self.index, run.best_index,
                              self.threshold, run.first_episode)


def threshold(play: Playthrough) -> float | None:
    """The env's solve threshold, drawn on the strip (None for an env without one)."""
    spec = play.env.spec
    return None if spec is None or spec.reward_threshold is None else float(spec.reward_threshold)


class TimelineViewer(Viewer):
    """`Viewer` with a run's timeline under the CartPole; without one (yet) it is a plain `Viewer`."""

    keymap = (*viewer.KEYMAP, *KEYMAP)

    def __init__(
        self, playthrough: Playthrough, label: str, speed: float = 1.0, episodes: int | None = None,
        explain: bool = False,
    ):
        super().__init__(playthrough, label, speed, episodes, explain)
        self.timeline: Timeline | None = None
        self.picked = False
        """Whether a snapshot of the timeline plays (the live window offers one before anyone picks)."""
        self.played: list[int | None] = []
        """The snapshot episode each finished episode played (None: weights from elsewhere)."""

    def _step(self) -> None:
        super()._step()
        if len(self.played) < len(self.finished):
            self.played.append(self.timeline.snapshot.episode if self.picked else None)

    def summary(self) -> list[str]:
        """Each finished episode names the snapshot it played; a mean over different snapshots means nothing."""
        lines = super().summary()
        if None in self.played or not self.played:
            return lines
        named = [f"{line}, the agent at episode {episode}" for line, episode in zip(lines, self.played, strict=False)]
        if len(set(self.played)) > 1:
            return [*named, "no mean: the episodes played different snapshots"]
        return [*named, *lines[len(named):]]

    def offer(self, run: History) -> None:
        """Draw the run's timeline under the CartPole, the marker at its last snapshot; the weights playing stay."""
        self.timeline, self.picked = Timeline(run, threshold(self.play)), False

    def drop_timeline(self) -> None:
        self.timeline, self.picked = None, False

    def choose(self, index: int) -> None:
        """Play the snapshot at `index` (clamped), from a fresh episode at once."""
        line = self.timeline
        if line is None:
            return
        index = min(max(index, 0), len(line.run) - 1)
        if self.picked and index == line.index:
            return
        line.index, self.picked = index, True
        if self.play.done:  # the episode on hold is counted among the finished: the fresh one is the next
            self.episode += 1
        self.play.use(line.snapshot)
        self.label, self.source = line.header(), line.source()
        self.restart()

    def previous_snapshot(self) -> None:
        self.step_snapshots(-1)

    def next_snapshot(self) -> None:
        self.step_snapshots(+1)

    def step_snapshots(self, steps: int) -> None:
        if self.timeline is not None:
            self.choose(self.timeline.index + steps)

    def first_snapshot(self) -> None:
        self.choose(0)

    def last_snapshot(self) -> None:
        self.choose(sys.maxsize)

    def frame_rect(self, surface: pygame.Surface) -> pygame.Rect:
        rect = surface.get_rect()
        return rect if self.timeline is None else timeline.split(rect)[0]

    def strip_rect(self, surface: pygame.Surface) -> pygame.Rect:
        return timeline.split(surface.get_rect())[1]

    def draw(self, screen: pygame.Surface) -> None:
        super().draw(screen)
        if self.timeline is not None:
            timeline.draw_strip(screen, self.strip_rect(screen), self.timeline.strip())

    def click(self, pos: tuple[int, int]) -> None:
        """A click on the strip picks the snapshot nearest it; on the scene it pushes the pole."""
        surface = pygame.display.get_surface()
        if self.timeline is None or not self.strip_rect(surface).collidepoint(pos):
            super().click(pos)
            return
        self.choose(timeline.nearest_snapshot(self.strip_rect(surface), self.timeline.strip(), pos[0]))


def load_viewer(
    path: str | None, seed: int, greedy: bool, speed: float, episodes: int | None, explain: bool = False
) -> tuple[Viewer, str]:
    """What `watch PATH` plays, and the name it prints: a run folder's timeline, or a checkpoint.

    An older run folder, trained before runs kept a history, plays its final.npz, with a note.
    """
    if path is not None and history.is_run_folder(path):
        folder = Path(path)
        if (folder / history.HISTORY_NAME).exists() or not (folder / FINAL).exists():
            return run_viewer(folder, seed, greedy, speed, episodes, explain), str(folder)
        print(f"ac-play: note: {printable(str(folder))} has no {history.HISTORY_NAME} (a run from before runs "
              f"kept one): playing its {FINAL}", file=sys.stderr, flush=True)
        path = str(folder / FINAL)
    ckpt = checkpoint.load_or_bundled(path)
    play = Playthrough(Snapshot.from_checkpoint(ckpt), seed, greedy=greedy)
    return Viewer(play, ckpt.name, speed, episodes, explain), ckpt.label


def run_viewer(
    folder: Path, seed: int, greedy: bool, speed: float, episodes: int | None, explain: bool = False
) -> TimelineViewer:
    """The run's history (HistoryError, one line, if it is missing or damaged), from its last snapshot."""
    run = history.load(folder)
    play = Playthrough(run.snapshots[-1], seed, greedy=greedy)
    scrubber = TimelineViewer(play, folder.name, speed, episodes, explain)
    scrubber.offer(run)
    scrubber.last_snapshot()
    return scrubber
