"""Text from files and flags (names, paths, env ids) reaches the terminal with its control characters escaped."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ac_play import checkpoint
from ac_play.errors import printable
from ac_play.window import scores

ESC = "\x1b"
HOSTILE = f"a{ESC}[2J\x07b\r\nc\x9b31m\u202ed\x7f"
"""Clears the screen, rings the bell, rewrites the line, opens a CSI, reverses the text that follows."""


def assert_no_control_characters(text: str) -> None:
    """Newlines between lines are the program's own; any other unprintable character came from the data."""
    for line in text.splitlines():
        assert line.isprintable(), repr(line)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (f"{ESC}[2J", "\\x1b[2J"),
        ("\x07", "\\x07"),
        ("\x9b", "\\x9b"),
        ("\x7f", "\\x7f"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\u202eevil", "\\u202eevil"),
        ("\udc9b", "\\udc9b"),  # an undecodable byte of a file name, as Python hands it over
        ("\U000e0001", "\\U000e0001"),
    ],
)
def test_printable_writes_unprintable_characters_as_escapes(raw, shown):
    assert printable(raw) == shown


def test_printable_keeps_letters_of_any_script_and_spaces():
    text = "Zoë Müller 中文 ada-1 (best.npz) /runs/x y"
    assert printable(text) == text


def write_round(path, **fields) -> None:
    record = {"name": "ada", "date": "2026-01-02T10:00:00", "seed": 3, "speed": 0.5, "player_steps": 40,
              "agent_steps": 500, "agent": "cartpole-v1.npz", "env_id": "CartPole-v1", **fields}
    with path.open("a", encoding="utf-8") as scores_file:
        scores_file.write(json.dumps(record) + "\n")


def scores_env(data_dir) -> dict:
    return {**os.environ, scores.DATA_DIR_VARIABLE: str(data_dir)}


def test_scores_table_escapes_names_dates_and_checkpoints(cli, tmp_path):
    write_round(tmp_path / "scores.jsonl", name=HOSTILE, date=f"2026{ESC}]0;x\x07", agent=HOSTILE, env_id=HOSTILE)
    result = cli("human", "--scores", env=scores_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert ESC not in result.stdout and "\x9b" not in result.stdout and "\u202e" not in result.stdout
    assert_no_control_characters(result.stdout)
    row = result.stdout.splitlines()[2]
    assert "a\\x1b[2J\\x07b\\r\\nc\\x9b31m\\u202ed\\x7f" in row


def test_scores_header_and_warning_escape_the_data_folder(cli, tmp_path):
    data_dir = tmp_path / f"x{ESC}[2J\u202e"
    data_dir.mkdir()
    (data_dir / "scores.jsonl").write_text("not a round\n")
    result = cli("human", "--scores", env=scores_env(data_dir))
    assert result.returncode == 0, result.stderr
    assert "x\\x1b[2J\\u202e" in result.stdout and "x\\x1b[2J\\u202e" in result.stderr
    assert_no_control_characters(result.stdout + result.stderr)


def test_eval_error_line_escapes_a_checkpoint_path(cli, tmp_path):
    result = cli("eval", tmp_path / f"missing{ESC}[2J\u202e.npz")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("ac-play: error: ") and "missing\\x1b[2J\\u202e.npz" in line
    assert_no_control_characters(result.stderr)


def test_eval_summary_escapes_the_checkpoint_path(cli, tmp_path):
    path = tmp_path / f"agent{ESC}[2J\u202e.npz"
    shutil.copy(checkpoint.bundled_path(), path)
    result = cli("eval", path, "--episodes", 1)
    assert result.returncode == 0, result.stderr
    assert "agent\\x1b[2J\\u202e.npz on CartPole-v1, 1 greedy episodes" in result.stdout
    assert_no_control_characters(result.stdout)


def test_watch_final_lines_escape_the_checkpoint_and_gif_names(cli, tmp_path):
    path = tmp_path / f"agent{ESC}[2J.npz"
    shutil.copy(checkpoint.bundled_path(), path)
    result = cli("watch", path, "--frames", 3, "--record", tmp_path / f"clip{ESC}]0;x\x07.gif")
    assert result.returncode == 0, result.stderr
    assert "clip\\x1b]0;x\\x07.gif" in result.stdout and "agent\\x1b[2J.npz, " in result.stdout
    assert_no_control_characters(result.stdout)
