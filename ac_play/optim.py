"""Optimisers in NumPy. Each keeps its state as a flat dict of arrays so checkpoints can hold it.

Parameters and gradients held in one vector (`params.FlatParams`) are updated with a few
whole-vector operations; any other dict of arrays, one array at a time.
"""

from __future__ import annotations

import numpy as np


def flat_pair(params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """The flat vectors behind params and grads, when both have one laid out alike; else None."""
    flat, grad_flat = getattr(params, "flat", None), getattr(grads, "flat", None)
    if flat is None or grad_flat is None or flat.shape != grad_flat.shape:
        return None
    return flat, grad_flat


class SGD:
    """Plain gradient descent: p -= lr * g. Keeps no state."""

    name = "sgd"

    def __init__(self, params: dict[str, np.ndarray], lr: float):
        self.lr = lr

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        pair = flat_pair(params, grads)
        if pair is not None:
            flat, grad_flat = pair
            flat -= self.lr * grad_flat
            return
        for name, grad in grads.items():
            params[name] -= self.lr * grad

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        pass

    def save_point(self) -> None:
        return None

    def go_back(self, point: None) -> None:
        pass


class Adam:
    """Adam (Kingma and Ba, 2015) with bias correction.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    p -= lr_t * m / (sqrt(v) + eps), with lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)

    This is the paper's efficient form of the bias correction (end of its section 2): the same
    as lr * m_hat / (sqrt(v_hat) + eps) but for where eps sits, and two array passes cheaper.
    """

    name = "adam"

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        # laid out as the parameters: one vector each when they are one vector
        zeros = getattr(params, "zeros_like", None)
        self.m = zeros() if zeros else {name: np.zeros_like(p) for name, p in params.items()}
        self.v = zeros() if zeros else {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        scale = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        pair = flat_pair(params, grads)
        if pair is not None and flat_pair(self.m, self.v) is not None:
            self._update(pair[0], pair[1], self.m.flat, self.v.flat, scale)
            return
        for name, grad in grads.items():
            self._update(params[name], grad, self.m[name], self.v[name], scale)

    def _update(self, param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, scale: float) -> None:
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        param -= scale * m / (np.sqrt(v) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        state = {"t": np.array([self.t], dtype=np.int64)}
        state.update({f"m/{name}": m for name, m in self.m.items()})
        state.update({f"v/{name}": v for name, v in self.v.items()})
        return state

    def save_point(self) -> tuple:
        """A copy of the state for `go_back`: cheaper than `state()`, a copy of one vector per moment."""
        if flat_pair(self.m, self.v) is not None:
            return self.t, self.m.flat.copy(), self.v.flat.copy()
        return self.t, {name: m.copy() for name, m in self.m.items()}, {name: v.copy() for name, v in self.v.items()}

    def go_back(self, point: tuple) -> None:
        """Return to the state `save_point` copied."""
        self.t, m, v = point
        if isinstance(m, np.ndarray):
            self.m.flat[:], self.v.flat[:] = m, v
        else:
            self.m, self.v = m, v

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"][0])
        for name in self.m:
            # assigning into a flat vector's name copies into its place there
            self.m[name] = state[f"m/{name}"].astype(np.float64)
            self.v[name] = state[f"v/{name}"].astype(np.float64)


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def make_optimizer(name: str, params: dict[str, np.ndarray], lr: float):
    """An optimiser by name ("adam" or "sgd")."""
    return OPTIMIZERS[name](params, lr)
