"""The scores file: appended rounds, a best-first table, bad lines skipped and counted, reading changes nothing."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace

import pytest

from ac_play.errors import AcPlayError
from ac_play.window import scores


def make_score(
    player_steps: int, name: str = "ada", agent_steps: int | None = 500, date: str = "2026-01-02T10:00:00"
) -> scores.Score:
    return scores.Score(
        name=name,
        date=date,
        seed=3,
        speed=0.5,
        player_steps=player_steps,
        agent_steps=agent_steps,
        agent=None if agent_steps is None else "cartpole-v1.npz",
    )


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(scores.DATA_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def test_scores_file_lives_in_the_data_dir_override(data_dir):
    assert scores.scores_path() == data_dir / "scores.jsonl"


def test_without_override_scores_go_to_the_platform_user_data_folder(monkeypatch):
    monkeypatch.delenv(scores.DATA_DIR_VARIABLE, raising=False)
    import platformdirs

    assert scores.data_dir() == scores.Path(platformdirs.user_data_dir("ac-play"))


def test_appended_rounds_read_back_in_order(data_dir):
    first, second = make_score(40), make_score(75, agent_steps=None)
    scores.append_score(first)
    scores.append_score(second)
    assert scores.read_scores() == [first, second]
    lines = (data_dir / "scores.jsonl").read_text().splitlines()
    assert [json.loads(line)["player_steps"] for line in lines] == [40, 75]


def test_appending_keeps_every_earlier_byte(data_dir):
    scores.append_score(make_score(10))
    before = (data_dir / "scores.jsonl").read_bytes()
    scores.append_score(make_score(20))
    assert (data_dir / "scores.jsonl").read_bytes().startswith(before)


def test_round_after_a_line_without_final_newline_gets_its_own_line(data_dir):
    scores.append_score(make_score(10))
    path = data_dir / "scores.jsonl"
    path.write_text(path.read_text().rstrip("\n"))
    scores.append_score(make_score(20))
    assert [s.player_steps for s in scores.read_scores()] == [10, 20]


def test_a_bad_line_is_skipped_and_counted_and_every_other_round_kept(data_dir):
    path = data_dir / "scores.jsonl"
    scores.append_score(make_score(33))
    path.write_text(path.read_text() + '{"name": "half a li\n')
    scores.append_score(make_score(90))
    warnings: list[str] = []
    assert [s.player_steps for s in scores.read_scores(warn=warnings.append)] == [33, 90]
    assert warnings == [f"1 line skipped in {path}: not a round (cut short or edited by hand)"]


def test_reading_never_renames_or_rewrites_the_file(data_dir):
    path = data_dir / "scores.jsonl"
    path.write_text("not json\n[1, 2]\n")
    before = path.stat()
    assert scores.read_scores(warn=lambda message: None) == []
    assert scores.print_best() == 0
    assert [p.name for p in data_dir.iterdir()] == ["scores.jsonl"]
    assert path.read_text() == "not json\n[1, 2]\n" and path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize(
    "line",
    [
        '{"name": "ada", "date": "2026-01-01"}',  # fields missing
        '{"name": "ada", "date": "2026-01-01", "seed": 3, "speed": 0.5, "player_steps": "9", '
        '"agent_steps": null, "agent": null}',  # steps as text
        '{"name": 7, "date": "2026-01-01", "seed": 3, "speed": 0.5, "player_steps": 9, '
        '"agent_steps": null, "agent": null}',  # a name that is not text
        "[1, 2]",
        "[" * 10_000,  # nested past Python's recursion limit
        '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}",
    ],
    ids=["missing-fields", "steps-as-text", "name-not-text", "array", "deep-array", "deep-in-object"],
)
def test_a_line_that_is_not_a_round_is_skipped(data_dir, line):
    scores_file = scores.ScoreFile(data_dir / "scores.jsonl")
    scores_file.path.write_text(line + "\n" + json.dumps(asdict(make_score(12))) + "\n")
    assert [s.player_steps for s in scores_file.all()] == [12]
    assert (scores_file.rounds, scores_file.skipped) == (1, 1)


def test_a_line_that_is_not_utf8_is_skipped(data_dir):
    scores_file = scores.ScoreFile(data_dir / "scores.jsonl")
    good = json.dumps(asdict(make_score(12))).encode()
    scores_file.path.write_bytes(good.replace(b"ada", b"\xe9\xff") + b"\n" + good + b"\n")
    assert [s.player_steps for s in scores_file.all()] == [12] and scores_file.skipped == 1


def test_blank_lines_are_neither_rounds_nor_damage(data_dir):
    scores_file = scores.ScoreFile(data_dir / "scores.jsonl")
    scores_file.path.write_text("\n" + json.dumps(asdict(make_score(12))) + "\n  \n")
    assert len(scores_file.all()) == 1 and scores_file.skipped == 0


def split_round(score: scores.Score, before: str) -> list[str]:
    """A round's line cut in two before the field `before`: neither half is a round on its own."""
    head, tail = json.dumps(asdict(score)).split(f', "{before}"')
    return [head, f'"{before}"{tail}']


