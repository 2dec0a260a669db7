"""What a checkpoint's metadata may hold: every field's type and range, checked in one place.

`check_meta` is called by `checkpoint.load`, so `eval`, `watch`, `human --agent` and
`train --resume` all refuse the same files for the same reasons. Nothing in the metadata decides
what code runs: the env id must already be in gymnasium's registry (looked up, never imported).
"""

from __future__ import annotations

import dataclasses
import math

from ac_play.config import MAX_HIDDEN, TrainConfig
from ac_play.errors import AcPlayError
from ac_play.training import Progress

MAX_SIZES = {"obs_dim": 4096, "n_actions": 1024, "hidden": MAX_HIDDEN}
MAX_PARAMETERS = 1 << 24
"""Parameters a checkpoint may declare (128 MB of float64): far above any CartPole network."""


class SchemaError(AcPlayError):
    """A metadata field of the wrong type or out of range; the message names it."""


MAX_COUNT = 2**53
"""Counters (episodes, steps, updates) past this are not from a run; floats stop counting exactly here."""


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite number that fits a float (JSON allows integers of any length, and NaN)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


TYPE_CHECKS = {
    "int": is_int,
    "float": is_number,
    "str": lambda value: isinstance(value, str),
    "int | None": lambda value: value is None or is_int(value),
    "float | None": lambda value: value is None or is_number(value),
    "bool": lambda value: isinstance(value, bool),
}
"""The annotations of TrainConfig's and Progress's fields, and what a JSON value must be to fit."""


def check_meta(meta: dict) -> None:
    """Raise SchemaError for the first field that does not fit; see the module docstring."""
    for key, limit in MAX_SIZES.items():
        if not is_int(meta.get(key)) or not 1 <= meta[key] <= limit:
            raise SchemaError(f"metadata field {key!r} must be a whole number from 1 to {limit}")
    obs_dim, n_actions, hidden = meta["obs_dim"], meta["n_actions"], meta["hidden"]
    if hidden * (obs_dim + n_actions + 2) > MAX_PARAMETERS:
        raise SchemaError(f"a network of {hidden} hidden units is larger than ac-play loads")
    env_id = meta.get("env_id")
    if not isinstance(env_id, str):
        raise SchemaError("metadata has no environment id")
    check_fields(meta.get("config", {}), TrainConfig, "config")
    check_fields(meta.get("progress", {}), Progress, "progress")
    check_normaliser(meta.get("normaliser", {}))
    config = meta.get("config", {})
    for key, value in (("env_id", env_id), ("hidden", hidden)):
        if key in config and config[key] != value:
            raise SchemaError(f"metadata says {key} {value!r} but its config says {config[key]!r}")


def check_fields(section, kind: type, name: str) -> None:
    """A section is an object whose known fields have their dataclass's types (unknown ones are ignored)."""
    if not isinstance(section, dict):
        raise SchemaError(f"metadata field {name!r} must be an object")
    for field in dataclasses.fields(kind):
        if field.name in section and not TYPE_CHECKS[field.type](section[field.name]):
            raise SchemaError(f"metadata field {name}.{field.name} must be of type {field.type}")
    known = {field.name for field in dataclasses.fields(kind)}
    values = {key: value for key, value in section.items() if key in known}
    if kind is TrainConfig:
        try:
            TrainConfig.from_dict(values).validate()
        except AcPlayError as exc:
            raise SchemaError(f"metadata field config.{exc}") from None
    else:
        check_progress(values)


def check_progress(progress: dict) -> None:
    counters = ("episode", "env_steps", "updates")
    if not all(0 <= progress.get(key, 0) <= MAX_COUNT for key in counters) or progress.get("elapsed", 0.0) < 0:
        raise SchemaError("metadata field 'progress' holds a count or time out of range")
    if progress.get("solved_at") is not None and not 1 <= progress["solved_at"] <= MAX_COUNT:
        raise SchemaError("metadata field progress.solved_at is out of range")


def check_normaliser(normaliser) -> None:
    """mean and std finite numbers, std not negative, seen true or false."""
    if not isinstance(normaliser, dict):
        raise SchemaError("metadata field 'normaliser' must be an object")
    wanted = {"mean": is_number, "std": lambda value: is_number(value) and value >= 0, "seen": TYPE_CHECKS["bool"]}
    for key, fits in wanted.items():
        if normaliser and not fits(normaliser.get(key)):
            raise SchemaError(f"metadata field normaliser.{key} is missing or out of range")
