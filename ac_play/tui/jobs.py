"""The TUI's background jobs: saving a checkpoint now and evaluating the policy, off the UI thread."""

from __future__ import annotations

from textual import work

from ac_play.errors import AcPlayError
from ac_play.evaluate import evaluate
from ac_play.snapshot import Snapshot
from ac_play.tui.messages import EvaluationDone

EVAL_EPISODES = 100


class BackgroundJobs:
    """The `s` and `e` keys of TrainApp: each runs in a thread worker and reports in the log."""

    @work(thread=True, group="save")
    def action_save(self) -> None:
        """Save a checkpoint of the newest update now; the log says where."""
        snapshot = self.session.snapshot
        try:
            path = self.session.save_now(snapshot)
        except AcPlayError as exc:
            self.call_from_thread(self.log_event, f"save failed: {exc}")
        else:
            self.call_from_thread(self.log_event, f"checkpoint saved: {path}", snapshot.progress.episode)

    def action_evaluate(self) -> None:
        """Score the current policy over 100 greedy episodes, in the background."""
        if any(w.group == "evaluate" and w.is_running for w in self.workers):
            self.log_event("an evaluation is already running")
            return
        snapshot = self.session.snapshot
        self.log_event(f"evaluating this policy over {EVAL_EPISODES} greedy episodes…", snapshot.progress.episode)
        self.evaluate_policy(snapshot)

    @work(thread=True, group="evaluate")
    def evaluate_policy(self, snapshot: Snapshot) -> None:
        returns = evaluate(snapshot.agent, snapshot.config.env_id, EVAL_EPISODES, greedy=True)
        self.post_message(EvaluationDone(snapshot.progress.episode, float(returns.mean()), float(returns.std()),
                                         float(returns.min()), float(returns.max()), len(returns)))

    def on_evaluation_done(self, result: EvaluationDone) -> None:
        self.log_event(f"evaluation over {result.count} greedy episodes: mean {result.mean:.1f} ± "
                       f"{result.std:.1f} (min {result.low:g}, max {result.high:g})", result.episode)

