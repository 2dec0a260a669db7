"""The rollout update's batch: GAE advantages and critic targets from T steps of N envs.

The notebook learns once per episode from Monte-Carlo returns. A rollout update learns every
few hundred steps instead, from advantages that trust the critic a little (GAE), so learning
starts long before the first good episode ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ac_play.agent import COMPUTE_DTYPE, ActorCritic
from ac_play.envs import Rollout
from ac_play.returns import NORMALISE_EPS, RunningNormaliser, gae_advantages

ADVANTAGE_FLOOR = 1.0
"""The least std `scaled_advantages` divides by, in units of the batch's mean |reward|. Acrobot-v1, seeds
100-199 at 16 envs and 4 passes, solved within 300 episodes: no floor 96, 0.1 95, 0.3 97, 1.0 99, 2.0
100. Such counts move by a few seeds with any change to the code; what the floor removes for certain
is the walk away from uniform (seed 0 without it: entropy 1.1 to 0.5, never a swing-up in 300 episodes;
with it, solved). CartPole-v1's advantages only fall below it once the policy balances: seeds 200-263
needed the same env steps with and without it."""


@dataclass
class Batch:
    """What the optimiser learns from, one row per real step: obs [B, D] and the rest [B]."""

    obs: np.ndarray
    actions: np.ndarray
    targets: np.ndarray
    advantages: np.ndarray
    old_logp: np.ndarray

    def rows(self, index: np.ndarray | slice) -> Batch:
        return Batch(*(array[index] for array in (self.obs, self.actions, self.targets,
                                                  self.advantages, self.old_logp)))


def rollout_batch(
    agent: ActorCritic, normaliser: RunningNormaliser, rollout: Rollout, gamma: float, lam: float
) -> Batch:
    """The batch of a rollout; updates `normaliser` with the rollout's returns.

    The critic works in normalised units; advantages are computed in the env's own units (the
    critic's values denormalised) and then scaled (`scaled_advantages`).
    """
    steps, envs, obs_dim = rollout.obs.shape
    all_obs = rollout.obs.astype(COMPUTE_DTYPE, copy=False)
    probs, values = agent.forward(all_obs.reshape(-1, obs_dim))
    values = normaliser.denormalise(values.astype(np.float64)).reshape(steps, envs)
    ended = rollout.terminated | rollout.truncated
    advantages = gae_advantages(
        rollout.rewards, values[:-1], values[1:], rollout.terminated, ended, gamma, lam
    )
    valid = rollout.valid
    returns = (advantages + values[:-1])[valid]
    normaliser.update(returns)
    advantages = advantages[valid]
    actions = rollout.actions[valid]
    chosen = probs.reshape(steps, envs, -1)[:-1][valid][np.arange(len(actions)), actions]
    advantages = scaled_advantages(advantages, rollout.rewards[valid])
    return Batch(
        obs=all_obs[:-1][valid],
        actions=actions,
        targets=normaliser.normalise(returns).astype(COMPUTE_DTYPE),
        advantages=advantages.astype(COMPUTE_DTYPE),
        old_logp=np.log(np.maximum(chosen, np.finfo(COMPUTE_DTYPE).tiny)),
    )


def scaled_advantages(advantages: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """Advantages [B] at mean 0 and std 1, but never divided by less than the batch's mean |reward| [B].

    When every return is alike, as in Acrobot-v1 before its first swing-up (-1 on every step),
    the advantages are only the critic's leftover error, at a hundredth of a step's reward. Scaled
    to std 1, that noise walked the policy away from uniform until, on some seeds, it never swung up
    (ADVANTAGE_FLOOR has the measurements).
    """
    floor = ADVANTAGE_FLOOR * float(np.abs(rewards).mean()) if len(rewards) else 0.0
    return (advantages - advantages.mean()) / (max(float(advantages.std()), floor) + NORMALISE_EPS)


def split_points(size: int, parts: int) -> list[tuple[int, int]]:
    """Where `np.array_split` cuts range(size) into `parts` nearly equal parts (the first ones one longer)."""
    base, extra = divmod(size, parts)
    ends = [(i + 1) * base + min(i + 1, extra) for i in range(parts)]
    return list(zip([0, *ends[:-1]], ends, strict=True))


def learn_in_passes(
    batch: Batch, epochs: int, minibatches: int, rng: np.random.Generator,
    update_on: Callable[[Batch], dict[str, float]],
) -> dict[str, float]:
    """`epochs` passes over the batch, each in shuffled minibatches of one `update_on` step; their mean statistics.

    Each pass shuffles the whole batch once and cuts it into contiguous parts, so a minibatch
    is a view, not a gather of its own.
    """
    size = len(batch.actions)
    if size == 0:
        return {}
    parts = split_points(size, min(minibatches, size))
    sums: dict[str, float] = {}
    for _ in range(epochs):
        shuffled = batch.rows(rng.permutation(size))
        for start, end in parts:
            for name, value in update_on(shuffled.rows(slice(start, end))).items():
                sums[name] = sums.get(name, 0.0) + value
    return {name: total / (epochs * len(parts)) for name, total in sums.items()}
