"""The command line through a subprocess: files written, lines printed, exit codes, no tracebacks."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import run_cli

from ac_play.checkpoint import bundled_path
from ac_play.config import TrainConfig


def assert_clean_error(result, words):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("ac-play: error:") and words in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["train", "watch", "human", "eval", "bench"])
def test_every_subcommand_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0 and "usage: ac-play " + command in result.stdout


def test_train_help_states_the_defaults_training_uses():
    help_text = " ".join(run_cli("train", "--help").stdout.split())
    defaults = TrainConfig()
    assert re.search(r"--envs ENVS episodes played at once.*?\(default (\d+)\)", help_text)[1] == str(defaults.envs)
    assert re.search(r"--lr LR learning rate \(default ([\d.]+)", help_text)[1] == str(defaults.lr)


def test_headless_training_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--headless", "--episodes", "12", "--hidden", "8", "--out", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "best.npz", "config.json", "final.npz", "history.npz", "metrics.jsonl",
    ]
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["episode"] for line in lines] == list(range(1, 13))
    assert json.loads((out / "config.json").read_text())["hidden"] == 8
    assert "not solved: 12 episodes" in result.stdout and str(out / "final.npz") in result.stdout


def test_update_episode_learns_once_per_batch_of_whole_episodes(tmp_path):
    result = run_cli("train", "--headless", "--json", "--update", "episode", "--envs", "2", "--episodes", "6",
                     "--hidden", "8", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()[:-1]]
    assert [o["update"] for o in objects] == [1, 1, 2, 2, 3, 3]
    assert objects[-1]["env_steps"] == sum(o["length"] for o in objects)
    assert json.loads((tmp_path / "config.json").read_text())["update"] == "episode"


def test_an_unknown_update_is_one_error_line():
    result = run_cli("train", "--headless", "--update", "nope")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--update" in result.stderr and "'nope'" in result.stderr


def test_headless_json_prints_one_object_per_episode_and_a_done_line(tmp_path):
    result = run_cli("train", "--headless", "--json", "--episodes", "5", "--envs", "2", "--out", tmp_path)
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["episode"] for o in objects[:-1]] == [1, 2, 3, 4, 5]
    done = objects[-1]
    assert done["event"] == "done" and done["episodes"] == 5 and done["solved"] is False
    # every step played counts, with those of the episodes the rollout left unfinished
    assert done["env_steps"] >= sum(o["length"] for o in objects[:-1])
    assert done["checkpoint"] == str(tmp_path / "final.npz") and done["wall_s"] > 0


def test_headless_stops_when_solved_and_the_checkpoint_scores(tmp_path):
    result = run_cli("train", "--headless", "--json", "--out", tmp_path, timeout=300)
    done = json.loads(result.stdout.splitlines()[-1])
    assert done["solved"] is True and done["episodes"] <= 1000
    scored = run_cli("eval", tmp_path / "final.npz", "--episodes", "5", "--json")
    assert json.loads(scored.stdout)["mean"] > 400


def test_resume_continues_from_the_checkpoint(tmp_path):
    first = tmp_path / "first"
    run_cli("train", "--headless", "--episodes", "6", "--hidden", "8", "--out", first)
    second = tmp_path / "second"
    result = run_cli(
        "train", "--headless", "--json", "--episodes", "4", "--resume", first / "final.npz", "--out", second
    )
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["episode"] for o in objects[:-1]] == [7, 8, 9, 10]
    assert json.loads((second / "config.json").read_text())["hidden"] == 8


def test_same_seed_gives_identical_metrics(tmp_path):
    for name in ("a", "b"):
        run_cli("train", "--headless", "--episodes", "15", "--seed", "4", "--out", tmp_path / name)
    drop_time = [
        [
            {k: v for k, v in json.loads(line).items() if k != "elapsed"}
            for line in (tmp_path / n / "metrics.jsonl").open()
        ]
        for n in ("a", "b")
    ]
    assert drop_time[0] == drop_time[1]


def test_eval_of_the_bundled_agent_scores_500():
    result = run_cli("eval", "--json")
    summary = json.loads(result.stdout)
    assert summary["mean"] == 500.0 and summary["min"] == 500.0 and summary["episodes"] == 100
    assert summary["mode"] == "greedy"


def test_eval_names_the_bundled_agent_by_its_file_name_not_its_installed_path():
    result = run_cli("eval", "--episodes", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cartpole-v1.npz (bundled) on CartPole-v1, 2 greedy episodes: mean 500.0")
    assert str(bundled_path().parent) not in result.stdout


def test_eval_names_another_checkpoint_by_the_path_given(tmp_path):
    (tmp_path / "mine").mkdir()
    shutil.copy(bundled_path(), tmp_path / "mine" / "agent.npz")
    relative = run_cli("eval", "mine/agent.npz", "--episodes", "1", cwd=tmp_path)
    assert relative.stdout.startswith("mine/agent.npz on CartPole-v1, 1 greedy episodes")
    absolute = run_cli("eval", tmp_path / "mine" / "agent.npz", "--episodes", "1")
    assert absolute.stdout.startswith(f"{tmp_path / 'mine' / 'agent.npz'} on CartPole-v1")


def test_eval_prints_mean_std_min_max(tmp_path):
    result = run_cli("eval", "--episodes", "3", "--sample", "--seed", "1")
    assert result.returncode == 0
    for word in ("mean", "std", "min", "max", "3 sample episodes"):
        assert word in result.stdout


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--lr", "-0.1"], "--lr must be a positive number"),
        (["--gamma", "1.5"], "--gamma must be in (0, 1]"),
        (["--gamma", "0"], "--gamma must be in (0, 1]"),
        (["--hidden", "0"], "--hidden must be from 1 to 65536, not 0"),
        (["--envs", "0"], "--envs must be at least 1"),
        (["--entropy", "-1"], "--entropy must be zero or positive"),
        (["--env", "NoSuchEnv-v0"], "unknown environment"),
        (["--env", "Pendulum-v1"], "needs Discrete"),
    ],
)
def test_nonsense_training_settings_fail_cleanly(tmp_path, flags, words):
    assert_clean_error(run_cli("train", "--headless", *flags, "--out", tmp_path / "run"), words)
    assert not (tmp_path / "run").exists()


def test_text_where_a_number_belongs_is_a_usage_error():
    result = run_cli("train", "--headless", "--lr", "fast")
    assert result.returncode == 2 and "expected a number, not 'fast'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_out_folder_fails_cleanly(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    assert_clean_error(run_cli("train", "--headless", "--out", blocker / "run"), "cannot write the run folder")


def write_bad_checkpoints(folder):
    good = run_cli("train", "--headless", "--episodes", "2", "--hidden", "8", "--out", folder / "good")
    assert good.returncode == 0
    source = folder / "good" / "final.npz"
    with np.load(source) as npz:
        arrays = {k: npz[k] for k in npz.files}
    bad = {"missing.npz": None, "empty.npz": b"", "truncated.npz": source.read_bytes()[:200], "text.npz": b"hello"}
    for name, content in bad.items():
        if content is not None:
            (folder / name).write_bytes(content)
    np.savez(folder / "nan.npz", **{**arrays, "param/Wa": np.full_like(arrays["param/Wa"], np.nan)})
    np.savez(folder / "shape.npz", **{**arrays, "param/Wa": np.zeros((3, 3))})
    np.savez(folder / "keys.npz", **{k: v for k, v in arrays.items() if k != "param/b1"})
    np.savez(folder / "pickled.npz", meta=arrays["meta"], **{"param/W1": np.array([{"a": 1}], dtype=object)})
    return source


@pytest.mark.parametrize(
    "name, words",
    [
        ("missing.npz", "not found"),
        ("empty.npz", "empty file"),
        ("truncated.npz", "not a readable"),
        ("text.npz", "not a zip"),
        ("nan.npz", "NaN or infinite"),
        ("shape.npz", "shape"),
        ("keys.npz", "missing array"),
        ("pickled.npz", "pickled objects"),
    ],
)
def test_bad_checkpoints_fail_cleanly_in_eval_and_resume(tmp_path, name, words):
    write_bad_checkpoints(tmp_path)
    assert_clean_error(run_cli("eval", tmp_path / name), words)
    assert_clean_error(run_cli("train", "--headless", "--resume", tmp_path / name, "--out", tmp_path / "r"), words)


def test_resume_with_another_env_or_size_fails_cleanly(tmp_path):
    source = write_bad_checkpoints(tmp_path)
    result = run_cli("train", "--headless", "--resume", source, "--env", "CartPole-v0", "--out", tmp_path / "r")
    assert_clean_error(result, "trained on CartPole-v1, not CartPole-v0")
    result = run_cli("train", "--headless", "--resume", source, "--hidden", "9", "--out", tmp_path / "r")
    assert_clean_error(result, "8 hidden units, not 9")


def test_ctrl_c_saves_a_checkpoint_names_it_once_and_exits_130(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "ac_play", "train", "--headless", "--episodes", "100000", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = tmp_path / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (metrics.exists() and metrics.stat().st_size > 0):
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    episodes = len((tmp_path / "metrics.jsonl").read_text().splitlines())
    assert f"interrupted at episode {episodes} by SIGINT; final.npz saved\n" in stderr
    assert (stdout + stderr).count(str(tmp_path / "final.npz")) == 1
    assert stdout.endswith(f"checkpoint: {tmp_path / 'final.npz'}\n")
    scored = run_cli("eval", tmp_path / "final.npz", "--episodes", "1", "--json")
    assert scored.returncode == 0
    with np.load(tmp_path / "final.npz") as npz:
        assert json.loads(str(npz["meta"]))["progress"]["episode"] == episodes


def test_bench_reports_every_seed_and_the_throughput_ratio():
    result = run_cli("bench", "--seeds", "2", "--jobs", "2", "--json", timeout=300)
    report = json.loads(result.stdout)
    assert [run["seed"] for run in report["runs"]] == [0, 1]
    assert all(run["solved"] for run in report["runs"])
    assert 0 < report["median"]["ratio"] < 2 and report["median"]["bare_steps_per_s"] > 0


def test_divergence_stops_keeps_the_last_good_checkpoint_and_says_so(tmp_path):
    result = run_cli(
        "train", "--headless", "--preset", "notebook", "--lr", "1e300", "--episodes", "50", "--out", tmp_path
    )
    assert result.returncode == 1
    assert "training diverged at episode" in result.stderr and "last good checkpoint" in result.stderr
    assert "Traceback" not in result.stderr and "RuntimeWarning" not in result.stderr
    assert run_cli("eval", tmp_path / "final.npz", "--episodes", "1").returncode == 0


def test_readme_command_trains_an_agent_as_good_as_the_bundled_one(tmp_path):
    # Bit-for-bit equality holds on the machine that made the bundle (checked once by hand); other
    # CPUs may round BLAS sums differently, and sampling turns that into another run, so the
    # test checks what the README promises: the command yields a 500-scoring agent.
    result = run_cli("train", "--headless", "--seed", "0", "--episodes", "600", "--out", tmp_path, timeout=300)
    assert result.returncode == 0
    scored = run_cli("eval", tmp_path / "final.npz", "--episodes", "20", "--json")
    assert json.loads(scored.stdout)["mean"] == 500.0


@pytest.mark.parametrize(
    "args, words",
    [
        (["eval", "--episodes", "0"], "--episodes: expected 1 or more, not 0"),
        (["eval", "--seed", "-1"], "--seed: expected 0 or more, not -1"),
        (["bench", "--seeds", "0"], "--seeds: expected 1 or more, not 0"),
        (["bench", "--jobs", "0"], "--jobs: expected 1 or more, not 0"),
        (["watch", "--frames", "0"], "--frames: expected 1 or more, not 0"),
    ],
)
def test_counts_below_one_and_negative_seeds_are_usage_errors(args, words):
    result = run_cli(*args)
    assert result.returncode == 2 and words in result.stderr
    assert "Traceback" not in result.stderr


def test_training_mountaincar_says_in_one_line_that_it_will_not_learn(tmp_path):
    result = run_cli("train", "--headless", "--env", "MountainCar-v0", "--episodes", "1", "--hidden", "8",
                     "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    [note] = [line for line in result.stderr.splitlines() if "MountainCar" in line]
    assert note.startswith("ac-play: note: MountainCar-v0 gives -1 every step") and "will not solve it" in note
    cartpole = run_cli("train", "--headless", "--episodes", "1", "--hidden", "8", "--out", tmp_path / "cartpole")
    assert "note:" not in cartpole.stderr
