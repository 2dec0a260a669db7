"""The actor-critic network and its hand-written backward pass, in plain NumPy.

Shapes: B is the batch (all the steps of one or more episodes), D the observation size,
H the hidden size, A the number of actions.

    z      = obs @ W1 + b1            [B, H]  shared layer
    h      = relu(z)                  [B, H]
    logits = h @ Wa + ba              [B, A]  actor head
    logp   = logits - logsumexp       [B, A]  log pi(.|s)
    probs  = exp(logp)                [B, A]
    values = h @ Wc + bc              [B]     critic head
"""

from __future__ import annotations

from dataclasses import dataclass

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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """logits [B, A] -> log-probabilities [B, A], via log-sum-exp so nothing overflows."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class LossTerms:
    """The parts of one batch's loss, for statistics."""

    total: float
    actor: float
    critic: float
    entropy: float
    mean_value: float


@dataclass
class ActorCritic:
    """A shared ReLU layer feeding an actor (softmax over actions) and a critic (one value)."""

    params: dict[str, np.ndarray]

    @classmethod
    def create(
        cls,
        obs_dim: int,
        n_actions: int,
        hidden: int = 128,
        seed: int = 0,
        init: str = "small-actor",
    ) -> ActorCritic:
        """A fresh agent.

        init "small-actor" (default): He-scaled shared layer, actor and critic heads with
        std 0.01, zero biases, so the first policy is near uniform and nothing saturates.
        init "notebook": the notebook's He scaling on every layer, no biases in use.
        """
        rng = np.random.default_rng(seed)
        shapes = param_shapes(obs_dim, n_actions, hidden)
        params = {name: np.zeros(shape) for name, shape in shapes.items()}
        params["W1"] = rng.standard_normal(shapes["W1"]) * np.sqrt(2.0 / obs_dim)
        head_std = {"small-actor": (0.01, 0.01), "notebook": (np.sqrt(2.0 / hidden),) * 2}
        if init not in head_std:
            raise ValueError(f"unknown init {init!r}")
        actor_std, critic_std = head_std[init]
        params["Wa"] = rng.standard_normal(shapes["Wa"]) * actor_std
        params["Wc"] = rng.standard_normal(shapes["Wc"]) * critic_std
        return cls(params)

    @property
    def obs_dim(self) -> int:
        return self.params["W1"].shape[0]

    @property
    def hidden(self) -> int:
        return self.params["W1"].shape[1]

    @property
    def n_actions(self) -> int:
        return self.params["Wa"].shape[1]

    def forward(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """obs [B, D] -> probs [B, A], values [B]."""
        _, h, logp, values = self._forward(np.atleast_2d(obs))
        return np.exp(logp), values

    def _forward(self, obs: np.ndarray):
        p = self.params
        z = obs @ p["W1"] + p["b1"]
        h = np.maximum(z, 0.0)
        logp = log_softmax(h @ p["Wa"] + p["ba"])
        values = (h @ p["Wc"])[:, 0] + p["bc"][0]
        return z, h, logp, values

    def loss_and_grads(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        returns: np.ndarray,
        advantages: np.ndarray | None = None,
        entropy_coef: float = 0.0,
        value_coef: float = 0.5,
        huber_delta: float = 1.0,
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss of a batch and its gradients; see `loss_terms_and_grads` for the formula."""
        terms, grads = self.loss_terms_and_grads(
            obs, actions, returns, advantages, entropy_coef, value_coef, huber_delta
        )
        return terms.total, grads

    def loss_terms_and_grads(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        returns: np.ndarray,
        advantages: np.ndarray | None = None,
        entropy_coef: float = 0.0,
        value_coef: float = 0.5,
        huber_delta: float = 1.0,
    ) -> tuple[LossTerms, dict[str, np.ndarray]]:
        """The loss of a batch and its gradient with respect to every parameter.

        obs [B, D], actions [B] (ints), returns [B] (the critic's targets G).
        The loss is a mean over the B steps, never a sum, so the step size does not grow
        with the episode length:

            loss = mean(-logp[a] * adv)                   actor (policy gradient)
                 - entropy_coef * mean(entropy(probs))    exploration bonus
                 + value_coef * mean(huber(G - V))        critic, Huber with huber_delta

        adv is a constant (no gradient flows through it): by default G - V computed from the
        current parameters, or the `advantages` [B] passed in. Holding it constant keeps the
        actor's loss from pulling on the critic head.
        """
        obs = np.atleast_2d(obs)
        batch = obs.shape[0]
        z, h, logp, values = self._forward(obs)
        probs = np.exp(logp)
        rows = np.arange(batch)
        adv = returns - values if advantages is None else advantages
        error = values - returns
        abs_error = np.abs(error)
        huber = np.where(
            abs_error <= huber_delta,
            0.5 * error**2,
            huber_delta * (abs_error - 0.5 * huber_delta),
        )
        entropy = -(probs * logp).sum(axis=1)
        actor_loss = float(-(logp[rows, actions] * adv).mean())
        critic_loss = float(huber.mean())
        mean_entropy = float(entropy.mean())
        total = actor_loss - entropy_coef * mean_entropy + value_coef * critic_loss
        terms = LossTerms(total, actor_loss, critic_loss, mean_entropy, float(values.mean()))

        p = self.params
        # backward: the forward's names in reverse order, d<name> = d loss / d <name>
        dlogp_chosen = -adv / batch  # actor: loss holds mean(-logp[a] * adv)
        # log-softmax: dlogits = onehot(a) * dlogp_a - probs * dlogp_a
        dlogits = -probs * dlogp_chosen[:, None]
        dlogits[rows, actions] += dlogp_chosen
        # entropy: dH/dlogits = -probs * (logp + H), and the loss holds -entropy_coef * mean(H)
        dlogits += (entropy_coef / batch) * probs * (logp + entropy[:, None])
        # huber: d/dV = clip(V - G, -delta, delta)
        dvalues = value_coef * np.clip(error, -huber_delta, huber_delta) / batch
        dWa = h.T @ dlogits  # logits = h @ Wa + ba
        dba = dlogits.sum(axis=0)
        dWc = h.T @ dvalues[:, None]  # values = h @ Wc + bc
        dbc = np.array([dvalues.sum()])
        dh = dlogits @ p["Wa"].T + dvalues[:, None] @ p["Wc"].T  # h feeds both heads
        dz = dh * (z > 0)  # relu: passes the gradient only where it was active
        dW1 = obs.T @ dz  # z = obs @ W1 + b1
        db1 = dz.sum(axis=0)
        grads = {"W1": dW1, "b1": db1, "Wa": dWa, "ba": dba, "Wc": dWc, "bc": dbc}
        return terms, grads


def grad_norm(grads: dict[str, np.ndarray]) -> float:
    """The global L2 norm of all gradients together."""
    return float(np.sqrt(sum(float((g * g).sum()) for g in grads.values())))
