"""All training settings in one dataclass, shared by the CLI, the TUI, config.json and checkpoints."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ac_play.errors import AcPlayError, SettingError

MAX_HIDDEN = 1 << 16
"""The most hidden units a checkpoint may declare (`schema`), so training refuses more: a run must reload."""

CHOICES = {
    "optimizer": ("adam", "sgd"),
    "init": ("small-actor", "notebook"),
    "loss_reduction": ("mean", "sum"),
    "normalize": ("running", "episode"),
    "update": ("rollout", "episode"),
}
"""The settings that name one of a few ways of doing something."""


class ConfigError(SettingError):
    """A training setting out of range."""


@dataclass
class TrainConfig:
    """Settings of one training run. Defaults are the ones that solve CartPole-v1 on every seed."""

    env_id: str = "CartPole-v1"
    """Gymnasium environment id: a flat Box observation and Discrete actions."""
    seed: int = 0
    """Seeds the agent's initial weights, the action sampling and the environments."""
    hidden: int = 128
    """Units in the shared ReLU layer."""
    envs: int = 16
    """Environments played side by side (a vector env when above 1)."""
    update: str = "rollout"
    """How the agent learns from what it played:
    "rollout": every `steps` steps of each env, from GAE advantages bootstrapped by the critic,
    `epochs` passes over the batch in `minibatches` parts with PPO's clipped surrogate;
    "episode": the notebook's, once per batch of `envs` whole episodes, from Monte-Carlo returns."""
    steps: int | None = None
    """Steps of each env per rollout update. None: `default_steps(envs, env_id)`, about ROLLOUT_BATCH steps in all."""
    gae_lambda: float = 0.95
    """How far the advantages look ahead before trusting the critic (0: one step; 1: to the episode's end)."""
    epochs: int | None = None
    """Passes over each rollout's batch. None: `default_epochs(env_id)`, EPOCHS but for envs in ENV_ROLLOUT_DEFAULTS."""
    minibatches: int | None = None
    """Parts each pass splits the batch into, one optimiser step each. None: about MINIBATCH rows each."""
    clip: float = 0.2
    """How far a pass may move an action's probability ratio from 1 before its gradient stops (PPO)."""
    lr: float | None = None
    """Learning rate of the optimiser; may change between updates. None: `default_lr(envs, update)`."""
    gamma: float = 0.99
    """Discount factor of the returns; may change between updates."""
    entropy: float | None = None
    """Coefficient of the entropy bonus in the loss; may change between updates. None: `default_entropy`."""
    value_coef: float = 0.5
    """Weight of the critic's Huber loss against the actor's loss."""
    huber_delta: float = 1.0
    """Where the critic's Huber loss turns from quadratic to linear."""
    max_grad_norm: float = 1.0
    """Gradients are rescaled when their global norm exceeds this (0 turns it off)."""
    optimizer: str = "adam"
    """"adam" or "sgd"."""
    init: str = "small-actor"
    """Initial weights: "small-actor" (near-uniform first policy) or "notebook"."""
    loss_reduction: str = "mean"
    """How the per-step losses combine: "mean" (ours) or "sum" (the notebook's)."""
    normalize: str = "running"
    """How returns are normalised: "running" statistics over all batches, or per "episode"."""
    running_alpha: float = 0.05
    """Weight of the newest episode in the running reward (as in the notebook)."""
    episodes: int | None = None
    """Episodes to train; None stops when solved (or at max_episodes)."""
    max_episodes: int = 10_000
    """Safety limit when training until solved."""

    def __post_init__(self) -> None:
        if self.lr is None:
            self.lr = default_lr(self.envs, self.update)
        if self.entropy is None:
            self.entropy = default_entropy(self.env_id, self.update)
        if self.epochs is None:
            self.epochs = default_epochs(self.env_id)
        if self.steps is None:
            self.steps = default_steps(self.envs, self.env_id)
        if self.minibatches is None:
            self.minibatches = default_minibatches(self.envs, self.steps)

    def validate(self) -> TrainConfig:
        """Raise ConfigError, naming the field, for any nonsense value."""
        checks = [
            ("hidden", 1 <= self.hidden <= MAX_HIDDEN, f"must be from 1 to {MAX_HIDDEN}, not {self.hidden}"),
            ("envs", self.envs >= 1, f"must be at least 1, not {self.envs}"),
            ("lr", math.isfinite(self.lr) and self.lr > 0, f"must be a positive number, not {self.lr}"),
            ("gamma", 0 < self.gamma <= 1, f"must be in (0, 1], not {self.gamma}"),
            ("entropy", math.isfinite(self.entropy) and self.entropy >= 0,
             f"must be zero or positive, not {self.entropy}"),
            ("episodes", self.episodes is None or self.episodes >= 1, f"must be at least 1, not {self.episodes}"),
            ("seed", self.seed >= 0, f"must be zero or positive, not {self.seed}"),
            ("value_coef", math.isfinite(self.value_coef) and self.value_coef >= 0,
             f"must be zero or positive, not {self.value_coef}"),
            ("huber_delta", math.isfinite(self.huber_delta) and self.huber_delta > 0,
             f"must be a positive number, not {self.huber_delta}"),
            ("max_grad_norm", math.isfinite(self.max_grad_norm) and self.max_grad_norm >= 0,
             f"must be zero or positive, not {self.max_grad_norm}"),
            ("running_alpha", 0 < self.running_alpha <= 1, f"must be in (0, 1], not {self.running_alpha}"),
            ("max_episodes", self.max_episodes >= 1, f"must be at least 1, not {self.max_episodes}"),
            ("steps", self.steps >= 1, f"must be at least 1, not {self.steps}"),
            ("gae_lambda", 0 <= self.gae_lambda <= 1, f"must be in [0, 1], not {self.gae_lambda}"),
            ("epochs", self.epochs >= 1, f"must be at least 1, not {self.epochs}"),
            ("minibatches", self.minibatches >= 1, f"must be at least 1, not {self.minibatches}"),
            ("clip", 0 < self.clip < 1, f"must be in (0, 1), not {self.clip}"),
        ]
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            checks.append((name, value in allowed, f"must be {' or '.join(map(repr, allowed))}, not {value!r}"))
        for name, ok, reason in checks:
            if not ok:
                raise ConfigError(name, reason)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict (config.json, checkpoint metadata), ignoring unknown keys.

        A file that names no update was written before the rollout update existed: its run
        learned with the episode update, and resuming it carries on with that.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{"update": "episode", **{k: v for k, v in values.items() if k in known}})


