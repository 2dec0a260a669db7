"""Acrobot-v1: its inputs reach the network scaled by the bounds it declares, older runs play as they learned."""

import json

import gymnasium as gym
import numpy as np
import pytest

from ac_play import checkpoint
from ac_play.agent import ActorCritic
from ac_play.config import TrainConfig
from ac_play.envs import make_rollout_runner
from ac_play.snapshot import Snapshot
from ac_play.training import Trainer
from ac_play.window.playthrough import Playthrough

ACROBOT_BOUNDS = np.array([1, 1, 1, 1, 4 * np.pi, 9 * np.pi])
"""Acrobot-v1's declared observation bounds: cos and sin of two angles, then two angular velocities."""


def rollout_inputs(envs: int, scale_obs: bool, steps: int = 400) -> np.ndarray:
    """Every observation a random-ish agent acted on, [rows, 6]."""
    runner = make_rollout_runner("Acrobot-v1", envs, 0, np.random.default_rng(0), scale_obs)
    try:
        rollout = runner.play(ActorCritic.create(6, 3, hidden=8, seed=0), steps)
    finally:
        runner.close()
    return rollout.obs[:-1][rollout.valid]


@pytest.mark.parametrize("envs", [1, 4])
def test_scaled_inputs_reach_the_network_within_minus_one_and_one(envs):
    raw = rollout_inputs(envs, scale_obs=False)
    scaled = rollout_inputs(envs, scale_obs=True)
    assert np.abs(raw[:, 4:]).max() > 1.5  # unscaled, the velocities dwarf the cos and sin
    assert np.abs(scaled).max() <= 1.0
    # the same start state, divided by its bounds
    assert np.allclose(scaled[0] * ACROBOT_BOUNDS, raw[0], rtol=1e-6, atol=1e-6)


def test_a_new_config_scales_and_an_older_file_without_the_key_does_not():
    assert TrainConfig().scale_obs is True
    assert TrainConfig.from_dict(TrainConfig().to_dict()).scale_obs is True
    assert TrainConfig.from_dict({"env_id": "Acrobot-v1", "hidden": 8}).scale_obs is False


def save_acrobot_checkpoint(path, scale_obs: bool | None):
    """A tiny Acrobot checkpoint; scale_obs None writes a config without the key, as older ac-play did."""
    trainer = Trainer(TrainConfig(env_id="Acrobot-v1", hidden=8, envs=1, episodes=1))
    meta = Snapshot.of(trainer).meta()
    trainer.close()
    if scale_obs is None:
        del meta["config"]["scale_obs"]
    else:
        meta["config"]["scale_obs"] = scale_obs
    return checkpoint.save(path, trainer.agent, meta)


@pytest.mark.parametrize(("scale_obs", "divisor"), [(None, 1.0), (True, ACROBOT_BOUNDS)])
def test_a_checkpoint_plays_on_the_inputs_it_learned_from(tmp_path, scale_obs, divisor):
    path = save_acrobot_checkpoint(tmp_path / "acrobot.npz", scale_obs)
    play = Playthrough(Snapshot.from_checkpoint(checkpoint.load(path)), seed=5)
    env = gym.make("Acrobot-v1")
    try:
        start, _ = env.reset(seed=5)
        assert np.allclose(play.obs, start / divisor, rtol=1e-6, atol=1e-6)
    finally:
        play.close()
        env.close()


def test_eval_refuses_a_checkpoint_whose_scale_obs_is_not_true_or_false(tmp_path, cli):
    path = save_acrobot_checkpoint(tmp_path / "acrobot.npz", True)
    with np.load(path, allow_pickle=False) as archive:
        arrays = dict(archive)
    meta = json.loads(str(arrays["meta"]))
    meta["config"]["scale_obs"] = "yes"
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    result = cli("eval", path, "--episodes", "1")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "scale_obs" in result.stderr and "Traceback" not in result.stderr
