"""What the training TUI draws, read off the screen: the help box, the charts, the log's episode
numbers and the braille CartPole."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
from test_tui import make_app, pilot_test, press, wait_for
from textual.app import App, ComposeResult

from ac_play import checkpoint
from ac_play.config import TrainConfig
from ac_play.tui.app import TrainApp
from ac_play.tui.cartpole_panel import FRAMES_PER_SECOND, TRAINING_FRAMES_PER_SECOND, CartPolePanel
from ac_play.tui.charts import ReturnChart
from ac_play.tui.session import TrainingSession
from ac_play.tui.widgets import EventLog, StatsPanel

BLANK = f" {chr(0x2800)}"  # a space or an empty braille cell
FIRST_HELP_LINE = "What you are watching"
LAST_HELP_LINE = "every action in the command palette"
CLOSE_HINT = "Esc or ?"


def screen_lines(app: App) -> list[str]:
    """The terminal's rows as the user sees them, every layer composed."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def on_screen(app: App, text: str) -> bool:
    return any(text in line for line in screen_lines(app))


def shown_episode(app: TrainApp) -> int:
    """The episode counter of the stats panel, read from its text."""
    return int(re.search(r"episode ([\d,]+)", str(app.query_one(StatsPanel).render()))[1].replace(",", ""))


def log_entries(app: TrainApp) -> list[tuple[int, str]]:
    """(episode stamp, text) per log entry; wrapped lines are joined to their entry."""
    entries: list[tuple[int, str]] = []
    for line in app.query_one(EventLog).text().splitlines():
        stamped = re.match(r"ep (\d+) (.*)", line)
        if stamped:
            entries.append((int(stamped[1]), stamped[2]))
        elif entries:
            entries[-1] = (entries[-1][0], f"{entries[-1][1]} {line}")
    return entries


def entry(app: TrainApp, start: str) -> tuple[int, str]:
    return next(e for e in log_entries(app) if e[1].startswith(start))


def has_entry(app: TrainApp, start: str) -> bool:
    return any(text.startswith(start) for _, text in log_entries(app))


# -- the help screen -----------------------------------------------------------------------

