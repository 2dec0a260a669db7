"""`ac-play train` without --headless: build the app, run it, save, report."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from ac_play.config import TrainConfig
from ac_play.errors import printable
from ac_play.runs import summary
from ac_play.signals import WITH_CTRL_C, StopSignals
from ac_play.snapshot import Snapshot
from ac_play.tui.app import TrainApp
from ac_play.tui.session import TrainingSession, load_history


def build_app(
    config: TrainConfig, resumed: Snapshot | None = None, out: str | Path | None = None, window: bool = False,
) -> TrainApp:
    """The app for a fresh run, or for one resumed from a checkpoint, with the history logged beside it."""
    session = TrainingSession(config, resumed, out)
    history, note = [], ""
    if resumed is not None:
        start = session.trainer.progress.episode
        history = [row for row in load_history(resumed.source) if row.get("episode", 0) <= start]
        source = f"{len(history)} episodes of history from metrics.jsonl" if history else "no metrics.jsonl beside it"
        note = f"resumed {resumed.source} at episode {start} ({source}); space continues training"
    return TrainApp(session, history, note, open_window=window)


def run_tui(
    config: TrainConfig, resumed: Snapshot | None = None, out: str | Path | None = None, window: bool = False,
) -> int:
    """The app, then the same closing lines as headless.

    Exit 130, 143 or 129 if ctrl+c (or SIGINT), SIGTERM or SIGHUP ended it.
    """
    app = build_app(config, resumed, out, window)
    with StopSignals(app.quit_on_signal, WITH_CTRL_C) as signals:  # SIGINT too: `kill -INT` as ctrl+c
        try:
            app.run()
        finally:
            session = app.session  # a reset replaces it
            session.stop_and_finish()  # nothing to do after q; after a crash or a signal it still saves the run
    if session.error is not None:
        raise session.error
    if app.interrupted and signals.received is None:
        signals.received = signal.SIGINT  # ctrl+c came as a key: end as the signal it stands for
    final = None if session.discarded else session.run_dir / "final.npz"
    if signals.received is not None and final is not None:  # headless's closing lines, in its order
        # the summary's checkpoint line names the file: once is enough
        print(f"interrupted at episode {session.trainer.progress.episode} by {signals.name}; {final.name} saved",
              file=sys.stderr)
    print(summary(session.trainer.progress, final))
    if session.discarded:
        print(f"no episode was trained, so the new run folder {printable(str(session.run_dir))} was removed")
    return 0 if signals.received is None else signals.exit_code
