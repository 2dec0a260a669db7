"""`ac-play train` (the TUI) from the command line: a real terminal, resuming, and bench --tui."""

from __future__ import annotations

import asyncio
import json
import os
import select
import sys
import time

import pytest

from ac_play import checkpoint
from ac_play.runs import run_config
from ac_play.tui.charts import ReturnChart
from ac_play.tui.main import build_app
from ac_play.tui.widgets import EventLog


def read_until(fd: int, seconds: float) -> bytes:
    """Everything the program writes to its terminal within `seconds`."""
    seen, end = b"", time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("quit_key, code", [(b"q", 0), (b"\x03", 130)])  # q, and ctrl+c as a terminal sends it
def test_in_a_real_terminal_quitting_saves_the_run_and_prints_where(tmp_path, quit_key, code):
    out = tmp_path / "run"
    pid, fd = start_in_a_terminal("--hidden", "16", "--out", str(out))
    read_until(fd, 4.0)
    os.write(fd, b" ")
    read_until(fd, 1.0)
    os.write(fd, quit_key)
    screen = read_until(fd, 6.0).decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == code
    assert f"checkpoint: {out / 'final.npz'}" in screen
    episodes = checkpoint.load(out / "final.npz").meta["progress"]["episode"]
    assert episodes > 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == episodes
    interrupted = f"interrupted at episode {episodes} by SIGINT; final.npz saved"
    assert (interrupted in screen) == (code == 130)


def start_in_a_terminal(*flags: str) -> tuple[int, int]:
    """`ac-play train FLAGS` on a 100x30 pseudo-terminal: its pid and the terminal's descriptor."""
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "ac_play", "train", *flags])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    return pid, fd


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("quit_key, code", [(b"q", 0), (b"\x03", 130)])
def test_in_a_real_terminal_quitting_before_training_leaves_no_run_folder(tmp_path, monkeypatch, quit_key, code):
    monkeypatch.chdir(tmp_path)  # the default run folder goes under ./runs
    pid, fd = start_in_a_terminal("--hidden", "16")
    read_until(fd, 4.0)
    os.write(fd, quit_key)
    screen = read_until(fd, 6.0).decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == code
    assert list((tmp_path / "runs").iterdir()) == []
    assert "checkpoint: not written" in screen
    assert "no episode was trained, so the new run folder runs/" in screen and "was removed" in screen


def test_json_without_headless_is_refused_with_a_sentence(cli, tmp_path):
    result = cli("train", "--json", "--out", tmp_path / "run")
    assert result.returncode == 2
    assert result.stderr.strip() == "ac-play: error: --json prints JSON Lines and needs --headless"


def test_resume_shows_the_history_beside_the_checkpoint_and_continues(cli, tmp_path):
    first = tmp_path / "first"
    trained = cli("train", "--headless", "--hidden", "16", "--episodes", "25", "--out", first)
    assert trained.returncode == 0, trained.stderr
    config, resumed = run_config(resume=first / "final.npz")
    app = build_app(config, resumed, out=tmp_path / "more")

    async def drive():
        async with app.run_test(size=(100, 32)) as pilot:
            chart = app.query_one(ReturnChart)
            assert chart.episodes == list(range(1, 26))
            assert "25 episodes of history from metrics.jsonl" in " ".join(app.query_one(EventLog).text().split())
            await pilot.press("n")
            deadline = time.monotonic() + 20
            while app.session.trainer.progress.episode < 26:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            await pilot.press("q")

    asyncio.run(drive())
    logged = [json.loads(line) for line in (tmp_path / "more" / "metrics.jsonl").open()]
    assert logged[0]["episode"] == 26
    assert checkpoint.load(tmp_path / "more" / "final.npz").meta["progress"]["episode"] == len(logged) + 25


def test_bench_tui_reports_the_throughput_ratio_and_key_latency(cli):
    result = cli("bench", "--tui", "--seeds", "1", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["runs"][0]["env_steps"] > 0
    assert 0 < report["median_ratio"] < 2
    assert 0 < report["median_pause_shown_ms"] < 1000