@pytest.mark.parametrize(
    "lines",
    [
        ["{}, " + split_round(make_score(77), "env_id")[0], split_round(make_score(77), "env_id")[1]],
        split_round(replace(make_score(77, name="}"), env_id="{"), "env_id"),
        [*split_round(replace(make_score(77, name="}"), env_id="{"), "env_id"), "1, {}"],
    ],
    ids=["two-objects-on-a-line", "braces-in-strings", "braces-in-strings-and-a-number"],
)
def test_lines_that_make_a_round_only_when_joined_are_each_skipped(data_dir, lines):
    # Joined into one JSON array (as batches are read), these lines parse as rounds across line boundaries.
    scores_file = scores.ScoreFile(data_dir / "scores.jsonl")
    scores_file.path.write_text("\n".join([*lines, json.dumps(asdict(make_score(12)))]) + "\n")
    assert [s.player_steps for s in scores_file.all()] == [12]
    assert (scores_file.rounds, scores_file.skipped) == (1, len(lines))


def test_a_round_with_braces_in_its_name_is_read(data_dir):
    scores.append_score(make_score(5, name="{}}{"))
    scores.append_score(make_score(6, name="ok"))
    assert [s.name for s in scores.read_scores()] == ["{}}{", "ok"]


def test_a_line_longer_than_any_round_is_skipped_without_reading_it_whole(data_dir):
    path = data_dir / "scores.jsonl"
    path.write_bytes(b'{"name": "' + b"x" * (3 * scores.LONGEST_LINE) + b'"}\n')
    scores.append_score(make_score(8))
    scores_file = scores.ScoreFile(path)
    assert [s.player_steps for s in scores_file.all()] == [8] and scores_file.skipped == 1


def test_best_rounds_rank_longest_first_then_earliest(data_dir):
    for score in (
        make_score(50, name="late", date="2026-01-03T00:00:00"),
        make_score(120),
        make_score(50, name="early", date="2026-01-01T00:00:00"),
    ):
        scores.append_score(score)
    ranked = scores.ScoreFile(scores.scores_path()).best(limit=2)
    assert [(s.player_steps, s.name) for s in ranked] == [(120, "ada"), (50, "early")]


