"""A run's history: snapshots of the policy as it learned, in one `history.npz` beside final.npz.

`Recorder` keeps a snapshot after every update for the first DENSE updates, then thins the later
ones to a stride that doubles whenever more than MAX_SNAPSHOTS would be kept, so a long run keeps
evenly spaced snapshots; the best and the last are always kept. It also keeps every episode's
return and running reward: the learning curve. `load` reads the file back with the checkpoint's
rules: no pickle, every declared size and type checked before reading, values validated.

Layout: "meta" (JSON: the run's config and sizes), "param/<name>" stacked over snapshots
(shape (S, *param_shape)), "episode", "env_steps" (S,) integers, "running", "norm_mean",
"norm_std", "norm_seen" (S,) and "curve_returns", "curve_running" (E,) for episodes
first_episode+1 .. first_episode+E.
"""

from __future__ import annotations

import bisect
import json
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ac_play import checkpoint, files, npz, schema
from ac_play.agent import param_shapes
from ac_play.config import TrainConfig
from ac_play.errors import AcPlayError
from ac_play.returns import RunningNormaliser
from ac_play.snapshot import Snapshot
from ac_play.training import EpisodeStats, Progress, Trainer

HISTORY_NAME = "history.npz"
BUNDLED_NAME = "cartpole-v1.history.npz"
FORMAT_VERSION = 1
DENSE = 20
"""Updates kept one by one at the start, where the policy changes most."""
MAX_SNAPSHOTS = 200
MAX_CURVE = 10_000_000
"""Episodes a history file may declare: far past any run (TrainConfig caps max_episodes)."""
MAX_RETURN = 1e15
"""A return or running reward past this (either sign) is not from a run; the curve's span then still fits a float."""
STAGE_ARRAYS = {"episode": "i", "env_steps": "i", "running": "f", "norm_mean": "f", "norm_std": "f", "norm_seen": "i"}


class HistoryError(AcPlayError):
    """A history that cannot be used, with the reason and the file."""


@dataclass(frozen=True, eq=False)
class History:
    """The snapshots of one run, oldest first, and its learning curve."""

    path: Path
    config: TrainConfig
    snapshots: list[Snapshot]
    curve_returns: np.ndarray
    curve_running: np.ndarray
    first_episode: int
    solved_at: int | None
    best_index: int
    bundled: bool = False

    def __len__(self) -> int:
        return len(self.snapshots)

    @property
    def episodes(self) -> list[int]:
        return [snapshot.episode for snapshot in self.snapshots]

    @property
    def last_episode(self) -> int:
        return max(self.first_episode + len(self.curve_returns), self.snapshots[-1].episode)

    @property
    def label(self) -> str:
        return f"{BUNDLED_NAME} (bundled)" if self.bundled else str(self.path)

    def index_at(self, episode: int) -> int:
        """The last snapshot taken at or before `episode` (the first if `episode` comes before it)."""
        return max(0, bisect.bisect_right(self.episodes, episode) - 1)

    def spread(self, count: int) -> list[int]:
        """About `count` snapshots spread evenly over the run's episodes, the first and last included."""
        if count <= 1 or len(self) <= count:
            return list(range(len(self))) if count > 1 else [len(self) - 1]
        targets = np.linspace(self.episodes[0], self.episodes[-1], count)
        chosen = {self.nearest(target) for target in targets}
        # where snapshots bunch up (short early episodes), two targets can meet one snapshot: fill
        # the gaps evenly by position, so a film or a ladder still gets `count` stages
        for index in np.linspace(0, len(self) - 1, count * 4).round().astype(int):
            if len(chosen) >= count:
                break
            chosen.add(int(index))
        return sorted(chosen)

    def nearest(self, episode: float) -> int:
        """The snapshot whose episode is closest to `episode`."""
        return int(np.argmin(np.abs(np.asarray(self.episodes, dtype=np.float64) - episode)))


@dataclass(eq=False)  # arrays inside: `in` compares by identity
class Stage:
    """One kept snapshot while recording: copies of the parameters and the counters."""

    update: int
    params: dict[str, np.ndarray]
    progress: Progress
    normaliser: dict


