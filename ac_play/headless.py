"""`ac-play train --headless`: train with no UI, print progress, write the run folder."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ac_play.config import TrainConfig
from ac_play.envs import UNLEARNABLE
from ac_play.errors import AcPlayError, printable, silence_stdout
from ac_play.runs import RunFolder, SaveError, make_trainer, new_run_dir, summary
from ac_play.signals import WITH_CTRL_C, StopSignals
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


WINDOW_STAYS = (
    "the live window plays on with the final weights until you close it (Esc, q, its close button, or Ctrl-C here)"
)


def keep_window_open(live, trainer: Trainer, folder: RunFolder, code: int, json_lines: bool) -> int:
    """After the closing lines: the window plays on until the user closes it; the exit code.

    Only after training ended by itself or by Ctrl-C (a user at the keyboard): SIGTERM and SIGHUP
    mean nobody is watching. A signal while waiting ends the wait; the run is already on disk.
    """
    if not live.alive or code not in (0, 130):
        return code
    live.finish(Snapshot.of(trainer, optimizer=False), folder.best, "stopped" if code else "finished", folder.path)
    print(WINDOW_STAYS, file=sys.stderr if json_lines else sys.stdout, flush=True)
    stop = threading.Event()
    with StopSignals(stop.set, WITH_CTRL_C) as signals:
        live.wait(stop)
    return signals.exit_code or code


def run_headless(
    config: TrainConfig, resumed: Snapshot | None = None, out: str | Path | None = None,
    json_lines: bool = False, window: bool = False,
) -> int:
    """Train, writing the run folder; a progress line (or JSON Lines). Returns the exit code.

    0 done; 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (each saves final.npz first); 141 stdout closed
    (`--json | head`: saved, quietly); 1 diverged (the last good agent is saved); 2 a file could not
    be written (whatever was written before stays).
    """
    trainer = make_trainer(config, resumed)
    if config.env_id in UNLEARNABLE:
        print(f"ac-play: note: {UNLEARNABLE[config.env_id]}", file=sys.stderr)
    # the window first: without a display the command ends before it writes a run folder
    live = open_live_window() if window else None
    try:
        folder = RunFolder(out or new_run_dir(config), config, resumed, trainer=trainer)
        if folder.note:
            print(printable(folder.note), file=sys.stderr)
        return train_and_report(trainer, folder, json_lines, live)
    finally:
        if live is not None:
            live.close()


def train_and_report(trainer: Trainer, folder: RunFolder, json_lines: bool, live) -> int:
    """The run, its closing lines, then the window (if any) until it is closed; the exit code."""
    progress = None if json_lines else ProgressLine(trainer.threshold)
    show = print_json if progress is None else progress.show
    wall_start = time.perf_counter()
    # Ctrl-C too: a KeyboardInterrupt between an episode counted and its metrics line written would
    # leave final.npz ahead of metrics.jsonl; a request to stop ends the loop after the update instead
    with StopSignals(trainer.stop, WITH_CTRL_C) as signals:
        code, error = train_loop(trainer, folder, show, live)
        final, save_errors = finish(folder, trainer)
    if save_errors:
        # a file that failed during training fails again when closing: say it once
        code, error = 2, "; ".join(dict.fromkeys([error, *save_errors] if error else save_errors))
    elif code == 0 and signals.received is not None:
        code = signals.exit_code
    ending = Ending(code, error, final, time.perf_counter() - wall_start, signals.name)
    try:
        report(trainer, ending, progress)
    except BrokenPipeError:
        silence_stdout()
        return 141
    if live is not None:
        return keep_window_open(live, trainer, folder, ending.code, json_lines)
    return ending.code


def print_json(stats: EpisodeStats) -> None:
    print(json.dumps(stats.to_dict()), flush=False)


def train_loop(trainer: Trainer, folder: RunFolder, show, live) -> tuple[int, str | None]:
    """Train and record until done; how it ended, as an exit code and an error sentence."""
    code = 0
    try:
        for stats in trainer.episodes():
            folder.record(stats, trainer)
            if live is not None:
                live.send_from(trainer)
            if code == 0:
                code = show_unless_closed(show, stats, trainer)
    except KeyboardInterrupt:
        return 130, None
    except DivergedError as exc:
        return 1, str(exc)
    except AcPlayError as exc:  # a run file could not be written
        return 2, str(exc)
    return code, None


def show_unless_closed(show, stats: EpisodeStats, trainer: Trainer) -> int:
    """Show one episode; 141 once stdout is closed, and training stops after the update under way.

    The rest of that update's episodes are counted already, so they are still recorded: the
    metrics then reach as far as final.npz.
    """
    try:
        show(stats)
    except BrokenPipeError:
        silence_stdout()
        trainer.stop()
        return 141
    return 0


def finish(folder: RunFolder, trainer: Trainer) -> tuple[Path | None, list[str]]:
    """Write final.npz and best.npz, let the folder go: final.npz's path (None if unwritten), why each failure."""
    try:
        return folder.finish(trainer), []
    except SaveError as exc:
        return exc.final, [str(error) for error in exc.errors]


@dataclass(frozen=True)
class Ending:
    """How a headless run ended: exit code, error sentence, final.npz (None if unwritten), wall seconds."""

    code: int
    error: str | None
    final: Path | None
    wall: float
    signal_name: str = ""

    @property
    def interrupted(self) -> bool:
        return self.code in (130, 129, 143)

    def error_line(self) -> str | None:
        if not self.error:
            return None
        saved = f"; the last good checkpoint is {self.final}" if self.final else ""
        return f"ac-play: error: {printable(self.error + saved)}"  # sentences quote paths


def report(trainer: Trainer, ending: Ending, progress: ProgressLine | None) -> None:
    """The closing lines (`progress` None: --json): stderr says what went wrong, or that it was interrupted."""
    if progress is not None:
        progress.finish()
    if ending.error_line():
        print(ending.error_line(), file=sys.stderr)
    if progress is None:
        print(json.dumps(done_line(trainer, ending)), flush=True)
        return
    if ending.interrupted and ending.final:
        by = f" by {ending.signal_name}" if ending.signal_name else ""
        # the summary's checkpoint line names the file: once is enough
        print(f"interrupted at episode {trainer.progress.episode}{by}; {ending.final.name} saved", file=sys.stderr)
    print(summary(trainer.progress, ending.final, ending.wall))


def done_line(trainer: Trainer, ending: Ending) -> dict:
    """The last JSON line of --json: how the run ended."""
    p = trainer.progress
    return {
        "event": "done",
        "solved": trainer.solved,
        "solved_at": p.solved_at,
        "episodes": p.episode,
        "env_steps": p.env_steps,
        "wall_s": round(ending.wall, 3),
        "checkpoint": str(ending.final) if ending.final else None,
        "interrupted": ending.interrupted,
        "error": ending.error,
    }
