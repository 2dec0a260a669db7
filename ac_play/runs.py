"""Run folders and resuming: where a training run keeps its config, metrics and checkpoints.

Shared by headless training and the TUI, so both write the same files the same way.
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

from ac_play import checkpoint
from ac_play.config import TrainConfig, preset
from ac_play.errors import AcPlayError
from ac_play.snapshot import Snapshot
from ac_play.training import EpisodeStats, Progress, Trainer

BEST_SAVE_INTERVAL = 30.0
"""Seconds between writes of best.npz while it keeps improving (it is always written at the end)."""


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
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / f"{stamp}-{config.env_id}-seed{config.seed}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class RunFolder:
    """config.json, metrics.jsonl, best.npz and final.npz of one run."""

    def __init__(self, path: str | Path, config: TrainConfig):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
            self.metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")
        except OSError as exc:
            raise AcPlayError(f"cannot write the run folder {self.path}: {exc.strerror}") from None
        self.best_running_reward = float("-inf")
        self.best: Snapshot | None = None
        self.best_written_at = time.monotonic()
        self.best_dirty = False

    def record(self, stats: EpisodeStats, trainer: Trainer) -> None:
        """One finished episode: a line of metrics.jsonl, and a copy of the agent if it is the best."""
        self.metrics.write(json.dumps(stats.to_dict()) + "\n")
        self.note_best(trainer)

    def flush(self) -> None:
        self.metrics.flush()

    def note_best(self, trainer: Trainer) -> None:
        """Keep a copy of the agent whenever the running reward reaches a new best."""
        if trainer.progress.running_reward <= self.best_running_reward:
            return
        self.best_running_reward = trainer.progress.running_reward
        # no optimiser state and no metadata until written: a new best comes almost every episode
        self.best = Snapshot.of(trainer, optimizer=False)
        self.best_dirty = True
        if time.monotonic() - self.best_written_at > BEST_SAVE_INTERVAL:
            self.write_best()

    def write_best(self) -> Path | None:
        if not self.best_dirty:
            return None
        self.best_dirty = False
        self.best_written_at = time.monotonic()
        return self.best.save(self.path / "best.npz")

    def finish(self, trainer: Trainer) -> Path:
        """After training: metrics flushed, final.npz and best.npz written, files and envs closed."""
        self.flush()
        final = Snapshot.of(trainer).save(self.path / "final.npz")
        self.write_best()
        self.metrics.close()
        trainer.close()
        return final


def summary(progress: Progress, final: Path, wall: float | None = None) -> str:
    """The two closing lines of a run, headless or in the TUI."""
    verdict = f"solved at episode {progress.solved_at}" if progress.solved_at else "not solved"
    seconds = f"{wall:.2f} s, " if wall is not None else ""
    return (
        f"{verdict}: {progress.episode} episodes, {progress.env_steps} env steps, {seconds}"
        f"running reward {progress.running_reward:.2f}\ncheckpoint: {final}"
    )
