"""`ac-play bench` from the command line: seeds from anywhere, sweeps over --envs, presets, Acrobot.

A tiny --max-episodes keeps every run short: the seeds give up long before they could solve.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from ac_play.config import TrainConfig

TODAYS_KEYS = ["env_id", "envs", "jobs", "runs", "median"]
"""A one-setting bench's JSON object, as it was before sweeps."""


def bench(*args, timeout=300):
    return run_cli("bench", *args, timeout=timeout)


def test_a_sweep_prints_one_json_object_with_each_settings_report_and_seeds_from_seed_start():
    result = bench("--seeds", "2", "--seed-start", "500", "--envs", "1,4", "--jobs", "1", "--max-episodes", "5",
                   "--json")
    assert result.returncode == 1, result.stderr  # nobody solved in 5 episodes
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert list(report) == ["settings"]
    assert [setting["envs"] for setting in report["settings"]] == [1, 4]
    for setting in report["settings"]:
        assert list(setting) == TODAYS_KEYS
        assert [run["seed"] for run in setting["runs"]] == [500, 501]
        assert setting["median"]["seeds"] == 2 and setting["median"]["solved"] == 0
    # a rollout plays on past the budget, but counts episodes up to it only
    assert [run["episodes"] for run in report["settings"][0]["runs"]] == [5, 5]
    assert [run["episodes"] for run in report["settings"][1]["runs"]] == [5, 5]


def test_one_setting_prints_the_json_object_it_always_did():
    result = bench("--seeds", "1", "--seed-start", "7", "--envs", "2", "--jobs", "1", "--max-episodes", "3", "--json")
    report = json.loads(result.stdout)
    assert list(report) == TODAYS_KEYS
    assert (report["env_id"], report["envs"], report["jobs"]) == ("CartPole-v1", 2, 1)
    assert [run["seed"] for run in report["runs"]] == [7]


def test_a_sweep_prints_one_table_per_setting_under_a_line_naming_it():
    result = bench("--seeds", "1", "--envs", "2,3", "--max-episodes", "4")
    assert result.returncode == 1 and result.stderr == ""
    tables = [table.splitlines() for table in result.stdout.strip().split("\n\n")]
    assert [table[0] for table in tables] == [
        "CartPole-v1, envs=2, preset default, rollout update, seed 0 on 2 processes",
        "CartPole-v1, envs=3, preset default, rollout update, seed 0 on 2 processes",
    ]
    for table in tables:
        assert table[1].split()[:3] == ["seed", "solved", "episodes"]
        assert table[2].split()[:2] == ["0", "NO"]
        assert table[3].split()[:2] == ["med", "0/1"]
        assert len(table) == 4


def test_bench_trains_acrobot_seeds_from_seed_start():
    result = bench("--env", "Acrobot-v1", "--seeds", "2", "--seed-start", "3", "--max-episodes", "2")
    assert result.returncode == 1 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"Acrobot-v1, envs={TrainConfig.envs}, preset default, rollout update, seeds 3-4 on 2 processes"
    assert [line.split()[:3] for line in lines[2:4]] == [["3", "NO", "2"], ["4", "NO", "2"]]


def test_bench_with_the_notebook_preset_trains_what_train_trains_with_it(tmp_path):
    result = bench("--preset", "notebook", "--seeds", "1", "--seed-start", "2", "--jobs", "1", "--max-episodes", "30",
                   "--json")
    [run] = json.loads(result.stdout)["runs"]
    trained = run_cli("train", "--headless", "--preset", "notebook", "--seed", "2", "--episodes", "30",
                      "--out", tmp_path / "run")
    assert trained.returncode == 0, trained.stderr
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert (run["episodes"], run["env_steps"]) == (30, last["env_steps"])
    default = json.loads(bench("--seeds", "1", "--seed-start", "2", "--jobs", "1", "--max-episodes", "30",
                               "--json").stdout)
    assert default["runs"][0]["env_steps"] != last["env_steps"]  # the preset made the difference


def test_bench_update_flag_benches_the_update_train_uses_with_it(tmp_path):
    result = bench("--update", "episode", "--envs", "1", "--seeds", "1", "--seed-start", "4", "--jobs", "1",
                   "--max-episodes", "12")
    assert result.stdout.splitlines()[0] == "CartPole-v1, envs=1, preset default, episode update, seed 4 on 1 processes"
    steps = int(result.stdout.splitlines()[2].split()[3].replace(",", ""))
    trained = run_cli("train", "--headless", "--update", "episode", "--envs", "1", "--seed", "4", "--episodes", "12",
                      "--out", tmp_path / "run")
    assert trained.returncode == 0, trained.stderr
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert steps == last["env_steps"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--envs", "1,,8"], "argument --envs: expected whole numbers separated by commas, not '1,,8'"),
        (["--envs", "8,"], "argument --envs: expected whole numbers separated by commas, not '8,'"),
        (["--envs", ""], "argument --envs: expected whole numbers separated by commas, not ''"),
        (["--envs", "0"], "argument --envs: expected 1 or more, not 0"),
        (["--envs", "1,0"], "argument --envs: expected 1 or more, not 0"),
        (["--envs", "-1"], "argument --envs: expected 1 or more, not -1"),
        (["--envs", "x"], "argument --envs: expected a whole number, not 'x'"),
        (["--envs", "1,8,1"], "argument --envs: 1 is listed twice in '1,8,1'"),
        (["--envs", ",".join(map(str, range(1, 66)))], "argument --envs: expected at most 64 values, not 65"),
        (["--memory", "5", "--envs", "1,8"], "--envs takes one value with --memory, not 2"),
        (["--tui", "--envs", "1,8"], "--envs takes one value with --tui, not 2"),
        (["--seed-start", "-1"], "argument --seed-start: expected 0 or more, not -1"),
        (["--max-episodes", "0"], "argument --max-episodes: expected 1 or more, not 0"),
        (["--preset", "nope"], "argument --preset: invalid choice: 'nope'"),
        (["--update", "ppo"], "argument --update: invalid choice: 'ppo'"),
    ],
)
def test_bad_bench_settings_are_one_line_and_exit_2(args, words):
    result = bench(*args, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("ac-play: error: ") and words in line
