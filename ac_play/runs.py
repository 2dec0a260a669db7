"""Run folders and resuming: where a training run keeps its config, metrics and checkpoints.

Shared by headless training and the TUI, so both write the same files the same way.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import time
from pathlib import Path

from ac_play import checkpoint, files, history, metrics_log, setting_changes
from ac_play.config import TrainConfig, preset
from ac_play.errors import AcPlayError, printable
from ac_play.runlock import LOCK_NAME, RunLock
from ac_play.snapshot import Snapshot
from ac_play.training import EpisodeStats, Progress, Trainer, hot_settings

BEST_SAVE_INTERVAL = 30.0
"""Seconds between writes of best.npz: a better agent reaches the disk within this long."""
FINAL_SAVE_INTERVAL = 60.0
"""Seconds between writes of final.npz during a run; it is also written when the run is first solved."""
RUN_FILES = ("config.json", "metrics.jsonl")
"""With any .npz, the files that make a folder a run's."""


def run_config(
    preset_name: str = "default", overrides: dict | None = None, resume: str | Path | None = None
) -> tuple[TrainConfig, Snapshot | None]:
    """The run's config: the preset, then the checkpoint's settings when resuming, then `overrides`.

    Returns the config and, when resuming, the checkpoint read as a Snapshot.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if resume is None:
        return preset(preset_name, **overrides).validate(), None
    ckpt = checkpoint.load(resume)
    resumed = Snapshot.from_checkpoint(ckpt)
    config = TrainConfig.from_dict({**resumed.config.to_dict(), **overrides}).validate()
    checkpoint.check_compatible(ckpt, config.env_id, config.hidden)
    return config, resumed


def make_trainer(config: TrainConfig, resumed: Snapshot | None = None) -> Trainer:
    """A trainer, fresh or continuing a snapshot's agent, optimiser and counters."""
    if resumed is None:
        return Trainer(config)
    trainer = Trainer(config, agent=resumed.agent)
    if resumed.optimizer_state and resumed.config.optimizer == config.optimizer:
        trainer.optimizer.load_state(resumed.optimizer_state)
    trainer.normaliser.load_state(resumed.normaliser.state())
    trainer.progress = Progress(**vars(resumed.progress))
    if config.episodes is not None:
        # episodes on resume means "this many more"
        config.episodes += trainer.progress.episode
    return trainer


def new_run_dir(config: TrainConfig, root: Path = Path("runs")) -> Path:
    """A new, empty folder under `root`, created here so that no other run can take the same name."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / f"{stamp}-{config.env_id}-seed{config.seed}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in itertools.count(1):
            path = base if n == 1 else base.with_name(f"{base.name}-{n}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise AcPlayError(f"cannot create a run folder under {root}: {exc.strerror}") from None


class SaveError(AcPlayError):
    """Closing writes that failed, every one in the sentence; `final` is final.npz if it was written all the same."""

    def __init__(self, errors: list[AcPlayError], final: Path | None):
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors
        self.final = final


def attempt(write, errors: list[AcPlayError]):
    """`write()`'s result, or None with its AcPlayError added to `errors` (one failed file must not stop the rest)."""
    try:
        return write()
    except AcPlayError as exc:
        errors.append(exc)
        return None


