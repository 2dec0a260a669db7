"""CartPole facts shared by every picture of it: sizes, limits, action names, when to warn.

No UI import: the pygame frame, the terminal's braille drawing and the human game read the same
numbers here. Limits and timing come from the env itself (`Track`), as gymnasium's own
`cartpole.py` defines them; only the cart's drawn size is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from ac_play.errors import AcPlayError

# Sizes gymnasium's own CartPole renderer uses (50 x 30 px cart, 10 px pole at 125 px/m), in metres.
CART_WIDTH = 0.4
CART_HEIGHT = 0.24
POLE_WIDTH = 0.08
ACTION_NAMES = ("push left", "push right")
ACTION_ARROWS = ("←", "→")
"""The actions in one character each, for the terminal."""
OBSERVATION_NAMES = ("cart position", "cart velocity", "pole angle", "pole angular velocity")
OBSERVATION_SCALES = (0.30, 0.17, 0.013, 0.19)
"""A typical size of each observation (m, m/s, rad, rad/s): its std over the states a balancing
agent visits (the bundled agent, greedy, 10 episodes of 500 steps, env seeds 0-9). Explain mode
multiplies input gradients by it, so the four inputs compare in the units they really vary by."""
WARN_FROM = 0.5
"""Pictures start warning when the angle or the position reaches half of its limit."""


@dataclass(frozen=True)
class Track:
    """The constants of a CartPole env that pictures are drawn to scale from."""

    x_threshold: float
    """Metres from the centre at which the episode ends."""
    theta_threshold_radians: float
    """Angle from upright at which the episode ends."""
    length: float
    """Half the pole's length, as gymnasium defines it."""
    tau: float
    """Seconds per env step."""
    max_episode_steps: int | None
    action_names: tuple[str, ...] = ACTION_NAMES

    @classmethod
    def from_env_id(cls, env_id: str) -> Track:
        """The constants of a registered env, read off a throwaway instance of it."""
        env = gym.make(env_id)
        try:
            return cls.from_env(env)
        finally:
            env.close()

    @classmethod
    def from_env(cls, env) -> Track:
        """Read the constants from a gymnasium CartPole env (wrapped or not)."""
        physics = env.unwrapped
        try:
            return cls(
                float(physics.x_threshold),
                float(physics.theta_threshold_radians),
                float(physics.length),
                float(physics.tau),
                env.spec.max_episode_steps if env.spec else None,
            )
        except AttributeError:
            name = env.spec.id if env.spec else env
            raise AcPlayError(f"{name} is not a cart-pole; ac-play draws CartPole only") from None

    @property
    def pole_length(self) -> float:
        """The whole pole, pivot to tip (gymnasium's `length` is half of it)."""
        return 2 * self.length

    def danger(self, x: float, theta: float) -> float:
        """0 when safe, rising from WARN_FROM of a limit to 1 at the limit (position or angle)."""
        return nearness(max(abs(x) / self.x_threshold, abs(theta) / self.theta_threshold_radians))


def nearness(fraction: float) -> float:
    """0 below WARN_FROM of a limit, rising to 1 at the limit."""
    return min(1.0, max(0.0, (fraction - WARN_FROM) / (1 - WARN_FROM)))


def is_cartpole(env_id: str) -> bool:
    """True for the envs the pictures and the human game know how to draw."""
    return env_id.startswith("CartPole")
