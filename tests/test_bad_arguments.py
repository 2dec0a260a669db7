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

from ac_play import bench
from ac_play.config import ConfigError, TrainConfig
from ac_play.envs import env_info
from ac_play.errors import AcPlayError, SettingError
from ac_play.training import MEMORY_LIMIT, Trainer, check_memory, in_bytes, memory_needed

BIG_HIDDEN = "1000000000000"
BIG_ENVS = "1000000000"


@pytest.mark.parametrize("field, size", [("hidden", int(BIG_HIDDEN)), ("envs", int(BIG_ENVS))])
def test_trainer_refuses_at_once_without_allocating(field, size):
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ConfigError) as refused:
        Trainer(TrainConfig(**{field: size}))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.field == field and "ac-play's limit is 8 GiB" in refused.value.reason
    assert peak < 10 * 2**20 and seconds < 5


def test_memory_needed_counts_parameters_update_and_buffers():
    info = env_info("CartPole-v1")  # obs 4, actions 2, 500 steps
    parameters = 4 * (4 * 128 + 128 + 128 * 2 + 2 + 128 + 1)
    rows = 500
    assert memory_needed(TrainConfig(), info) == 8 * (parameters + rows * (4 + 4 * 128) + rows * (4 + 2))
    assert memory_needed(TrainConfig(), info) < 3 * 2**20


def test_memory_check_names_hidden_when_one_env_cannot_fit_else_envs():
    info = env_info("CartPole-v1")
    check_memory(TrainConfig(envs=1000), info)
    for config, field in [(TrainConfig(hidden=10**6), "hidden"), (TrainConfig(envs=10_000), "envs"),
                          (TrainConfig(hidden=10**6, envs=10_000), "hidden")]:
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


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through Linux /proc")
@pytest.mark.parametrize("to", ["parent", "terminal"])  # the terminal sends Ctrl-C to the whole process group
def test_ctrl_c_during_bench_exits_130_quietly_and_stops_the_workers(to):
    process = subprocess.Popen(
        [sys.executable, "-m", "ac_play", "bench", "--seeds", "8", "--jobs", "2"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(workers := pool_workers(process.pid)) < 2:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(1.0)  # the workers are timing env steps or training by now
    if to == "parent":
        process.send_signal(signal.SIGINT)
    else:
        os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert len(stderr.splitlines()) <= 1 and stdout == ""
    assert not any(running(pid) for pid in workers)