@dataclass
class Recorder:
    """Collects a run's snapshots and curve while it trains; `save` writes them."""

    config: TrainConfig
    first_episode: int = 0
    stages: list[Stage] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    running: list[float] = field(default_factory=list)
    stride: int = 1
    updates: int = 0

    @classmethod
    def resuming(cls, config: TrainConfig, previous: History | None, episode: int) -> Recorder:
        """Carry on from `previous` (a resume in place) up to `episode`, or start afresh at `episode`."""
        if previous is None or previous.first_episode > episode:
            return cls(config, first_episode=episode)
        kept = [snapshot for snapshot in previous.snapshots if snapshot.episode <= episode]
        count = episode - previous.first_episode
        if not kept or len(previous.curve_returns) < count:
            return cls(config, first_episode=episode)
        recorder = cls(
            config, previous.first_episode,
            returns=list(previous.curve_returns[:count]), running=list(previous.curve_running[:count]),
        )
        for number, snapshot in enumerate(kept):
            recorder.stages.append(Stage(number, snapshot.params, snapshot.progress, snapshot.normaliser.state()))
        recorder.updates = len(kept) - 1
        recorder.stride = 1
        recorder.thin()
        return recorder

    def add_episode(self, stats: EpisodeStats) -> None:
        self.returns.append(float(stats.episode_return))
        self.running.append(float(stats.running_reward))

    def add_snapshot(self, trainer: Trainer) -> None:
        """The trainer's policy now (between updates); call once per update and once before the first."""
        progress = trainer.progress
        if self.stages and self.stages[-1].progress.episode == progress.episode:
            return  # no episode since the last one kept: the same policy
        if self.stages:
            self.updates += 1
        params = {name: array.copy() for name, array in trainer.agent.params.items()}
        progress_copy = Progress(**vars(progress))
        self.stages.append(Stage(self.updates, params, progress_copy, trainer.normaliser.state()))
        self.thin()

    def thin(self) -> None:
        """Keep the first DENSE updates, the best, the last, and the rest on a stride; double it when too many."""
        best = max(self.stages, key=lambda stage: stage.progress.running_reward)
        special = (best, self.stages[-1])
        while True:
            kept = [s for s in self.stages if s.update < DENSE or s.update % self.stride == 0 or s in special]
            if len(kept) <= MAX_SNAPSHOTS:
                self.stages = kept
                return
            self.stride *= 2

    def save(self, path: str | Path) -> Path:
        """Write history.npz atomically; an OSError becomes a HistoryError naming the file."""
        path = Path(path)
        arrays = self.arrays()
        arrays["meta"] = np.array(json.dumps(self.meta()))
        try:
            files.replace_atomically(path, lambda out: np.savez(out, **arrays))
        except OSError as exc:
            raise HistoryError(f"cannot write {path}: {exc.strerror or exc}") from None
        return path

    def meta(self) -> dict:
        params = self.stages[0].params
        running = [stage.progress.running_reward for stage in self.stages]
        return {
            "format_version": FORMAT_VERSION,
            "kind": "history",
            "env_id": self.config.env_id,
            "config": self.config.to_dict(),
            "obs_dim": params["W1"].shape[0],
            "n_actions": params["Wa"].shape[1],
            "hidden": params["W1"].shape[1],
            "snapshots": len(self.stages),
            "curve": len(self.returns),
            "first_episode": self.first_episode,
            "solved_at": self.stages[-1].progress.solved_at,
            "best_index": int(np.argmax(running)),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            f"param/{name}": np.stack([stage.params[name] for stage in self.stages]).astype(np.float64)
            for name in self.stages[0].params
        }
        columns = {
            "episode": [stage.progress.episode for stage in self.stages],
            "env_steps": [stage.progress.env_steps for stage in self.stages],
            "running": [stage.progress.running_reward for stage in self.stages],
            "norm_mean": [stage.normaliser["mean"] for stage in self.stages],
            "norm_std": [stage.normaliser["std"] for stage in self.stages],
            "norm_seen": [int(stage.normaliser["seen"]) for stage in self.stages],
        }
        for name, values in columns.items():
            arrays[name] = np.asarray(values, dtype=np.int64 if STAGE_ARRAYS[name] == "i" else np.float64)
        arrays["curve_returns"] = np.asarray(self.returns, dtype=np.float64)
        arrays["curve_running"] = np.asarray(self.running, dtype=np.float64)
        return arrays


