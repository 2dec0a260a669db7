"""One CartPole episode played step by step by the agent, with what the actor and critic think.

No pygame here: the viewer and the live window drive it a step at a time and draw its state.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from ac_play.returns import ValueScale
from ac_play.sampling import choose
from ac_play.snapshot import Snapshot

KICK_ANGULAR_VELOCITY = 0.5
"""rad/s added to the pole's angular velocity by a push: a nudge a good policy survives,
about what two steps of full force add, not a blow that makes the fall certain."""


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
