"""The scores of human play: one JSON object per round, appended to a file in the user data folder.

The file is only ever appended to, so a write never touches earlier rounds. A file that cannot
be read (a bad line, a half-written line) is renamed aside, never deleted, and a fresh one begins.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

from ac_play.errors import AcPlayError, printable

DATA_DIR_VARIABLE = "AC_PLAY_DATA_DIR"
SCORES_NAME = "scores.jsonl"

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Score:
    """One round: who played, when, from which start, how fast, and how long each side lasted."""

    name: str
    date: str
    seed: int
    speed: float
    player_steps: int
    agent_steps: int | None
    agent: str | None
    env_id: str = "CartPole-v1"

    @classmethod
    def from_dict(cls, record: dict) -> Score:
        """A Score from one parsed line; ValueError if a field is missing or of the wrong kind."""
        known = {f.name for f in fields(cls)}
        score = cls(**{key: value for key, value in record.items() if key in known})
        checks = {
            "name": isinstance(score.name, str),
            "date": isinstance(score.date, str),
            "seed": isinstance(score.seed, int),
            "speed": isinstance(score.speed, (int, float)),
            "player_steps": isinstance(score.player_steps, int),
            "agent_steps": score.agent_steps is None or isinstance(score.agent_steps, int),
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise ValueError(f"field {wrong[0]!r} has the wrong type")
        return score


def now() -> str:
    """The local time of a round, to the second, as ISO 8601."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def data_dir() -> Path:
    """The folder for ac-play's scores: $AC_PLAY_DATA_DIR if set, else the platform's user data folder."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    return Path(override) if override else Path(platformdirs.user_data_dir("ac-play"))


def scores_path() -> Path:
    return data_dir() / SCORES_NAME


def print_warning(message: str) -> None:
    print(f"ac-play: warning: {printable(message)}", file=sys.stderr)


def read_scores(path: Path | None = None, warn: Warn = print_warning) -> list[Score]:
    """Every round in the scores file, oldest first; a corrupt file is set aside and [] returned."""
    path = path or scores_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        return _set_aside(path, f"it cannot be read ({exc})", warn)
    scores = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            scores.append(Score.from_dict(record))
        except (ValueError, TypeError) as exc:
            return _set_aside(path, f"line {number} is not a score ({exc})", warn)
    return scores


def _set_aside(path: Path, reason: str, warn: Warn) -> list[Score]:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.stem}.corrupt-{stamp}{path.suffix}")
    counter = 1
    while aside.exists():  # never overwrite an earlier set-aside file
        aside = path.with_name(f"{path.stem}.corrupt-{stamp}-{counter}{path.suffix}")
        counter += 1
    try:
        path.rename(aside)
    except OSError as exc:
        raise AcPlayError(f"the scores file {path} is corrupt ({reason}) and cannot be moved aside: {exc}") from None
    warn(f"the scores file {path} was corrupt: {reason}; kept it as {aside.name} and started a fresh one")
    return []


def append_score(score: Score, path: Path | None = None, warn: Warn = print_warning) -> Path:
    """Add one round at the end of the scores file (checked first, so a corrupt one is set aside)."""
    path = path or scores_path()
    read_scores(path, warn)
    line = json.dumps(asdict(score)) + "\n"
    if _lacks_final_newline(path):  # a hand-edited file: do not glue two rounds on one line
        line = "\n" + line
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND and one write: earlier lines are never rewritten, even if two games save at once
        handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(handle, line.encode("utf-8"))
            os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as exc:
        raise AcPlayError(f"cannot write the scores file {path}: {exc.strerror}") from None
    return path


def _lacks_final_newline(path: Path) -> bool:
    try:
        with path.open("rb") as scores_file:
            scores_file.seek(-1, os.SEEK_END)
            return scores_file.read(1) != b"\n"
    except OSError:  # missing or empty
        return False


def best_scores(scores: list[Score], limit: int = 10) -> list[Score]:
    """The longest rounds first; among equals, the earliest."""
    return sorted(scores, key=lambda score: (-score.player_steps, score.date))[:limit]


def format_table(scores: list[Score]) -> str:
    """A plain-text table of rounds, ranked as given."""
    header = ("#", "name", "steps", "agent", "speed", "seed", "date", "checkpoint")
    rows = [
        (
            str(rank),
            printable(score.name),
            str(score.player_steps),
            "-" if score.agent_steps is None else str(score.agent_steps),
            f"{score.speed:g}x",
            str(score.seed),
            printable(score.date[:16].replace("T", " ")),
            printable(score.agent or "solo"),
        )
        for rank, score in enumerate(scores, start=1)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {0, 2, 3, 4, 5}  # right-aligned columns

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(cells).rstrip()

    return "\n".join(line(row) for row in [header, *rows])


def print_best(limit: int = 10) -> int:
    """`ac-play human --scores`: the best rounds as a table."""
    path = scores_path()
    scores = read_scores(path)
    where = printable(str(path))
    if not scores:
        print(f"no rounds played yet (scores are kept in {where})")
        return 0
    print(f"best {min(limit, len(scores))} of {len(scores)} rounds ({where})")
    print(format_table(best_scores(scores, limit)))
    return 0