class RunFolder:
    """config.json, metrics.jsonl, best.npz and final.npz of one run, written by one process at a time.

    Opening takes the folder's lock, refuses a folder that holds another run and clears temporary
    files a killed run left; `record` keeps the files current while training (final.npz every
    `final_interval` seconds, best.npz within `best_interval` of a new best); `finish` writes the
    last checkpoints and lets go of the folder.
    """

    def __init__(
        self, path: str | Path, config: TrainConfig, resumed: Snapshot | None = None,
        best_interval: float | None = None, final_interval: float | None = None, created: bool = False,
        trainer: Trainer | None = None,
    ):
        self.path = Path(path)
        # ours to remove if no episode is ever recorded: made here (with any missing parents), or by
        # the caller (`new_run_dir`)
        missing = list(itertools.takewhile(lambda folder: not folder.exists(), (self.path, *self.path.parents)))
        self.created = created or bool(missing)
        self.made_parents = missing[1:]
        self.recorded = False
        self.best_interval = BEST_SAVE_INTERVAL if best_interval is None else best_interval
        self.final_interval = FINAL_SAVE_INTERVAL if final_interval is None else final_interval
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AcPlayError(f"cannot write the run folder {self.path}: {exc.strerror}") from None
        self.lock = RunLock(self.path)
        self.lock.acquire()
        try:
            source = resumed.source if resumed is not None else None
            check_free(self.path, source)
            clear_stale_temps(self.path)
            in_place = continues(self.path, source)
            # what opening the folder changed, for the user to read ("" when nothing)
            self.note = continue_history(self.path, resumed) if in_place else ""
            self.best_running_reward = best_so_far(self.path)
            self.in_force = hot_settings(config)
            self.changes = setting_changes.at_start(self.path / "config.json", resumed, config, in_place)
            write_config(self.path / "config.json", config, self.changes)
            self.metrics = metrics_log.MetricsLog(self.path / "metrics.jsonl")
            self.history, history_note = history.start(self.path, config, resumed, in_place)
            self.note = " ".join(filter(None, (self.note, history_note)))
        except BaseException:
            self.lock.release()
            raise
        self.best: Snapshot | None = None
        self.best_dirty = False
        self.final_due = False
        self.best_written_at = self.final_written_at = time.monotonic()
        if trainer is not None:
            self.history.add_snapshot(trainer)  # the untrained policy: where the timeline starts

    def record(self, stats: EpisodeStats, trainer: Trainer) -> None:
        """One finished episode: a line of metrics, a copy of the agent if it is the best; then the saves due."""
        self.recorded = True
        self.note_changes(stats.episode, trainer.config)
        self.metrics.add(json.dumps({**stats.to_dict(), "settings": self.in_force}) + "\n")
        self.history.add_episode(stats)
        self.note_best(trainer)
        if stats.episode == trainer.progress.solved_at or (stats.episode == trainer.progress.episode and trainer.done):
            self.final_due = True  # a TUI run stays open after training: its files should reach the end now
        if stats.episode == trainer.progress.episode:  # the update's last episode: the trainer is between updates
            self.history.add_snapshot(trainer)
            self.save_due(trainer)

    def flush(self) -> None:
        self.metrics.flush()

    def note_changes(self, episode: int, config: TrainConfig) -> None:
        """A change of lr, gamma or entropy goes into config.json, with the first episode trained under it."""
        settings = hot_settings(config)
        if settings == self.in_force:
            return
        self.changes += setting_changes.between(self.in_force, settings, episode)
        self.in_force = settings
        write_config(self.path / "config.json", config, self.changes)

    def note_best(self, trainer: Trainer) -> None:
        """Keep a copy of the agent whenever the running reward beats the best so far."""
        if trainer.progress.running_reward <= self.best_running_reward:
            return
        self.best_running_reward = trainer.progress.running_reward
        # no optimiser state and no metadata until written: a new best comes almost every episode
        self.best = Snapshot.of(trainer, optimizer=False)
        self.best_dirty = True

    def save_due(self, trainer: Trainer) -> None:
        """Between updates: a waiting best after best_interval, final.npz after final_interval or on solving."""
        now = time.monotonic()
        if self.best_dirty and now - self.best_written_at >= self.best_interval:
            self.write_best()
        if self.final_due or now - self.final_written_at >= self.final_interval:
            self.write_final(trainer)
            self.write_history(trainer)
        self.metrics.flush_if_due()

    def write_pending(self) -> None:
        """Metrics and a waiting best.npz, now (before a pause that may be long)."""
        self.write_best()
        self.flush()

    def write_best(self) -> Path | None:
        if not self.best_dirty:
            return None
        self.flush()  # metrics on disk reach at least as far as any checkpoint
        self.best_written_at = time.monotonic()
        path = self.best.save(self.path / "best.npz")
        self.best_dirty = False
        return path

    def write_final(self, trainer: Trainer) -> Path:
        self.flush()
        self.final_written_at = time.monotonic()
        path = Snapshot.of(trainer).save(self.path / "final.npz")
        self.final_due = False
        return path

    def write_history(self, trainer: Trainer) -> Path:
        """history.npz, reaching as far as final.npz."""
        self.history.add_snapshot(trainer)
        return self.history.save(self.path / history.HISTORY_NAME)

    def finish(self, trainer: Trainer) -> Path:
        """After training: metrics, final.npz and best.npz written; files, envs and the lock let go.

        Each write is tried even if one before it failed; if any failed, a SaveError naming every
        file that failed (and final.npz if it was written all the same) is raised after the folder
        has been let go.
        """
        errors: list[AcPlayError] = []
        try:
            attempt(self.flush, errors)
            final = attempt(lambda: self.write_final(trainer), errors)
            attempt(lambda: self.write_history(trainer), errors)
            attempt(self.write_best, errors)
        finally:
            self.close(trainer)
        if errors:
            raise SaveError(errors, final)
        return final

    @property
    def unused(self) -> bool:
        """Whether this run made the folder, recorded no episode in it and nothing else went in
        (a checkpoint saved with the TUI's s, say): nothing there is worth keeping."""
        return self.created and not self.recorded and self.holds_only_opening_files()

    def holds_only_opening_files(self) -> bool:
        try:
            return {entry.name for entry in self.path.iterdir()} <= {*RUN_FILES, LOCK_NAME}
        except OSError:
            return False

    def discard(self, trainer: Trainer) -> None:
        """Instead of `finish` for an unused folder: let it go and remove it, so no empty run is left behind.

        Only the files opening it wrote go (config.json, the empty metrics.jsonl, the lock), then the
        folder and the parents made for it; a folder that holds anything else stays.
        """
        try:
            self.close(trainer)
        finally:
            for name in RUN_FILES:
                entry = self.path / name
                if entry.is_file() and not entry.is_symlink() and (name != "metrics.jsonl" or not entry.stat().st_size):
                    entry.unlink()
            for folder in (self.path, *self.made_parents):
                try:
                    folder.rmdir()
                except OSError:
                    break  # something not ours came in meanwhile

    def close(self, trainer: Trainer) -> None:
        """Close the files and envs and release the lock, writing nothing more."""
        try:
            self.metrics.close()
            trainer.close()
        finally:
            self.lock.release()


