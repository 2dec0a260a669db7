"""No run is ever overwritten or lost: refused folders, the lock, signals, periodic saves, write errors.

Mostly the CLI in a subprocess with tiny budgets; the saving schedule and faked write errors run
in-process, where a clock or `os.write` can be replaced.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from ac_play import checkpoint, cli, metrics_log, runs
from ac_play.config import TrainConfig, preset
from ac_play.training import DivergedError, Trainer
from ac_play.tui.session import TrainingSession

TINY = ("--hidden", "8", "--episodes", "20")
LONG = ("--hidden", "8", "--episodes", "100000")


def assert_clean_error(result, words):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ac-play: error:") and words in lines[0], result.stderr


def train(out, *flags, **kwargs):
    return run_cli("train", "--headless", *(flags or TINY), "--out", out, **kwargs)


def episodes_in(metrics: Path) -> list[int]:
    """The episode numbers of metrics.jsonl, which must end with a whole line."""
    text = metrics.read_text()
    assert text == "" or text.endswith("\n")
    return [json.loads(line)["episode"] for line in text.splitlines()]


def progress_of(path: Path) -> dict:
    return checkpoint.load(path).meta["progress"]


def leftovers(folder: Path) -> list[str]:
    """Files a finished run must not leave behind: temporary files and its lock."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name == ".lock")


