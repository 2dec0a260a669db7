"""The scores file: appended rounds, a best-first table, corrupt files set aside and never lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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


def test_corrupt_file_is_set_aside_with_a_warning_and_a_fresh_one_started(data_dir):
    path = data_dir / "scores.jsonl"
    scores.append_score(make_score(33))
    good = path.read_text()
    path.write_text(good + '{"name": "half a li\n')
    warnings: list[str] = []

    scores.append_score(make_score(90), warn=warnings.append)

    assert len(warnings) == 1 and "corrupt" in warnings[0] and "line 2" in warnings[0]
    aside = [p for p in data_dir.iterdir() if p.name.startswith("scores.corrupt-")]
    assert len(aside) == 1
    assert aside[0].read_text() == good + '{"name": "half a li\n'
    assert [s.player_steps for s in scores.read_scores()] == [90]


def test_a_second_corrupt_file_does_not_overwrite_the_first_one_set_aside(data_dir):
    path = data_dir / "scores.jsonl"
    for text in ("not json\n", "[1, 2]\n"):
        path.write_text(text)
        assert scores.read_scores(warn=lambda message: None) == []
    kept = sorted(p.read_text() for p in data_dir.iterdir() if p.name.startswith("scores.corrupt-"))
    assert kept == ["[1, 2]\n", "not json\n"]


def test_a_line_with_a_missing_field_counts_as_corrupt(data_dir):
    (data_dir / "scores.jsonl").write_text('{"name": "ada", "date": "2026-01-01"}\n')
    warnings: list[str] = []
    assert scores.read_scores(warn=warnings.append) == []
    assert warnings and "line 1" in warnings[0]


def test_best_scores_rank_longest_rounds_first_then_earliest():
    rounds = [
        make_score(50, name="late", date="2026-01-03T00:00:00"),
        make_score(120),
        make_score(50, name="early", date="2026-01-01T00:00:00"),
    ]
    ranked = scores.best_scores(rounds, limit=2)
    assert [(s.player_steps, s.name) for s in ranked] == [(120, "ada"), (50, "early")]


def test_table_shows_steps_of_both_sides_speed_and_seed():
    table = scores.format_table([make_score(120), make_score(80, name="solo-sam", agent_steps=None)])
    header, first, second = table.splitlines()
    assert header.split() == ["#", "name", "steps", "agent", "speed", "seed", "date", "checkpoint"]
    assert first.split()[:6] == ["1", "ada", "120", "500", "0.5x", "3"]
    assert second.split()[:4] == ["2", "solo-sam", "80", "-"]
    assert second.split()[-1] == "solo"


def run_cli(*argv: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, scores.DATA_DIR_VARIABLE: str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "ac_play", "human", *argv], capture_output=True, text=True, env=env, timeout=60
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


def test_scores_flag_with_a_corrupt_file_warns_and_exits_cleanly(tmp_path):
    (tmp_path / "scores.jsonl").write_text("\x00garbage\n")
    result = run_cli("--scores", data_dir=tmp_path)
    assert result.returncode == 0
    assert "ac-play: warning:" in result.stderr and "corrupt" in result.stderr
    assert "Traceback" not in result.stderr
    assert "no rounds played yet" in result.stdout
