"""`ac-play train --headless`: train with no UI, print progress, write the run folder."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ac_play.config import TrainConfig
from ac_play.runs import RunFolder, make_trainer, new_run_dir, summary
from ac_play.snapshot import Snapshot
from ac_play.training import DivergedError, EpisodeStats, Trainer

PROGRESS_INTERVAL = 0.2
"""Seconds between progress lines on a terminal (printing every episode would cost speed)."""


class ProgressLine:
    """A live progress line on a terminal, or a line every 100 episodes otherwise."""

    def __init__(self, threshold: float | None):
        self.threshold = threshold
        self.tty = sys.stdout.isatty()
        self.last = 0.0

    def show(self, stats: EpisodeStats) -> None:
        line = (
            f"episode {stats.episode:6d}  return {stats.episode_return:7.1f}  "
            f"running {stats.running_reward:7.2f}"
            + (f"/{self.threshold:g}" if self.threshold is not None else "")
            + f"  steps {stats.env_steps:8d}  {stats.elapsed:6.1f}s"
        )
        if self.tty:
            now = time.monotonic()
            if now - self.last >= PROGRESS_INTERVAL:
                self.last = now
                print("\r" + line, end="", flush=True)
        elif stats.episode % 100 == 0:
            print(line, flush=True)

    def finish(self) -> None:
        if self.tty:
            print()


def open_live_window():
    """With --window: the current policy playing in a window of its own process."""
    from ac_play.window.live import LiveWindow

    window = LiveWindow()
    window.start()
    return window


def run_headless(
    config: TrainConfig, resumed: Snapshot | None = None, out: str | Path | None = None,
    json_lines: bool = False, window: bool = False,
) -> int:
    """Train, writing the run folder; a progress line (or JSON Lines); 130 on Ctrl-C, 1 on divergence."""
    trainer = make_trainer(config, resumed)
    live = open_live_window() if window else None
    folder = RunFolder(out or new_run_dir(config), config)
    progress = None if json_lines else ProgressLine(trainer.threshold)
    wall_start = time.perf_counter()
    code, error = 0, None
    try:
        for stats in trainer.episodes():
            folder.record(stats, trainer)
            if json_lines:
                print(json.dumps(stats.to_dict()), flush=False)
            else:
                progress.show(stats)
            if live is not None:
                live.send_from(trainer)
    except KeyboardInterrupt:
        code = 130
    except DivergedError as exc:
        code, error = 1, str(exc)
    finally:
        folder.flush()
        if live is not None:
            live.close()
    final = folder.finish(trainer)
    wall = time.perf_counter() - wall_start
    if json_lines:
        print(json.dumps(done_line(trainer, final, wall, code, error)), flush=True)
    else:
        report(trainer, final, wall, code, error, progress)
    return code


def done_line(trainer: Trainer, final: Path, wall: float, code: int, error: str | None) -> dict:
    """The last JSON line of --json: how the run ended."""
    p = trainer.progress
    return {
        "event": "done",
        "solved": trainer.solved,
        "solved_at": p.solved_at,
        "episodes": p.episode,
        "env_steps": p.env_steps,
        "wall_s": round(wall, 3),
        "checkpoint": str(final),
        "interrupted": code == 130,
        "error": error,
    }


def report(trainer: Trainer, final: Path, wall: float, code: int, error: str | None, progress: ProgressLine) -> None:
    """The closing lines on a terminal."""
    progress.finish()
    if code == 130:
        print(f"interrupted at episode {trainer.progress.episode}; checkpoint saved to {final}", file=sys.stderr)
    if error:
        print(f"ac-play: error: {error}; the last good checkpoint is {final}", file=sys.stderr)
    print(summary(trainer.progress, final, wall))
