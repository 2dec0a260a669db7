"""Sampling actions from a policy's probabilities or logits: the one rule every player and trainer uses.

Inverse-CDF sampling with one uniform draw per row, so a seeded Generator gives the same actions
whether the rows come one at a time (the single-env loop) or in batches (vector envs).
"""

from __future__ import annotations

import math

import numpy as np


def choose(weights: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """weights [B, A] (probabilities, or anything proportional) -> actions [B]: greedy when rng is None."""
    if rng is None:
        return weights.argmax(axis=1)
    return sample_actions(weights, rng.random(len(weights)))


def sample_logit_rows(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """logits [B, A] -> actions [B], sampled from their softmax with one draw of rng per row."""
    # softmax up to a factor: sample_actions needs no normalised probabilities
    return sample_actions(np.exp(logits - logits.max(axis=1, keepdims=True)), rng.random(len(logits)))


def sample_actions(weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """weights [B, A], uniforms [B] in [0, 1) -> actions [B], action i with probability weights[i] / sum.

    Inverse-CDF sampling: compare one uniform draw, scaled to the total, with the cumulative weights.
    """
    cumulative = np.cumsum(weights, axis=1)
    threshold = uniforms[:, None] * cumulative[:, -1:]
    return np.minimum((threshold >= cumulative).sum(axis=1), weights.shape[1] - 1)


def sample_from_logits(logits: list[float], u: float) -> int:
    """`sample_actions` for one row of logits in plain Python (the single-env loop's per-step path)."""
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    threshold = u * sum(weights)
    action, total = 0, weights[0]
    while threshold >= total and action < len(weights) - 1:
        action += 1
        total += weights[action]
    return action
