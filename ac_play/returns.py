"""Discounted returns and their normalisation: the critic's targets."""

from __future__ import annotations

import numpy as np

NORMALISE_EPS = 1e-8
"""Keeps the division finite when every return in a batch is equal."""


def discounted_returns(rewards: np.ndarray, gamma: float, bootstrap: float = 0.0) -> np.ndarray:
    """G_t = r_t + gamma * G_{t+1}, with G_T = bootstrap (0 when the episode really ended).

    rewards [T] -> returns [T]. `bootstrap` is the critic's estimate of the value after the
    last step, for episodes cut off by a time limit rather than ended by a fall.
    """
    out = [0.0] * len(rewards)
    running = float(bootstrap)
    rewards_list = rewards.tolist()
    # the one Python loop over timesteps: the recursion runs backwards through time
    for t in range(len(rewards_list) - 1, -1, -1):
        running = rewards_list[t] + gamma * running
        out[t] = running
    return np.array(out)


def normalise(returns: np.ndarray) -> np.ndarray:
    """(G - mean(G)) / (std(G) + eps), over the given steps."""
    return (returns - returns.mean()) / (returns.std() + NORMALISE_EPS)


class RunningNormaliser:
    """Normalises returns with a slow running mean and std, shared across batches.

    Unlike per-episode normalisation, the same state gets the same target whatever episode it
    came from, so the critic can learn a real value function, and its value can be turned back
    into raw units (`denormalise`) to bootstrap episodes cut off by a time limit.
    """

    def __init__(self, momentum: float = 0.05, min_std: float = 1.0):
        self.momentum = momentum
        self.min_std = min_std
        self.mean = 0.0
        self.std = 1.0
        self.seen = False

    def update(self, returns: np.ndarray) -> None:
        mean, std = float(returns.mean()), float(returns.std())
        if not self.seen:
            self.mean, self.std, self.seen = mean, std, True
            return
        self.mean += self.momentum * (mean - self.mean)
        self.std += self.momentum * (std - self.std)

    def normalise(self, returns: np.ndarray) -> np.ndarray:
        return (returns - self.mean) / max(self.std, self.min_std)

    def denormalise(self, values: np.ndarray) -> np.ndarray:
        return self.mean + values * max(self.std, self.min_std)

    def state(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "seen": self.seen}

    def load_state(self, state: dict) -> None:
        self.mean, self.std, self.seen = float(state["mean"]), float(state["std"]), bool(state["seen"])
