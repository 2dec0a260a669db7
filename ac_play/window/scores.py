"""The scores of human play: one JSON object per round, appended to a file in the user data folder.

The file is only ever appended to, a whole line at a time, so a write never touches earlier rounds.
Reading never changes the file: a line that is not a round (half-written, hand-edited) is skipped
and counted, and the file is read a line at a time, so its size costs time but not memory.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import platformdirs

from ac_play import files
from ac_play.errors import AcPlayError, printable

DATA_DIR_VARIABLE = "AC_PLAY_DATA_DIR"
SCORES_NAME = "scores.jsonl"
LONGEST_LINE = 64 * 1024  # a round takes about 200 bytes; a longer line is damage, skipped unread
BATCH_LINES = 2000  # lines parsed by one json.loads: a call per line would cost twice the parsing itself
FIELD_KINDS = {
    "name": str,
    "date": str,
    "seed": int,
    "speed": (int, float),
    "player_steps": int,
    "agent_steps": (int, type(None)),
    "agent": (str, type(None)),
    "env_id": str,
    "ladder": (str, type(None)),
    "stage": (int, type(None)),
    "stages": (int, type(None)),
    "beaten": (bool, type(None)),
}
"""Each field of a round and the JSON types it may take (every field is printed or ranked on)."""
LADDER_FIELDS = ("ladder", "stage", "stages", "beaten")
"""A ladder round's: which ladder (its run), the stage played (from 1), how many it has, and whether it was beaten."""
REQUIRED_FIELDS = FIELD_KINDS.keys() - {"env_id", *LADDER_FIELDS}  # older lines take Score's defaults

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
    ladder: str | None = None
    """The ladder's run (`human --ladder`), or None for a round against one agent."""
    stage: int | None = None
    stages: int | None = None
    beaten: bool | None = None

    @classmethod
    def from_dict(cls, record: object) -> Score:
        """A Score from one parsed line; ValueError if it is not a round (see `is_round`)."""
        if not is_round(record):
            raise ValueError("not a round: a field is missing or of the wrong kind")
        return cls(**{name: value for name, value in record.items() if name in FIELD_KINDS})


def is_round(record: object) -> bool:
    """Whether a parsed line is a round: an object with every field, each of its kind; other keys are ignored."""
    if not isinstance(record, dict) or not REQUIRED_FIELDS <= record.keys():
        return False
    for name, kinds in FIELD_KINDS.items():
        if name in record and not isinstance(record[name], kinds):
            return False
    return is_ladder_stage(*(record.get(name) for name in LADDER_FIELDS))


def is_ladder_stage(ladder: object, stage: object, stages: object, beaten: object) -> bool:
    """No ladder at all, or all of a ladder round: a stage from 1 to its count (JSON's true is no number)."""
    if ladder is None and stage is None and stages is None and beaten is None:
        return True
    if ladder is None or beaten is None or type(stage) is not int or type(stages) is not int:
        return False
    return 1 <= stage <= stages


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


class ScoreFile:
    """The rounds in a scores file, read a line at a time, never all at once, and never changed.

    A line that is not a round (half-written, hand-edited, not UTF-8) is skipped and counted in
    `skipped`; it costs only itself. `rounds` counts the rest as they are read. A file that cannot
    be opened or read is an AcPlayError; a missing file holds no rounds.
    """

    def __init__(self, path: Path):
        self.path = path
        self.rounds = self.skipped = 0
        self.ladders: dict[str, tuple[int, int]] = {}
        """Each ladder seen so far: (the highest stage beaten, of how many), 0 before one is beaten."""

    def records(self) -> Iterator[dict]:
        """Each round as its parsed JSON object, oldest first."""
        try:
            with os.fdopen(open_regular(self.path, os.O_RDONLY, "read"), "rb") as scores_file:
                lines = _lines(scores_file)
                while batch := list(itertools.islice(lines, BATCH_LINES)):
                    rounds = [record for record in _parse(batch) if is_round(record)]
                    self.rounds += len(rounds)
                    self.skipped += len(batch) - len(rounds)
                    self._climbed(rounds)
                    yield from rounds
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AcPlayError(f"cannot read the scores file {self.path}: {exc.strerror}") from None

    def _climbed(self, rounds: list[dict]) -> None:
        for record in rounds:
            if record.get("ladder") is not None:
                beaten = record["stage"] if record["beaten"] else 0
                highest = self.ladders.get(record["ladder"], (0, record["stages"]))
                self.ladders[record["ladder"]] = max(highest, (beaten, record["stages"]))

    def best(self, limit: int = 10) -> list[Score]:
        """The longest rounds first; among equals, the earliest. Holds only `limit` rounds at a time."""
        ranked = heapq.nsmallest(limit, self.records(), key=lambda record: (-record["player_steps"], record["date"]))
        return [Score.from_dict(record) for record in ranked]

    def all(self) -> list[Score]:
        return [Score.from_dict(record) for record in self.records()]

    def skipped_note(self) -> str:
        lines, rounds = ("line", "a round") if self.skipped == 1 else ("lines", "rounds")
        return f"{self.skipped} {lines} skipped in {self.path}: not {rounds} (cut short or edited by hand)"