def is_run_file(entry: Path) -> bool:
    named = entry.name in RUN_FILES or entry.suffix == ".npz"
    return named and (entry.is_symlink() or not entry.is_dir())


def check_free(path: Path, resumed_from: str | Path | None) -> None:
    """Refuse a folder that holds a run already, unless that run is continued from a checkpoint inside it."""
    found = sorted(entry.name for entry in path.iterdir() if is_run_file(entry))
    if not found or continues(path, resumed_from):
        return
    shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
    raise AcPlayError(
        f"{path} already holds a run ({shown}); choose another folder, "
        "or resume from a checkpoint in it to continue that run there"
    )


def continues(path: Path, resumed_from: str | Path | None) -> bool:
    """Whether the checkpoint resumed from lies in `path` (compared as files, not as spellings)."""
    if resumed_from is None:
        return False
    try:
        return os.path.samefile(Path(resumed_from).absolute().parent, path)
    except OSError:
        return False


def clear_stale_temps(path: Path) -> None:
    """Temporary files a killed run left: checkpoints', config.json's and metrics.jsonl's."""
    for name in ("*.npz", *RUN_FILES):
        files.remove_stale_temps(path, name)


def continue_history(path: Path, resumed: Snapshot) -> str:
    """Resuming in place continues the run's newest state only, so its history never forks.

    The checkpoint must be at final.npz's episode, or without a readable final.npz, at or past the
    last episode in metrics.jsonl; anything older is refused. Lines a killed run logged after its
    last save of final.npz are dropped, so no episode number comes twice. Returns a note saying
    what was dropped ("" if nothing).
    """
    resumed_from, episode = resumed.source, resumed.episode
    final = path / "final.npz"
    newest = final_episode(final, resumed_from, episode)
    if newest is None:
        logged = metrics_log.last_episode(path / "metrics.jsonl")
        if logged is not None and episode < logged:
            raise AcPlayError(
                f"{resumed_from} holds episode {episode}, but {path / 'metrics.jsonl'} goes on to episode "
                f"{logged}: continuing from it there would fork the run's history; choose another folder"
            )
        return ""
    if episode != newest:
        raise AcPlayError(
            f"{resumed_from} holds episode {episode}, but the run in {path} has gone on to episode {newest}: "
            f"continuing from it there would fork the run's history; resume from {final}, or choose another folder"
        )
    dropped = metrics_log.drop_after(path / "metrics.jsonl", episode)
    if not dropped:
        return ""
    lines = "line" if dropped == 1 else "lines"
    return f"dropped {dropped} metrics {lines} logged after {resumed_from.name} (episode {episode})"


def final_episode(final: Path, resumed_from: Path, resumed_episode: int) -> int | None:
    """The episode of final.npz; None where there is none to read (missing, a symlink, damaged)."""
    if final.is_symlink() or not final.is_file():
        return None
    if os.path.samefile(final, resumed_from):  # read already
        return resumed_episode
    try:
        return Snapshot.from_checkpoint(checkpoint.load(final)).episode
    except checkpoint.CheckpointError:
        return None


def best_so_far(path: Path) -> float:
    """The running reward of the folder's best.npz (-inf without one): the bar a new best must clear.

    A symlink there is not read: it will be replaced, never written through.
    """
    best = path / "best.npz"
    if best.is_symlink() or not best.is_file():
        return float("-inf")
    try:
        return Snapshot.from_checkpoint(checkpoint.load(best)).progress.running_reward
    except checkpoint.CheckpointError:  # a damaged best.npz sets no bar: the next best replaces it
        return float("-inf")


def write_config(path: Path, config: TrainConfig, changes: list[dict] | None = None) -> None:
    """config.json (the settings in force, and the `changes` that led there), replaced atomically.

    A symlink at `path` is replaced, not followed.
    """
    text = json.dumps({**config.to_dict(), "changes": changes or []}, indent=2) + "\n"
    try:
        files.replace_atomically(path, lambda out: out.write(text.encode("utf-8")))
    except OSError as exc:
        raise AcPlayError(f"cannot write {path}: {exc.strerror}") from None


def summary(progress: Progress, final: Path | None, wall: float | None = None) -> str:
    """The two closing lines of a run, headless or in the TUI (`final` None: it could not be written).

    The path goes through `printable`: a folder named with an ESC must not drive the terminal.
    """
    verdict = f"solved at episode {progress.solved_at}" if progress.solved_at else "not solved"
    seconds = f"{wall:.2f} s, " if wall is not None else ""
    return (
        f"{verdict}: {progress.episode} episodes, {progress.env_steps} env steps, {seconds}"
        f"running reward {progress.running_reward:.2f}\ncheckpoint: {printable(str(final)) if final else 'not written'}"
    )
