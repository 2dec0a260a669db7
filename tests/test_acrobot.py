"""Acrobot-v1 with the defaults: its own rollout batch and entropy bonus, and it learns (CartPole keeps its own)."""

import json

from ac_play.config import EPOCHS, MIN_STEPS, ROLLOUT_BATCH, TrainConfig, preset


def test_acrobot_learns_from_smaller_batches_with_an_entropy_bonus():
    acrobot, cartpole = TrainConfig(env_id="Acrobot-v1"), TrainConfig()
    assert (acrobot.envs * acrobot.steps, acrobot.entropy, acrobot.epochs) == (512, 0.03, 8)
    assert (cartpole.envs * cartpole.steps, cartpole.entropy, cartpole.epochs) == (ROLLOUT_BATCH, 0.0, EPOCHS)
    assert TrainConfig(env_id="Acrobot-v1", envs=1).steps == 512
    assert TrainConfig(env_id="Acrobot-v1", envs=64).steps == MIN_STEPS  # never fewer of each env
    # measured with the rollout update only: the notebook's update keeps no bonus
    assert TrainConfig(env_id="Acrobot-v1", update="episode").entropy == 0.0
    assert preset("notebook", env_id="Acrobot-v1").entropy == 0.0


def test_acrobot_settings_named_by_the_user_or_an_older_run_are_kept():
    assert TrainConfig(env_id="Acrobot-v1", steps=64, entropy=0.0).steps == 64
    assert TrainConfig(env_id="Acrobot-v1", entropy=0.0).entropy == 0.0
    assert TrainConfig(env_id="Acrobot-v1", epochs=4).epochs == 4
    older = {**TrainConfig(env_id="Acrobot-v1").to_dict(), "steps": 64, "entropy": 0.0, "epochs": 4}  # before its own
    resumed = TrainConfig.from_dict(older)
    assert (resumed.steps, resumed.entropy, resumed.epochs) == (64, 0.0, 4)


def test_train_solves_acrobot_with_the_defaults(tmp_path, cli):
    out = tmp_path / "run"
    result = cli("train", "--headless", "--env", "Acrobot-v1", "--seed", "202", "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    done = json.loads(result.stdout.splitlines()[-1])
    assert done["event"] == "done" and done["solved"]
    assert done["solved_at"] <= 300  # the bar
    config = json.loads((out / "config.json").read_text())
    assert (config["envs"], config["steps"], config["entropy"], config["epochs"]) == (16, 32, 0.03, 8)
    episodes = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    returns = [episode["episode_return"] for episode in episodes]
    # the first episodes to end are the early swing-ups; the last are quicker still
    assert sum(returns[-16:]) / 16 > sum(returns[:16]) / 16 + 50
    assert episodes[-1]["running_reward"] > -100
