"""Discounted returns, bootstrapping and normalisation against values worked out by hand."""

import numpy as np
import pytest

from ac_play.returns import RunningNormaliser, discounted_returns, gae_advantages, normalise


def test_discounted_returns_by_hand():
    # G2 = 1, G1 = 1 + 0.5 * 1 = 1.5, G0 = 1 + 0.5 * 1.5 = 1.75
    np.testing.assert_allclose(discounted_returns(np.ones(3), 0.5), [1.75, 1.5, 1.0])


def test_bootstrap_value_is_added_after_the_last_step():
    # G2 = 1 + 0.5 * 10 = 6, G1 = 1 + 3 = 4, G0 = 1 + 2 = 3
    np.testing.assert_allclose(discounted_returns(np.ones(3), 0.5, bootstrap=10.0), [3.0, 4.0, 6.0])


def test_gamma_one_sums_the_future_rewards():
    np.testing.assert_allclose(discounted_returns(np.array([1.0, 2.0, 3.0]), 1.0), [6.0, 5.0, 3.0])


def test_empty_episode_has_no_returns():
    assert discounted_returns(np.zeros(0), 0.99).shape == (0,)


def test_normalise_by_hand():
    # mean 2, population std sqrt(2/3)
    out = normalise(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, np.array([-1.0, 0.0, 1.0]) / np.sqrt(2 / 3), rtol=1e-7)


def test_normalise_of_equal_returns_stays_finite():
    assert np.all(normalise(np.full(5, 7.0)) == 0.0)


def test_running_normaliser_starts_from_the_first_batch_and_moves_slowly():
    norm = RunningNormaliser(momentum=0.1, min_std=1.0)
    norm.update(np.array([10.0, 20.0]))  # mean 15, std 5
    assert (norm.mean, norm.std) == (15.0, 5.0)
    np.testing.assert_allclose(norm.normalise(np.array([20.0])), [1.0])
    norm.update(np.array([35.0, 35.0]))  # mean 35, std 0
    assert norm.mean == pytest.approx(17.0) and norm.std == pytest.approx(4.5)


def test_running_normaliser_round_trips_values():
    norm = RunningNormaliser()
    norm.update(np.array([1.0, 50.0, 99.0]))
    values = np.array([-1.0, 0.0, 2.5])
    np.testing.assert_allclose(norm.normalise(norm.denormalise(values)), values)


def test_gae_by_hand_stops_at_a_fall_and_restarts_after_an_end():
    rewards = np.array([[1.0], [1.0], [1.0], [1.0]])
    values = np.array([[10.0], [20.0], [30.0], [40.0]])
    next_values = np.array([[20.0], [30.0], [99.0], [50.0]])
    terminated = np.array([[False], [False], [True], [False]])
    ended = terminated.copy()
    gamma, lam = 0.5, 0.5
    advantages = gae_advantages(rewards, values, next_values, terminated, ended, gamma, lam)
    delta = [1 + 0.5 * 20 - 10, 1 + 0.5 * 30 - 20, 1 - 30, 1 + 0.5 * 50 - 40]  # no V after the fall
    a2 = delta[2]  # the fall: nothing of the next episode flows back into it
    a1 = delta[1] + 0.25 * a2
    a0 = delta[0] + 0.25 * a1
    np.testing.assert_allclose(advantages[:, 0], [a0, a1, a2, delta[3]])


@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_gae_of_several_envs_is_each_env_alone(lam):
    """The NumPy recursion over N envs and the plain-float one for one env give the same advantages."""
    rng = np.random.default_rng(5)
    shape = (50, 3)
    rewards, values, next_values = (rng.standard_normal(shape) for _ in range(3))
    terminated = rng.random(shape) < 0.1
    ended = terminated | (rng.random(shape) < 0.05)
    together = gae_advantages(rewards, values, next_values, terminated, ended, 0.99, lam)
    for i in range(3):
        column = slice(i, i + 1)
        alone = gae_advantages(rewards[:, column], values[:, column], next_values[:, column],
                               terminated[:, column], ended[:, column], 0.99, lam)
        np.testing.assert_allclose(alone, together[:, column], rtol=1e-12)


def test_gae_with_lambda_one_is_the_return_minus_the_value():
    rewards = np.array([[1.0], [2.0], [3.0]])
    values, next_values = np.array([[0.5], [1.5], [2.5]]), np.array([[1.5], [2.5], [4.0]])
    nothing = np.zeros((3, 1), dtype=bool)
    advantages = gae_advantages(rewards, values, next_values, nothing, nothing, 0.9, 1.0)
    returns = discounted_returns(rewards[:, 0], 0.9, bootstrap=4.0)  # bootstrapped at the rollout's end
    np.testing.assert_allclose(advantages[:, 0], returns - values[:, 0])
