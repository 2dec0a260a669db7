"""Run folders and resuming: where a training run keeps its config, metrics and checkpoints.

Shared by headless training and the TUI, so both write the same files the same way.
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

from ac_play import checkpoint
from ac_play.agent import ActorCritic
from ac_play.config import TrainConfig, preset
from ac_play.errors import AcPlayError
from ac_play.training import Progress, Trainer

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
        self.best_params: dict | None = None
        self.best_meta: dict | None = None
        self.best_written_at = time.monotonic()
        self.best_dirty = False

    def log(self, stats_dict: dict) -> None:
        self.metrics.write(json.dumps(stats_dict) + "\n")

    def flush(self) -> None:
        self.metrics.flush()

    def note_best(self, trainer: Trainer) -> None:
        """Keep a copy of the agent whenever the running reward reaches a new best."""
        if trainer.progress.running_reward <= self.best_running_reward:
            return
        self.best_running_reward = trainer.progress.running_reward
        self.best_params = {k: v.copy() for k, v in trainer.agent.params.items()}
        self.best_meta = checkpoint_meta(trainer)
        self.best_dirty = True
        if time.monotonic() - self.best_written_at > BEST_SAVE_INTERVAL:
            self.write_best()

    def write_best(self) -> Path | None:
        if not self.best_dirty:
            return None
        self.best_dirty = False
        self.best_written_at = time.monotonic()
        return checkpoint.save(self.path / "best.npz", ActorCritic(self.best_params), self.best_meta)

    def save(self, trainer: Trainer, name: str = "final.npz") -> Path:
        return save_trainer(trainer, self.path / name)

    def close(self) -> None:
        self.metrics.close()


def checkpoint_meta(trainer: Trainer) -> dict:
    return {
        "env_id": trainer.config.env_id,
        "seed": trainer.config.seed,
        "config": trainer.config.to_dict(),
        "optimizer": trainer.config.optimizer,
        "progress": vars(trainer.progress).copy(),
        "normaliser": trainer.normaliser.state(),
        "episode": trainer.progress.episode,
        "env_steps": trainer.progress.env_steps,
        "running_reward": trainer.progress.running_reward,
    }


def save_trainer(trainer: Trainer, path: str | Path) -> Path:
    """A checkpoint of the trainer's agent, optimiser state and counters."""
    return checkpoint.save(path, trainer.agent, checkpoint_meta(trainer), trainer.optimizer.state())
