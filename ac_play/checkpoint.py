"""The one checkpoint format: a single .npz of float arrays plus a JSON metadata string.

Keys: "meta" (JSON text), "param/<name>" for the agent, "optim/<name>" for the optimiser.
Loading never unpickles (allow_pickle=False) and checks keys, shapes, dtypes and finiteness;
saving goes through a temporary file and a rename so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import datetime
import json
import stat
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ac_play import __version__, files, npz, schema
from ac_play.agent import ActorCritic, param_shapes
from ac_play.envs import registered_env_info
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
    bundled: bool = False
    """The agent that comes with ac-play (`load_or_bundled` without a path)."""

    @property
    def env_id(self) -> str:
        return self.meta["env_id"]

    @property
    def name(self) -> str:
        return self.path.name if self.path else "(unsaved)"

    @property
    def label(self) -> str:
        """How to name it to the user: its path as given, or "cartpole-v1.npz (bundled)".

        The bundled agent's real path is deep in site-packages, which tells nobody anything.
        """
        return f"{self.name} (bundled)" if self.bundled else str(self.path)


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.replace_atomically(path, lambda out: np.savez(out, **arrays))
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


META_LIMIT = 1 << 20
"""Bytes of metadata a checkpoint may hold (ours take about 1 kB)."""


def load(path: str | Path) -> Checkpoint:
    """Read and validate a checkpoint; any problem raises CheckpointError with the reason.

    The container, every array's declared shape and dtype, and every metadata field are checked
    before data is read (see `npz` and `schema`); the env must be registered and fit the weights.
    """
    path = Path(path)
    _check_regular_file(path)
    try:
        with npz.Archive(path) as archive:
            meta = _read_meta(archive)
            schema.check_meta(meta)
            params, optim_state = _read_arrays(archive, meta)
    except npz.NpzError as exc:
        raise CheckpointError(f"{path} is not a readable .npz checkpoint ({exc})") from None
    except AcPlayError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    _check_env(path, meta)
    return Checkpoint(ActorCritic(params), meta, optim_state, path)


def _check_regular_file(path: Path) -> None:
    try:
        status = path.stat()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):
        raise CheckpointError(f"{path} is {files.kind_of(status.st_mode)}, not a checkpoint")


def read_json_meta(archive: npz.Archive, kind: str = "checkpoint") -> dict:
    """The "meta" member's JSON object, read within META_LIMIT bytes (a checkpoint's or a history's)."""
    if "meta" not in archive.members:
        raise AcPlayError(f"it has no metadata, so it is not an ac-play {kind}")
    try:
        meta = json.loads(str(archive.read("meta", (), "U", max_bytes=META_LIMIT)))
    except (ValueError, SystemError) as exc:  # SystemError: a code point past U+10FFFF
        raise AcPlayError(f"metadata is not valid JSON ({getattr(exc, 'msg', exc)})") from None
    except RecursionError:
        raise AcPlayError("metadata is nested too deeply") from None
    if not isinstance(meta, dict):
        raise AcPlayError("metadata must be a JSON object")
    return meta


def _read_meta(archive: npz.Archive) -> dict:
    meta = read_json_meta(archive)
    if meta.get("format_version") != FORMAT_VERSION or not schema.is_int(meta.get("format_version")):
        version = meta.get("format_version")
        raise AcPlayError(f"checkpoint format {version!r} is not supported (this ac-play reads {FORMAT_VERSION})")
    return meta


def expected_arrays(meta: dict) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every array a checkpoint with this metadata may hold: name -> (shape, dtype kinds)."""
    shapes = param_shapes(meta["obs_dim"], meta["n_actions"], meta["hidden"])
    expected = {f"param/{name}": (shape, "f") for name, shape in shapes.items()}
    expected["optim/t"] = ((1,), "i")
    for moment in ("m", "v"):
        expected.update({f"optim/{moment}/{name}": (shape, "f") for name, shape in shapes.items()})
    return expected


def _read_arrays(archive: npz.Archive, meta: dict) -> tuple[dict, dict]:
    """The parameters and the optimiser's state: all of Adam's arrays, or none (SGD keeps none)."""
    expected = expected_arrays(meta)
    names = set(archive.members) - {"meta"}
    unexpected = names - set(expected)
    if unexpected:
        raise AcPlayError(f"unexpected arrays {', '.join(sorted(unexpected))}")
    optim = {name for name in expected if name.startswith("optim/")}
    wanted = [name for name in expected if name.startswith("param/")] + (sorted(optim) if names & optim else [])
    arrays = {}
    for name in wanted:
        if name not in names:
            raise AcPlayError(f"missing array {name!r}")
        shape, kinds = expected[name]
        array = archive.read(name, shape, kinds)
        if not np.all(np.isfinite(array)):
            raise AcPlayError(f"array {name!r} holds NaN or infinite values")
        if kinds == "i" and not 0 <= array.min() <= array.max() <= schema.MAX_COUNT:
            raise AcPlayError(f"array {name!r} counts {array.max() if array.min() >= 0 else array.min()} steps")
        arrays[name] = array.astype(np.float64) if kinds == "f" else array.astype(np.int64)
    params = {name.removeprefix("param/"): array for name, array in arrays.items() if name.startswith("param/")}
    optim_state = {name.removeprefix("optim/"): array for name, array in arrays.items() if name.startswith("optim/")}
    return params, optim_state


def _check_env(path: Path, meta: dict) -> None:
    try:
        check_env_fits(meta)
    except AcPlayError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def check_env_fits(meta: dict) -> None:
    """The env the metadata names must be registered already, and the weights must fit it."""
    info = registered_env_info(meta["env_id"])
    if (info.obs_dim, info.n_actions) != (meta["obs_dim"], meta["n_actions"]):
        raise AcPlayError(
            f"its weights take {meta['obs_dim']} inputs and give {meta['n_actions']} actions; "
            f"{info.env_id} has {info.obs_dim} and {info.n_actions}"
        )


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


def bundled_path(name: str = BUNDLED_NAME) -> Path:
    """A bundled file (by default the CartPole-v1 agent): inside the installed package, or in a source checkout."""
    packaged = resources.files("ac_play") / "assets" / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "assets" / name


def load_or_bundled(path: str | Path | None) -> Checkpoint:
    """Load `path`, or the bundled agent when no path is given."""
    if path is not None:
        return load(path)
    bundled = load(bundled_path())
    bundled.bundled = True
    return bundled
