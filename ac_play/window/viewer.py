"""`ac-play watch`: a checkpoint plays CartPole in a window, at the env's real time.

The window, the clock and the keys live here; the drawing is `draw.draw_frame` and the episode
is a `Playthrough`. Input is handled by `Viewer.handle(event)` and the loop can run a fixed
number of frames, so tests drive it with posted pygame events.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygame

from ac_play.cartpole import Track
from ac_play.errors import SettingError, printable
from ac_play.window import keys
from ac_play.window.display import NoDisplayError, open_offscreen, open_window
from ac_play.window.draw import Scene, draw_frame, layout, pole_tip, world_view
from ac_play.window.explain import Explainer, draw_explained_frame, explained_layout
from ac_play.window.human_screens import plural
from ac_play.window.playthrough import Playthrough
from ac_play.window.record import Recorder, open_recorder

WINDOW_SIZE = (800, 500)
FPS = 60
RECORD_FPS = 50
"""Recording runs at the env's own 50 steps/s, one GIF frame of 20 ms per step at 1x."""
MIN_SPEED, MAX_SPEED = 0.25, 8.0
END_HOLD = 5.0
"""Seconds a finished episode stays on screen, to compare the critic with what happened; space moves on sooner."""
RECORD_HOLD = 3.0
"""Seconds of frames a recording holds each finished episode (a GIF takes no keys)."""
HEADLESS_EPISODES = 1
"""Episodes a recording without a display plays when neither --episodes nor --frames bounds it."""
KICK_SHOWN = 0.4
"""Seconds the arrow of a push stays on screen."""
MAX_CATCH_UP = 0.25
"""Seconds of env time one frame may catch up after a stall, so a slow frame never snowballs."""

WATCH_ADVICE = "score an agent with `ac-play eval`, or watch training in the terminal with `ac-play train`"


NEXT = keys.Key((pygame.K_SPACE,), "space", "next episode", "next_episode", states=("ended",))
HOLD = keys.Key((pygame.K_p,), "p", "hold the finished episode on screen", "hold", states=("ended",))

KEYMAP = (
    keys.Key((pygame.K_q, pygame.K_ESCAPE), "q / Esc", "quit", "quit"),
    keys.Key((pygame.K_SPACE,), "space", "pause or go on", "toggle_pause", states=("playing", "paused")),
    NEXT,
    HOLD,
    keys.Key((pygame.K_RIGHT, pygame.K_PERIOD), "→ / .", "one step", "single_step", states=("paused",)),
    keys.Key((pygame.K_LEFT,), "←", "push the pole left", "push_left"),
    keys.Key((pygame.K_RIGHT,), "→", "push the pole right", "push_right", states=("playing",)),
    keys.Key((pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS), "+", "faster", "faster", chars=("+",)),
    keys.Key((pygame.K_MINUS, pygame.K_KP_MINUS), "-", "slower", "slower", chars=("-",)),
    keys.Key((pygame.K_g,), "g", "greedy or sampled", "toggle_greedy"),
    keys.Key((pygame.K_r,), "r", "restart the episode", "restart"),
    keys.Key((pygame.K_s,), "s", "screenshot", "save_screenshot"),
    keys.Key((pygame.K_x,), "x", "explain mode: inputs, hidden units, advantages", "toggle_explain"),
)
"""The keys of `watch` and the live window; a click on the scene pushes the pole too."""


@dataclass(frozen=True)
class Finished:
    """One finished episode, for the closing summary."""

    episode_return: float
    length: int
    pushes: int
    """Pushes on the pole by key or click: a pushed episode does not score the agent alone."""


