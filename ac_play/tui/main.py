"""`ac-play train` without --headless: build the app from the flags, run it, save, report."""

from __future__ import annotations

from ac_play.errors import AcPlayError
from ac_play.runs import config_from_args
from ac_play.tui.app import TrainApp
from ac_play.tui.session import TrainingSession, load_history


def build_app(args) -> TrainApp:
    """The app for parsed `ac-play train` flags: a fresh run, or a resumed one with its history."""
    if getattr(args, "json", False):
        raise AcPlayError("--json prints JSON Lines and needs --headless")
    config, resumed = config_from_args(args)
    session = TrainingSession(config, resumed, args.out)
    history, note = [], ""
    if resumed is not None:
        start = session.trainer.progress.episode
        history = [row for row in load_history(args.resume) if row.get("episode", 0) <= start]
        source = f"{len(history)} episodes of history from metrics.jsonl" if history else "no metrics.jsonl beside it"
        note = f"resumed {resumed.path} at episode {start} ({source}); space continues training"
    return TrainApp(session, history, note, open_window=getattr(args, "window", False))


def run_tui(args) -> int:
    """`ac-play train` without --headless: the app, then the same closing lines as headless."""
    app = build_app(args)
    try:
        app.run()
    finally:
        session = app.session  # a reset replaces it
        session.stop_and_finish()  # nothing to do after q; after a crash it still saves the run
    progress = session.trainer.progress
    verdict = f"solved at episode {progress.solved_at}" if progress.solved_at else "not solved"
    print(f"{verdict}: {progress.episode} episodes, {progress.env_steps} env steps, "
          f"running reward {progress.running_reward:.2f}\ncheckpoint: {session.run_dir / 'final.npz'}")
    return 0
