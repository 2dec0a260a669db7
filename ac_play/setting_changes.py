"""The record of a run's hot settings (lr, gamma, entropy) changing: config.json's `changes` list.

Each change is {episode, name, old, new}, `episode` being the first episode trained with `new`.
With the settings every metrics.jsonl line carries, a reader can tell what each episode ran under.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ac_play import files
from ac_play.config import HOT_SETTINGS, TrainConfig
from ac_play.snapshot import Snapshot
from ac_play.training import hot_settings

CONFIG_LIMIT = 1 << 20
"""Bytes of an earlier config.json read back for its changes (ours take a few hundred)."""


def between(old: dict[str, float], new: dict[str, float], episode: int) -> list[dict]:
    """A change for each setting that differs, `episode` being the first under `new`."""
    return [{"episode": episode, "name": name, "old": old[name], "new": new[name]}
            for name in new if new[name] != old.get(name)]


def at_start(config_json: Path, resumed: Snapshot | None, config: TrainConfig, in_place: bool) -> list[dict]:
    """The changes a run's config.json starts with: none for a new run.

    A resumed run records the flags that changed a setting of its checkpoint; resumed in place, it
    first keeps the changes its config.json recorded up to the checkpoint's episode (those after it
    went with the metrics a killed run logged after its save).
    """
    if resumed is None:
        return []
    kept = [change for change in recorded(config_json) if change["episode"] <= resumed.episode] if in_place else []
    return kept + between(hot_settings(resumed.config), hot_settings(config), resumed.episode + 1)


def recorded(config_json: Path) -> list[dict]:
    """The well-formed entries of config.json's `changes` (none from a file that is missing, damaged or older)."""
    try:
        fd = files.open_regular(config_json, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as config_file:
            changes = json.loads(config_file.read(CONFIG_LIMIT)).get("changes", [])
    except (OSError, files.NotRegularFile, ValueError, AttributeError, RecursionError):
        return []
    return [change for change in changes if is_change(change)] if isinstance(changes, list) else []


def is_change(change: object) -> bool:
    numbers = (int, float)
    return (isinstance(change, dict) and type(change.get("episode")) is int and change.get("name") in HOT_SETTINGS
            and isinstance(change.get("old"), numbers) and isinstance(change.get("new"), numbers))