class Viewer:
    """Plays episodes in a window: time, speed, pause, keys, and what each frame shows."""

    keymap = KEYMAP

    def __init__(self, playthrough: Playthrough, label: str, speed: float = 1.0, episodes: int | None = None,
                 explain: bool = False):
        self.play = playthrough
        self.explainer = Explainer.for_env(playthrough.env, on=explain)
        self.track = Track.from_env(playthrough.env)
        self.label = label
        self.speed = SettingError.unless_between("speed", speed, MIN_SPEED, MAX_SPEED)
        self.episodes = episodes
        self.episode = 1
        self.finished: list[Finished] = []
        self.paused = False
        self.offscreen = False
        """Drawn for a recording only: no clock to wait for, no keys to offer."""
        self.hold_seconds = END_HOLD
        self.pushes = 0
        self.running = True
        self.source: str | None = None
        self.frame_rate = FPS
        self.measured_fps: float | None = None
        self.frames = 0
        self._env_time = 0.0
        self._hold = 0.0
        self._kick = (0, 0.0)
        self.before_episode: Callable[[Viewer], None] | None = None
        """Called before each new episode starts (the live window swaps in new weights there)."""

    # -- input --------------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> None:
        """React to one pygame event (keys, clicks, closing the window)."""
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            self.key(event.key, getattr(event, "unicode", ""))
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self.click(event.pos)

    def key(self, key: int, char: str = "") -> None:
        keys.press(self, self.keymap, key, char)

    @property
    def state(self) -> str:
        """"ended", "paused" or "playing": which rows of the keymap apply."""
        if self.play.done:
            return "ended"
        return "paused" if self.paused else "playing"

    def quit(self) -> None:
        self.running = False

    def toggle_pause(self) -> None:
        self.paused = not self.paused

    def hold(self) -> None:
        """Keep the finished episode on screen until space."""
        self.paused = True

    def toggle_explain(self) -> None:
        self.explainer.on = not self.explainer.on

    def toggle_greedy(self) -> None:
        self.play.greedy = not self.play.greedy

    def push_left(self) -> None:
        self.kick(-1)

    def push_right(self) -> None:
        self.kick(1)

    def faster(self) -> None:
        self.change_speed(+1)

    def slower(self) -> None:
        self.change_speed(-1)

    def click(self, pos: tuple[int, int]) -> None:
        """A click pushes the pole away from the side it was clicked on."""
        surface = pygame.display.get_surface()
        scene_rect = (explained_layout if self.explainer.on else layout)(self.frame_rect(surface)).scene
        view = world_view(scene_rect, self.track)
        tip_x, _ = pole_tip(view, float(self.play.obs[0]), float(self.play.obs[2]), self.track)
        self.kick(1 if pos[0] < tip_x else -1)

    def kick(self, direction: int) -> None:
        if not self.play.done:
            self.play.kick(direction)
            self.pushes += 1
            self._kick = (direction, KICK_SHOWN)

    def change_speed(self, steps: int) -> None:
        """Each step doubles or halves the speed, within MIN_SPEED and MAX_SPEED."""
        self.speed = min(MAX_SPEED, max(MIN_SPEED, self.speed * 2.0**steps))

    def single_step(self) -> None:
        self._step()

    def _step(self) -> None:
        self.explainer.observe(self.play)  # every state acted on counts, drawn or not
        self.play.step()
        if self.play.done:
            self.finished.append(Finished(self.play.episode_return, self.play.steps, self.pushes))
            self._hold = self.hold_seconds

    def save_screenshot(self) -> Path:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = Path(f"ac-play-{stamp}.png")
        pygame.image.save(pygame.display.get_surface(), str(path))
        print(f"screenshot saved to {path}", flush=True)
        return path

    # -- time ---------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let `seconds` of wall time pass: env steps at tau each, scaled by the speed."""
        direction, shown = self._kick
        self._kick = (direction, shown - seconds) if shown > seconds else (0, 0.0)
        if self.paused:
            return
        if self.play.done:
            self._hold -= seconds
            if self._hold <= 0:
                self.next_episode()
            return
        self._env_time = min(self._env_time + seconds * self.speed, MAX_CATCH_UP * self.speed)
        while self._env_time >= self.track.tau and not self.play.done:
            self._env_time -= self.track.tau
            self._step()

    @property
    def last_episode(self) -> bool:
        return self.episodes is not None and len(self.finished) >= self.episodes

    def next_episode(self) -> None:
        """End the hold of a finished episode: the next one starts, or the run ends after the last."""
        self.paused = False
        if self.last_episode:
            self.running = False
            return
        self.episode += 1
        self.restart()

    def restart(self) -> None:
        """Start the episode afresh (an unfinished one does not count among the finished)."""
        self._env_time = 0.0
        self._hold = 0.0
        self.pushes = 0
        if self.before_episode is not None:
            self.before_episode(self)
        self.play.reset()

    # -- what is shown ------------------------------------------------------------------

    def hold_line(self) -> str | None:
        """What the hold of a finished episode waits for: "next episode in 4 s · p holds · space continues"."""
        if not self.play.done:
            return None
        if self.paused:
            return f"paused · {NEXT.label} continues"
        line = f"{'closing' if self.last_episode else 'next episode'} in {math.ceil(max(self._hold, 0.0))} s"
        return line if self.offscreen else f"{line} · {HOLD.label} holds · {NEXT.label} continues"

    def scene(self) -> Scene:
        play = self.play
        ended = f"episode over: return {play.episode_return:g}" if play.done else None
        return Scene(
            self.track,
            x=float(play.obs[0]),
            theta=float(play.obs[2]),
            probs=play.probs.tolist(),
            action=play.action,
            value=play.values[-1] if play.values else None,
            values=play.values,
            returns_to_go=play.returns_to_go,
            step=play.steps,
            episode_return=play.episode_return,
            episode=self.episode,
            label=self.label,
            mode="greedy" if play.greedy else "sampled",
            fps=None if self.offscreen else self.measured_fps,  # a recording's drawing speed is no one's frame rate
            speed=self.speed,
            paused=self.paused,
            source=self.source,
            value_units=play.scale.units,
            kick=self._kick[0],
            message=ended,
            hint=self.hold_line(),
            countdown=max(0.0, self._hold / self.hold_seconds) if play.done and not self.paused else None,
        )

    def run(
        self,
        frames: int | None = None,
        recorder: Recorder | None = None,
        on_frame: Callable[[Viewer], None] | None = None,
    ) -> None:
        """The loop: events, time, drawing; until quit, the episode budget, or `frames` frames."""
        clock = pygame.time.Clock()
        fps = RECORD_FPS if recorder else self.frame_rate
        while self.running and (frames is None or self.frames < frames):
            for event in pygame.event.get():
                self.handle(event)
            # off-screen nobody watches the clock: frames are drawn as fast as they can be
            elapsed = clock.tick(0 if self.offscreen else fps) / 1000
            # a recording advances by exactly one frame's time, so it plays back at true speed
            self.advance(1 / fps if recorder or self.frames == 0 else elapsed)
            if on_frame is not None:
                on_frame(self)
            self.measured_fps = clock.get_fps() or None
            screen = pygame.display.get_surface()
            self.draw(screen)
            pygame.display.flip()
            if recorder:
                recorder.add(screen)
            self.frames += 1

    def frame_rect(self, surface: pygame.Surface) -> pygame.Rect:
        """Where the CartPole frame goes (a run's timeline takes a strip below it)."""
        return surface.get_rect()

    def draw(self, screen: pygame.Surface) -> None:
        if self.explainer.on:
            draw_explained_frame(screen, self.scene(), self.explainer.explain(self.play), self.frame_rect(screen))
        else:
            draw_frame(screen, self.scene(), self.frame_rect(screen))

    def summary(self) -> list[str]:
        """The closing lines: each finished episode, then the mean over those nobody pushed."""
        if not self.finished:
            return []
        lines = [f"episode {number}: return {done.episode_return:g}, length {done.length}, {pushed(done.pushes)}"
                 for number, done in enumerate(self.finished, start=1)]
        untouched = np.array([done.episode_return for done in self.finished if not done.pushes])
        if not len(untouched):
            lines.append("no mean: you pushed the pole in every episode")
            return lines
        lines.append(
            f"mean return over {plural(len(untouched), 'untouched episode')}: {untouched.mean():.1f} "
            f"(std {untouched.std():.1f}, min {untouched.min():g}, max {untouched.max():g})"
        )
        return lines


