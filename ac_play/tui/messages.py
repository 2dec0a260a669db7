"""Messages the training thread posts to the UI: small, plain and throttled."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ac_play.training import EpisodeStats


@dataclass
class EpisodesTrained(Message):
    """Episodes finished since the last message (about two messages a second at most)."""

    stats: list[EpisodeStats]
    session: object
    """The TrainingSession they belong to: messages of a run left behind by a reset are dropped."""
    paused: bool = False
    """Training was paused when they were posted: the last update before a pause is among them."""


@dataclass
class TrainingEnded(Message):
    """The training thread has returned: solved, budget used up, stopped, or an error."""

    reason: str
    session: object
    error: str | None = None


@dataclass
class EvaluationDone(Message):
    """Returns of the greedy evaluation episodes."""

    episode: int
    mean: float
    std: float
    low: float
    high: float
    count: int
