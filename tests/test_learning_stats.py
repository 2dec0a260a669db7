"""What an update did inside the network: per-layer gradient norms, dead ReLUs, the update's size."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import run_cli

from ac_play.agent import PARAM_NAMES, ActorCritic
from ac_play.config import TrainConfig
from ac_play.learning_stats import dead_fraction, gradient_norms, squared_norms, update_size
from ac_play.training import Trainer

GRADIENT_FIELDS = [f"grad_{name}" for name in PARAM_NAMES]


def hand_made_agent() -> ActorCritic:
    """2 inputs, 4 hidden units, 2 actions, with a shared layer whose activity is easy to follow."""
    agent = ActorCritic.create(obs_dim=2, n_actions=2, hidden=4, seed=0)
    agent.params["W1"] = np.array([[1.0, -1.0, 0.0, 1.0], [0.0, 0.0, 0.0, -1.0]])
    agent.params["b1"] = np.array([0.0, 0.0, -1.0, 0.5])
    return agent


def dead_units_on(agent: ActorCritic, obs: list[list[float]]) -> float:
    obs = np.array(obs)
    terms, _ = agent.loss_terms_and_grads(obs, np.zeros(len(obs), dtype=int), np.zeros(len(obs)))
    return terms.dead_units


def test_a_unit_is_dead_only_when_it_is_zero_on_every_row():
    agent = hand_made_agent()
    # z = obs W1 + b1: rows (1, -1, -1, 1.5) and (2, -2, -1, 1.5); units 2 and 3 never fire
    assert dead_units_on(agent, [[1, 0], [2, 1]]) == 0.5
    # a row with a negative first input lights unit 2 (z = 1) and leaves unit 1 at -1: only unit 3 is dead
    assert dead_units_on(agent, [[1, 0], [2, 1], [-1, 0]]) == 0.25


def test_dead_fraction_of_an_activity_mask():
    active = np.array([[True, False, False], [False, False, True]])
    assert dead_fraction(active) == pytest.approx(1 / 3)
    assert dead_fraction(np.zeros((0, 3), dtype=bool)) == 0.0


def test_gradient_norms_are_each_layers_length():
    agent = ActorCritic.create(obs_dim=4, n_actions=2, hidden=8, seed=1)
    rng = np.random.default_rng(1)
    _, grads = agent.loss_and_grads(rng.standard_normal((16, 4)), rng.integers(0, 2, 16), rng.standard_normal(16))
    norms = gradient_norms(squared_norms(grads))
    assert sorted(norms) == sorted(GRADIENT_FIELDS)
    for name in PARAM_NAMES:
        assert norms[f"grad_{name}"] == pytest.approx(np.linalg.norm(grads[name].ravel()), rel=1e-12)


def test_update_size_is_the_change_over_the_new_length():
    before = {"W": np.array([3.0, 1.0]), "b": np.array([0.0])}
    after = {"W": np.array([3.0, 4.0]), "b": np.array([0.0])}
    assert update_size(before, after) == pytest.approx(3 / 5)  # |(0, 3, 0)| / |(3, 4, 0)|
    assert update_size(after, after) == 0.0
    zeros = {"W": np.zeros(2)}
    assert update_size(zeros, zeros) == 0.0


def test_one_step_update_reports_norms_before_clipping_and_the_step_it_took():
    # the episode update takes exactly one optimiser step, so its statistics are that step's own
    config = TrainConfig(seed=2, hidden=16, envs=1, update="episode", episodes=3, max_grad_norm=1e-3)
    trainer = Trainer(config)
    before = {name: array.copy() for name, array in trainer.agent.params.items()}
    [stats] = trainer.run_update()
    squares = sum(getattr(stats, field) ** 2 for field in GRADIENT_FIELDS)
    assert math.sqrt(squares) == pytest.approx(stats.grad_norm, rel=1e-9)
    assert stats.grad_norm > 10 * config.max_grad_norm  # the norms are the unclipped ones
    assert stats.update_size == pytest.approx(update_size(before, trainer.agent.params), rel=1e-12)
    assert 0 < stats.update_size < 1
    assert 0 <= stats.dead_units < 1


def test_rollout_update_reports_the_mean_over_its_minibatch_steps():
    config = TrainConfig(seed=0, hidden=16, envs=4, episodes=5)
    trainer = Trainer(config)
    stats = trainer.run_update()
    assert stats, "a rollout of 1,024 steps finishes episodes"
    values = [[getattr(s, field) for field in (*GRADIENT_FIELDS, "dead_units", "update_size")] for s in stats]
    assert all(row == values[0] for row in values)  # one update: its episodes share its numbers
    assert all(np.isfinite(values[0])) and min(values[0][:6]) > 0
    # each step's global norm is at least each layer's, so their means keep that order
    assert all(stats[0].grad_norm >= getattr(stats[0], field) for field in GRADIENT_FIELDS)


def test_headless_json_and_metrics_lines_carry_the_gradient_statistics(tmp_path):
    result = run_cli("train", "--headless", "--json", "--update", "episode", "--envs", "1", "--episodes", "3",
                     "--hidden", "8", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()[:-1]]
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    for line in printed + logged:
        assert all(line[field] > 0 for field in GRADIENT_FIELDS)
        assert 0 <= line["dead_units"] <= 1 and line["update_size"] > 0
    assert [line["grad_W1"] for line in printed] == [line["grad_W1"] for line in logged]
