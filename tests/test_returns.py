"""Discounted returns, bootstrapping and normalisation against values worked out by hand."""

import numpy as np
import pytest

from ac_play.returns import RunningNormaliser, discounted_returns, normalise


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
