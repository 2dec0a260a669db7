"""Every bad argument or environment gets one line and exit 2; sizes that cannot fit are refused at once.

The CLI runs in a subprocess with stdin at /dev/null and stderr a pipe, as in a script or CI.
"""

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from conftest import run_cli

from ac_play import bench
from ac_play.config import ConfigError, TrainConfig
from ac_play.envs import env_info
from ac_play.errors import AcPlayError, SettingError
from ac_play.memory import MEMORY_LIMIT, check_memory, in_bytes, memory_needed
from ac_play.training import Trainer

BIG_HIDDEN = "1000000000000"
BIG_ENVS = "1000000000"
BIG_SEED = "99999999999999999999"


def run_quietly(*args):
    return run_cli(*args, stdin=subprocess.DEVNULL)


def assert_one_error_line(result, words):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ac-play: error: "), result.stderr
    assert words in lines[0], result.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["bench", "--env", "Nope-v0"], "unknown environment 'Nope-v0'"),
        (["bench", "--env", "Pendulum-v1"], "ac-play needs Discrete"),
        (["bench", "--envs", BIG_ENVS], f"--envs {BIG_ENVS} would need about 125 TiB of memory"),
        (["bench", "--seeds", "1000", "--jobs", "1000"], "--jobs 1000 would need about"),
        (["bench", "--memory", "5", "--envs", BIG_ENVS], f"--envs {BIG_ENVS} would need about"),
        (["bench", "--tui", "--seeds", "1", "--envs", BIG_ENVS], f"--envs {BIG_ENVS} would need about"),
        (["train", "--headless", "--hidden", BIG_HIDDEN], f"--hidden must be from 1 to 65536, not {BIG_HIDDEN}"),
        (["train", "--headless", "--envs", BIG_ENVS], f"--envs {BIG_ENVS} would need about"),
        (["train", "--headless", "--hidden", "1" + "0" * 400], "--hidden must be from 1 to 65536"),
        (["train", "--headless", "--hidden", "65537"], "--hidden must be from 1 to 65536, not 65537"),
        (["train", "--headless", "--lr", "nan"], "--lr must be a positive number, not nan"),
        (["train", "--headless", "--lr", "inf"], "--lr must be a positive number, not inf"),
        (["train", "--headless", "--gamma", "nan"], "--gamma must be in (0, 1], not nan"),
        (["train", "--headless", "--entropy", "nan"], "--entropy must be zero or positive, not nan"),
        (["train", "--headless", "--entropy", "inf"], "--entropy must be zero or positive, not inf"),
        (["train", "--headless", "--env", "this:CartPole-v1"], "unknown environment 'this:CartPole-v1'"),
        (["train", "--headless", "--out", "{file}"], "cannot write the run folder"),
        (["train", "--headless", "--resume", "{folder}"], "is a folder, not a checkpoint"),
        (["train"], "the training UI needs a terminal; use --headless"),
        (["train", "--hidden", BIG_HIDDEN], "--hidden must be from 1 to 65536"),
        (["eval", "{folder}"], "is a folder, not a checkpoint"),
        (["watch", "{folder}", "--frames", "1"], "has no history.npz"),  # a folder is read as a run folder
        (["watch", "--speed", "nan", "--frames", "1"], "--speed must be between 0.25 and 8, not nan"),
        (["human", "--speed", "nan"], "--speed must be between 0.25 and 2, not nan"),
        (["human", "--agent", "{folder}"], "is a folder, not a checkpoint"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, args, words):
    (tmp_path / "file").write_text("a file, not a folder")
    (tmp_path / "folder").mkdir()
    args = [arg.format(file=tmp_path / "file", folder=tmp_path / "folder") for arg in args]
    if args[0] == "train" and "--out" not in args:
        args += ["--out", tmp_path / "run"]
    assert_one_error_line(run_quietly(*args), words)
    assert not (tmp_path / "run").exists()  # refused before the run folder is written


@pytest.mark.parametrize(
    "args, words",
    [
        (["bench", "--envs", "0"], "argument --envs: expected 1 or more, not 0"),
        (["eval", "--episodes", "1000000000"], "argument --episodes: expected at most 100000, not 1000000000"),
    ],
)
def test_argparse_level_problems_are_one_line_and_exit_2(args, words):
    result = run_quietly(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ac-play: error: {words} (see `ac-play {args[0]} --help`)")


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--headless", "--seed", BIG_SEED, "--episodes", "2", "--hidden", "8", "--out", "{run}"],
        ["eval", "--episodes", "1", "--seed", BIG_SEED],
        ["watch", "--frames", "2", "--seed", BIG_SEED],
    ],
)
def test_seeds_beyond_64_bits_are_accepted(tmp_path, args):
    result = run_quietly(*[arg.format(run=tmp_path / "run") for arg in args])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_the_tui_path_refuses_a_size_that_cannot_fit_before_allocating(tmp_path):
    from ac_play.tui.main import build_app

    with pytest.raises(ConfigError) as refused:
        build_app(TrainConfig(hidden=int(BIG_HIDDEN)), out=tmp_path / "run")
    assert refused.value.field == "hidden"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "field, size, reason",
    [("hidden", int(BIG_HIDDEN), "must be from 1 to 65536"), ("envs", int(BIG_ENVS), "ac-play's limit is 8 GiB")],
)
def test_trainer_refuses_at_once_without_allocating(field, size, reason):
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ConfigError) as refused:
        Trainer(TrainConfig(**{field: size}))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.field == field and reason in refused.value.reason
    assert peak < 10 * 2**20 and seconds < 5


