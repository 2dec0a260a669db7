"""What an update did inside the network: each layer's gradient norm, dead ReLUs, the step's size.

All of it is read off arrays the update has anyway (the gradients, the hidden layer's activity
mask, the parameters before and after): no extra forward pass.

    grad_<name>  = ||dL/d<name>||            per parameter array, before clipping
    dead_units   = #{j : z[i, j] <= 0 for every row i} / H    ReLUs that passed nothing
    update_size  = ||theta_after - theta_before|| / ||theta_after||    all parameters as one vector
"""

from __future__ import annotations

import math

import numpy as np

GRADIENT_PREFIX = "grad_"
"""The trainer's statistics name each layer's gradient norm grad_<name> (W1, b1, Wa, ba, Wc, bc)."""


def squared_norms(arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """The squared L2 norm of each array, by name.

    Summed as (a * a).sum(), not as a dot product: the global gradient norm is their sum, and a
    last-bit difference there would change where clipping lands and so every run's numbers.
    """
    return {name: float((array * array).sum()) for name, array in arrays.items()}


def gradient_norms(squares: dict[str, float]) -> dict[str, float]:
    """Each gradient's norm, keyed grad_<name>, from `squared_norms` of the gradients."""
    return {f"{GRADIENT_PREFIX}{name}": math.sqrt(square) for name, square in squares.items()}


def dead_count(active: np.ndarray) -> int:
    """active [B, H] (z > 0) -> how many of the H units were zero on every row of the batch (0 for no rows)."""
    if active.shape[0] == 0:
        return 0
    return active.shape[1] - int(np.count_nonzero(active.any(axis=0)))


def dead_fraction(active: np.ndarray) -> float:
    """active [B, H] (z > 0) -> the fraction of the H units that were zero on every row of the batch."""
    return dead_count(active) / active.shape[1]


def update_size(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> float:
    """||after - before|| / ||after|| over all the parameters together; 0 for all-zero parameters."""
    change = sum(squared_norms({name: after[name] - before[name] for name in after}).values())
    size = sum(squared_norms(after).values())
    return math.sqrt(change / size) if size > 0 else 0.0
