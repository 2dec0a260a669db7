"""`ac-play human --ladder`: the agent at successive stages of its training, to beat one after another.

The stages come from the run's history: the untrained agent, then the first snapshot whose
running reward reaches each of STAGE_FRACTIONS of the env's solve threshold (for CartPole-v1:
24, 48, 95, 190, 333 and 475), then the run's best; a snapshot picked twice is one stage. The
running reward is what training measured of each snapshot, so each stage has done better than
the one before it. `--agent RUN_DIR --at EPISODE` plays one snapshot of a run instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ac_play import history
from ac_play.cartpole import is_cartpole
from ac_play.envs import registered_env_info
from ac_play.errors import AcPlayError, SettingError
from ac_play.snapshot import Snapshot

STAGE_FRACTIONS = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0)
"""The running rewards, as fractions of the solve threshold, whose first snapshot is a stage."""


def stage_indices(running_rewards: Sequence[float], best_index: int, threshold: float) -> list[int]:
    """Indices of the snapshots that make the stages: the first, the first past each fraction, the best."""
    chosen = {0, best_index}
    for fraction in STAGE_FRACTIONS:
        reached = next((i for i, reward in enumerate(running_rewards) if reward >= fraction * threshold), None)
        if reached is not None:
            chosen.add(reached)
    return sorted(chosen)


def ladder_name(run: history.History) -> str:
    """What names a ladder in the scores: its run folder (or history file), absolute; or the bundled file's name."""
    if run.bundled:
        return run.label
    path = run.path.resolve()
    return str(path.parent if path.name == history.HISTORY_NAME else path)


def load_run(path: str | Path | None) -> history.History:
    """A run's history (the bundled agent's when None), refused unless it plays CartPole."""
    run = history.load_or_bundled(path)
    if not is_cartpole(run.config.env_id):
        raise AcPlayError(f"{run.path} is a run of {run.config.env_id}; `ac-play human` is a CartPole game")
    return run


def stage_label(snapshot: Snapshot) -> str:
    return f"the agent at episode {snapshot.episode}"


class Ladder:
    """The stages of one run, the one being played, and the highest beaten in this session."""

    def __init__(self, run: history.History, name: str):
        self.run, self.name = run, name
        threshold = registered_env_info(run.config.env_id).reward_threshold
        running = [snapshot.progress.running_reward for snapshot in run.snapshots]
        if threshold is None:  # an env without one: the run's own best is the top
            threshold = max(running)
        self.stages = [run.snapshots[i] for i in stage_indices(running, run.best_index, threshold)]
        self.current = 0
        """Index into `stages` of the stage played now."""
        self.highest_beaten = 0
        """The highest stage (from 1) beaten in this session; 0 before any."""
        self.news = ""
        """What the last round did to the climb, for the result screen."""
        self.beaten = False
        """Whether the last round beat its stage."""

    @classmethod
    def of_run(cls, path: str | Path | None) -> Ladder:
        """The ladder of the run at `path` (the bundled agent's when None)."""
        run = load_run(path)
        return cls(run, ladder_name(run))

    @property
    def snapshot(self) -> Snapshot:
        return self.stages[self.current]

    @property
    def number(self) -> int:
        return self.current + 1

    @property
    def position(self) -> str:
        return f"stage {self.number} of {len(self.stages)}"

    @property
    def opponent(self) -> str:
        return stage_label(self.snapshot)

    def score_fields(self, beaten: bool) -> dict:
        """What a round at this stage adds to its line in the scores file."""
        return {"agent": f"{self.name}, episode {self.snapshot.episode}", "ladder": self.name,
                "stage": self.number, "stages": len(self.stages), "beaten": beaten}

    def finish(self, beaten: bool) -> None:
        """After a round at the current stage: up one stage if it was beaten, else the same again."""
        self.beaten = beaten
        if not beaten:
            self.news = f"Not beaten yet: Enter to try {self.position} again"
            return
        self.highest_beaten = max(self.highest_beaten, self.number)
        if self.number == len(self.stages):
            self.news = f"You climbed the whole ladder: all {len(self.stages)} stages beaten!"
            return
        beat = self.position
        self.current += 1
        self.news = f"{beat.capitalize()} beaten! Enter: {self.position}, {self.opponent}"

    def summary(self) -> str:
        """The ladder's part of the closing line."""
        if not self.highest_beaten:
            return f"no stage of {len(self.stages)} beaten"
        return f"highest stage beaten {self.highest_beaten} of {len(self.stages)}"


def beats(player_steps: int, agent_steps: int, player_truncated: bool, agent_truncated: bool) -> bool:
    """A stage is beaten by outlasting it, or by lasting to the step limit as it does (none can do more)."""
    return player_steps > agent_steps or (player_truncated and agent_truncated)


def one_stage(path: str | Path, episode: int | None) -> tuple[Snapshot, str]:
    """`--agent RUN_DIR --at EPISODE`: the snapshot at or before the episode (the last when None), and its name."""
    run = load_run(path)
    first, last = run.episodes[0], run.last_episode
    if episode is None:
        snapshot = run.snapshots[-1]
    else:
        if not first <= episode <= last:
            raise SettingError("at", f"must be an episode of {path}, from {first} to {last}, not {episode}")
        snapshot = run.snapshots[run.index_at(episode)]
    return snapshot, f"{Path(ladder_name(run)).name} at episode {snapshot.episode}"
