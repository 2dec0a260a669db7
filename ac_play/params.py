"""The network's parameters: their names and shapes, and one flat vector that holds them all.

`FlatParams` keeps every named array as a view into one vector, so the optimiser updates them all
in a few whole-vector operations, and the two layers as matrices with their bias as the last row
(`layer_views`), so the forward and backward take one product per layer.
"""

from __future__ import annotations

import math

import numpy as np

PARAM_NAMES = ("W1", "b1", "Wa", "ba", "Wc", "bc")


def param_shapes(obs_dim: int, n_actions: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter array, by name."""
    return {
        "W1": (obs_dim, hidden),
        "b1": (hidden,),
        "Wa": (hidden, n_actions),
        "ba": (n_actions,),
        "Wc": (hidden, 1),
        "bc": (1,),
    }


class FlatParams(dict):
    """Named arrays that are views into one flat vector, `.flat`, laid out by `flat_views`.

    The optimiser then updates every parameter in a few whole-vector operations instead of a
    pass per array. Assigning a name copies into its view, so `.flat` always holds every value.
    """

    flat: np.ndarray

    @classmethod
    def zeros(cls, obs_dim: int, n_actions: int, hidden: int) -> FlatParams:
        size = sum(math.prod(shape) for shape in param_shapes(obs_dim, n_actions, hidden).values())
        return cls.of(np.zeros(size), obs_dim, n_actions, hidden)

    @classmethod
    def of(cls, flat: np.ndarray, obs_dim: int, n_actions: int, hidden: int) -> FlatParams:
        params = cls(flat_views(flat, obs_dim, n_actions, hidden))
        params.flat = flat
        return params

    def zeros_like(self) -> FlatParams:
        obs_dim, hidden = self["W1"].shape
        return FlatParams.zeros(obs_dim, self["Wa"].shape[1], hidden)

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        if name in self:
            self[name][...] = value
        else:
            super().__setitem__(name, value)


def flat_views(flat: np.ndarray, obs_dim: int, n_actions: int, hidden: int) -> dict[str, np.ndarray]:
    """Every parameter as a view into `flat`, laid out as the two layers of `layer_views`."""
    first, second = layer_views(flat, obs_dim, n_actions, hidden)
    return {
        "W1": first[:-1],
        "b1": first[-1],
        "Wa": second[:-1, :n_actions],
        "ba": second[-1, :n_actions],
        "Wc": second[:-1, n_actions:],
        "bc": second[-1, n_actions:],
    }


def layer_views(flat: np.ndarray, obs_dim: int, n_actions: int, hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """The network's two layers in `flat`, each a matrix with its bias as the last row.

    first [D + 1, H] = [W1; b1] and second [H + 1, A + 1] = [Wa Wc; ba bc]: both heads are one
    layer, so the forward computes logits and value with one product, the backward both heads'
    gradients with one.
    """
    split = (obs_dim + 1) * hidden
    return flat[:split].reshape(obs_dim + 1, hidden), flat[split:].reshape(hidden + 1, n_actions + 1)
