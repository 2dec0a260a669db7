"""The terminal CartPole: the newest policy snapshot plays its own episodes, drawn in braille."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from ac_play.cartpole import ACTION_ARROWS, Track, is_cartpole
from ac_play.returns import ValueScale
from ac_play.sampling import choose
from ac_play.snapshot import Snapshot
from ac_play.tui.cartpole_text import draw_cartpole

FRAMES_PER_SECOND = 12
"""Slower than the env's 50 Hz: easy on the eye and on the training thread's share of the CPU."""
TRAINING_FRAMES_PER_SECOND = 8
"""While training runs: each frame costs the UI thread about 3 ms, all of it holding the
interpreter the training thread needs (the counters and charts are what one watches then)."""


class CartPolePanel(Widget):
    """Steps a plain gymnasium env with the newest snapshot at a modest frame rate.

    It paints its rows of braille straight into strips (`render_line`): a Static would wrap
    and parse the text on every frame, which cost several milliseconds of the training
    thread's share of the interpreter per frame.
    """

    def __init__(self, env_id: str, snapshot: Callable[[], Snapshot], seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.env_id = env_id
        self.snapshot = snapshot
        self.env = gym.make(env_id)
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.track = Track.from_env(self.env) if is_cartpole(env_id) else None
        self.obs, _ = self.env.reset(seed=seed)
        self.policy = snapshot()
        self.steps = 0
        self.running = False
        self.frames_per_second = FRAMES_PER_SECOND
        self.rows: list[str] = []
        self.colour = "bold"
        self.line_style = Style()

    def on_mount(self) -> None:
        self.show_frame()
        self.frames = self.set_interval(1 / self.frames_per_second, self.advance)

    def on_resize(self) -> None:
        self.show_frame()  # the drawing is sized to the panel

    def on_unmount(self) -> None:
        self.env.close()

    def follow(self, state: str) -> None:
        """Play while the app trains or has trained, at fewer frames a second while it trains."""
        self.running = state in ("training", "solved", "finished")
        rate = TRAINING_FRAMES_PER_SECOND if state == "training" else FRAMES_PER_SECOND
        if rate != self.frames_per_second:
            self.frames_per_second = rate
            self.frames.stop()
            self.frames = self.set_interval(1 / rate, self.advance)

    def restart(self) -> None:
        """A new episode with the newest snapshot (after each fall, and after a reset)."""
        self.policy = self.snapshot()
        self.obs, _ = self.env.reset()
        self.steps = 0
        self.show_frame()

    def advance(self) -> None:
        if not self.running:
            return
        # the probabilities on screen, worked out in show_frame, are the ones that choose
        action = int(choose(self.probs[None], self.rng)[0])
        self.obs, _, terminated, truncated, _ = self.env.step(action)
        self.steps += 1
        if terminated or truncated:
            self.restart()
        else:
            self.show_frame()

    def show_frame(self) -> None:
        """The drawing fills the panel; probabilities and the value go in its bottom border."""
        probs, critic = self.policy.agent.forward(self.obs)
        self.probs = probs[0]
        names = ACTION_ARROWS if self.track else [f"a{i}" for i in range(len(self.probs))]
        choices = zip(names, self.probs, strict=True)
        self.border_title = f"policy · step {self.steps}"
        self.border_subtitle = " ".join(f"{name}{p:.2f}" for name, p in choices) + " " + value_text(
            ValueScale.of(self.policy), critic
        )
        if self.track is None:
            self.rows, self.colour = [f"(no drawing for {self.env_id})"], "dim"
        else:
            x, theta = float(self.obs[0]), float(self.obs[2])
            self.rows = draw_cartpole(x, theta, max(self.size.width, 10), max(self.size.height, 2), self.track)
            self.colour = "yellow" if self.track.danger(x, theta) > 0 else "bold"
        self.line_style = self.rich_style + Style.parse(self.colour)  # once per frame, not per line
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        text = self.rows[y] if y < len(self.rows) else ""
        return Strip([Segment(text[:width].ljust(width), self.line_style)], width)


def value_text(scale: ValueScale, critic: np.ndarray) -> str:
    """The critic's value V as `watch` shows it: in return units, or marked as normalised.

    Short: at 80 columns the panel's border holds about 25 characters.
    """
    value = float(scale.values(critic)[0])
    return f"V {value:.1f}" if scale.units == "return" else f"V {value:.2f} norm."