ROLLOUT_BATCH = 1024
"""Steps in one rollout update up to 64 envs (see `default_steps`)."""
EPOCHS = 4
"""Passes over each rollout's batch. 4 at lr 0.01 needs as few env steps as 8 at 0.004 did, for half
the optimiser steps (CartPole-v1, seeds 200-263 at 1 to 64 envs); 3 needed 5-10% more env steps."""
ENV_ROLLOUT_DEFAULTS: dict[str, dict[str, float]] = {"Acrobot-v1": {"batch": 512, "entropy": 0.03, "epochs": 8}}
"""The rollout batch, entropy coefficient and passes of envs that learn better with their own than
CartPole's (ROLLOUT_BATCH, no entropy bonus, EPOCHS). Acrobot-v1, seeds 200-219 at 16 envs, solved within 300 episodes:
batch 1024 19 (median 166 episodes), 512 19 (148), 256 17 (119; two never swung up), 256 with
entropy 0.01, 0.02 and 0.03 20 (115, 130, 122). Smaller batches mean more updates while its episodes
are long (500 steps untrained); at 16 envs MIN_STEPS makes the batch 512. Until an episode first swings
up, every return is the same -500 and the advantages are noise, which drove the policy to one action
(entropy 0.9 to 0.01 in 30 episodes of seed 100 at 0.01, never swinging up); 0.03 and
rollouts.ADVANTAGE_FLOOR hold it off. With both, 4 passes left some seeds short of -100 after 300
episodes, still learning: seeds 100-199 at 16 envs solved 95 with 4 passes, 100 with 8 (and entropy
0.01 or 0.02 with 4 passes, 96). Its env steps cost far more than the passes, so 8 cost little time."""
MIN_STEPS = 32
"""The fewest steps of each env in a rollout: fewer, and GAE leans on the critic too soon. At 64 envs
(CartPole-v1, seeds 200-263) 16 steps solved every seed, but the slowest took 331k env steps; 32 steps,
88k (8 steps collapsed)."""
MINIBATCH = 256
"""Rows per optimiser step: the most that stays cheap (512 rows cost 3 times 256 here, out of cache)."""


