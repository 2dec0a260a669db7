"""Run folders and resuming: where a training run keeps its config, metrics and checkpoints.

Shared by headless training and the TUI, so both write the same files the same way.
"""

from __future__ import annotations

import copy
import datetime
import json
import time
from pathlib import Path

from ac_play import checkpoint
from ac_play.agent import ActorCritic
from ac_play.config import TrainConfig, preset
from ac_play.errors import AcPlayError
from ac_play.returns import RunningNormaliser
from ac_play.training import EpisodeStats, Progress, Trainer

CLI_FIELDS = ("env_id", "seed", "episodes", "envs", "lr", "gamma", "hidden", "entropy")
BEST_SAVE_INTERVAL = 30.0
"""Seconds between writes of best.npz while it keeps improving (it is always written at the end)."""


def config_from_args(args) -> tuple[TrainConfig, checkpoint.Checkpoint | None]:
    """The run's config: preset, then the checkpoint's config when resuming, then flags given."""
    given = {name: getattr(args, name, None) for name in CLI_FIELDS}
    given = {k: v for k, v in given.items() if v is not None}
    if not getattr(args, "resume", None):
        return preset(getattr(args, "preset", "default"), **given).validate(), None
    resumed = checkpoint.load(args.resume)
    values = {**resumed.meta.get("config", {}), **given}
    config = TrainConfig.from_dict(values).validate()
    checkpoint.check_compatible(resumed, config.env_id, config.hidden)
    return config, resumed


def make_trainer(config: TrainConfig, resumed: checkpoint.Checkpoint | None) -> Trainer:
    """A trainer, fresh or continuing a checkpoint's agent, optimiser and counters."""
    if resumed is None:
        return Trainer(config)
    trainer = Trainer(config, agent=resumed.agent)
    if resumed.optimizer_state and resumed.meta.get("optimizer") == config.optimizer:
        trainer.optimizer.load_state(resumed.optimizer_state)
    if "normaliser" in resumed.meta:
        trainer.normaliser.load_state(resumed.meta["normaliser"])
    trainer.progress = Progress(**resumed.meta.get("progress", {}))
    if config.episodes is not None:
        # --episodes on resume means "this many more"
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
        self.best: tuple | None = None  # copies of (params, config, progress, normaliser)
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
        # plain copies here, the metadata only when written: a new best comes almost every episode
        params = {k: v.copy() for k, v in trainer.agent.params.items()}
        self.best = (params, copy.copy(trainer.config), copy.copy(trainer.progress), copy.copy(trainer.normaliser))
        self.best_dirty = True
        if time.monotonic() - self.best_written_at > BEST_SAVE_INTERVAL:
            self.write_best()

    def write_best(self) -> Path | None:
        if not self.best_dirty:
            return None
        self.best_dirty = False
        self.best_written_at = time.monotonic()
        params, config, progress, normaliser = self.best
        meta = checkpoint_meta(config, progress, normaliser)
        return checkpoint.save(self.path / "best.npz", ActorCritic(params), meta)

    def save(self, trainer: Trainer, name: str = "final.npz") -> Path:
        return save_trainer(trainer, self.path / name)

    def finish(self, trainer: Trainer) -> Path:
        """After training: metrics flushed, final.npz and best.npz written, files and envs closed."""
        self.flush()
        final = self.save(trainer)
        self.write_best()
        self.metrics.close()
        trainer.close()
        return final


def checkpoint_meta(config: TrainConfig, progress: Progress, normaliser: RunningNormaliser) -> dict:
    """The metadata of a checkpoint: the run's settings and where it had got to."""
    return {
        "env_id": config.env_id,
        "seed": config.seed,
        "config": config.to_dict(),
        "optimizer": config.optimizer,
        "progress": vars(progress).copy(),
        "normaliser": normaliser.state(),
        "episode": progress.episode,
        "env_steps": progress.env_steps,
        "running_reward": progress.running_reward,
    }


def save_trainer(trainer: Trainer, path: str | Path) -> Path:
    """A checkpoint of the trainer's agent, optimiser state and counters."""
    meta = checkpoint_meta(trainer.config, trainer.progress, trainer.normaliser)
    return checkpoint.save(path, trainer.agent, meta, trainer.optimizer.state())
