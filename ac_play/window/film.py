"""`ac-play watch --film`: a run's learning as a film, one short episode at each of about a dozen snapshots.

Every scene starts from the same state (the --seed), so what changes from one to the next is the
agent alone. Each is preceded by a title card ("episode 40: running reward 31"). The film is drawn
off-screen frame by frame, so it is the same with or without a display, and the same run folder
and seed give the same film.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygame

from ac_play import history as run_history
from ac_play.cartpole import Track
from ac_play.errors import AcPlayError, printable
from ac_play.window import draw, keys
from ac_play.window.display import open_window
from ac_play.window.human_screens import plural
from ac_play.window.playthrough import Playthrough
from ac_play.window.record import open_recorder
from ac_play.window.viewer import Viewer

FILM_SIZE = (640, 400)
FILM_FPS = 25
"""Frames a second of film: at 1x each frame shows two of CartPole's 50 steps a second."""
FILM_SNAPSHOTS = 12
CARD_SECONDS = 1.2
EPISODE_SECONDS = 2.0
"""An episode is sped up until it fits in this many seconds of film."""
END_SECONDS = 1.0
"""How long the last frame of an episode stays, so a fall can be seen."""
SPEEDS = (1, 2, 4, 8)
CARD_BACKGROUND = (18, 20, 26)
"""Darker than any part of an episode's frame, so a title card reads as a break between scenes."""
CARD_BAR = draw.CHOSEN
"""The bar on a title card: how far through the run the snapshot is, filled in this colour."""
FILM_ADVICE = "record it off-screen with `ac-play watch --film --record learning.gif`"

FILM_KEYMAP = (keys.Key((pygame.K_q, pygame.K_ESCAPE), "q / Esc", "quit", "quit"),)
"""The film in a window takes one key: it plays through on its own."""


def film_speed(length: int, tau: float) -> int:
    """1x when `length` steps of `tau` seconds fit in EPISODE_SECONDS, else the least doubling that fits.

    A 10-step fall plays at 1x (0.2 s), 100 steps at 1x, 200 at 2x, 400 at 4x, CartPole-v1's 500 at
    8x (1.25 s); at most 8x, beyond which (800 steps) the episode is cut at EPISODE_SECONDS.
    """
    return next((speed for speed in SPEEDS if length * tau / speed <= EPISODE_SECONDS), SPEEDS[-1])


@dataclass(frozen=True)
class Card:
    """What a title card says about one snapshot."""

    episode: int
    first_episode: int
    last_episode: int
    running_reward: float
    speed: int
    running: np.ndarray
    """The run's running reward after every episode: the curve drawn under the title."""
    solved_at: int | None = None

    @property
    def title(self) -> str:
        return f"episode {self.episode}: running reward {self.running_reward:.0f}"

    @property
    def through(self) -> float:
        """How far through the run's episodes the snapshot lies, 0 to 1."""
        span = self.last_episode - self.first_episode
        return (self.episode - self.first_episode) / span if span else 1.0

    @property
    def subtitle(self) -> str:
        if self.episode == self.first_episode:
            stage = "before any training" if self.episode == 0 else "where training resumed"
        elif self.solved_at is not None and self.episode >= self.solved_at:
            stage = f"solved at episode {self.solved_at}"
        else:
            stage = f"of {self.last_episode}"
        return f"{stage} · played at {self.speed}x"