def start(out, *flags, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ac_play", "train", "--headless", *(flags or LONG), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )


def wait_until(condition, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def wait_for_metrics(out: Path, process: subprocess.Popen) -> None:
    """Until a new run has written some metrics (so it holds its folder and has trained a while)."""
    metrics = out / "metrics.jsonl"
    wait_until(lambda: metrics.exists() and metrics.stat().st_size > 0, process)


def holds_lock(out: Path, process: subprocess.Popen) -> bool:
    try:
        return (out / ".lock").read_text().strip() == str(process.pid)
    except FileNotFoundError:
        return False


# -- 1. a folder that holds a run is refused, unless the run is resumed in place ---------------


@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl", "checkpoint-001.npz"])
def test_out_folder_holding_a_run_is_refused_and_left_as_it_was(tmp_path, name):
    out = tmp_path / "run"
    out.mkdir()
    (out / name).write_text("from an earlier run\n")
    assert_clean_error(train(out), "already holds a run")
    assert sorted(p.name for p in out.iterdir()) == [name]
    assert (out / name).read_text() == "from an earlier run\n"


def test_resuming_from_another_folder_into_a_run_folder_is_refused(tmp_path):
    assert train(tmp_path / "a").returncode == 0
    assert train(tmp_path / "b").returncode == 0
    before = (tmp_path / "b" / "metrics.jsonl").read_bytes()
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", tmp_path / "a" / "final.npz",
                     "--out", tmp_path / "b")
    assert_clean_error(result, "already holds a run")
    assert (tmp_path / "b" / "metrics.jsonl").read_bytes() == before


def test_an_empty_existing_folder_is_used(tmp_path):
    result = train(tmp_path)
    assert result.returncode == 0, result.stderr
    assert episodes_in(tmp_path / "metrics.jsonl") == list(range(1, 21))
    assert leftovers(tmp_path) == []


def test_without_out_every_run_gets_a_new_folder(tmp_path):
    for _ in range(2):
        assert run_cli("train", "--headless", *TINY, cwd=tmp_path).returncode == 0
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert episodes_in(folder / "metrics.jsonl") == list(range(1, 21))


def test_resuming_in_place_appends_the_metrics(tmp_path):
    assert train(tmp_path).returncode == 0
    result = run_cli("train", "--headless", "--episodes", "10", "--resume", tmp_path / "final.npz", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert episodes_in(tmp_path / "metrics.jsonl") == list(range(1, 31))
    assert progress_of(tmp_path / "final.npz")["episode"] == 30
    assert leftovers(tmp_path) == []


def test_resuming_in_place_with_a_damaged_best_npz_continues_and_writes_a_new_one(tmp_path):
    assert train(tmp_path).returncode == 0
    (tmp_path / "best.npz").write_bytes(b"PK\x03\x04 damaged")
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", tmp_path / "final.npz", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert checkpoint.load(tmp_path / "best.npz").meta["progress"]["episode"] > 0


def test_resuming_in_place_never_replaces_best_with_a_worse_agent(tmp_path):
    assert train(tmp_path).returncode == 0
    # a best.npz far better than anything 10 more episodes can reach (the bundled agent, running reward ~500)
    (tmp_path / "best.npz").write_bytes(checkpoint.bundled_path().read_bytes())
    planted = (tmp_path / "best.npz").read_bytes()
    result = run_cli("train", "--headless", "--episodes", "10", "--resume", tmp_path / "final.npz", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "best.npz").read_bytes() == planted


def test_resuming_in_place_replaces_best_with_a_better_agent(tmp_path):
    assert train(tmp_path, "--hidden", "8", "--episodes", "3", "--seed", "1").returncode == 0
    first_best = progress_of(tmp_path / "best.npz")["running_reward"]
    result = run_cli("train", "--headless", "--episodes", "60", "--resume", tmp_path / "final.npz", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    best = progress_of(tmp_path / "best.npz")
    assert best["running_reward"] > first_best and best["episode"] > 3


def resume_in_place(folder: Path, name: str, *flags, **kwargs):
    return run_cli("train", "--headless", "--episodes", "5", "--resume", folder / name, "--out", folder, *flags,
                   **kwargs)


def a_run_gone_on_from(tmp_path) -> Path:
    """A run of 25 episodes, with older.npz: a copy of its checkpoint at episode 20."""
    assert train(tmp_path).returncode == 0
    (tmp_path / "older.npz").write_bytes((tmp_path / "final.npz").read_bytes())
    assert resume_in_place(tmp_path, "final.npz").returncode == 0
    return tmp_path


def test_resuming_in_place_from_an_older_checkpoint_is_refused_as_a_fork(tmp_path):
    run = a_run_gone_on_from(tmp_path)
    before = {name: (run / name).read_bytes() for name in ("metrics.jsonl", "final.npz")}
    result = resume_in_place(run, "older.npz")
    assert_clean_error(result, f"{run / 'older.npz'} holds episode 20, but the run in {run} has gone on to "
                               f"episode 25: continuing from it there would fork the run's history; "
                               f"resume from {run / 'final.npz'}, or choose another folder")
    assert {name: (run / name).read_bytes() for name in before} == before


def test_resuming_in_place_without_final_npz_from_behind_the_metrics_is_refused(tmp_path):
    run = a_run_gone_on_from(tmp_path)
    (run / "final.npz").unlink()
    result = resume_in_place(run, "older.npz")
    assert_clean_error(result, f"but {run / 'metrics.jsonl'} goes on to episode 25")
    assert episodes_in(run / "metrics.jsonl") == list(range(1, 26))


def test_an_older_checkpoint_still_branches_off_into_another_folder(tmp_path):
    run = a_run_gone_on_from(tmp_path / "run")
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", run / "older.npz", "--out", tmp_path / "b")
    assert result.returncode == 0, result.stderr
    assert episodes_in(tmp_path / "b" / "metrics.jsonl") == list(range(21, 26))


def test_resuming_in_place_drops_the_metrics_a_killed_run_logged_after_final_npz(tmp_path):
    assert train(tmp_path).returncode == 0
    last = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    with open(tmp_path / "metrics.jsonl", "a") as metrics:  # what a run killed after its last save leaves
        for episode in (21, 22, 23):
            metrics.write(json.dumps({**last, "episode": episode}) + "\n")
    result = resume_in_place(tmp_path, "final.npz")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "dropped 3 metrics lines logged after final.npz (episode 20)\n"
    assert episodes_in(tmp_path / "metrics.jsonl") == list(range(1, 26))
    assert leftovers(tmp_path) == []


def test_resuming_after_a_crash_drops_the_torn_last_line(tmp_path):
    assert train(tmp_path).returncode == 0
    with open(tmp_path / "metrics.jsonl", "a") as metrics:
        metrics.write('{"episode": 21, "episo')  # what a crash mid-write would leave
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", tmp_path / "final.npz", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert episodes_in(tmp_path / "metrics.jsonl") == list(range(1, 26))


# -- 2. one process per folder ------------------------------------------------------------------


def test_a_second_process_on_the_same_folder_is_refused_naming_the_first(tmp_path):
    first = start(tmp_path)
    try:
        wait_for_metrics(tmp_path, first)
        second = train(tmp_path)
        assert_clean_error(second, f"{tmp_path} is in use by another ac-play (pid {first.pid})")
        resumed = run_cli("train", "--headless", "--episodes", "5", "--resume", checkpoint.bundled_path(),
                          "--out", tmp_path)
        assert_clean_error(resumed, f"pid {first.pid}")
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 130
    assert leftovers(tmp_path) == []


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    assert train(tmp_path).returncode == 0
    killed = start(tmp_path, "--hidden", "8", "--episodes", "100000", "--resume", tmp_path / "final.npz")
    wait_until(lambda: holds_lock(tmp_path, killed), killed)
    killed.kill()
    killed.communicate(timeout=60)
    assert (tmp_path / ".lock").read_text().strip() == str(killed.pid)  # left behind, pid no longer alive
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", tmp_path / "final.npz", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert leftovers(tmp_path) == []


# -- 3. SIGTERM and SIGHUP save like Ctrl-C ------------------------------------------------------


@pytest.mark.parametrize("signal_name, code", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_headless_sigterm_and_sighup_save_and_exit_with_the_signal_code(tmp_path, signal_name, code):
    process = start(tmp_path)
    wait_for_metrics(tmp_path, process)
    process.send_signal(getattr(signal, signal_name))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert f"by {signal_name}; final.npz saved" in stderr
    assert "Traceback" not in stderr
    assert progress_of(tmp_path / "final.npz")["episode"] == len(episodes_in(tmp_path / "metrics.jsonl"))
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("signal_name, code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_tui_sigterm_sighup_and_sigint_quit_as_q_does_and_exit_with_the_signal_code(tmp_path, signal_name, code):
    import fcntl
    import pty
    import struct
    import termios

    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(  # Textual draws on stderr, so all three are the terminal
        [sys.executable, "-m", "ac_play", "train", "--hidden", "8", "--out", str(tmp_path)],
        stdin=terminal, stdout=terminal, stderr=terminal, env={**os.environ, "TERM": "xterm-256color"},
    )
    os.close(terminal)
    try:
        read_screen(master, 4.0)  # the app starts, paused
        os.write(master, b" ")  # space: train
        read_screen(master, 1.5)
        process.send_signal(getattr(signal, signal_name))
        screen, deadline = "", time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            screen += read_screen(master, 0.2)
        screen += read_screen(master, 0.2)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, screen[-2000:]
    assert f"by {signal_name}; final.npz saved" in screen and f"checkpoint: {tmp_path / 'final.npz'}" in screen
    episodes = progress_of(tmp_path / "final.npz")["episode"]
    assert episodes > 0 and episodes_in(tmp_path / "metrics.jsonl") == list(range(1, episodes + 1))
    assert leftovers(tmp_path) == []


def read_screen(fd: int, seconds: float) -> str:
    """What the app draws for `seconds` (read, so it never blocks on a full terminal)."""
    import select

    seen, end = b"", time.monotonic() + seconds
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen.decode(errors="replace")


# -- 4. periodic saves --------------------------------------------------------------------------


class Clock:
    """A time.monotonic that moves only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def train_updates(folder: runs.RunFolder, trainer: Trainer, updates: int) -> None:
    for _ in range(updates):
        for stats in trainer.run_update():
            folder.record(stats, trainer)


def test_final_npz_is_written_every_final_interval_while_training(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(runs.time, "monotonic", clock)
    trainer = Trainer(TrainConfig(hidden=8, episodes=100, envs=1, update="episode"))
    folder = runs.RunFolder(tmp_path, trainer.config)
    train_updates(folder, trainer, 3)
    assert not (tmp_path / "final.npz").exists()
    clock.now += runs.FINAL_SAVE_INTERVAL
    train_updates(folder, trainer, 1)
    assert progress_of(tmp_path / "final.npz")["episode"] == 4
    assert episodes_in(tmp_path / "metrics.jsonl") == [1, 2, 3, 4]  # the metrics reach as far as the checkpoint
    folder.finish(trainer)


def test_final_npz_is_written_when_the_run_is_first_solved(tmp_path):
    trainer = Trainer(TrainConfig(hidden=8, episodes=100, envs=1, update="episode"))
    trainer.threshold = 1.0  # any first episode solves it
    folder = runs.RunFolder(tmp_path, trainer.config)
    train_updates(folder, trainer, 1)
    assert progress_of(tmp_path / "final.npz")["solved_at"] == 1
    folder.finish(trainer)


def test_a_waiting_best_is_written_within_the_interval_with_no_further_improvement(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(runs.time, "monotonic", clock)
    trainer = Trainer(TrainConfig(hidden=8, episodes=100, envs=1, update="episode"))
    folder = runs.RunFolder(tmp_path, trainer.config)
    train_updates(folder, trainer, 1)  # episode 1 sets the first best, too soon to write
    assert not (tmp_path / "best.npz").exists()
    trainer.progress.running_reward = -1e6  # from here on the agent never beats it
    clock.now += runs.BEST_SAVE_INTERVAL
    train_updates(folder, trainer, 1)
    assert progress_of(tmp_path / "best.npz")["episode"] == 1
    folder.finish(trainer)


def test_pausing_the_tui_writes_a_waiting_best_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(runs.time, "monotonic", Clock())  # the best is not due for BEST_SAVE_INTERVAL
    session = TrainingSession(TrainConfig(hidden=8, episodes=100, envs=1, update="episode"), None, tmp_path)
    session.trainer.pause()  # as space does; the update under way still finishes
    for stats in session.trainer.run_update():
        session.record(stats)
    assert progress_of(tmp_path / "best.npz")["episode"] == 1
    assert episodes_in(tmp_path / "metrics.jsonl") == [1]
    session.finish()


def test_save_intervals_are_constructor_arguments(tmp_path):
    trainer = Trainer(TrainConfig(hidden=8, episodes=100, envs=1, update="episode"))
    folder = runs.RunFolder(tmp_path, trainer.config, best_interval=0, final_interval=0)
    train_updates(folder, trainer, 2)
    assert progress_of(tmp_path / "final.npz")["episode"] == 2
    assert progress_of(tmp_path / "best.npz")["episode"] >= 1
    folder.finish(trainer)


# -- 5. divergence leaves a checkpoint that loads ----------------------------------------------


def test_an_sgd_step_that_overflows_the_parameters_is_undone():
    trainer = Trainer(preset("notebook", hidden=8, lr=1e308))
    params = {name: array.copy() for name, array in trainer.agent.params.items()}
    with pytest.raises(DivergedError, match="training diverged at episode 1: the update made the parameters"):
        trainer.run_update()
    for name, array in params.items():
        assert np.array_equal(trainer.agent.params[name], array)
    assert trainer.progress.episode == 0


def test_an_adam_step_that_leaves_a_nan_is_undone_with_the_optimiser_state_and_normaliser(monkeypatch):
    trainer = Trainer(TrainConfig(hidden=8))
    trainer.run_update()
    params = {name: array.copy() for name, array in trainer.agent.params.items()}
    state = {name: np.copy(array) for name, array in trainer.optimizer.state().items()}
    normaliser = trainer.normaliser.state()
    real_step = trainer.optimizer.step

    def step_then_overflow(params, grads):
        real_step(params, grads)
        params["bc"][0] = np.inf

    monkeypatch.setattr(trainer.optimizer, "step", step_then_overflow)
    with pytest.raises(DivergedError):
        trainer.run_update()
    for name, array in params.items():
        assert np.array_equal(trainer.agent.params[name], array)
    for name, array in state.items():
        assert np.array_equal(trainer.optimizer.state()[name], array)
    assert trainer.normaliser.state() == normaliser  # the dropped batch's returns are not in it


def test_headless_divergence_in_the_first_update_names_a_checkpoint_that_loads_and_scores(tmp_path):
    result = train(tmp_path, "--preset", "notebook", "--lr", "1e308", "--episodes", "1")
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("ac-play: error: training diverged at episode 1") and "Traceback" not in result.stderr
    named = Path(line.split("the last good checkpoint is ")[1])
    assert named == tmp_path / "final.npz"
    assert run_cli("eval", named, "--episodes", "2").returncode == 0
    assert leftovers(tmp_path) == []


# -- 6. full disks and write errors -------------------------------------------------------------


def fake_metrics_write(monkeypatch, failure, after: int = 3):
    """os.write, but from the `after`-th write of metrics lines on, `failure(fd, data)` instead."""
    real_write, calls = os.write, []

    def write(fd, data):
        if not bytes(data).startswith(b'{"episode"'):
            return real_write(fd, data)
        calls.append(len(data))
        return failure(real_write, fd, data) if len(calls) >= after else real_write(fd, data)

    monkeypatch.setattr(metrics_log, "FLUSH_BYTES", 1)  # a write per update, so the failure comes soon
    monkeypatch.setattr(os, "write", write)
    return calls


def disk_full(real_write, fd, data):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def half_written(real_write, fd, data):
    return real_write(fd, bytes(data)[: len(data) // 2])


@pytest.mark.parametrize("failure, words", [(disk_full, "No space left on device"),
                                            (half_written, "bytes were written (is the disk full?)")])
def test_a_failed_metrics_write_is_one_line_exit_2_and_whole_lines(tmp_path, monkeypatch, capsys, failure, words):
    fake_metrics_write(monkeypatch, failure)
    code = cli.main(["train", "--headless", "--hidden", "8", "--episodes", "50", "--envs", "1", "--update", "episode",
                     "--out", str(tmp_path)])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr.count("ac-play: error:") == 1 and "Traceback" not in stderr
    assert f"cannot write {tmp_path / 'metrics.jsonl'}: " in stderr and words in stderr
    assert "ends at its last whole line" in stderr
    assert episodes_in(tmp_path / "metrics.jsonl") == [1, 2]  # the third write failed; nothing of it stays
    assert checkpoint.load(tmp_path / "final.npz")  # still saved: the disk was not really full
    assert leftovers(tmp_path) == []


def test_a_directory_where_final_npz_belongs_is_one_line_exit_2(tmp_path):
    (tmp_path / "final.npz").mkdir()
    result = train(tmp_path)
    assert_clean_error(result, f"cannot write {tmp_path / 'final.npz'}: Is a directory")
    assert progress_of(tmp_path / "best.npz")["episode"] >= 1
    assert episodes_in(tmp_path / "metrics.jsonl") == list(range(1, 21))
    assert leftovers(tmp_path) == []


def test_a_directory_where_metrics_jsonl_belongs_is_one_line_exit_2(tmp_path):
    (tmp_path / "metrics.jsonl").mkdir()
    assert_clean_error(train(tmp_path), f"cannot open {tmp_path / 'metrics.jsonl'}: Is a directory")
    assert leftovers(tmp_path) == []


def test_temporary_files_a_killed_run_left_are_removed(tmp_path):
    for name in (".final.npz.k2j3.tmp", ".best.npz.x9.tmp", ".config.json.ab12.tmp", ".metrics.jsonl.c3.tmp"):
        (tmp_path / name).write_bytes(b"half a file")
    assert train(tmp_path).returncode == 0
    assert leftovers(tmp_path) == []


# -- 7. planted symlinks are never written through ---------------------------------------------


@pytest.mark.parametrize("name", ["config.json", "best.npz", "final.npz"])
def test_a_symlink_planted_in_a_run_is_replaced_not_written_through(tmp_path, name):
    out = tmp_path / "run"
    assert train(out).returncode == 0
    target = tmp_path / "outside.txt"
    target.write_text("not yours\n")
    if name == "final.npz":  # resumed from best.npz instead, a copy of the run's newest state
        (out / "best.npz").write_bytes((out / "final.npz").read_bytes())
    (out / name).unlink()
    (out / name).symlink_to(target)
    resume_from = out / ("best.npz" if name == "final.npz" else "final.npz")
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", resume_from, "--out", out)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "not yours\n"
    assert not (out / name).is_symlink()


def test_a_symlink_planted_at_metrics_jsonl_is_one_line_exit_2(tmp_path):
    out = tmp_path / "run"
    assert train(out).returncode == 0
    target = tmp_path / "outside.txt"
    target.write_text("not yours\n")
    (out / "metrics.jsonl").unlink()
    (out / "metrics.jsonl").symlink_to(target)
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", out / "final.npz", "--out", out)
    assert_clean_error(result, "it is a symbolic link")
    assert target.read_text() == "not yours\n"
    assert leftovers(out) == []


@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl", "best.npz", "final.npz"])
def test_a_new_run_refuses_a_folder_with_a_planted_symlink(tmp_path, name):
    target = tmp_path / "outside.txt"
    target.write_text("not yours\n")
    out = tmp_path / "run"
    out.mkdir()
    (out / name).symlink_to(target)
    assert_clean_error(train(out), "already holds a run")
    assert target.read_text() == "not yours\n"


# -- 8. a closed stdout ------------------------------------------------------------------------


def test_json_into_a_reader_that_stops_early_ends_quietly_and_saves(tmp_path):
    process = start(tmp_path, "--json", *LONG)
    lines = [process.stdout.readline() for _ in range(3)]  # like `| head -3`
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert all(json.loads(line)["episode"] for line in lines)
    assert process.returncode in (0, 141), stderr
    assert "BrokenPipeError" not in stderr and "Traceback" not in stderr and stderr == ""
    assert progress_of(tmp_path / "final.npz")["episode"] == len(episodes_in(tmp_path / "metrics.jsonl"))
    assert leftovers(tmp_path) == []


# -- 9. the lock file: planted files and a full disk -------------------------------------------


def test_a_hard_link_planted_at_the_lock_is_refused_and_its_file_left_untouched(tmp_path):
    victim = tmp_path / "victim.jsonl"
    victim.write_text('{"episode": 1}\n')
    out = tmp_path / "run"
    out.mkdir()
    os.link(victim, out / ".lock")
    assert_clean_error(train(out), f"{out / '.lock'} is a hard link to another file")
    assert victim.read_text() == '{"episode": 1}\n'
    assert os.path.samefile(victim, out / ".lock")


def test_a_fifo_planted_at_the_lock_is_refused(tmp_path):
    os.mkfifo(tmp_path / ".lock")
    assert_clean_error(train(tmp_path, timeout=60), f"{tmp_path / '.lock'} is not a regular file")
    assert (tmp_path / ".lock").is_fifo()


def test_a_pid_that_cannot_be_written_into_the_lock_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    real_write, pid = os.write, f"{os.getpid()}\n".encode()

    def write(fd, data):
        if bytes(data) == pid:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    code = cli.main(["train", "--headless", *TINY, "--out", str(tmp_path)])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr == f"ac-play: error: cannot lock the run folder {tmp_path}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def full_disk(tmp_path):
    """A 200 kB tmpfs, filled to the last byte (root only; skipped where mount is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", disk],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and mount to make a small tmpfs")
    try:
        fill(disk / "filler")
        yield disk
    finally:
        subprocess.run(["umount", disk], check=True)


def fill(path: Path) -> None:
    """Write `path` until the disk holding it is full."""
    filler = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="No space left"):
            while True:
                os.write(filler, b"x" * 512)
    finally:
        os.close(filler)


def test_a_full_disk_at_the_lock_is_one_line_exit_2_and_leaves_no_lock(full_disk):
    assert_clean_error(train(full_disk), f"cannot lock the run folder {full_disk}: No space left on device")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


# -- 10. a short write keeps the lines that made it; the closing lines name what was written ---------


def test_a_short_metrics_write_keeps_every_whole_line_that_reached_the_file(tmp_path, monkeypatch):
    log = metrics_log.MetricsLog(tmp_path / "metrics.jsonl")
    lines = [json.dumps({"episode": episode}) + "\n" for episode in (1, 2, 3, 4)]
    for line in lines:
        log.add(line)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[: len(lines[0]) * 2 + 5]))
    with pytest.raises(metrics_log.MetricsWriteError, match="it ends at its last whole line"):
        log.flush()
    log.close()
    assert episodes_in(tmp_path / "metrics.jsonl") == [1, 2]


def short_write_size(stderr: str) -> int:
    """W in "only W of N bytes were written"."""
    return int(stderr.split("only ")[1].split(" of ")[0])


def test_a_disk_that_fills_mid_write_keeps_the_metrics_that_fit_and_says_what_was_saved(full_disk):
    (full_disk / "filler").write_bytes(b"x" * (176 * 1024))  # 24 kB left: metrics fill it at the first flush
    out = full_disk / "run"
    result = train(out, "--hidden", "8", "--episodes", "2000")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"ac-play: error: cannot write {out / 'metrics.jsonl'}: only ")
    kept = (out / "metrics.jsonl").read_bytes()
    assert episodes_in(out / "metrics.jsonl")[0] == 1
    assert short_write_size(error) - len(kept) < 1000  # only the line cut in two is gone (a line holds ~350 bytes)
    final = out / "final.npz"
    if final.exists():
        assert checkpoint.load(final) and result.stdout.endswith(f"checkpoint: {final}\n")
    else:
        assert f"cannot write {final}: No space left on device" in error
        assert result.stdout.endswith("checkpoint: not written\n")


def test_a_directory_where_best_npz_belongs_is_named_and_final_npz_still_reported(tmp_path):
    (tmp_path / "best.npz").mkdir()
    result = train(tmp_path)
    final = tmp_path / "final.npz"
    assert_clean_error(result, f"cannot write {tmp_path / 'best.npz'}: Is a directory; "
                               f"the last good checkpoint is {final}")
    assert result.stdout.endswith(f"checkpoint: {final}\n")
    assert progress_of(final)["episode"] == 20


def test_a_fifo_planted_at_metrics_jsonl_is_one_line_exit_2(tmp_path):
    assert train(tmp_path).returncode == 0
    (tmp_path / "metrics.jsonl").unlink()
    os.mkfifo(tmp_path / "metrics.jsonl")
    result = run_cli("train", "--headless", "--episodes", "5", "--resume", tmp_path / "final.npz", "--out", tmp_path,
                     timeout=60)
    assert_clean_error(result, f"cannot open {tmp_path / 'metrics.jsonl'}: it is not a regular file")
    assert leftovers(tmp_path) == []


# -- 11. paths with control characters are printed as text ------------------------------------


def shown(path: Path) -> str:
    return str(path).replace("\x1b", "\\x1b")


def test_an_escape_in_the_run_folder_name_reaches_the_terminal_only_as_text(tmp_path):
    out = tmp_path / "\x1b[2Jrun"
    out.mkdir()
    (out / "best.npz").mkdir()  # so that an error line quotes a path too
    result = train(out)
    assert result.returncode == 2
    assert "\x1b" not in result.stdout + result.stderr
    assert f"cannot write {shown(out / 'best.npz')}: Is a directory" in result.stderr
    assert result.stdout.endswith(f"checkpoint: {shown(out / 'final.npz')}\n")


def test_an_escape_in_the_folder_of_an_interrupted_run_reaches_the_terminal_only_as_text(tmp_path):
    out = tmp_path / "\x1b[2Jrun"
    process = start(out)
    wait_for_metrics(out, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143
    assert "\x1b" not in stdout + stderr
    assert stdout.endswith(f"checkpoint: {shown(out / 'final.npz')}\n")
