"""Optimisers in NumPy. Each keeps its state as a flat dict of arrays so checkpoints can hold it."""

from __future__ import annotations

import numpy as np


class SGD:
    """Plain gradient descent: p -= lr * g. Keeps no state."""

    name = "sgd"

    def __init__(self, params: dict[str, np.ndarray], lr: float):
        self.lr = lr

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, grad in grads.items():
            params[name] -= self.lr * grad

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
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
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        scale = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for name, grad in grads.items():
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad * grad
            params[name] -= scale * m / (np.sqrt(v) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        state = {"t": np.array([self.t], dtype=np.int64)}
        state.update({f"m/{name}": m for name, m in self.m.items()})
        state.update({f"v/{name}": v for name, v in self.v.items()})
        return state

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"][0])
        for name in self.m:
            self.m[name] = state[f"m/{name}"].astype(np.float64)
            self.v[name] = state[f"v/{name}"].astype(np.float64)


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def make_optimizer(name: str, params: dict[str, np.ndarray], lr: float):
    """An optimiser by name ("adam" or "sgd")."""
    return OPTIMIZERS[name](params, lr)