def test_short_write_is_reported_and_the_torn_line_costs_only_itself(data_dir, monkeypatch):
    scores.append_score(make_score(10))
    write = os.write
    monkeypatch.setattr(scores.os, "write", lambda handle, data: write(handle, data[: len(data) // 2]))
    with pytest.raises(scores.AcPlayError, match="was not fully written"):
        scores.append_score(make_score(20))
    monkeypatch.setattr(scores.os, "write", write)
    scores.append_score(make_score(30))
    scores_file = scores.ScoreFile(scores.scores_path())
    assert [s.player_steps for s in scores_file.all()] == [10, 30]
    assert scores_file.skipped == 1


def write_big_scores(path, size: int = 50_000_000) -> int:
    """A scores file of about `size` bytes, a thousand rounds of different steps and names repeated; its rounds."""
    block = "".join(
        json.dumps(asdict(make_score(step % 500, name=f"player{step % 97}", date=f"2026-01-02T10:{step % 60:02d}:00")))
        + "\n"
        for step in range(1000)
    ).encode()
    copies = size // len(block)
    with path.open("wb") as scores_file:
        for _ in range(copies):
            scores_file.write(block)
    return copies * 1000


def test_appending_to_a_50_mb_file_does_not_read_it(data_dir):
    write_big_scores(data_dir / "scores.jsonl")
    start = time.perf_counter()
    scores.append_score(make_score(499))
    assert time.perf_counter() - start < 0.5


def test_table_shows_steps_of_both_sides_speed_and_seed():
    table = scores.format_table([make_score(120), make_score(80, name="solo-sam", agent_steps=None)])
    header, first, second = table.splitlines()
    assert header.split() == ["#", "name", "steps", "agent", "speed", "seed", "date", "checkpoint"]
    assert first.split()[:6] == ["1", "ada", "120", "500", "0.5x", "3"]
    assert second.split()[:4] == ["2", "solo-sam", "80", "-"]
    assert second.split()[-1] == "solo"


def test_table_prints_a_hand_edited_speed_too_big_for_a_float():
    table = scores.format_table([replace(make_score(9), speed=10**400)])
    assert table.splitlines()[1].split()[4] == f"{10**400}x"


def run_cli(*argv: str, data_dir, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, scores.DATA_DIR_VARIABLE: str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "ac_play", "human", *argv], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_scores_flag_prints_the_best_rounds_as_a_table(tmp_path):
    path = tmp_path / "scores.jsonl"
    scores.append_score(make_score(64, name="grace"), path)
    scores.append_score(make_score(210, name="ada"), path)
    result = run_cli("--scores", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "best 2 of 2 rounds" in lines[0]
    assert lines[2].split()[:3] == ["1", "ada", "210"]
    assert lines[3].split()[:3] == ["2", "grace", "64"]


def test_scores_flag_skips_a_bad_line_counts_it_and_shows_the_other_rounds(tmp_path):
    path = tmp_path / "scores.jsonl"
    scores.append_score(make_score(64, name="grace"), path)
    path.write_bytes(path.read_bytes() + b"\x00garbage\n")
    scores.append_score(make_score(210, name="ada"), path)
    before = path.read_bytes()
    result = run_cli("--scores", data_dir=tmp_path)
    assert result.returncode == 0
    assert result.stderr == f"ac-play: warning: 1 line skipped in {path}: not a round (cut short or edited by hand)\n"
    assert "best 2 of 2 rounds" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["scores.jsonl"] and path.read_bytes() == before


def test_scores_flag_counts_lines_of_a_file_that_is_not_utf8(tmp_path):
    (tmp_path / "scores.jsonl").write_bytes(json.dumps(asdict(make_score(5))).encode("utf-16") + b"\n\xff\xfe\n")
    result = run_cli("--scores", data_dir=tmp_path)
    assert result.returncode == 0
    assert "2 lines skipped" in result.stderr and "Traceback" not in result.stderr
    assert "no rounds played yet" in result.stdout


def assert_one_error_line(result: subprocess.CompletedProcess, reason: str) -> None:
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("ac-play: error: cannot read the scores file ") and line.endswith(reason)


def test_scores_flag_on_a_folder_where_the_file_should_be_is_one_error_line(tmp_path):
    (tmp_path / "scores.jsonl").mkdir()
    assert_one_error_line(run_cli("--scores", data_dir=tmp_path), "it is a folder, not a regular file")


def plant(path, kind: str) -> None:
    if kind == "a FIFO":
        os.mkfifo(path)
    else:
        path.symlink_to(kind.split()[-1])


FIFO_AND_DEVICES = ["a FIFO", "a symlink to /dev/zero", "a symlink to /dev/urandom"]


@pytest.mark.parametrize("planted", FIFO_AND_DEVICES)
def test_scores_flag_on_a_fifo_or_a_device_is_one_error_line_at_once(tmp_path, planted):
    plant(tmp_path / "scores.jsonl", planted)
    result = run_cli("--scores", data_dir=tmp_path, timeout=20)
    kind = "a FIFO" if planted == "a FIFO" else "a device"
    assert_one_error_line(result, f"it is {kind}, not a regular file")


def test_scores_flag_follows_a_symlink_to_a_regular_file(tmp_path):
    elsewhere = tmp_path / "elsewhere.jsonl"
    scores.append_score(make_score(64), elsewhere)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "scores.jsonl").symlink_to(elsewhere)
    result = run_cli("--scores", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("best 1 of 1 rounds")


@pytest.fixture
def within_10_s():
    """Fail a test that blocks, rather than hang the suite."""
    def too_slow(number, frame):
        pytest.fail("blocked for 10 s")  # not an OSError, which the code under test may catch

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("planted", ["a FIFO", "a symlink to /dev/null", "a symlink to /dev/zero"])
def test_appending_to_a_fifo_or_a_device_is_refused_at_once(tmp_path, within_10_s, planted):
    plant(tmp_path / "scores.jsonl", planted)
    kind = "a FIFO" if planted == "a FIFO" else "a device"
    with pytest.raises(AcPlayError, match=f"cannot write the scores file .*: it is {kind}, not a regular file$"):
        scores.append_score(make_score(5), tmp_path / "scores.jsonl")


def test_appending_follows_a_symlink_to_a_regular_file(tmp_path):
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text('{"torn": ')
    (tmp_path / "scores.jsonl").symlink_to(elsewhere)
    scores.append_score(make_score(5), tmp_path / "scores.jsonl")
    assert elsewhere.read_text().splitlines()[1:] == [json.dumps(asdict(make_score(5)))]


def test_scores_flag_on_a_data_folder_that_is_a_file_is_one_error_line(tmp_path):
    (tmp_path / "data").write_text("")
    assert_one_error_line(run_cli("--scores", data_dir=tmp_path / "data"), "Not a directory")


def without_root_file_access() -> None:
    """In the child, before exec: drop root's right to read any file, so chmod 000 means what it says.

    Removing CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2) from the bounding set
    (prctl PR_CAPBSET_DROP, 24) keeps them from the program exec'd next.
    """
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):
            if libc.prctl(24, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.mark.parametrize("locked", ["scores file", "data folder"])
def test_scores_flag_on_an_unreadable_file_or_folder_is_one_error_line(tmp_path, locked):
    scores.append_score(make_score(5), tmp_path / "scores.jsonl")
    target = tmp_path / "scores.jsonl" if locked == "scores file" else tmp_path
    target.chmod(0)
    try:
        env = {**os.environ, scores.DATA_DIR_VARIABLE: str(tmp_path)}
        result = subprocess.run(
            [sys.executable, "-m", "ac_play", "human", "--scores"],
            capture_output=True, text=True, env=env, timeout=60, preexec_fn=without_root_file_access,
        )
    finally:
        target.chmod(0o755)
    assert_one_error_line(result, "Permission denied")


MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(result.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, repr(result.stdout.splitlines()[0]))
"""
"""Runs a command as its only child and prints its exit code, wall and CPU seconds, peak memory, first line."""


def measure_scores_flag(data_dir) -> tuple[float, float, int, str]:
    """`ac-play human --scores` in a fresh process: wall seconds, CPU seconds, peak resident bytes, first line."""
    env = {**os.environ, scores.DATA_DIR_VARIABLE: str(data_dir)}
    command = [sys.executable, "-c", MEASURE, sys.executable, "-m", "ac_play", "human", "--scores"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=True)
    code, wall, cpu, peak, first_line = result.stdout.split(maxsplit=4)
    assert code == "0", result.stdout
    peak_bytes = int(peak) * (1 if sys.platform == "darwin" else 1024)  # ru_maxrss is in KiB on Linux
    return float(wall), float(cpu), peak_bytes, first_line


def test_scores_flag_on_a_50_mb_file_takes_under_2_s_and_100_mb(tmp_path):
    (tmp_path / "small").mkdir()
    scores.append_score(make_score(5), tmp_path / "small" / "scores.jsonl")
    _, _, baseline, _ = measure_scores_flag(tmp_path / "small")
    (tmp_path / "big").mkdir()
    rounds = write_big_scores(tmp_path / "big" / "scores.jsonl")
    wall, cpu, peak, first_line = measure_scores_flag(tmp_path / "big")
    print(f"--scores on 50 MB: {wall:.2f} s wall, {cpu:.2f} s CPU, {(peak - baseline) / 1e6:.1f} MB above the baseline")
    assert f"best 10 of {rounds} rounds" in first_line
    # CPU time, not wall time: the other processes on a shared machine must not fail this test
    assert cpu < 2.0
    assert peak - baseline < 100_000_000
