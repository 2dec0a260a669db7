"""`ac-play train --headless`: train with no UI, print progress, write the run folder."""

from __future__ import annotations

import json
import sys
import time

from ac_play.runs import RunFolder, config_from_args, make_trainer, new_run_dir
from ac_play.training import DivergedError, EpisodeStats

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


def open_live_window(args, trainer):
    """With --window: the current policy playing in a window of its own process."""
    if not getattr(args, "window", False):
        return None
    from ac_play.live import LiveWindow

    window = LiveWindow(trainer.config.env_id)
    window.start()
    return window


def run_headless(args) -> int:
    config, resumed = config_from_args(args)
    trainer = make_trainer(config, resumed)
    window = open_live_window(args, trainer)
    folder = RunFolder(args.out or new_run_dir(config), config)
    progress = None if args.json else ProgressLine(trainer.threshold)
    wall_start = time.perf_counter()
    code, error = 0, None
    try:
        for stats in trainer.episodes():
            folder.record(stats, trainer)
            if args.json:
                print(json.dumps(stats.to_dict()), flush=False)
            else:
                progress.show(stats)
            if window is not None:
                window.send_from(trainer)
    except KeyboardInterrupt:
        code = 130
    except DivergedError as exc:
        code, error = 1, str(exc)
    finally:
        folder.flush()
        if window is not None:
            window.close()
    final = folder.finish(trainer)
    return report(args, trainer, final, time.perf_counter() - wall_start, code, error, progress)


def report(args, trainer, final, wall, code, error, progress) -> int:
    p = trainer.progress
    if args.json:
        done = {
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
        print(json.dumps(done), flush=True)
    else:
        progress.finish()
        if code == 130:
            print(f"interrupted at episode {p.episode}; checkpoint saved to {final}", file=sys.stderr)
        if error:
            print(f"ac-play: error: {error}; the last good checkpoint is {final}", file=sys.stderr)
        verdict = f"solved at episode {p.solved_at}" if trainer.solved else "not solved"
        print(
            f"{verdict}: {p.episode} episodes, {p.env_steps} env steps, {wall:.2f} s, "
            f"running reward {p.running_reward:.2f}\ncheckpoint: {final}"
        )
    return code
