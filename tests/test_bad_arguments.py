"""Every bad argument or environment gets one line and exit 2; sizes that cannot fit are refused at once.

The CLI runs in a subprocess with stdin at /dev/null and stderr a pipe, as in a script or CI.
"""

import time
import tracemalloc

import pytest

from ac_play.config import ConfigError, TrainConfig
from ac_play.envs import env_info
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
