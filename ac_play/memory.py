"""How much memory a training run needs, estimated from its sizes before anything is allocated."""

from __future__ import annotations

import math

from ac_play.agent import param_shapes
from ac_play.config import ConfigError, TrainConfig
from ac_play.envs import EnvInfo

MEMORY_LIMIT = 8 * 2**30
"""Bytes a training run may need (see `memory_needed`); bigger runs are refused before they allocate.

A laptop's memory, far above any useful run: the defaults need 4 MiB, --envs 1000 about 131 MiB.
"""
FLOAT_BYTES = 8
UNLIMITED_EPISODE_STEPS = 1000
"""The runners' first buffer length for an env without a step limit (they grow it if needed)."""


def memory_needed(config: TrainConfig, info: EnvInfo) -> int:
    """Bytes a run needs at its largest, from the sizes alone (nothing is allocated).

    parameters: 4 copies (weights, gradients, Adam's two moments) of every parameter
    rows: envs x (steps + 1) of a rollout, or envs x the step limit of whole episodes
    one update: rows of obs [D] and z, h, dh, dz [H]; the runner's buffers: rows of obs [D], action and reward
    """
    shapes = param_shapes(info.obs_dim, info.n_actions, config.hidden)
    parameters = 4 * sum(math.prod(shape) for shape in shapes.values())
    limit = info.max_episode_steps or UNLIMITED_EPISODE_STEPS
    rows = config.envs * (config.steps + 1 if config.update == "rollout" else limit)
    update, buffers = rows * (info.obs_dim + 4 * config.hidden), rows * (info.obs_dim + 2)
    return FLOAT_BYTES * (parameters + update + buffers)


def check_memory(config: TrainConfig, info: EnvInfo) -> None:
    """Refuse a run that needs more than MEMORY_LIMIT: a ConfigError naming hidden, or else envs."""
    needed = memory_needed(config, info)
    if needed <= MEMORY_LIMIT:
        return
    one_env = memory_needed(TrainConfig(hidden=config.hidden, envs=1), info)
    field, value = ("hidden", config.hidden) if one_env > MEMORY_LIMIT else ("envs", config.envs)
    raise ConfigError(field, too_big(value, needed))


def too_big(value: int, needed: int) -> str:
    """Why `value` is refused, for a SettingError: what it would need against the limit."""
    return f"{value} would need about {in_bytes(needed)} of memory; ac-play's limit is {in_bytes(MEMORY_LIMIT)}"


def in_bytes(size: int) -> str:
    """A size in the largest binary unit under 1024 of it (512 bytes, 1.5 TiB, 8 GiB); past EiB, a power of ten."""
    units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    if size >= 1024 ** len(units):
        # a huge --hidden can make sizes too big to divide into a float
        return f"10^{int(math.log10(size))} bytes"
    power = (max(size, 1).bit_length() - 1) // 10
    number = size / 1024**power
    digits = f"{number:.1f}".removesuffix(".0") if number < 10 else f"{number:.0f}"
    return f"{digits} {units[power]}"
