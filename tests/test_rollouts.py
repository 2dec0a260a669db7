"""The rollout update: its runners' layout, its batch sizes at every --envs, and that it learns."""

import numpy as np
import pytest

from ac_play.agent import ActorCritic
from ac_play.config import MIN_STEPS, MINIBATCH, TrainConfig
from ac_play.envs import RolloutRunner, SingleRolloutRunner
from ac_play.returns import RunningNormaliser
from ac_play.rollouts import learn_in_passes, rollout_batch, scaled_advantages, split_points
from ac_play.training import Trainer


def play(runner, steps=300, seed=0):
    agent = ActorCritic.create(4, 2, hidden=8, seed=seed)
    try:
        return runner.play(agent, steps)
    finally:
        runner.close()


def fell(obs):
    """CartPole's own end of an episode: the cart past 2.4 or the pole past 12 degrees."""
    return abs(obs[0]) > 2.4 or abs(obs[2]) > 12 * 2 * np.pi / 360


@pytest.mark.parametrize("make", [
    lambda: SingleRolloutRunner("CartPole-v1", 0, np.random.default_rng(0)),
    lambda: RolloutRunner("CartPole-v1", 1, 0, np.random.default_rng(0)),
])
def test_one_env_rollout_holds_each_final_observation_in_an_invalid_row(make):
    rollout = play(make())
    ends = np.flatnonzero(rollout.terminated[:, 0])
    assert len(ends) >= 5  # a random policy falls every 20 steps or so
    for t in ends[ends < len(rollout.valid) - 1]:
        assert fell(rollout.obs[t + 1, 0])
        assert not rollout.valid[t + 1, 0]
        assert not fell(rollout.obs[t + 2, 0])  # the reset's start
    lengths = [length for _, length, _ in rollout.finished]
    assert [ret for ret, _, _ in rollout.finished] == lengths  # CartPole pays 1 per step
    assert [played for _, _, played in rollout.finished] == np.cumsum(lengths).tolist()
    assert rollout.valid.sum() >= sum(lengths)


def test_one_env_rollout_carries_an_episode_across_calls():
    runner = SingleRolloutRunner("CartPole-v1", 0, np.random.default_rng(0))
    agent = ActorCritic.create(4, 2, hidden=8, seed=0)
    first, second = runner.play(agent, 7), runner.play(agent, 300)
    runner.close()
    assert not first.finished
    assert np.array_equal(first.obs[-1], second.obs[0])
    assert second.finished[0][1] > 7  # the first episode's length counts the steps of both calls


def count_step_by_step(rollouts, envs):
    """The episodes of consecutive rollouts, counted a step and an env at a time from their arrays."""
    returns, lengths, finished = [0.0] * envs, [0] * envs, []
    for rollout in rollouts:
        played = 0
        for t in range(len(rollout.valid)):
            played += int(rollout.valid[t].sum())
            for i in range(envs):
                if not rollout.valid[t, i]:
                    continue
                returns[i] += rollout.rewards[t, i]
                lengths[i] += 1
                if rollout.terminated[t, i] or rollout.truncated[t, i]:
                    finished.append((returns[i], lengths[i], played))
                    returns[i], lengths[i] = 0.0, 0
        yield finished
        finished = []


def test_vector_rollout_episodes_match_a_step_by_step_count_across_calls():
    runner = RolloutRunner("CartPole-v1", 5, 3, np.random.default_rng(3))
    agent = ActorCritic.create(4, 2, hidden=8, seed=3)
    rollouts = [runner.play(agent, steps) for steps in (7, 40, 1, 90)]
    runner.close()
    assert sum(len(r.finished) for r in rollouts) >= 10
    assert [r.finished for r in rollouts] == list(count_step_by_step(rollouts, 5))
    for rollout in rollouts:
        ended = rollout.terminated | rollout.truncated
        assert not (rollout.valid[1:] & ended[:-1]).any()  # the step after an end only resets


@pytest.mark.parametrize("envs", [1, 8, 16, 32, 64, 128])
def test_rollout_batches_scale_with_envs(envs):
    config = TrainConfig(envs=envs)
    rows = config.envs * config.steps
    assert config.steps >= MIN_STEPS
    assert rows >= 1024
    assert rows / config.minibatches == pytest.approx(MINIBATCH, rel=0.3)
    assert config.lr == 0.01  # one rate at every --envs: each optimiser step sees MINIBATCH rows


def test_each_pass_updates_once_per_minibatch_and_sees_every_row_once():
    agent = ActorCritic.create(4, 2, hidden=8, seed=0)
    rollout = play(RolloutRunner("CartPole-v1", 4, 0, np.random.default_rng(0)), steps=50)
    batch = rollout_batch(agent, RunningNormaliser(), rollout, 0.99, 0.95)
    seen = []

    def update_on(part):
        seen.append(part.obs)
        return {"actor_loss": float(len(part.obs))}

    stats = learn_in_passes(batch, 3, 4, np.random.default_rng(0), update_on)
    assert len(seen) == 12
    for epoch in range(3):
        rows = np.concatenate(seen[4 * epoch: 4 * epoch + 4])
        assert sorted(map(tuple, rows)) == sorted(map(tuple, batch.obs))
    assert stats == {"actor_loss": len(batch.obs) / 4}


@pytest.mark.parametrize("envs", [1, 16, 64])
def test_rollout_defaults_solve_cartpole_within_150k_steps(envs):
    trainer = Trainer(TrainConfig(seed=7, envs=envs))
    last = None
    for last in trainer.episodes():
        if last.env_steps > 150_000:
            break
    trainer.close()
    assert trainer.solved
    assert last.running_reward > 475
    assert last.env_steps <= 150_000


@pytest.mark.parametrize("size, parts", [(1024, 4), (1000, 3), (5, 5), (7, 3), (1, 1)])
def test_a_pass_cuts_its_shuffled_batch_where_array_split_would(size, parts):
    cuts = [np.arange(size)[start:end] for start, end in split_points(size, parts)]
    expected = np.array_split(np.arange(size), parts)
    assert [c.tolist() for c in cuts] == [e.tolist() for e in expected]


def test_advantages_are_scaled_to_std_one_but_noise_below_a_rewards_size_is_not_blown_up():
    rng = np.random.default_rng(0)
    learning = scaled_advantages(rng.standard_normal(500) * 5.0 + 3.0, np.ones(500))
    assert abs(learning.mean()) < 1e-9 and learning.std() == pytest.approx(1.0)
    # Acrobot before its first swing-up: -1 on every step, advantages only the critic's error
    noise = rng.standard_normal(500) * 0.01
    flat = scaled_advantages(noise, -np.ones(500))
    assert abs(flat.mean()) < 1e-9 and flat.std() == pytest.approx(noise.std(), rel=1e-6)