@pilot_test
async def test_help_at_80x24_scrolls_to_its_end_and_back_with_the_close_hint_always_in_sight(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert on_screen(app, FIRST_HELP_LINE) and not on_screen(app, LAST_HELP_LINE)
        assert on_screen(app, CLOSE_HINT)
        await pilot.press("end")
        assert on_screen(app, LAST_HELP_LINE) and not on_screen(app, FIRST_HELP_LINE)
        assert on_screen(app, CLOSE_HINT)
        await pilot.press("home")
        assert on_screen(app, FIRST_HELP_LINE) and on_screen(app, CLOSE_HINT)
        seen = set(screen_lines(app))
        await pilot.press("pagedown")
        after_page = set(screen_lines(app))
        assert after_page - seen and on_screen(app, CLOSE_HINT)
        await pilot.press("down", "down")
        assert set(screen_lines(app)) != after_page and on_screen(app, CLOSE_HINT)
        await pilot.press("pageup", "up", "up")
        assert on_screen(app, FIRST_HELP_LINE) and on_screen(app, CLOSE_HINT)


@pytest.mark.parametrize("key", ["escape", "question_mark"])
@pilot_test
async def test_help_closes_with_esc_or_question_mark_after_scrolling(tmp_path, key):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark", "end", key)
        assert not on_screen(app, LAST_HELP_LINE) and not on_screen(app, CLOSE_HINT)
        assert app.screen.query("#settings")


# -- the charts ----------------------------------------------------------------------------

def last_plotted(chart: ReturnChart) -> float | None:
    """The newest episode handed to plotext for drawing (None before anything was)."""
    return max((x for series in chart.plt.monitor.x for x in series), default=None)


def axis_labels(chart: ReturnChart) -> tuple[list[str], list[str]]:
    """The chart's y labels (left of the axis) and x labels (under it), as drawn."""
    lines = str(chart.render()).splitlines()
    y_labels = [m[1] for line in lines if (m := re.match(r"\s*(-?[\d.e+-]+)[┤├]", line))]
    x_line = next(line for line in reversed(lines) if re.search(r"\d", line))
    return y_labels, x_line.split()


def evenly_spaced_round(labels: list[str]) -> bool:
    values = np.sort([float(label) for label in labels])
    steps = np.diff(values)
    mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    return bool(np.allclose(steps, steps[0]) and any(np.isclose(mantissa, m) for m in (1, 2, 5)))


@pilot_test
async def test_the_chart_always_ends_at_the_episode_the_counter_shows(tmp_path):
    app = make_app(tmp_path, episodes=300)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.query_one(ReturnChart)
        await press(app, "space")
        compared = 0
        while app.state != "finished":
            episode = shown_episode(app)
            if episode:
                assert last_plotted(chart) == episode
                compared += 1
            await asyncio.sleep(0.01)
        assert compared >= 5
        assert shown_episode(app) == 300 and last_plotted(chart) == 300
        y_labels, x_labels = axis_labels(chart)
        assert all(label.isdigit() for label in x_labels) and evenly_spaced_round(x_labels)
        assert evenly_spaced_round(y_labels)
        await pilot.pause()


class OneChart(App):
    """A return chart alone, fed made-up episodes."""

    def __init__(self, threshold: float | None, returns: list[float]):
        super().__init__()
        self.threshold, self.returns = threshold, returns

    def compose(self) -> ComposeResult:
        yield ReturnChart(self.threshold)

    def on_mount(self) -> None:
        chart = self.query_one(ReturnChart)
        for episode, episode_return in enumerate(self.returns, start=1):
            chart.add(episode, episode_return, episode_return)
        chart.replot()


RETURN_SERIES = {
    "cartpole": (475.0, [float(9 + 3 * i) for i in range(142)]),
    "acrobot": (-100.0, [-500.0 + 2.9 * i for i in range(39)]),
    "tiny": (None, [0.07143 + 0.001 * np.sin(i) for i in range(60)]),
    "constant": (None, [200.0] * 50),
    "zeros": (None, [0.0] * 7),
    "negative noise": (None, [-8.912 + 0.3 * np.cos(i) for i in range(25)]),
    "huge": (None, [1e6 * (1 + i) for i in range(500)]),
    "one episode": (195.0, [17.0]),
}


@pytest.mark.parametrize("name", RETURN_SERIES)
@pilot_test
async def test_chart_labels_are_whole_episodes_and_round_evenly_spaced_values(name):
    threshold, returns = RETURN_SERIES[name]
    app = OneChart(threshold, returns)
    async with app.run_test(size=(90, 24)) as pilot:
        await pilot.pause()
        y_labels, x_labels = axis_labels(app.query_one(ReturnChart))
        assert len(y_labels) >= 2 and evenly_spaced_round(y_labels), y_labels
        assert x_labels and all(label.isdigit() for label in x_labels), x_labels
        assert len(x_labels) == 1 or evenly_spaced_round(x_labels), x_labels
        y_values = [float(label) for label in y_labels]
        assert min(y_values) <= min(returns) and max(y_values) >= max(returns)  # every return in sight


@pilot_test
async def test_a_critic_loss_of_a_hundred_with_a_tenth_of_noise_draws_flat(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        spark = app.query_one("#spark-critic_loss")
        for i in range(120):
            spark.add(100 + 0.1 * (-1) ** i)
        spark.show()
        await pilot.pause()
        row = next(line for line in screen_lines(app) if " actor " in line)  # actor's and critic's sparks
        bars = {char for char in row.split(" critic ", 1)[1] if char in "▁▂▃▄▅▆▇█"}
        assert len(bars) == 1, row  # one height all along: flat


# -- the log's episode numbers -------------------------------------------------------------

@pilot_test
async def test_the_solved_entry_carries_the_episode_the_panel_says_it_solved_at(tmp_path):
    # CartPole-v0 solves in about 270 episodes here; the budget keeps training past it
    app = make_app(tmp_path, env_id="CartPole-v0", seed=0, episodes=2000)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: has_entry(app, "SOLVED"), timeout=60)
        solved_at = app.query_one(StatsPanel).solved_at
        assert f"SOLVED at episode {solved_at}" in str(app.query_one(StatsPanel).render())
        assert entry(app, "SOLVED")[0] == solved_at


@pilot_test
async def test_the_paused_entry_carries_the_episode_the_panel_stopped_at(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: shown_episode(app) >= 50)
        await press(app, "space")
        await wait_for(pilot, lambda: has_entry(app, "paused"))
        await asyncio.sleep(0.5)  # any update still in flight has landed by now
        assert entry(app, "paused")[0] == shown_episode(app) == app.session.trainer.progress.episode


@pilot_test
async def test_an_evaluation_is_logged_under_the_episode_of_the_policy_it_scored(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: shown_episode(app) >= 30)
        await press(app, "e")
        await wait_for(pilot, lambda: has_entry(app, "evaluation"), timeout=60)
        started, result = entry(app, "evaluating"), entry(app, "evaluation")
        assert started[0] == result[0] >= 30


@pilot_test
async def test_a_save_while_training_is_logged_under_the_episode_it_saved(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: shown_episode(app) >= 30)
        await press(app, "s")
        await wait_for(pilot, lambda: has_entry(app, "checkpoint saved"))
        saved = checkpoint.load(tmp_path / "run" / "checkpoint-001.npz")
        assert entry(app, "checkpoint saved")[0] == saved.meta["progress"]["episode"] >= 30


# -- the braille CartPole ------------------------------------------------------------------

def drawn_rows(panel: CartPolePanel) -> int:
    return sum(1 for y in range(panel.size.height) if panel.render_line(y).text.strip(BLANK))


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 50)])
@pilot_test
async def test_the_cartpole_drawing_spans_most_of_its_panel(tmp_path, size):
    app = TrainApp(TrainingSession(TrainConfig(hidden=8), None, tmp_path / "run"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        panel = app.query_one(CartPolePanel)
        assert panel.size.height >= 4
        assert drawn_rows(panel) >= 0.75 * panel.size.height, (drawn_rows(panel), panel.size)


@pilot_test
async def test_the_cartpole_plays_at_fewer_frames_while_training_and_at_full_rate_after(tmp_path):
    app = make_app(tmp_path, episodes=200)  # a second or two of training, at least the 0.05 s press waits
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(CartPolePanel)
        await press(app, "space")
        assert app.state == "training"
        assert panel.frames_per_second == TRAINING_FRAMES_PER_SECOND < FRAMES_PER_SECOND
        title = panel.border_title
        await wait_for(pilot, lambda: panel.border_title != title)  # it plays while training
        await wait_for(pilot, lambda: app.state == "finished")
        assert panel.frames_per_second == FRAMES_PER_SECOND
        title = panel.border_title
        await wait_for(pilot, lambda: panel.border_title != title)  # and after, the newest policy
        await pilot.press("q")


@pilot_test
@pytest.mark.parametrize("envs", [16, 64])
async def test_the_settings_panel_shows_the_envs_and_update_in_force_uncut_at_80x24(tmp_path, envs):
    app = TrainApp(TrainingSession(TrainConfig(envs=envs), None, tmp_path / "run"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert on_screen(app, f"envs {envs}  hidden 128") and on_screen(app, "CartPole-v1  seed 0")
        assert on_screen(app, "─ settings · rollout ─")
        await pilot.press("q")