def start(folder: Path, config: TrainConfig, resumed: Snapshot | None, in_place: bool) -> tuple[Recorder, str]:
    """The recorder for a run opening in `folder`, and a note for the user ("" when nothing to say).

    Resuming in place carries on the folder's history up to the resumed episode; a history that
    cannot be read is kept aside under another name, never overwritten, and a new one begins.
    """
    episode = resumed.episode if resumed is not None else 0
    path = folder / HISTORY_NAME
    if not in_place or not path.exists():
        return Recorder(config, first_episode=episode), ""
    try:
        return Recorder.resuming(config, load(path), episode), ""
    except HistoryError as exc:
        aside = _free_name(folder, "history.unreadable", ".npz")
        try:
            path.rename(aside)
        except OSError as rename_error:
            raise HistoryError(f"{exc}; and it cannot be moved aside: {rename_error.strerror}") from None
        return Recorder(config, first_episode=episode), (
            f"{HISTORY_NAME} could not be read, so it was kept as {aside.name} and a new history starts at "
            f"episode {episode}."
        )


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    candidates = (folder / f"{stem}{'' if n == 0 else f'.{n}'}{suffix}" for n in range(1000))
    return next(path for path in candidates if not path.exists() and not path.is_symlink())


def is_run_folder(path: str | Path) -> bool:
    return Path(path).is_dir()


def file_in(path: str | Path) -> Path:
    """The history file `path` names: itself, or the history.npz inside a run folder."""
    path = Path(path)
    return path / HISTORY_NAME if path.is_dir() else path


def bundled_path() -> Path:
    """The bundled agent's history."""
    return checkpoint.bundled_path(BUNDLED_NAME)


def load_or_bundled(path: str | Path | None) -> History:
    if path is not None:
        return load(path)
    history = load(bundled_path())
    return History(**{**vars(history), "bundled": True})


def load(path: str | Path) -> History:
    """Read and validate a history (a run folder's, or a file); any problem is a HistoryError."""
    given = Path(path)
    path = file_in(given)
    _check_regular_file(path, given)
    try:
        with npz.Archive(path) as archive:
            meta = _read_meta(archive)
            arrays = _read_arrays(archive, meta)
    except npz.NpzError as exc:
        raise HistoryError(f"{path} is not a readable history ({exc})") from None
    except AcPlayError as exc:
        raise HistoryError(f"{path}: {exc}") from None
    _check_env(path, meta)
    return _assemble(path, meta, arrays)


def _check_regular_file(path: Path, given: Path) -> None:
    try:
        status = path.stat()
    except FileNotFoundError:
        if given.is_dir():
            reason = "runs trained before ac-play kept histories have none"
            raise HistoryError(f"{given} has no {HISTORY_NAME} ({reason})") from None
        raise HistoryError(f"history not found: {path}") from None
    except OSError as exc:
        raise HistoryError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):
        raise HistoryError(f"{path} is {files.kind_of(status.st_mode)}, not a history")


def _read_meta(archive: npz.Archive) -> dict:
    meta = checkpoint.read_json_meta(archive, "history")
    if meta.get("kind") != "history":
        raise AcPlayError("its metadata does not describe a history (a checkpoint is played with `watch FILE`)")
    if meta.get("format_version") != FORMAT_VERSION or not schema.is_int(meta.get("format_version")):
        raise AcPlayError(f"history format {meta.get('format_version')!r} is not supported (this ac-play reads 1)")
    schema.check_meta(meta)
    _check_counts(meta)
    return meta


