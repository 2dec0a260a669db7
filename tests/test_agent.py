"""The agent's maths: shapes, stable softmax, and hand-written gradients against finite differences."""

import subprocess
import sys

import numpy as np
import pytest

from ac_play.agent import COMPUTE_DTYPE, PARAM_NAMES, ActorCritic, input_gradients, log_softmax
from ac_play.optim import Adam
from ac_play.sampling import sample_actions


def random_batch(rng, batch, obs_dim, n_actions):
    obs = rng.standard_normal((batch, obs_dim))
    actions = rng.integers(n_actions, size=batch)
    returns = rng.standard_normal(batch) * 2.0  # some errors beyond the Huber delta
    return obs, actions, returns


def agent_with_random_params(obs_dim, n_actions, hidden, seed):
    agent = ActorCritic.create(obs_dim, n_actions, hidden, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for name, value in agent.params.items():
        agent.params[name] = rng.standard_normal(value.shape) * 0.5
    return agent


def test_forward_shapes_and_probabilities_sum_to_one():
    agent = ActorCritic.create(obs_dim=4, n_actions=2, hidden=128, seed=0)
    probs, values = agent.forward(np.zeros((7, 4)))
    assert probs.shape == (7, 2) and values.shape == (7,)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_params_have_the_documented_keys_and_shapes():
    agent = ActorCritic.create(obs_dim=6, n_actions=3, hidden=16, seed=0)
    shapes = {name: agent.params[name].shape for name in PARAM_NAMES}
    assert shapes == {"W1": (6, 16), "b1": (16,), "Wa": (16, 3), "ba": (3,), "Wc": (16, 1), "bc": (1,)}


def test_first_policy_is_near_uniform():
    agent = ActorCritic.create(obs_dim=4, n_actions=2, hidden=128, seed=3)
    probs, _ = agent.forward(np.random.default_rng(0).uniform(-0.05, 0.05, (100, 4)))
    assert np.abs(probs - 0.5).max() < 0.02


def test_log_softmax_is_stable_for_huge_logits():
    logp = log_softmax(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(np.exp(logp[1]), [0.5, 0.5])
    assert logp[0, 0] == 0.0


def test_same_seed_gives_same_weights_and_other_seed_does_not():
    a, b, c = (ActorCritic.create(4, 2, 8, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(a.params[k], b.params[k]) for k in PARAM_NAMES)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@pytest.mark.parametrize(
    "batch, obs_dim, n_actions, hidden, entropy, reduction",
    [
        (1, 4, 2, 1, 0.0, "mean"),
        (5, 4, 2, 8, 0.01, "mean"),
        (32, 6, 3, 16, 0.1, "mean"),
        (1, 3, 4, 5, 0.5, "mean"),
        (17, 2, 2, 1, 0.0, "mean"),
        (9, 4, 2, 8, 0.05, "sum"),
        (24, 6, 3, 4, 0.0, "sum"),
    ],
)
def test_gradients_match_central_finite_differences(batch, obs_dim, n_actions, hidden, entropy, reduction):
    rng = np.random.default_rng(batch * 1000 + hidden)
    agent = agent_with_random_params(obs_dim, n_actions, hidden, seed=batch + hidden)
    obs, actions, returns = random_batch(rng, batch, obs_dim, n_actions)
    # the advantage is a constant of the loss: hold it fixed while parameters move
    _, values = agent.forward(obs)
    advantages = returns - values
    kwargs = dict(advantages=advantages, entropy_coef=entropy, value_coef=0.5, reduction=reduction)
    assert_gradients_match_finite_differences(agent, obs, actions, returns, **kwargs)


@pytest.mark.parametrize("old_logp", [False, True])
def test_float32_batches_give_the_float64_gradients_to_float32_precision(old_logp):
    """The rollout update learns in float32 (COMPUTE_DTYPE); the parameters and the gradient stay float64."""
    rng = np.random.default_rng(11)
    agent = agent_with_random_params(4, 2, 16, seed=11)
    obs, actions, returns = random_batch(rng, 256, 4, 2)
    kwargs = dict(advantages=rng.standard_normal(256), entropy_coef=0.01)
    if old_logp:
        probs, _ = agent.forward(obs)
        kwargs["old_logp"] = np.log(probs[np.arange(256), actions]) + rng.uniform(-0.1, 0.1, size=256)
    terms, grads = agent.loss_terms_and_grads(obs, actions, returns, **kwargs)
    narrow = {k: v.astype(COMPUTE_DTYPE) for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    terms32, grads32 = agent.loss_terms_and_grads(
        obs.astype(COMPUTE_DTYPE), actions, returns.astype(COMPUTE_DTYPE), **{**kwargs, **narrow}
    )
    assert grads32.flat.dtype == np.float64 and agent.params.flat.dtype == np.float64
    assert np.abs(grads32.flat - grads.flat).max() < 1e-5 * np.abs(grads.flat).max()
    assert terms32.total == pytest.approx(terms.total, rel=1e-5)


def assert_gradients_match_finite_differences(agent, obs, actions, returns, **kwargs):
    """Every hand-written gradient of the loss within 1e-6 (relative) of central finite differences."""
    _, grads = agent.loss_and_grads(obs, actions, returns, **kwargs)
    for name in PARAM_NAMES:
        numeric = numeric_gradient(lambda: agent.loss_and_grads(obs, actions, returns, **kwargs)[0],
                                   agent.params[name])
        scale = max(np.abs(numeric).max(), np.abs(grads[name]).max(), 1e-8)
        relative_error = np.abs(numeric - grads[name]).max() / scale
        assert relative_error < 1e-6, f"{name}: relative error {relative_error:.2e}"


def numeric_gradient(loss, param, eps=1e-6):
    """Central finite differences of loss() with respect to every entry of param."""
    numeric = np.zeros_like(param)
    for index in np.ndindex(param.shape):
        saved = param[index]
        param[index] = saved + eps
        plus = loss()
        param[index] = saved - eps
        minus = loss()
        param[index] = saved
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric


@pytest.mark.parametrize(
    "batch, obs_dim, n_actions, hidden, entropy, clip",
    [(1, 4, 2, 3, 0.0, 0.2), (12, 4, 2, 8, 0.01, 0.2), (40, 6, 3, 16, 0.0, 0.1), (25, 3, 4, 5, 0.05, 0.3)],
)
def test_clipped_surrogate_gradients_match_central_finite_differences(batch, obs_dim, n_actions, hidden, entropy, clip):
    rng = np.random.default_rng(batch * 7 + hidden)
    agent = agent_with_random_params(obs_dim, n_actions, hidden, seed=batch * 3 + hidden)
    obs, actions, returns = random_batch(rng, batch, obs_dim, n_actions)
    probs, values = agent.forward(obs)
    logp_now = np.log(probs[np.arange(batch), actions])
    # old log-probabilities that put the ratios on both sides of the clip, none on its edge
    ratios = rng.choice([0.5, 0.95, 1.05, 1.6], size=batch) * rng.uniform(0.98, 1.02, size=batch)
    old_logp = logp_now - np.log(ratios)
    advantages = rng.standard_normal(batch)
    kwargs = dict(advantages=advantages, old_logp=old_logp, clip=clip, entropy_coef=entropy)
    assert_gradients_match_finite_differences(agent, obs, actions, returns, **kwargs)


def test_the_clipped_surrogate_at_ratio_one_is_the_policy_gradient():
    rng = np.random.default_rng(5)
    agent = agent_with_random_params(4, 2, 8, seed=5)
    obs, actions, returns = random_batch(rng, 30, 4, 2)
    probs, _ = agent.forward(obs)
    old_logp = np.log(probs[np.arange(30), actions])
    advantages = rng.standard_normal(30)
    # the losses differ (-logp * adv against -ratio * adv) but not their gradients
    _, plain_grads = agent.loss_and_grads(obs, actions, returns, advantages=advantages)
    _, clipped_grads = agent.loss_and_grads(obs, actions, returns, advantages=advantages, old_logp=old_logp)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(clipped_grads[name], plain_grads[name], rtol=1e-10, atol=1e-14)


def test_a_clipped_step_stops_pulling_once_the_ratio_is_past_the_clip():
    rng = np.random.default_rng(6)
    agent = agent_with_random_params(4, 2, 8, seed=6)
    obs, actions, returns = random_batch(rng, 10, 4, 2)
    probs, _ = agent.forward(obs)
    logp = np.log(probs[np.arange(10), actions])
    # every action already 1.5 times likelier than when taken, and every advantage positive
    kwargs = dict(advantages=np.ones(10), old_logp=logp - np.log(1.5), clip=0.2, value_coef=0.0)
    _, grads = agent.loss_and_grads(obs, actions, returns, **kwargs)
    assert all(not np.any(grads[name]) for name in ("Wa", "ba"))


def test_default_advantage_is_returns_minus_values():
    rng = np.random.default_rng(0)
    agent = agent_with_random_params(4, 2, 8, seed=0)
    obs, actions, returns = random_batch(rng, 10, 4, 2)
    _, values = agent.forward(obs)
    loss_default, grads_default = agent.loss_and_grads(obs, actions, returns)
    loss_explicit, grads_explicit = agent.loss_and_grads(obs, actions, returns, advantages=returns - values)
    assert loss_default == loss_explicit
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(grads_default[name], grads_explicit[name])


def test_actor_loss_does_not_move_the_critic_head():
    rng = np.random.default_rng(1)
    agent = agent_with_random_params(4, 2, 8, seed=1)
    obs, actions, returns = random_batch(rng, 10, 4, 2)
    _, grads = agent.loss_and_grads(obs, actions, returns, value_coef=0.0)
    assert not grads["Wc"].any() and not grads["bc"].any()
    assert grads["Wa"].any()


def test_loss_is_a_mean_so_repeating_the_batch_changes_nothing():
    rng = np.random.default_rng(2)
    agent = agent_with_random_params(4, 2, 8, seed=2)
    obs, actions, returns = random_batch(rng, 6, 4, 2)
    loss, grads = agent.loss_and_grads(obs, actions, returns)
    loss2, grads2 = agent.loss_and_grads(np.tile(obs, (3, 1)), np.tile(actions, 3), np.tile(returns, 3))
    assert loss == pytest.approx(loss2)
    np.testing.assert_allclose(grads["W1"], grads2["W1"], atol=1e-12)


def test_agent_module_imports_without_any_ui_library():
    code = (
        "import sys, ac_play.agent, ac_play.training, ac_play.checkpoint, ac_play.cli;"
        "bad = [m for m in ('pygame', 'textual', 'textual_plotext', 'rich') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_summed_loss_reported_is_the_one_differentiated():
    rng = np.random.default_rng(4)
    agent = agent_with_random_params(4, 2, 8, seed=4)
    obs, actions, returns = random_batch(rng, 12, 4, 2)
    mean_terms, mean_grads = agent.loss_terms_and_grads(obs, actions, returns)
    sum_terms, sum_grads = agent.loss_terms_and_grads(obs, actions, returns, reduction="sum")
    assert sum_terms.total == pytest.approx(12 * mean_terms.total)
    assert sum_terms.actor == pytest.approx(12 * mean_terms.actor)
    assert sum_terms.critic == pytest.approx(12 * mean_terms.critic)
    assert sum_terms.entropy == pytest.approx(mean_terms.entropy)  # a statistic of the policy, not a loss
    for name in PARAM_NAMES:
        np.testing.assert_allclose(sum_grads[name], 12 * mean_grads[name], rtol=1e-12, atol=1e-15)


def test_loss_options_are_keyword_only():
    rng = np.random.default_rng(5)
    agent = agent_with_random_params(4, 2, 8, seed=5)
    obs, actions, returns = random_batch(rng, 3, 4, 2)
    with pytest.raises(TypeError):
        agent.loss_terms_and_grads(obs, actions, returns, None, 0.01)


def test_greedy_acting_takes_the_most_probable_action_and_sampling_follows_the_probabilities():
    agent = agent_with_random_params(4, 3, 8, seed=6)
    obs = np.tile(np.random.default_rng(6).normal(size=(1, 4)), (20_000, 1))
    probs, _ = agent.forward(obs[:1])
    assert agent.act(obs[:5]).tolist() == [int(probs.argmax())] * 5
    counts = np.bincount(agent.act(obs, np.random.default_rng(0)), minlength=3) / len(obs)
    np.testing.assert_allclose(counts, probs[0], atol=0.015)


def test_the_per_row_policy_acts_as_the_batched_one():
    agent = agent_with_random_params(4, 2, 16, seed=7)
    rows = np.random.default_rng(7).normal(size=(200, 4))
    greedy = agent.row_policy()
    assert [greedy(row) for row in rows] == agent.act(rows).tolist()
    uniforms = iter(np.random.default_rng(8).random(200).tolist())
    sampled = agent.row_policy(lambda: next(uniforms))
    by_row = [sampled(row) for row in rows]
    np.testing.assert_array_equal(by_row, sample_actions(agent.forward(rows)[0], np.random.default_rng(8).random(200)))


@pytest.mark.parametrize("n_actions", [2, 3])
def test_the_rollout_policy_samples_as_act_does_and_sees_no_later_update(n_actions):
    agent = agent_with_random_params(4, n_actions, 16, seed=9)
    states = np.random.default_rng(9).normal(size=(50, 16, 4)).astype(COMPUTE_DTYPE)
    policy = agent.rollout_policy(np.random.default_rng(10))
    expected_rng = np.random.default_rng(10)
    expected = [agent.act(obs, expected_rng) for obs in states]
    agent.params.flat[:] = 0.0  # an update after the rollout began: the rollout plays on with its own weights
    played = [policy(obs) for obs in states]
    np.testing.assert_array_equal(played, expected)
    assert len({action for batch in played for action in batch.tolist()}) == n_actions


KINK_MARGIN = 1e-4
"""Closer than this to a ReLU's kink, a central difference of step 1e-6 could straddle it."""


def obs_away_from_kinks(agent, rng, batch, near=1e-3):
    """Random observations, each with one hidden unit just off its kink (near, but beyond the
    finite difference's reach) and none within KINK_MARGIN, where the derivative jumps."""
    w1, b1 = agent.params["W1"], agent.params["b1"]
    obs = rng.standard_normal((batch, agent.obs_dim))
    for row in range(batch):
        while True:
            unit = rng.integers(agent.hidden)
            # move along W1[:, unit] until that unit's input is `near` (either side)
            target = near * rng.choice([-1.0, 1.0])
            column = w1[:, unit]
            obs[row] += (target - (obs[row] @ column + b1[unit])) * column / (column @ column)
            if np.abs(obs[row] @ w1 + b1).min() > KINK_MARGIN:
                break
            obs[row] = rng.standard_normal(agent.obs_dim)
    return obs


@pytest.mark.parametrize("n_actions", [2, 3])
@pytest.mark.parametrize("obs_dim", [4, 6])
@pytest.mark.parametrize("hidden", [3, 16, 128])
@pytest.mark.parametrize("batch", [1, 7])
def test_input_gradients_match_central_finite_differences(batch, hidden, obs_dim, n_actions):
    agent = agent_with_random_params(obs_dim, n_actions, hidden, seed=batch * 31 + hidden + obs_dim + n_actions)
    rng = np.random.default_rng(hidden * 10 + batch)
    obs = obs_away_from_kinks(agent, rng, batch)
    actions = rng.integers(n_actions, size=batch)
    grads = input_gradients(agent, obs, actions)
    rows = np.arange(batch)

    def outputs():
        probs, values = agent.forward(obs)
        logits_diff = np.log(probs[:, -1]) - np.log(probs[:, 0])  # the normaliser cancels
        return {"logp": np.log(probs[rows, actions]), "logit_diff": logits_diff, "value": values}

    # each row's outputs depend on its own observation only, so d sum / d obs[i] is row i's gradient
    for name in ("logp", "logit_diff", "value"):
        numeric = numeric_gradient(lambda name=name: outputs()[name].sum(), obs)
        hand = getattr(grads, name)
        assert hand.shape == (batch, obs_dim)
        scale = max(np.abs(numeric).max(), np.abs(hand).max(), 1e-8)
        relative_error = np.abs(numeric - hand).max() / scale
        assert relative_error < 1e-6, f"{name}: relative error {relative_error:.2e}"


def test_input_gradients_carry_the_forward_pass_they_came_from():
    agent = agent_with_random_params(4, 2, 16, seed=9)
    obs = np.random.default_rng(9).standard_normal((5, 4))
    grads = input_gradients(agent, obs, np.zeros(5, dtype=int))
    probs, values = agent.forward(obs)
    np.testing.assert_allclose(grads.probs, probs)
    np.testing.assert_allclose(grads.values, values)
    np.testing.assert_array_equal(grads.hidden, np.maximum(obs @ agent.params["W1"] + agent.params["b1"], 0))


def test_parameters_live_in_one_flat_vector_and_assigning_a_name_fills_its_place():
    agent = ActorCritic.create(obs_dim=4, n_actions=2, hidden=8, seed=0)
    agent.params["Wc"] = np.full((8, 1), 3.0)
    assert np.count_nonzero(agent.params.flat == 3.0) == 8
    probs, values = agent.forward(np.ones((1, 4)))
    h = np.maximum(np.ones(4) @ agent.params["W1"] + agent.params["b1"], 0.0)
    assert values[0] == pytest.approx(3.0 * h.sum() + agent.params["bc"][0])


def test_an_agent_built_from_plain_arrays_copies_them_and_replaced_params_are_repacked():
    plain = {name: array.copy() for name, array in ActorCritic.create(4, 2, 8, seed=1).params.items()}
    agent = ActorCritic(plain)
    plain["W1"][...] = 0.0  # the agent holds its own copy
    assert agent.params["W1"].any()
    agent.params = {**plain}
    obs = np.random.default_rng(0).normal(size=(5, 4))
    h = np.maximum(obs @ plain["W1"] + plain["b1"], 0.0)
    np.testing.assert_allclose(agent.forward(obs)[1], (h @ plain["Wc"])[:, 0] + plain["bc"][0])


def test_adam_on_one_flat_vector_takes_the_steps_it_takes_array_by_array():
    flat_agent = agent_with_random_params(4, 2, 8, seed=3)
    plain_params = {name: array.copy() for name, array in flat_agent.params.items()}
    flat_adam, plain_adam = Adam(flat_agent.params, 0.01), Adam(plain_params, 0.01)
    rng = np.random.default_rng(3)
    for _ in range(3):
        obs, actions, returns = random_batch(rng, 16, 4, 2)
        _, grads = flat_agent.loss_and_grads(obs, actions, returns)
        flat_adam.step(flat_agent.params, grads)
        plain_adam.step(plain_params, {name: grad.copy() for name, grad in grads.items()})
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(flat_agent.params[name], plain_params[name])
        np.testing.assert_array_equal(flat_adam.m[name], plain_adam.m[name])
