"""The trainer's state at an instant: one type for best.npz and final.npz, the TUI and the live window.

A `Snapshot` holds copies, taken between two updates, so another thread or process can keep it
while training changes its own arrays in place. It is what a checkpoint holds, and a checkpoint
read back is a snapshot again (`from_checkpoint`), so `watch` and the live window scale the
critic's values the same way.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ac_play import checkpoint
from ac_play.agent import ActorCritic
from ac_play.config import TrainConfig
from ac_play.returns import RunningNormaliser
from ac_play.training import Progress, Trainer


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields, not snapshots
class Snapshot:
    """Parameters, optimiser state, settings, counters and return normaliser of one moment."""

    params: dict[str, np.ndarray]
    config: TrainConfig
    progress: Progress
    normaliser: RunningNormaliser
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    """Empty where only the policy matters (best.npz, the live window)."""
    source: Path | None = None
    """The checkpoint it was read from (`from_checkpoint`); None for a trainer's own."""

    @classmethod
    def of(cls, trainer: Trainer, optimizer: bool = True) -> Snapshot:
        """Copies of the trainer's state; call only from the thread that runs it (or while it is idle)."""
        state = trainer.optimizer.state() if optimizer else {}
        return cls(
            params={name: array.copy() for name, array in trainer.agent.params.items()},
            config=copy.copy(trainer.config),
            progress=copy.copy(trainer.progress),
            normaliser=copy.copy(trainer.normaliser),
            optimizer_state={name: np.copy(array) for name, array in state.items()},
        )

    @classmethod
    def from_checkpoint(cls, ckpt: checkpoint.Checkpoint) -> Snapshot:
        """What a checkpoint holds (its metadata was checked field by field when it was loaded)."""
        meta = ckpt.meta
        # the env the weights were checked against is the checkpoint's own, whatever the config says
        config = TrainConfig.from_dict({**meta.get("config", {}), "env_id": ckpt.env_id})
        progress_fields = {f.name for f in dataclasses.fields(Progress)}
        progress = Progress(**{k: v for k, v in meta.get("progress", {}).items() if k in progress_fields})
        normaliser = RunningNormaliser()
        if meta.get("normaliser"):
            normaliser.load_state(meta["normaliser"])
        params = {name: array.copy() for name, array in ckpt.agent.params.items()}
        return cls(params, config, progress, normaliser, ckpt.optimizer_state, ckpt.path)

    @property
    def agent(self) -> ActorCritic:
        return ActorCritic(self.params)

    @property
    def episode(self) -> int:
        return self.progress.episode

    @property
    def gamma(self) -> float:
        return self.config.gamma

    @property
    def value_normaliser(self) -> RunningNormaliser | None:
        """The statistics that turn the critic's output back into returns; None before any (or per episode)."""
        return self.normaliser if self.normaliser.seen else None

    def meta(self) -> dict:
        """A checkpoint's metadata: the run's settings and where it had got to."""
        return {
            "env_id": self.config.env_id,
            "config": self.config.to_dict(),
            "progress": vars(self.progress).copy(),
            "normaliser": self.normaliser.state(),
        }

    def save(self, path: str | Path) -> Path:
        return checkpoint.save(path, self.agent, self.meta(), self.optimizer_state)