def pushed(pushes: int) -> str:
    return f"pushed {plural(pushes, 'time')}" if pushes else "untouched"


def run_watch(
    path: str | None, seed: int = 0, greedy: bool = True, speed: float = 1.0,
    episodes: int | None = None, frames: int | None = None, record: str | None = None, force: bool = False,
    explain: bool = False,
) -> int:
    """`ac-play watch [CHECKPOINT | RUN_DIR]`: a checkpoint (the bundled agent when None), or a run's timeline."""
    from ac_play.window.scrub import load_viewer  # the timeline's viewer builds on this module

    recorder = open_recorder(record, RECORD_FPS, force) if record is not None else None
    viewer, name = load_viewer(path, seed, greedy, speed, episodes, explain)
    play = viewer.play
    try:
        open_screen(viewer, recorder, bounded=episodes is not None or frames is not None)
        viewer.run(frames, recorder)
    except KeyboardInterrupt:
        pass
    finally:
        pygame.display.quit()
        play.close()
    if recorder:
        recorder.close()
        if recorder.frames:
            print(f"recorded {recorder.frame_count} frames ({recorder.seconds:g} s) to {printable(str(recorder.path))}")
        else:
            print(f"nothing recorded, so {printable(str(recorder.path))} was not written")
    shown = f", {viewer.frames} frames at {viewer.measured_fps:.1f} fps" if viewer.measured_fps else ""
    print(f"{printable(name)}, {plural(len(viewer.finished), 'finished episode')}{shown}", flush=True)
    for line in viewer.summary():
        print(f"  {line}", flush=True)
    return 0


def open_screen(viewer: Viewer, recorder: Recorder | None, bounded: bool) -> None:
    """The window; for a recording without a display, a screen nobody sees, and an episode budget if none was set."""
    if recorder:
        viewer.hold_seconds = RECORD_HOLD
    try:
        open_window(f"ac-play watch: {viewer.label}", WINDOW_SIZE, WATCH_ADVICE)
        return
    except NoDisplayError as exc:
        if recorder is None:
            raise
        reason = exc.reason
    open_offscreen(WINDOW_SIZE)
    viewer.offscreen = True
    if not bounded:
        viewer.episodes = HEADLESS_EPISODES
    budget = "" if bounded else f", {plural(HEADLESS_EPISODES, 'episode')} (--episodes sets how many)"
    print(f"no display ({reason}): recording off-screen{budget}", flush=True)
