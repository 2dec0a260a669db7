"""The one checkpoint format: a single .npz of float arrays plus a JSON metadata string.

Keys: "meta" (JSON text), "param/<name>" for the agent, "optim/<name>" for the optimiser.
Loading never unpickles (allow_pickle=False) and checks keys, shapes, dtypes and finiteness;
saving goes through a temporary file and a rename so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ac_play import __version__
from ac_play.agent import PARAM_NAMES, ActorCritic, param_shapes
from ac_play.errors import AcPlayError

FORMAT_VERSION = 1
BUNDLED_NAME = "cartpole-v1.npz"


class CheckpointError(AcPlayError):
    """A checkpoint that cannot be used, with the reason."""


@dataclass
class Checkpoint:
    """What a checkpoint holds: the agent, the optimiser's state and the metadata."""

    agent: ActorCritic
    meta: dict
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    @property
    def env_id(self) -> str:
        return self.meta["env_id"]

    @property
    def name(self) -> str:
        return self.path.name if self.path else "(unsaved)"


TEMP_SUFFIX = ".tmp"


def save(path: str | Path, agent: ActorCritic, meta: dict, optimizer_state: dict | None = None) -> Path:
    """Write a checkpoint atomically: a temporary file beside `path`, then a rename.

    Refuses (CheckpointError) to write NaN or infinite values, so the file already at `path`,
    the last good one, stays. Any write error is a CheckpointError too, and leaves no temporary
    file behind. The rename replaces whatever is at `path`, a symlink included, and never writes
    through it.
    """
    path = Path(path)
    arrays = {f"param/{k}": np.asarray(v, dtype=np.float64) for k, v in agent.params.items()}
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in (optimizer_state or {}).items()})
    bad = [key for key, array in arrays.items() if array.dtype.kind == "f" and not np.all(np.isfinite(array))]
    if bad:
        raise CheckpointError(f"not writing {path}: {bad[0]} holds NaN or infinite values; the previous file stays")
    meta = {
        **meta,
        "format_version": FORMAT_VERSION,
        "ac_play_version": __version__,
        "obs_dim": agent.obs_dim,
        "n_actions": agent.n_actions,
        "hidden": agent.hidden,
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    arrays["meta"] = np.array(json.dumps(meta))
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError as exc:
        _remove(temp)
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(temp)
        raise
    return path


def _remove(temp: str | None) -> None:
    if temp is not None:
        Path(temp).unlink(missing_ok=True)


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete temporary checkpoint files a killed process left in `folder` (ours only: .NAME.npz.*.tmp)."""
    removed = []
    for temp in Path(folder).glob(f".*.npz.*{TEMP_SUFFIX}"):
        if temp.is_file() and not temp.is_symlink():
            temp.unlink(missing_ok=True)
            removed.append(temp)
    return removed


def load(path: str | Path) -> Checkpoint:
    """Read and validate a checkpoint; any problem raises CheckpointError with the reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    arrays = _read_arrays(path)
    meta = _read_meta(path, arrays)
    shapes = param_shapes(meta["obs_dim"], meta["n_actions"], meta["hidden"])
    params = {name: _checked_array(path, arrays, f"param/{name}", shape) for name, shape in shapes.items()}
    optim_state = {
        key[len("optim/"):]: _checked_array(path, arrays, key, None)
        for key in arrays
        if key.startswith("optim/")
    }
    unexpected = set(arrays) - {"meta"} - {f"param/{n}" for n in PARAM_NAMES} - {f"optim/{k}" for k in optim_state}
    if unexpected:
        raise CheckpointError(f"{path}: unexpected arrays {', '.join(sorted(unexpected))}")
    return Checkpoint(ActorCritic(params), meta, optim_state, path)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"PK\x03\x04":
        # checked first: np.load would take any other file for a pickle
        reason = "empty file" if not magic else "not a zip archive"
        raise CheckpointError(f"{path} is not a readable .npz checkpoint ({reason})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise CheckpointError(f"{path} contains pickled objects; refusing to load it") from None
        raise CheckpointError(f"{path} is not a valid checkpoint ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc) or type(exc).__name__
        raise CheckpointError(f"{path} is not a readable .npz checkpoint ({reason})") from None
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise CheckpointError(f"{path}: member {key!r} is not a NumPy array")
    return arrays


def _read_meta(path: Path, arrays: dict[str, np.ndarray]) -> dict:
    if "meta" not in arrays:
        raise CheckpointError(f"{path} has no metadata; it is not an ac-play checkpoint")
    meta_array = arrays["meta"]
    if meta_array.dtype.kind != "U" or meta_array.shape != ():
        raise CheckpointError(f"{path}: metadata must be a JSON string")
    try:
        meta = json.loads(str(meta_array))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: metadata is not valid JSON ({exc.msg})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata must be a JSON object")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {meta.get('format_version')!r} is not supported "
            f"(this ac-play reads format {FORMAT_VERSION})"
        )
    for key in ("obs_dim", "n_actions", "hidden"):
        if not isinstance(meta.get(key), int) or meta[key] < 1:
            raise CheckpointError(f"{path}: metadata field {key!r} must be a positive integer")
    if not isinstance(meta.get("env_id"), str):
        raise CheckpointError(f"{path}: metadata has no environment id")
    return meta


def _checked_array(path: Path, arrays: dict, key: str, shape: tuple | None) -> np.ndarray:
    if key not in arrays:
        raise CheckpointError(f"{path}: missing array {key!r}")
    array = arrays[key]
    if array.dtype.kind not in "fi":
        raise CheckpointError(f"{path}: array {key!r} has dtype {array.dtype}, expected numbers")
    if shape is not None and array.shape != shape:
        raise CheckpointError(f"{path}: array {key!r} has shape {array.shape}, expected {shape}")
    if shape is not None and array.dtype.kind != "f":
        raise CheckpointError(f"{path}: array {key!r} has dtype {array.dtype}, expected float")
    if not np.all(np.isfinite(array)):
        raise CheckpointError(f"{path}: array {key!r} holds NaN or infinite values")
    return array.astype(np.float64) if array.dtype.kind == "f" else array


def check_compatible(checkpoint: Checkpoint, env_id: str, hidden: int | None = None) -> None:
    """Refuse a checkpoint made for another environment or network size."""
    if checkpoint.env_id != env_id:
        raise CheckpointError(
            f"{checkpoint.path} was trained on {checkpoint.env_id}, not {env_id}"
        )
    if hidden is not None and checkpoint.agent.hidden != hidden:
        raise CheckpointError(
            f"{checkpoint.path} has {checkpoint.agent.hidden} hidden units, not {hidden}"
        )


def bundled_path() -> Path:
    """The bundled CartPole-v1 agent: inside the installed package, or in a source checkout."""
    packaged = resources.files("ac_play") / "assets" / BUNDLED_NAME
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "assets" / BUNDLED_NAME


def load_or_bundled(path: str | Path | None) -> Checkpoint:
    """Load `path`, or the bundled agent when no path is given."""
    return load(path if path is not None else bundled_path())