def _lines(scores_file: BinaryIO) -> Iterator[bytes | None]:
    """Each line that is not blank; None for one too long to be a round, which is passed over, never held whole."""
    for line in iter(lambda: scores_file.readline(LONGEST_LINE), b""):
        if len(line) == LONGEST_LINE and not line.endswith(b"\n"):
            while (rest := scores_file.readline(LONGEST_LINE)) and not rest.endswith(b"\n"):
                pass
            yield None
        elif line.strip():
            yield line


def _parse(batch: list[bytes | None]) -> list[object]:
    """Each line's JSON value (None where a line holds none), from one json.loads call when that is safe.

    One call for the batch, the lines joined with commas into a JSON array, halves the time. It
    gives the same values as line by line when each line holds exactly one `{` and one `}` and the
    array holds that many objects: each object needs a `{` and a `}` of its own, so no brace is
    left for nesting or for a string, the objects' braces follow one another, and each line holds
    exactly one object (anything else outside it would be another element). Any other batch (a torn
    line, a brace in a name) is parsed line by line.
    """
    if all(line is not None and line.count(b"{") == 1 == line.count(b"}") for line in batch):
        try:
            values = json.loads((b"[" + b",".join(batch) + b"]").decode("utf-8"))
        except (ValueError, RecursionError):  # ValueError includes bad UTF-8
            values = []
        if len(values) == len(batch) and all(type(value) is dict for value in values):
            return values
    return [_parse_line(line) for line in batch]


def _parse_line(line: bytes | None) -> object:
    try:
        return json.loads(line.decode("utf-8")) if line is not None else None
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return None


def read_scores(path: Path | None = None, warn: Warn = print_warning) -> list[Score]:
    """Every round in the scores file, oldest first; lines that are not rounds are skipped with a warning."""
    scores_file = ScoreFile(path or scores_path())
    rounds = scores_file.all()
    if scores_file.skipped:
        warn(scores_file.skipped_note())
    return rounds


def append_score(score: Score, path: Path | None = None) -> Path:
    """Add one round at the end of the scores file, without reading the rounds already there."""
    path = path or scores_path()
    data = (json.dumps(asdict(score)) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND and one write: earlier lines are never rewritten, even if two games save at once;
        # O_RDWR only to read the last byte
        handle = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, "write")
        try:
            if _lacks_final_newline(handle):  # a hand-edited or torn last line: do not glue this round onto it
                data = b"\n" + data
            written = os.write(handle, data)
            os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as exc:
        raise AcPlayError(f"cannot write the scores file {path}: {exc.strerror}") from None
    if written < len(data):  # a full disk: the torn line is skipped when read, and the next round starts afresh
        raise AcPlayError(f"the scores file {path} was not fully written ({written} of {len(data)} bytes)")
    return path


def open_regular(path: Path, flags: int, verb: str) -> int:
    """A descriptor of the scores file; AcPlayError unless it is a regular file.

    A symlink to a regular file elsewhere is followed (people keep their scores where they like);
    a FIFO or a device is refused before a byte moves (`files.open_regular`).
    """
    try:
        return files.open_regular(path, flags)
    except files.NotRegularFile as exc:
        raise AcPlayError(f"cannot {verb} the scores file {path}: it is {exc.kind}, not a regular file") from None


def _lacks_final_newline(handle: int) -> bool:
    size = os.fstat(handle).st_size
    return size > 0 and os.pread(handle, 1, size - 1) != b"\n"


def format_table(scores: list[Score]) -> str:
    """A plain-text table of rounds, ranked as given."""
    header = ("#", "name", "steps", "agent", "speed", "seed", "date", "checkpoint")
    rows = [
        (
            str(rank),
            printable(score.name),
            str(score.player_steps),
            "-" if score.agent_steps is None else str(score.agent_steps),
            f"{score.speed:g}x" if isinstance(score.speed, float) else f"{score.speed}x",  # a huge int is no float
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
    """`ac-play human --scores`: the best rounds as a table; lines that are not rounds are counted on stderr."""
    scores_file = ScoreFile(scores_path())
    best = scores_file.best(limit)
    where = printable(str(scores_file.path))
    if scores_file.skipped:
        print_warning(scores_file.skipped_note())
    if not best:
        print(f"no rounds played yet (scores are kept in {where})")
        return 0
    print(f"best {len(best)} of {scores_file.rounds} rounds ({where})")
    print(format_table(best))
    for ladder, (beaten, stages) in sorted(scores_file.ladders.items()):
        print(ladder_line(ladder, beaten, stages))
    return 0


def ladder_line(ladder: str, beaten: int, stages: int) -> str:
    """`--scores`' line for one ladder: how high anyone has climbed it."""
    climbed = f"highest stage beaten {beaten} of {stages}" if beaten else f"no stage of {stages} beaten yet"
    return f"ladder {printable(ladder)}: {climbed}"