def draw_card(surface: pygame.Surface, card: Card) -> None:
    """A title card: the snapshot's episode and running reward, the run's curve up to it, and a bar."""
    surface.fill(CARD_BACKGROUND)
    width, height = surface.get_size()
    title = draw.text(card.title, max(16, height // 11), draw.TEXT, True)
    surface.blit(title, title.get_rect(center=(width // 2, height * 0.22)))
    subtitle = draw.text(card.subtitle, max(12, height // 20), draw.DIM_TEXT)
    surface.blit(subtitle, subtitle.get_rect(center=(width // 2, height * 0.34)))
    margin = width // 10
    curve = pygame.Rect(margin, round(height * 0.45), width - 2 * margin, round(height * 0.3))
    draw_curve(surface, card, curve)
    bar = card_bar(surface)
    pygame.draw.rect(surface, draw.GRID, bar, 1)
    pygame.draw.rect(surface, CARD_BAR, (bar.x, bar.y, round(bar.width * card.through), bar.height))


def card_bar(surface: pygame.Surface) -> pygame.Rect:
    """Where the bar of how far through the run goes (tests read its filled length)."""
    width, height = surface.get_size()
    margin = width // 10
    return pygame.Rect(margin, round(height * 0.84), width - 2 * margin, max(4, height // 50))


def draw_curve(surface: pygame.Surface, card: Card, rect: pygame.Rect) -> None:
    """The running reward over the whole run, dim; bright up to the card's episode."""
    running = np.asarray(card.running, dtype=float)
    if len(running) < 2:
        return
    low, high = min(0.0, float(running.min())), max(float(running.max()), 1.0)
    xs = rect.x + np.arange(len(running)) * (rect.width / (len(running) - 1))
    ys = rect.bottom - (running - low) / (high - low) * rect.height
    points = np.column_stack([xs, ys]).tolist()
    pygame.draw.aalines(surface, draw.GRID, False, points)
    shown = max(0, min(len(running), card.episode - card.first_episode))
    if shown >= 2:
        pygame.draw.aalines(surface, draw.VALUE_LINE, False, points[:shown])
        pygame.draw.aalines(surface, draw.VALUE_LINE, False, [(x, y + 1) for x, y in points[:shown]])


def film_frames(
    runs: run_history.History, seed: int = 0, greedy: bool = True, size: tuple[int, int] = FILM_SIZE,
    fps: int = FILM_FPS, count: int = FILM_SNAPSHOTS,
) -> Iterator[tuple[pygame.Surface, int]]:
    """(frame, how many times in a row it is shown), scene after scene; the same surface each time."""
    surface = pygame.Surface(size)
    tau = Track.from_env_id(runs.config.env_id).tau
    for index in runs.spread(count):
        snapshot = runs.snapshots[index]
        # played once unseen to learn its length, which sets its speed; the same seed replays it exactly
        with closing(Playthrough(snapshot, seed, greedy)) as trial:
            speed = film_speed(episode_length(trial, round(EPISODE_SECONDS * SPEEDS[-1] / tau) + 1), tau)
        draw_card(surface, card_for(runs, index, speed))
        yield surface, round(CARD_SECONDS * fps)
        with closing(Playthrough(snapshot, seed, greedy)) as play:
            yield from episode_frames(surface, play, film_label(runs), snapshot, speed, fps)


def card_for(runs: run_history.History, index: int, speed: int) -> Card:
    snapshot = runs.snapshots[index]
    return Card(snapshot.progress.episode, runs.first_episode, runs.last_episode,
                snapshot.progress.running_reward, speed, runs.curve_running, runs.solved_at)


def episode_length(play: Playthrough, limit: int) -> int:
    """Steps the episode lasts, counted up to `limit` (past it, the film cuts the episode anyway)."""
    while not play.done and play.steps < limit:
        play.step()
    return play.steps


def episode_frames(
    surface: pygame.Surface, play: Playthrough, label: str, snapshot, speed: int, fps: int
) -> Iterator[tuple[pygame.Surface, int]]:
    """The episode at `speed`, cut at EPISODE_SECONDS of film, then its last frame held END_SECONDS."""
    viewer = Viewer(play, label, speed, episodes=1)
    viewer.offscreen = True
    viewer.episode = snapshot.progress.episode
    viewer.source = (f"weights after training episode {snapshot.progress.episode}, "
                     f"running reward {snapshot.progress.running_reward:.0f}")
    for _ in range(round(EPISODE_SECONDS * fps)):
        if play.done:
            break
        draw.draw_frame(surface, film_scene(viewer))
        yield surface, 1
        viewer.advance(1 / fps)
    draw.draw_frame(surface, film_scene(viewer))
    yield surface, round(END_SECONDS * fps)


def film_scene(viewer: Viewer) -> draw.Scene:
    """The viewer's frame without what belongs to a live window (the countdown to the next episode)."""
    return dataclasses.replace(viewer.scene(), hint=None, countdown=None, fps=None)


def film_label(runs: run_history.History) -> str:
    if runs.bundled:
        return "the bundled agent's run"
    return runs.path.parent.name if runs.path.name == run_history.HISTORY_NAME else runs.path.name


def load_film_history(path: str | None) -> run_history.History:
    """The run folder's history, or the bundled agent's when no folder is given; a file is refused."""
    if path is not None and not run_history.is_run_folder(path):
        if Path(path).exists():
            raise AcPlayError(f"--film plays a run folder's history, and {path} is not a folder "
                              "(for a checkpoint, give the run folder it is in)")
        raise AcPlayError(f"--film needs a run folder, and {path} does not exist")
    runs = run_history.load_or_bundled(path)
    Track.from_env_id(runs.config.env_id)  # a run of another env is refused here, before any window opens
    return runs


def run_film(path: str | None, seed: int = 0, greedy: bool = True, record: str | None = None,
             force: bool = False) -> int:
    """`ac-play watch [RUN_DIR] --film`: written to --record off-screen, or else played in a window."""
    recorder = open_recorder(record, FILM_FPS, force) if record is not None else None  # refusals first
    runs = load_film_history(path)
    if recorder is None:
        return play_in_window(runs, seed, greedy)
    # Ctrl-C writes nothing (a film cut anywhere is no film): the CLI says "interrupted", exit 130
    for frame, repeats in film_frames(runs, seed, greedy, size=FILM_SIZE):
        recorder.add(frame, repeats)
    recorder.close()
    episodes = [runs.snapshots[index].progress.episode for index in runs.spread(FILM_SNAPSHOTS)]
    scenes = f"{plural(len(episodes), 'scene')} (episodes {', '.join(map(str, episodes))})"
    print(f"recorded the film of {printable(film_label(runs))}: {scenes}, {recorder.frame_count} frames "
          f"({recorder.seconds:g} s at {FILM_FPS} fps) to {printable(str(recorder.path))}", flush=True)
    return 0


class FilmWindow:
    """The film in a window, at its own pace; q, Esc or closing the window ends it."""

    state = "playing"

    def __init__(self):
        self.running = True

    def quit(self) -> None:
        self.running = False

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            keys.press(self, FILM_KEYMAP, event.key, getattr(event, "unicode", ""))


def play_in_window(runs: run_history.History, seed: int, greedy: bool) -> int:
    """The film in a window of its own, in real time; closed at the end."""
    screen = open_window(f"ac-play watch --film: {film_label(runs)}", FILM_SIZE, FILM_ADVICE, resizable=False)
    try:
        shown = show_film(screen, film_frames(runs, seed, greedy, size=FILM_SIZE))
    finally:
        pygame.display.quit()
    print(f"played {shown} frames of the film of {printable(film_label(runs))}", flush=True)
    return 0


def show_film(screen: pygame.Surface, frames: Iterator[tuple[pygame.Surface, int]], limit: int | None = None) -> int:
    """Show each frame as often as it repeats, at FILM_FPS, until the end, a quit or `limit` frames; the count shown."""
    window, clock, shown = FilmWindow(), pygame.time.Clock(), 0
    for frame, repeats in frames:
        for _ in range(repeats):
            for event in pygame.event.get():
                window.handle(event)
            if not window.running or (limit is not None and shown >= limit):
                return shown
            screen.blit(frame, (0, 0))
            pygame.display.flip()
            clock.tick(FILM_FPS)
            shown += 1
    return shown