def test_memory_needed_counts_parameters_update_and_buffers():
    info = env_info("CartPole-v1")  # obs 4, actions 2, 500 steps
    parameters = 4 * (4 * 128 + 128 + 128 * 2 + 2 + 128 + 1)
    rows = 16 * (64 + 1)  # the defaults' rollout: 64 steps of 16 envs, and the obs after them
    assert memory_needed(TrainConfig(), info) == 8 * (parameters + rows * (4 + 4 * 128) + rows * (4 + 2))
    assert memory_needed(TrainConfig(), info) < 5 * 2**20
    rows = 500  # whole episodes of one env, up to the step limit
    episodes = TrainConfig(envs=1, update="episode")
    assert memory_needed(episodes, info) == 8 * (parameters + rows * (4 + 4 * 128) + rows * (4 + 2))


def test_memory_check_names_hidden_when_one_env_cannot_fit_else_envs():
    info = env_info("CartPole-v1")
    check_memory(TrainConfig(envs=1000), info)
    for config, field in [(TrainConfig(hidden=10**6), "hidden"), (TrainConfig(envs=10**6), "envs"),
                          (TrainConfig(hidden=10**6, envs=10**6), "hidden")]:
        with pytest.raises(ConfigError) as refused:
            check_memory(config, info)
        assert refused.value.field == field
        assert memory_needed(config, info) > MEMORY_LIMIT


@pytest.mark.parametrize(
    "size, text",
    [(0, "0 bytes"), (512, "512 bytes"), (1536, "1.5 KiB"), (8 * 2**30, "8 GiB"), (99 * 2**40, "99 TiB"),
     (1023 * 2**60, "1023 EiB"), (10**404, "10^404 bytes")],
)
def test_sizes_read_in_binary_units(size, text):
    assert in_bytes(size) == text


def test_a_worker_hands_back_its_error_as_a_sentence_the_parent_raises(monkeypatch):
    def refuse(env_id, seed, envs):
        raise SettingError("lr", "must be a positive number, not 0")

    monkeypatch.setattr(bench, "train_seed", refuse)
    run = bench.bench_seed(("CartPole-v1", 0, 1))
    assert run == {"error": "lr must be a positive number, not 0"}
    with pytest.raises(AcPlayError, match="^lr must be a positive number, not 0$"):
        bench.checked(run)


def pool_workers(pid: int) -> list[int]:
    """The multiprocessing workers among the children of `pid` (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        pids = [int(child) for child in children.read_text().split()]
    except OSError:
        return []
    return [child for child in pids if b"spawn_main" in read_or_empty(Path(f"/proc/{child}/cmdline"))]


def read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    stat = read_or_empty(Path(f"/proc/{pid}/stat"))
    return bool(stat) and stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def start_bench() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ac_play", "bench", "--seeds", "8", "--jobs", "2"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def busy_workers(process: subprocess.Popen) -> list[int]:
    """The bench's two workers, once they are timing env steps or training."""
    deadline = time.monotonic() + 60
    while len(workers := pool_workers(process.pid)) < 2:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(1.0)
    return workers


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through Linux /proc")
@pytest.mark.parametrize("to", ["parent", "terminal"])  # the terminal sends Ctrl-C to the whole process group
def test_ctrl_c_during_bench_exits_130_quietly_and_stops_the_workers(to):
    process = start_bench()
    workers = busy_workers(process)
    if to == "parent":
        process.send_signal(signal.SIGINT)
    else:
        os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert len(stderr.splitlines()) <= 1 and stdout == ""
    assert not any(running(pid) for pid in workers)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through Linux /proc")
@pytest.mark.parametrize("signal_name, code", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_or_sighup_during_bench_stops_the_workers_and_exits_with_the_signal_code(signal_name, code):
    process = start_bench()
    workers = busy_workers(process)
    try:
        process.send_signal(getattr(signal, signal_name))
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == code, stderr
        assert stderr == f"ac-play: interrupted by {signal_name}\n" and stdout == ""
        assert not any(running(pid) for pid in workers)  # terminated and joined before the bench exits
    finally:
        for pid in filter(running, workers):  # left by a bench that failed this test
            os.kill(pid, signal.SIGKILL)
