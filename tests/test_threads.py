"""BLAS runs on one thread while the library trains, unless the user asked otherwise, so the same
seed gives the same numbers from Python as from the command line."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading

import pytest
from textual import events
from threadpoolctl import threadpool_info

from ac_play.blas import THREAD_VARIABLES
from ac_play.config import TrainConfig
from ac_play.training import Trainer
from ac_play.tui.app import TrainApp
from ac_play.tui.session import TrainingSession


def blas_threads() -> set[int]:
    """The thread counts of the BLAS libraries loaded in this process."""
    return {library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"}


@pytest.fixture
def two_blas_threads(monkeypatch):
    """BLAS at 2 threads or more and none of the thread variables set: what a Python user gets on most machines.

    Not set here with threadpoolctl: the main thread would then own OpenBLAS's count for the
    rest of the session, which is just what the library must cope with, not what every test should.
    """
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    original = blas_threads()
    if min(original, default=1) < 2:
        pytest.skip(f"BLAS runs {original} threads here: nothing to pin")
    return original


def small_trainer(**kwargs) -> Trainer:
    return Trainer(TrainConfig(hidden=16, seed=2, episodes=5), **kwargs)


def test_blas_runs_one_thread_while_a_trainer_trains_and_gets_its_threads_back(two_blas_threads):
    trainer = small_trainer()
    during = [blas_threads() for _ in trainer.episodes()]
    assert during == [{1}] * 5
    assert blas_threads() == two_blas_threads


def test_blas_gets_its_threads_back_when_training_stops_early(two_blas_threads):
    episodes = small_trainer().episodes()
    next(episodes)
    assert blas_threads() == {1}
    episodes.close()  # what a `for` loop left by break or an exception does
    assert blas_threads() == two_blas_threads


def test_blas_stays_at_one_thread_until_the_last_of_two_trainers_stops(two_blas_threads):
    first, second = small_trainer().episodes(), small_trainer().episodes()
    next(first)
    next(second)
    first.close()
    assert blas_threads() == {1}
    second.close()
    assert blas_threads() == two_blas_threads


def test_blas_runs_one_thread_in_a_thread_that_trains_after_the_main_thread_did(two_blas_threads):
    # threadpoolctl lets one Python thread at a time set OpenBLAS's count and ignores the others
    assert [blas_threads() for _ in small_trainer().episodes()] == [{1}] * 5
    during = []
    thread = threading.Thread(target=lambda: during.extend(blas_threads() for _ in small_trainer().episodes()))
    thread.start()
    thread.join()
    assert during == [{1}] * 5
    assert blas_threads() == two_blas_threads


AFTER_TRAINING = """
from threadpoolctl import threadpool_info, threadpool_limits
from ac_play.config import TrainConfig
from ac_play.training import Trainer
for _ in Trainer(TrainConfig(hidden=16, episodes=3)).episodes():
    pass
with threadpool_limits(limits=1, user_api="blas"):
    print([library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"])
"""


def test_a_program_can_still_set_its_own_blas_limit_after_training(two_blas_threads):
    result = subprocess.run([sys.executable, "-c", AFTER_TRAINING], capture_output=True, text=True, timeout=120,
                            env=without_thread_variables())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1]"


def test_blas_threads_none_leaves_blas_alone(two_blas_threads):
    trainer = small_trainer(blas_threads=None)
    assert [blas_threads() for _ in trainer.episodes()] == [two_blas_threads] * 5


def test_a_thread_variable_the_user_set_wins(two_blas_threads, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    trainer = small_trainer()
    assert [blas_threads() for _ in trainer.episodes()] == [two_blas_threads] * 5


def test_an_explicit_count_wins_over_the_environment(two_blas_threads, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    trainer = small_trainer(blas_threads=1)
    assert [blas_threads() for _ in trainer.episodes()] == [{1}] * 5


@pytest.mark.parametrize("choice", [0, -1, 1.5, "one"])
def test_a_nonsense_thread_count_is_refused(choice):
    with pytest.raises(ValueError, match="blas_threads"):
        small_trainer(blas_threads=choice)


async def until(condition) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def test_blas_runs_one_thread_while_the_tui_trains_in_its_worker_thread(tmp_path, two_blas_threads):
    async def drive() -> None:
        # an episode budget keeps it training well past solving
        app = TrainApp(TrainingSession(TrainConfig(hidden=16, seed=3, episodes=100_000), None, tmp_path / "run"))
        async with app.run_test(size=(100, 32)):
            app.post_message(events.Key("space", " "))  # as the terminal delivers it
            await until(lambda: app.session.trainer.progress.episode >= 20)
            assert blas_threads() == {1}
            app.post_message(events.Key("space", " "))
            await until(lambda: app.session.trainer.paused)
            assert blas_threads() == {1}  # paused, the trainer keeps the limit to go on with
        assert app.session.idle.wait(20)  # the training thread has let the trainer go
        assert blas_threads() == two_blas_threads

    asyncio.run(drive())


TRAIN_IN_PYTHON = """
import json, sys
from threadpoolctl import threadpool_info
from ac_play.config import TrainConfig
from ac_play.training import Trainer
threads = [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]
trainer = Trainer(TrainConfig(seed={seed}, envs={envs}, episodes={episodes}))
for stats in trainer.episodes():
    print(json.dumps(stats.to_dict()))
print(json.dumps({{"threads_before": threads}}))
"""


def without_thread_variables() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in THREAD_VARIABLES}


def same_numbers(line: dict) -> dict:
    """An episode's statistics without its timing (nor the settings metrics.jsonl adds to each line)."""
    return {key: value for key, value in line.items() if key not in ("elapsed", "settings")}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="BLAS runs one thread on one core anyway")
def test_the_same_seed_gives_the_same_episodes_from_python_and_from_the_command_line(tmp_path, cli):
    # seed 1000 at --envs 16 parts ways at episode 113 when BLAS runs two threads
    seed, envs, episodes = 1000, 16, 240
    code = TRAIN_IN_PYTHON.format(seed=seed, envs=envs, episodes=episodes)
    python = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=without_thread_variables())
    assert python.returncode == 0, python.stderr
    *lines, threads = [json.loads(line) for line in python.stdout.splitlines()]
    assert min(threads["threads_before"]) >= 2  # Python really had BLAS threads to lose
    result = cli("train", "--headless", "--seed", seed, "--envs", envs, "--episodes", episodes,
                 "--out", tmp_path / "run", env=without_thread_variables())
    assert result.returncode == 0, result.stderr
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == len(logged) == episodes
    assert [same_numbers(line) for line in lines] == [same_numbers(line) for line in logged]