def default_lr(envs: int, update: str = "rollout") -> float:
    """The learning rate a run gets unless it names one.

    "rollout": every optimiser step sees MINIBATCH rows at any --envs, so one rate fits all
    (measured on CartPole-v1, seeds 200-263 at 1, 8, 16, 32 and 64 envs with 4 epochs: 0.008, 0.01,
    0.012 and 0.015 all solved every seed; 0.01 and 0.012 needed the fewest env steps, 0.015 had
    the longest tails).
    "episode": 0.005 for one env; bigger batches average out more noise, so they take bigger
    steps. Measured on CartPole-v1 (10 seeds each): sqrt scaling beat both a fixed rate and
    linear scaling; above 0.02 some seeds collapse.
    """
    if update == "rollout":
        return 0.01
    return min(0.005 * math.sqrt(max(envs, 1)), 0.02)


def default_steps(envs: int, env_id: str = "CartPole-v1") -> int:
    """Steps per env per rollout: a batch of about ROLLOUT_BATCH steps (the env's own in ENV_ROLLOUT_DEFAULTS),
    with at least MIN_STEPS of each env."""
    batch = ENV_ROLLOUT_DEFAULTS.get(env_id, {}).get("batch", ROLLOUT_BATCH)
    return max(MIN_STEPS, round(batch / max(envs, 1)))


def default_epochs(env_id: str) -> int:
    """EPOCHS, or the env's own in ENV_ROLLOUT_DEFAULTS."""
    return int(ENV_ROLLOUT_DEFAULTS.get(env_id, {}).get("epochs", EPOCHS))


def default_entropy(env_id: str, update: str = "rollout") -> float:
    """No entropy bonus, but for an env in ENV_ROLLOUT_DEFAULTS with the rollout update (where it was measured)."""
    if update != "rollout":
        return 0.0
    return ENV_ROLLOUT_DEFAULTS.get(env_id, {}).get("entropy", 0.0)


def default_minibatches(envs: int, steps: int) -> int:
    """Minibatches per pass, so each holds about MINIBATCH rows whatever the batch's size."""
    return max(1, round(envs * steps / MINIBATCH))


PRESETS: dict[str, dict] = {
    "default": {},
    # The notebook's settings, kept so a learner can watch them fail: plain SGD at lr 0.005 on
    # a summed loss, He-scaled actor head, returns normalised per episode.
    "notebook": {
        "update": "episode",
        "envs": 1,
        "optimizer": "sgd",
        "lr": 0.005,
        "init": "notebook",
        "loss_reduction": "sum",
        "normalize": "episode",
        "value_coef": 1.0,
        "max_grad_norm": 0.0,
    },
}

HOT_SETTINGS = ("lr", "gamma", "entropy")
"""Settings that may change while training runs (applied at the next update)."""


def preset(name: str, **overrides) -> TrainConfig:
    """A config from a named preset with some fields replaced."""
    if name not in PRESETS:
        raise AcPlayError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    values = {**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig(**values)