def _check_counts(meta: dict) -> None:
    limits = {"snapshots": (1, 4 * MAX_SNAPSHOTS), "curve": (0, MAX_CURVE), "first_episode": (0, schema.MAX_COUNT)}
    for key, (low, high) in limits.items():
        if not schema.is_int(meta.get(key)) or not low <= meta[key] <= high:
            raise AcPlayError(f"metadata field {key!r} must be a whole number from {low} to {high}")
    if not schema.is_int(meta.get("best_index")) or not 0 <= meta["best_index"] < meta["snapshots"]:
        raise AcPlayError("metadata field 'best_index' is out of range")
    solved = meta.get("solved_at")
    if solved is not None and (not schema.is_int(solved) or not 1 <= solved <= schema.MAX_COUNT):
        raise AcPlayError("metadata field 'solved_at' is out of range")


def _read_arrays(archive: npz.Archive, meta: dict) -> dict[str, np.ndarray]:
    count, curve = meta["snapshots"], meta["curve"]
    expected = {
        f"param/{name}": ((count, *shape), "f")
        for name, shape in param_shapes(meta["obs_dim"], meta["n_actions"], meta["hidden"]).items()
    }
    expected.update({name: ((count,), kinds) for name, kinds in STAGE_ARRAYS.items()})
    expected.update({"curve_returns": ((curve,), "f"), "curve_running": ((curve,), "f")})
    names = set(archive.members) - {"meta"}
    if names != set(expected):
        problem = sorted(names - set(expected)) or sorted(set(expected) - names)
        raise AcPlayError(f"{'unexpected' if names - set(expected) else 'missing'} arrays {', '.join(problem)}")
    arrays = {}
    for name, (shape, kinds) in expected.items():
        array = archive.read(name, shape, kinds)
        if not np.all(np.isfinite(array)):
            raise AcPlayError(f"array {name!r} holds NaN or infinite values")
        arrays[name] = array.astype(np.float64) if kinds == "f" else array.astype(np.int64)
    _check_values(arrays, meta)
    return arrays


def _check_values(arrays: dict[str, np.ndarray], meta: dict) -> None:
    episodes, steps = arrays["episode"], arrays["env_steps"]
    first, curve = meta["first_episode"], meta["curve"]
    if episodes[0] != first or np.any(np.diff(episodes) <= 0) or episodes[-1] > first + curve:
        raise AcPlayError(f"snapshot episodes must rise from {first} to at most {first + curve}")
    if np.any(steps < 0) or np.any(np.diff(steps) < 0) or steps[-1] > schema.MAX_COUNT:
        raise AcPlayError("snapshot env steps must be counts that never fall")
    if np.any(arrays["norm_std"] <= 0) or not np.all(np.isin(arrays["norm_seen"], (0, 1))):
        raise AcPlayError("a snapshot's return statistics are out of range")
    for name in ("running", "curve_returns", "curve_running"):
        if np.any(np.abs(arrays[name]) > MAX_RETURN):
            raise AcPlayError(f"array {name!r} holds returns beyond ±{MAX_RETURN:g}")


def _check_env(path: Path, meta: dict) -> None:
    """The env must be registered and fit the weights, as for a checkpoint."""
    try:
        checkpoint.check_env_fits(meta)
    except AcPlayError as exc:
        raise HistoryError(f"{path}: {exc}") from None


def _assemble(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> History:
    config = TrainConfig.from_dict({**meta["config"], "env_id": meta["env_id"]})
    names = [name.removeprefix("param/") for name in arrays if name.startswith("param/")]
    snapshots = []
    for i in range(meta["snapshots"]):
        normaliser = RunningNormaliser()
        normaliser.load_state({
            "mean": arrays["norm_mean"][i], "std": arrays["norm_std"][i], "seen": bool(arrays["norm_seen"][i]),
        })
        episode = int(arrays["episode"][i])
        solved = meta["solved_at"] if meta["solved_at"] is not None and meta["solved_at"] <= episode else None
        progress = Progress(
            episode=episode, env_steps=int(arrays["env_steps"][i]), running_reward=float(arrays["running"][i]),
            solved_at=solved,
        )
        params = {name: arrays[f"param/{name}"][i].copy() for name in names}
        snapshots.append(Snapshot(params, config, progress, normaliser, source=path))
    return History(
        path, config, snapshots, arrays["curve_returns"], arrays["curve_running"],
        meta["first_episode"], meta["solved_at"], meta["best_index"],
    )
