"""The actor-critic network and its hand-written backward pass, in plain NumPy.

Shapes: B is the batch (all the steps of one or more episodes), D the observation size,
H the hidden size, A the number of actions.

    z      = obs @ W1 + b1            [B, H]  shared layer
    h      = relu(z)                  [B, H]
    logits = h @ Wa + ba              [B, A]  actor head
    logp   = logits - logsumexp       [B, A]  log pi(.|s)
    probs  = exp(logp)                [B, A]
    values = h @ Wc + bc              [B]     critic head

The policy lives here too, in one place: `act` (greedy or sampled actions for a batch), its lean
per-row variant `row_policy` for the single-env loop and `rollout_policy` for a rollout's steps,
all sampling by the one rule in `ac_play.sampling`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ac_play.learning_stats import dead_fraction
from ac_play.params import PARAM_NAMES, FlatParams, layer_views, param_shapes
from ac_play.sampling import sample_from_logits, sample_logit_rows

COMPUTE_DTYPE = np.float32
"""What the rollout update plays and learns in (see `ActorCritic.layers_for`); parameters stay float64."""


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """logits [B, A] -> log-probabilities [B, A], via log-sum-exp so nothing overflows."""
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


class Activations(NamedTuple):
    """One forward pass, as the backward needs it; every array in the observations' precision."""

    inputs: np.ndarray
    """[B, D + 1]: obs and a column of ones, so that [W1; b1] (`layer_views`) is one product each way."""
    z: np.ndarray
    """[B, H]: obs @ W1 + b1."""
    h: np.ndarray
    """[B, H]: relu(z)."""
    out: np.ndarray
    """[B, A + 1]: the logits, then the value."""

    @property
    def logits(self) -> np.ndarray:
        return self.out[:, :-1]

    @property
    def values(self) -> np.ndarray:
        return self.out[:, -1]


def with_ones(x: np.ndarray) -> np.ndarray:
    """x [B, K] -> [B, K + 1]: x and a last column of ones, in x's float type (float64 for any other)."""
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    out = np.empty((x.shape[0], x.shape[1] + 1), dtype=dtype)
    out[:, :-1] = x
    out[:, -1] = 1.0
    return out


