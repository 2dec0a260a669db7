"""`ac-play train` without --headless: build the app, run it, save, report."""

from __future__ import annotations

import sys
from pathlib import Path

from ac_play.config import TrainConfig
from ac_play.errors import printable
from ac_play.runs import summary
from ac_play.signals import StopSignals
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
    """The app, then the same closing lines as headless; 143 or 129 if SIGTERM or SIGHUP ended it."""
    app = build_app(config, resumed, out, window)
    with StopSignals(app.quit_on_signal) as signals:
        try:
            app.run()
        finally:
            session = app.session  # a reset replaces it
            session.stop_and_finish()  # nothing to do after q; after a crash or a signal it still saves the run
    if session.error is not None:
        raise session.error
    final = session.run_dir / "final.npz"
    print(summary(session.trainer.progress, final))
    if signals.received is None:
        return 0
    print(f"interrupted at episode {session.trainer.progress.episode} by {signals.name}; "
          f"checkpoint saved to {printable(str(final))}", file=sys.stderr)
    return signals.exit_code
