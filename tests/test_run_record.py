"""The run folder says what happened: every change of lr, gamma or entropy, and the values each episode ran under.

config.json holds the settings in force and a `changes` list; every metrics.jsonl line holds the
hot settings it trained with. Runs logged before either existed still resume and show their history.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

from ac_play import runs
from ac_play.config import TrainConfig
from ac_play.runs import make_trainer, run_config
from ac_play.tui.main import build_app
from ac_play.tui.session import load_history

DEFAULTS = {"lr": TrainConfig().lr, "gamma": 0.99, "entropy": 0.0}


def metrics_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def config_json(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def train_updates(folder: runs.RunFolder, trainer, updates: int) -> None:
    for _ in range(updates):
        for stats in trainer.run_update():
            folder.record(stats, trainer)


def a_run_with_a_change(out: Path) -> None:
    """Two episodes at gamma 0.99, then two at 0.95, saved as a finished run."""
    config = TrainConfig(hidden=8, episodes=100, envs=1, update="episode")  # one episode per update
    trainer = make_trainer(config)
    folder = runs.RunFolder(out, config)
    train_updates(folder, trainer, 2)
    trainer.set_hyperparameters(gamma=0.95)
    train_updates(folder, trainer, 2)
    folder.finish(trainer)


def test_headless_metrics_lines_carry_the_settings_in_force_and_config_json_no_changes(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--headless", "--hidden", "8", "--episodes", "3", "--gamma", "0.9", "--out", out)
    assert result.returncode == 0, result.stderr
    assert [line["settings"] for line in metrics_lines(out)] == [{**DEFAULTS, "gamma": 0.9}] * 3
    assert config_json(out)["changes"] == []
    assert config_json(out)["gamma"] == 0.9


def test_a_change_between_updates_is_in_config_json_and_in_the_lines_after_it(tmp_path):
    a_run_with_a_change(tmp_path)
    config = config_json(tmp_path)
    assert config["changes"] == [{"episode": 3, "name": "gamma", "old": 0.99, "new": 0.95}]
    assert config["gamma"] == 0.95  # the settings in force now; `changes` says since when
    assert [line["settings"]["gamma"] for line in metrics_lines(tmp_path)] == [0.99, 0.99, 0.95, 0.95]


def test_resuming_in_place_keeps_the_changes_and_records_a_flag_that_changes_a_setting(tmp_path):
    a_run_with_a_change(tmp_path)
    result = run_cli("train", "--headless", "--resume", tmp_path / "final.npz", "--out", tmp_path,
                     "--episodes", "2", "--lr", "0.001")
    assert result.returncode == 0, result.stderr
    assert config_json(tmp_path)["changes"] == [
        {"episode": 3, "name": "gamma", "old": 0.99, "new": 0.95},
        {"episode": 5, "name": "lr", "old": 0.005, "new": 0.001},
    ]
    resumed_lines = metrics_lines(tmp_path)[4:]
    assert [line["settings"] for line in resumed_lines] == [{"lr": 0.001, "gamma": 0.95, "entropy": 0.0}] * 2


def test_resuming_in_place_drops_changes_recorded_after_the_checkpoint(tmp_path):
    a_run_with_a_change(tmp_path)
    config = config_json(tmp_path)
    later = {"episode": 9, "name": "entropy", "old": 0.0, "new": 0.01}  # as a run killed after final.npz left it
    (tmp_path / "config.json").write_text(json.dumps({**config, "changes": [*config["changes"], later]}))
    result = run_cli("train", "--headless", "--resume", tmp_path / "final.npz", "--out", tmp_path, "--episodes", "1")
    assert result.returncode == 0, result.stderr
    assert config_json(tmp_path)["changes"] == [{"episode": 3, "name": "gamma", "old": 0.99, "new": 0.95}]


def strip_to_the_old_format(folder: Path) -> None:
    """What a run folder looked like before settings were recorded: no `settings`, no `changes`."""
    lines = [{k: v for k, v in line.items() if k != "settings"} for line in metrics_lines(folder)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    config = config_json(folder)
    del config["changes"]
    (folder / "config.json").write_text(json.dumps(config))


def test_a_run_logged_before_settings_were_recorded_resumes_in_place_and_shows_its_history(tmp_path):
    a_run_with_a_change(tmp_path)
    strip_to_the_old_format(tmp_path)
    assert [row["episode"] for row in load_history(tmp_path / "final.npz")] == [1, 2, 3, 4]
    config, resumed = run_config(resume=tmp_path / "final.npz")
    app = build_app(config, resumed, tmp_path)
    assert [row["episode"] for row in app.history] == [1, 2, 3, 4]
    app.session.finish()
    result = run_cli("train", "--headless", "--resume", tmp_path / "final.npz", "--out", tmp_path, "--episodes", "2")
    assert result.returncode == 0, result.stderr
    lines = metrics_lines(tmp_path)
    assert [line["episode"] for line in lines] == [1, 2, 3, 4, 5, 6]
    # the run's own lr: the episode update's at one env
    assert "settings" not in lines[3] and lines[5]["settings"] == {**DEFAULTS, "lr": 0.005, "gamma": 0.95}
    assert config_json(tmp_path)["changes"] == []