@dataclass(frozen=True)
class LossTerms:
    """The parts of one batch's loss, for statistics."""

    total: float
    actor: float
    critic: float
    entropy: float
    mean_value: float
    dead_units: float
    """The fraction of hidden units zero on every row of the batch (dead ReLUs)."""


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

    def __post_init__(self) -> None:
        self._pack()

    def _pack(self) -> None:
        """Keep the parameters in one flat vector (a copy of those given, unless they already are)."""
        obs_dim, hidden = self.params["W1"].shape
        n_actions = self.params["Wa"].shape[1]
        if not isinstance(self.params, FlatParams):
            packed = FlatParams.zeros(obs_dim, n_actions, hidden)
            for name in PARAM_NAMES:
                packed[name] = self.params[name]
            self.params = packed
        self._packed = self.params
        self._layers = layer_views(self.params.flat, obs_dim, n_actions, hidden)

    def layers(self) -> tuple[np.ndarray, np.ndarray]:
        """[W1; b1] [D + 1, H] and [Wa Wc; ba bc] [H + 1, A + 1], views of the parameters (`layer_views`)."""
        if self._packed is not self.params:  # `params` was replaced: pack the new one
            self._pack()
        return self._layers

    def layers_for(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`layers`, in float32 copies for float32 observations, else the float64 parameters themselves.

        The rollout update plays and learns in float32 (COMPUTE_DTYPE): products of float32 arrays
        take half the time of float64 ones, and a mixed product would be done in float64. The
        parameters, the optimiser and checkpoints stay float64; a copy of the layers is a
        thousand numbers.
        """
        first, second = self.layers()
        if obs.dtype == np.float32:
            return first.astype(np.float32), second.astype(np.float32)
        return first, second

    def forward(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """obs [B, D] -> probs [B, A], values [B]."""
        acts = self._forward(np.atleast_2d(obs))
        return np.exp(log_softmax(acts.logits)), acts.values

    def _forward(self, obs: np.ndarray, layers: tuple[np.ndarray, np.ndarray] | None = None) -> Activations:
        """obs [B, D] -> the layers' activations, in obs's precision (`layers_for`)."""
        first, second = layers or self.layers_for(obs)
        inputs = with_ones(obs)
        z = inputs @ first  # obs @ W1 + b1
        h = np.maximum(z, 0.0)
        out = h @ second[:-1]  # [logits | values] = h @ [Wa Wc] + [ba bc]
        out += second[-1]
        return Activations(inputs, z, h, out)

    def hidden_activations(self, obs: np.ndarray) -> np.ndarray:
        """obs [B, D] -> h [B, H]: what the shared ReLU layer passes on (0 where a unit is off)."""
        return self._forward(np.atleast_2d(obs)).h

    # -- the policy: every caller acts through these ----------------------------------------

    def act(self, obs: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """obs [B, D] -> actions [B]: the most probable (rng None), or sampled with one draw of rng per row."""
        logits = self._forward(np.atleast_2d(obs)).logits
        if rng is None:
            return logits.argmax(axis=1)
        return sample_logit_rows(logits, rng)

    def rollout_policy(self, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
        """`act` sampling with `rng`, for the steps of one rollout: obs [N, D] -> actions [N].

        The parameters stay as they are while a rollout plays, so the layers are cast to
        COMPUTE_DTYPE once, here, rather than at every step, and only the actor's columns are
        multiplied: a third less work per step of a vector env than `act`.
        """
        first, second = (layer.astype(COMPUTE_DTYPE) for layer in self.layers())
        w1, b1 = first[:-1], first[-1]
        actor, actor_bias = np.ascontiguousarray(second[:-1, :-1]), second[-1, :-1]

        def actions(obs: np.ndarray) -> np.ndarray:
            z = obs @ w1
            z += b1
            np.maximum(z, 0.0, out=z)
            logits = z @ actor
            logits += actor_bias
            return sample_logit_rows(logits, rng)

        return actions

    def row_policy(self, uniform: Callable[[], float] | None = None) -> Callable[[np.ndarray], int]:
        """The lean per-row variant of `act` for the single-env loop: obs [D] -> action, in float64.

        Greedy when `uniform` is None, else sampled with one `uniform()` per step. One small
        matrix product and a few floats in plain Python: NumPy's per-call overhead on arrays of
        two numbers would cost more than the arithmetic.
        """
        first, second = self.layers()  # views: later changes to the parameters act at once
        # [obs 1] and [h 1], kept between calls (their last entries stay 1): each layer is one product
        inputs, hidden = np.ones(self.obs_dim + 1), np.ones(self.hidden + 1)
        h = hidden[:-1]

        def action(row: np.ndarray) -> int:
            inputs[:-1] = row
            np.matmul(inputs, first, out=h)
            np.maximum(h, 0.0, out=h)
            logits = (hidden @ second).tolist()[:-1]  # the last column is the critic's
            return logits.index(max(logits)) if uniform is None else sample_from_logits(logits, uniform())

        return action

    # -- the loss and its hand-written gradient ---------------------------------------------

    def loss_and_grads(self, obs: np.ndarray, actions: np.ndarray, returns: np.ndarray, **options):
        """The loss of a batch and its gradients (float, grads); options as in `loss_terms_and_grads`."""
        terms, grads = self.loss_terms_and_grads(obs, actions, returns, **options)
        return terms.total, grads

    def loss_terms_and_grads(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        returns: np.ndarray,
        *,
        advantages: np.ndarray | None = None,
        old_logp: np.ndarray | None = None,
        clip: float = 0.2,
        entropy_coef: float = 0.0,
        value_coef: float = 0.5,
        huber_delta: float = 1.0,
        reduction: str = "mean",
    ) -> tuple[LossTerms, FlatParams]:
        """The loss of a batch, in parts, and its gradient with respect to every parameter (by name).

        obs [B, D], actions [B] (ints), returns [B] (the critic's targets G). `reduction` "mean"
        averages the per-step losses over the B steps, so the step size does not grow with the
        episode length; "sum" adds them up, as the notebook does:

            loss = reduce(-logp[a] * adv)                   actor (policy gradient)
                 - entropy_coef * reduce(entropy(probs))    exploration bonus
                 + value_coef * reduce(huber(G - V))        critic, Huber with huber_delta

        adv is a constant (no gradient flows through it): by default G - V computed from the
        current parameters, or the `advantages` [B] passed in. Holding it constant keeps the
        actor's loss from pulling on the critic head.

        With `old_logp` [B], the log-probabilities of the actions when they were taken, the actor's
        term is the clipped surrogate that lets one batch be learnt from several times (PPO):

            ratio = exp(logp[a] - old_logp)
            actor = reduce(-min(ratio * adv, clip(ratio, 1 - clip, 1 + clip) * adv))

        At ratio 1 (the batch's first pass) its gradient is exactly the policy gradient above.
        """
        obs = np.atleast_2d(obs)
        batch = len(obs)
        count = batch if REDUCTIONS[reduction] is np.mean else 1  # what each step's loss is divided by
        first, second = self.layers_for(obs)
        acts = self._forward(obs, (first, second))
        logits, values = acts.logits, acts.values
        active = acts.z > 0
        logp = log_softmax(logits)
        probs = np.exp(logp)
        rows = np.arange(batch)
        error = values - returns
        adv = -error if advantages is None else advantages
        # huber: 0.5 e^2 up to delta, then linear; with c = clip(e, -delta, delta) both are c * (e - c / 2)
        clipped_error = np.clip(error, -huber_delta, huber_delta)
        huber = clipped_error * (error - 0.5 * clipped_error)
        entropy = -(probs * logp).sum(axis=1)
        actor_terms, weight = actor_objective(logp[rows, actions], adv, old_logp, clip)
        actor_loss = float(actor_terms.sum()) / count
        critic_loss = float(huber.sum()) / count
        entropy_sum = float(entropy.sum())
        total = actor_loss - entropy_coef * entropy_sum / count + value_coef * critic_loss
        terms = LossTerms(total, actor_loss, critic_loss, entropy_sum / batch, float(values.sum()) / batch,
                          dead_fraction(active))

        # backward: the forward's names in reverse order, d<name> = d loss / d <name>, each
        # layer's gradient written straight into one flat vector laid out as the parameters
        flat = np.empty(self.params.flat.shape, dtype=acts.out.dtype)
        dfirst, dsecond = layer_views(flat, self.obs_dim, self.n_actions, self.hidden)
        dout = np.empty_like(acts.out)  # [dlogits | dvalues], as out = [logits | values]
        dlogits, dvalues = dout[:, :-1], dout[:, -1]
        dlogp_chosen = weight * (-1.0 / count)  # actor: d actor_terms / d logp[a] = -weight
        # log-softmax: dlogits = onehot(a) * dlogp_a - probs * dlogp_a
        np.multiply(probs, -dlogp_chosen[:, None], out=dlogits)
        dlogits[rows, actions] += dlogp_chosen
        if entropy_coef:
            # entropy: dH/dlogits = -probs * (logp + H), and the loss holds -entropy_coef * reduce(H)
            dlogits += (entropy_coef / count) * probs * (logp + entropy[:, None])
        # huber: d/dV = clip(V - G, -delta, delta)
        np.multiply(clipped_error, value_coef / count, out=dvalues)
        np.matmul(acts.h.T, dout, out=dsecond[:-1])  # out = h @ [Wa Wc] + [ba bc]
        dout.sum(axis=0, out=dsecond[-1])
        dh = dout @ second[:-1].T  # h feeds both heads: dlogits @ Wa.T + dvalues @ Wc.T in one product
        dh *= active  # relu: passes the gradient only where it was active
        np.matmul(acts.inputs.T, dh, out=dfirst)  # z = [obs 1] @ [W1; b1]
        grads = FlatParams.of(flat.astype(np.float64, copy=False), self.obs_dim, self.n_actions, self.hidden)
        return terms, grads


def actor_objective(
    logp_chosen: np.ndarray, adv: np.ndarray, old_logp: np.ndarray | None, clip: float
) -> tuple[np.ndarray, np.ndarray]:
    """The actor's per-step loss [B], and `weight` [B] with d loss / d logp[a] = -weight.

    Plain policy gradient: loss -logp[a] * adv, weight adv. Clipped surrogate (old_logp given):
    d(-ratio * adv) / d logp[a] = -ratio * adv where the unclipped term is the smaller one, and
    nothing where the clip holds the ratio still (the min picks the constant clipped term).
    """
    if old_logp is None:
        return -(logp_chosen * adv), adv
    ratio = np.exp(logp_chosen - old_logp)
    unclipped = ratio * adv
    clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * adv
    return -np.minimum(unclipped, clipped), np.where(unclipped <= clipped, unclipped, 0.0)


REDUCTIONS = {"mean": np.mean, "sum": np.sum}
"""How per-step losses combine into the loss of a batch."""


@dataclass(frozen=True)
class InputGradients:
    """How each output of the network moves with each input: d output / d obs, for a batch.

    Every gradient is [B, D]. `hidden` [B, H] holds the ReLU activations they flowed through,
    and `probs` [B, A], `values` [B] the outputs themselves (the critic's raw, normalised ones).
    """

    logp: np.ndarray
    """d log pi(a|s) / d obs, for the action a given for each row."""
    logit_diff: np.ndarray
    """d (logits[last] - logits[0]) / d obs: push right minus push left in CartPole; with more
    actions, the last against the first (the two ends: Acrobot's and MountainCar's +1 and -1)."""
    value: np.ndarray
    """d V(s) / d obs, in the critic's raw units (a ValueScale multiplies it into return units)."""
    hidden: np.ndarray
    probs: np.ndarray
    values: np.ndarray


def input_gradients(agent: ActorCritic, obs: np.ndarray, actions: np.ndarray) -> InputGradients:
    """obs [B, D], actions [B] -> the gradients of the policy and the value with respect to obs.

    The backward pass of `loss_terms_and_grads` run one layer further, down to the input, for
    three outputs at once: the chosen action's log-probability, the logit difference and V.
    """
    obs = np.atleast_2d(obs)
    actions = np.asarray(actions)
    rows = np.arange(obs.shape[0])
    acts = agent._forward(obs)
    z, h, values = acts.z, acts.h, acts.values
    probs = np.exp(log_softmax(acts.logits))
    wa, wc = agent.params["Wa"], agent.params["Wc"]
    # log-softmax: d logp[a] / d logits = onehot(a) - probs
    dlogits = -probs
    dlogits[rows, actions] += 1.0
    # the logit difference and V are linear in h: their dh is one row of weights for every step
    dh_diff = wa[:, -1] - wa[:, 0]
    dh_value = wc[:, 0]
    active = z > 0  # relu: passes the gradient only where it was active
    dz = np.stack([(dlogits @ wa.T) * active, dh_diff * active, dh_value * active])  # [3, B, H]
    dlogp, ddiff, dvalue = dz @ agent.params["W1"].T  # z = obs @ W1 + b1
    return InputGradients(dlogp, ddiff, dvalue, h, probs, values)
