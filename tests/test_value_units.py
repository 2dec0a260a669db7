"""The critic's value means the same number everywhere: return units as `watch` shows them, or marked normalised."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pygame
import pytest

from ac_play.config import TrainConfig
from ac_play.returns import RunningNormaliser, ValueScale
from ac_play.tui.app import TrainApp
from ac_play.tui.cartpole_panel import CartPolePanel
from ac_play.tui.session import TrainingSession
from ac_play.window import draw, human_screens, scores
from ac_play.window.human import COUNTDOWN_MS, Game, make_game
from ac_play.window.human_screens import draw_game, scene_for, window_size
from ac_play.window.playthrough import Playthrough


def watch_value(snapshot, seed: int) -> float:
    """What `watch` shows as the critic's value of the first state of an episode from `seed`."""
    play = Playthrough(snapshot, seed=seed)
    try:
        return play.value
    finally:
        play.close()


# the human game


@pytest.fixture
def human_window(display, tmp_path, monkeypatch):
    monkeypatch.setenv(scores.DATA_DIR_VARIABLE, str(tmp_path))
    return pygame.display.set_mode(window_size(solo=False))


def started_game(seed: int):
    """`ac-play human` against the bundled agent, at the first state of its first round."""
    game = make_game(None, seed=seed, name="ada")
    game.new_round()
    game.update(COUNTDOWN_MS)
    return game


def test_human_game_values_are_the_ones_watch_shows_for_the_same_state(human_window, bundled_snapshot):
    game = started_game(seed=3)
    expected = watch_value(bundled_snapshot, seed=3)
    assert expected > 50  # return units: about 1 / (1 - gamma) for a balanced pole, not a normalised ~1
    for side in (game.player, game.opponent):
        scene = scene_for(side, game, human=side is game.player)
        assert scene.value == pytest.approx(expected)
        assert scene.values[-1] == pytest.approx(expected)
        assert scene.value_units == "return"
    game.close_round()


def test_human_game_draws_the_value_in_return_units(human_window, bundled_snapshot):
    game = started_game(seed=3)
    draw_game(human_window, game)
    player_rect = human_screens.side_rects(human_window, 2)[0]
    chart = draw.layout(player_rect).chart
    size = draw.text_size(chart.inflate(0, chart.height))
    # the legend as watch would draw it for this state, and the unit label beside it
    legend = draw.text(f"critic V(s) {watch_value(bundled_snapshot, seed=3):.2f}", size, draw.VALUE_LINE, True)
    unit = draw.text("discounted return", size - 2, draw.DIM_TEXT)
    expected = human_window.copy()
    expected.fill(draw.PANEL, pygame.Rect(chart.topleft, legend.get_size()))
    expected.blit(legend, chart.topleft)
    unit_rect = unit.get_rect(topright=(chart.right, chart.y + 1))
    expected.fill(draw.PANEL, unit_rect)
    expected.blit(unit, unit_rect)
    for area in (pygame.Rect(chart.topleft, legend.get_size()), unit_rect):
        drawn = pygame.image.tobytes(human_window.subsurface(area), "RGB")
        assert drawn == pygame.image.tobytes(expected.subsurface(area), "RGB")
    game.close_round()


def test_human_game_without_normaliser_stats_labels_its_values_normalised(human_window, bundled):
    game = Game(bundled.agent, bundled.name, seed=3, value_scale=ValueScale())
    game.new_round()
    scene = scene_for(game.player, game, human=True)
    assert scene.value_units == "normalised"
    assert scene.value == pytest.approx(float(bundled.agent.forward(game.player.obs)[1][0]))
    game.close_round()


# the TUI's CartPole


def panel_value(app: TrainApp) -> tuple[float, str]:
    """The value in the CartPole panel's bottom border, and what follows it."""
    subtitle = str(app.query_one(CartPolePanel).border_subtitle)
    match = re.search(r"\bV (-?[\d.]+)(.*)$", subtitle)
    assert match, subtitle
    return float(match.group(1)), match.group(2).strip()


def run_app(app: TrainApp, check) -> None:
    async def drive():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            check(app)

    asyncio.run(drive())


def test_tui_shows_a_resumed_agents_value_in_return_units_as_watch_does(tmp_path, bundled_snapshot):
    config = dataclasses.replace(bundled_snapshot.config, episodes=bundled_snapshot.episode + 10)
    app = TrainApp(TrainingSession(config, bundled_snapshot, tmp_path / "run"))

    def check(app):
        value, unit = panel_value(app)
        assert unit == ""  # return units, the default, as in watch
        assert value == pytest.approx(watch_value(bundled_snapshot, seed=config.seed), abs=0.05)
        assert value > 50

    run_app(app, check)


def test_tui_marks_values_normalised_before_the_first_update(tmp_path):
    app = TrainApp(TrainingSession(TrainConfig(seed=0, hidden=32), None, tmp_path / "run"))

    def check(app):
        value, unit = panel_value(app)
        assert unit == "norm."
        panel = app.query_one(CartPolePanel)
        assert value == pytest.approx(float(panel.policy.agent.forward(panel.obs)[1][0]), abs=0.005)

    run_app(app, check)


def test_tui_marks_a_notebook_run_normalised_even_after_training(tmp_path, bundled_snapshot):
    # per-episode normalisation keeps no running statistics, so there is no way back to returns
    unseen = dataclasses.replace(bundled_snapshot, normaliser=RunningNormaliser())
    config = dataclasses.replace(bundled_snapshot.config, normalize="episode", episodes=bundled_snapshot.episode + 10)
    app = TrainApp(TrainingSession(config, unseen, tmp_path / "run"))

    def check(app):
        value, unit = panel_value(app)
        assert unit == "norm."
        assert value == pytest.approx(watch_value(unseen, seed=config.seed), abs=0.005)

    run_app(app, check)
