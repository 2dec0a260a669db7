"""Discounted returns and their normalisation: the critic's targets, and its values shown back in return units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ac_play.snapshot import Snapshot

NORMALISE_EPS = 1e-8
"""Keeps the division finite when every return in a batch is equal."""


def discounted_returns(rewards: np.ndarray, gamma: float, bootstrap: float = 0.0) -> np.ndarray:
    """G_t = r_t + gamma * G_{t+1}, with G_T = bootstrap (0 when the episode really ended).

    rewards [T] -> returns [T]. `bootstrap` is the critic's estimate of the value after the
    last step, for episodes cut off by a time limit rather than ended by a fall.
    """
    return np.array(backward_sums(rewards.tolist(), [gamma] * len(rewards), float(bootstrap)))


def backward_sums(values: list[float], decays: list[float], last: float = 0.0) -> list[float]:
    """out_t = values_t + decays_t * out_{t+1}, with out_T = last: the recursion behind returns and GAE.

    In plain floats: for one sequence, NumPy's cost per call would be most of the work.
    """
    out = [0.0] * len(values)
    running = last
    for t in range(len(values) - 1, -1, -1):
        running = values[t] + decays[t] * running
        out[t] = running
    return out


def gae_advantages(
    rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray,
    terminated: np.ndarray, ended: np.ndarray, gamma: float, lam: float,
) -> np.ndarray:
    """Generalised advantage estimates for arrays [T, N] of N envs played side by side.

    delta_t = r_t + gamma * V(s_t+1) - V(s_t), with V(s_t+1) = 0 after a fall (terminated),
    A_t = delta_t + gamma * lam * A_t+1, restarted where an episode ended (fell or cut off).
    lam 1 gives the Monte-Carlo return minus V, bootstrapped at the rollout's end; lam 0 one step.
    """
    deltas = rewards + gamma * next_values * ~terminated - values
    decays = gamma * lam * ~ended
    if deltas.shape[1] == 1:
        return np.array(backward_sums(deltas[:, 0].tolist(), decays[:, 0].tolist())).reshape(deltas.shape)
    advantages = np.empty_like(deltas)
    carry = np.zeros(deltas.shape[1:])
    # the recursion runs backwards through time; each step is one NumPy operation over the envs
    for t in range(len(deltas) - 1, -1, -1):
        carry = deltas[t] + decays[t] * carry
        advantages[t] = carry
    return advantages


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


@dataclass(frozen=True)
class ValueScale:
    """How to show the critic's output next to the return that really followed.

    The critic learns normalised returns. With the trainer's running normaliser (a snapshot's,
    saved in a checkpoint's metadata), its value goes back to discounted-return units
    (raw = mean + value * max(std, 1)) and is compared with the raw return-to-go. Without one
    (the per-episode normalisation of the notebook preset) the values stay normalised and the
    finished episode's returns-to-go are normalised the same way, over that episode.

    The one conversion of every picture of the critic (`watch`, the live window, the human game,
    the TUI's CartPole), so a value means the same number wherever it is shown.
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
