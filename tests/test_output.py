"""Where the output goes wrong: a full disk, a closed or broken stdout, an ASCII terminal, usage errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import run_cli


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("ac-play: error: ") and "Traceback" not in result.stderr
    return line


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_disk_is_one_line_and_exit_2():
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "ac_play", "eval", "--episodes", "2"], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    assert "No space left on device" in one_error_line(result)


def test_a_closed_stdout_still_runs_the_command():
    result = subprocess.run([sys.executable, "-m", "ac_play", "eval", "--episodes", "2"], stderr=subprocess.PIPE,
                            text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert result.returncode == 0 and result.stderr == ""


def test_a_reader_that_went_away_ends_quietly_with_141():
    process = subprocess.Popen([sys.executable, "-m", "ac_play", "eval", "--episodes", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # before a byte was read: the one line eval prints hits a broken pipe
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141 and stderr == ""


def test_an_ascii_terminal_gets_escapes_instead_of_a_traceback(tmp_path):
    result = run_cli("eval", tmp_path / "café.npz", env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert "caf\\xe9.npz" in one_error_line(result)


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--episodes", "zero"], "argument --episodes: expected a whole number, not 'zero'"),
        (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
        (["eval", "a", "b"], "unrecognized arguments: b"),
        (["watch", "--frames", "0"], "argument --frames: expected 1 or more, not 0"),
        (["eval", "a", "\x1b[2J\x1b]0;pwned\x07"], "unrecognized arguments: \\x1b[2J\\x1b]0;pwned\\x07"),
    ],
)
def test_usage_errors_are_one_escaped_line(args, words):
    line = one_error_line(run_cli(*args))
    assert words in line and "\x1b" not in line


def test_a_library_warning_does_not_add_lines_to_an_error(tmp_path):
    from ac_play import checkpoint
    from ac_play.agent import ActorCritic

    # gymnasium warns that CartPole-v0 is out of date; the error about the file is still the one line
    path = checkpoint.save(tmp_path / "v0.npz", ActorCritic.create(6, 3, 8), {"env_id": "CartPole-v0"})
    line = one_error_line(run_cli("eval", path))
    assert "CartPole-v0 has 4 and 2" in line


def test_bench_workers_print_no_library_warnings():
    result = run_cli("bench", "--env", "CartPole-v0", "--seeds", "1", "--jobs", "1")
    assert result.returncode == 0 and result.stderr == ""  # gymnasium calls CartPole-v0 out of date
