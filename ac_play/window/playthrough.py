"""One CartPole episode played step by step by the agent, with what the actor and critic think.

No pygame here: the viewer and the live window drive it a step at a time and draw its state.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ac_play.agent import choose
from ac_play.returns import RunningNormaliser, discounted_returns, normalise
from ac_play.snapshot import Snapshot

KICK_ANGULAR_VELOCITY = 0.5
"""rad/s added to the pole's angular velocity by a push: a nudge a good policy survives,
about what two steps of full force add, not a blow that makes the fall certain."""


@dataclass(frozen=True)
class ValueScale:
    """How to show the critic's output next to the return that really followed.

    The critic learns normalised returns. With the trainer's running normaliser (a snapshot's,
    saved in a checkpoint's metadata), its value goes back to discounted-return units
    (raw = mean + value * max(std, 1)) and is compared with the raw return-to-go. Without one
    (the per-episode normalisation of the notebook preset) the values stay normalised and the
    finished episode's returns-to-go are normalised the same way, over that episode.
    """

    gamma: float = 0.99
    running: RunningNormaliser | None = None

    @classmethod
    def of(cls, snapshot: Snapshot) -> ValueScale:
        return cls(snapshot.gamma, snapshot.value_normaliser)

    @property
    def units(self) -> str:
        return "return" if self.running else "normalised"

    def values(self, critic: np.ndarray) -> np.ndarray:
        """The critic's outputs [B] in the units shown."""
        return self.running.denormalise(critic) if self.running else critic

    def returns_to_go(self, rewards: np.ndarray, last_value: float, truncated: bool) -> np.ndarray:
        """rewards [T] -> the discounted return after each step [T], in the units shown.

        A time-limit cut-off is not a fall: as in training, it bootstraps from the critic's
        value of the last state (only possible in return units).
        """
        if self.running is None:
            return normalise(discounted_returns(rewards, self.gamma))
        return discounted_returns(rewards, self.gamma, last_value if truncated else 0.0)


class Playthrough:
    """The env, the agent, and the current episode's history."""

    def __init__(self, snapshot: Snapshot, seed: int = 0, greedy: bool = True):
        self.env = gym.make(snapshot.config.env_id)
        self.greedy = greedy
        self.rng = np.random.default_rng(seed)
        self.seed: int | None = seed
        self.use(snapshot)
        self.reset()

    def use(self, snapshot: Snapshot) -> None:
        """Play with these weights from the next decision on (the live window: from the next episode)."""
        self.agent = snapshot.agent
        self.scale = ValueScale.of(snapshot)

    def reset(self) -> None:
        """Start a new episode (seeded once; later resets continue the env's own generator)."""
        self.obs, _ = self.env.reset(seed=self.seed)
        self.seed = None
        self.rewards: list[float] = []
        self.values: list[float] = []
        self.returns_to_go: np.ndarray | None = None
        self.done = False
        self._decide()

    def _decide(self) -> None:
        """What the actor and the critic make of the current state; records its value."""
        probs, critic = self.agent.forward(self.obs)
        self.probs = probs[0]
        self.value = float(self.scale.values(critic)[0])
        self.values.append(self.value)
        self.action = int(choose(probs, None if self.greedy else self.rng)[0])

    def step(self) -> None:
        """Take the chosen action; at the end of the episode, work out the returns-to-go."""
        if self.done:
            return
        self.obs, reward, terminated, truncated, _ = self.env.step(self.action)
        self.rewards.append(float(reward))
        if terminated or truncated:
            self.done = True
            _, critic = self.agent.forward(self.obs)
            last_value = float(self.scale.values(critic)[0])
            self.returns_to_go = self.scale.returns_to_go(
                np.array(self.rewards), last_value, bool(truncated and not terminated)
            )
            return
        self._decide()

    def kick(self, direction: int) -> None:
        """Push the pole: add to its angular velocity (+1 towards the right, -1 left)."""
        if self.done:
            return
        state = np.array(self.env.unwrapped.state, dtype=np.float64)
        state[3] += direction * KICK_ANGULAR_VELOCITY
        self.env.unwrapped.state = state
        self.obs = state.astype(self.obs.dtype)
        self.values.pop()
        self._decide()

    @property
    def steps(self) -> int:
        return len(self.rewards)

    @property
    def episode_return(self) -> float:
        return float(sum(self.rewards))

    def close(self) -> None:
        self.env.close()
