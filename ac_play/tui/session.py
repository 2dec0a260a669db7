"""One training run as the TUI drives it: trainer, run folder and consistent snapshots.

No Textual here. The training thread owns the trainer; after every update it publishes a
`Snapshot` (copies, about 12 microseconds), and every other thread (saving, evaluation, the
terminal CartPole, the live window) reads only snapshots, so nobody sees half-updated weights.
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

from ac_play.config import TrainConfig
from ac_play.errors import AcPlayError
from ac_play.runs import RunFolder, make_trainer, new_run_dir
from ac_play.snapshot import Snapshot
from ac_play.training import EpisodeStats


class TrainingSession:
    """A trainer and its run folder; the training thread calls `record`, the UI the rest."""

    def __init__(
        self,
        config: TrainConfig,
        resumed: Snapshot | None = None,
        out: str | Path | None = None,
        root: Path = Path("runs"),
    ):
        self.base_config = copy.copy(config)  # as asked for, before a resume shifts the budget
        self.trainer = make_trainer(config, resumed)
        self.folder = RunFolder(
            out or new_run_dir(config, root), config, resumed, created=out is None, trainer=self.trainer
        )
        self.snapshot = Snapshot.of(self.trainer)
        self.saves = 0
        self.finished = False
        self.discarded = False
        """Whether `finish` removed the run folder, this session having made it and trained nothing."""
        self.error: AcPlayError | None = None
        """Why `finish` could not write the run, for whoever ends the program to report."""
        self.stopping = False
        self.idle = threading.Event()  # clear while a training thread may touch the trainer
        self.idle.set()
        self._finish_lock = threading.Lock()

    @property
    def base_episodes(self) -> int | None:
        return self.base_config.episodes

    @property
    def run_dir(self) -> Path:
        return self.folder.path

    def record(self, stats: EpisodeStats) -> None:
        """Log one episode as headless training does; publish a snapshot after each update."""
        self.folder.record(stats, self.trainer)
        if stats.episode == self.trainer.progress.episode:  # the last episode of its update
            self.snapshot = Snapshot.of(self.trainer)
            if self.trainer.paused:
                # a pause may last hours: a waiting best.npz and metrics go to disk now, not after it
                self.folder.write_pending()

    def save_now(self, snapshot: Snapshot | None = None) -> Path:
        """Write a snapshot (by default the newest) as checkpoint-NNN.npz in the run folder."""
        snapshot = snapshot or self.snapshot
        self.saves += 1
        self.folder.flush()
        return snapshot.save(self.run_dir / f"checkpoint-{self.saves:03d}.npz")

    def stop_and_finish(self, timeout: float = 60.0) -> Path | None:
        """Stop training, wait for the training thread to let go, then `finish`."""
        self.stopping = True
        self.trainer.stop()
        if not self.idle.wait(timeout):
            raise AcPlayError(f"training did not stop within {timeout:g} s; the run folder may be incomplete")
        return self.finish()

    def finish(self) -> Path | None:
        """Once training has stopped: final.npz, best.npz and metrics on disk. Idempotent.

        A folder this session made and trained nothing into is removed instead (None, `discarded`).
        A write that fails raises, and stays in `error`.
        """
        with self._finish_lock:
            if self.finished:
                return None
            self.finished = True
            if self.folder.unused:
                self.folder.discard(self.trainer)
                self.discarded = True
                return None
            try:
                return self.folder.finish(self.trainer)
            except AcPlayError as exc:
                self.error = exc
                raise


def load_history(checkpoint_path: str | Path, limit: int = 100_000) -> list[dict]:
    """The episodes logged in metrics.jsonl beside a checkpoint (empty when there is none)."""
    metrics = Path(checkpoint_path).parent / "metrics.jsonl"
    if not metrics.is_file():
        return []
    history = []
    with open(metrics, encoding="utf-8") as lines:
        for line in lines:
            try:
                history.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash; the rest is still worth showing
    return history[-limit:]
