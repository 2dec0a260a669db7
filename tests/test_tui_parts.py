"""The TUI's pure parts: the braille CartPole, setting parsing, chart thinning, history, snapshots."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest

from ac_play import checkpoint
from ac_play.cartpole import CART_HEIGHT, CART_WIDTH, Track
from ac_play.config import TrainConfig
from ac_play.errors import AcPlayError
from ac_play.scales import nice_ticks, tick_labels
from ac_play.snapshot import Snapshot
from ac_play.tui.bench import headless_seconds, tui_run
from ac_play.tui.cartpole_text import BRAILLE_BASE, BrailleCanvas, draw_cartpole
from ac_play.tui.charts import SPARK_BARS, buckets, spark_bars, thin
from ac_play.tui.session import TrainingSession, load_history
from ac_play.tui.widgets import parse_setting

TRACK = Track(x_threshold=2.4, theta_threshold_radians=0.21, length=0.5, tau=0.02, max_episode_steps=500)
"""CartPole-v1's constants: a track from -2.4 m to 2.4 m and a 1 m pole."""


def dots(rows: list[str]) -> set[tuple[int, int]]:
    """(x, y) of every raised dot, y counted from the bottom, decoded back from braille."""
    bits = {0x01: (0, 0), 0x02: (0, 1), 0x04: (0, 2), 0x40: (0, 3), 0x08: (1, 0), 0x10: (1, 1), 0x20: (1, 2),
            0x80: (1, 3)}
    height = 4 * len(rows)
    raised = set()
    for r, row in enumerate(rows):
        for c, char in enumerate(row):
            for bit, (dx, dy) in bits.items():
                if (ord(char) - BRAILLE_BASE) & bit:
                    raised.add((2 * c + dx, height - 1 - (4 * r + dy)))
    return raised


def test_canvas_puts_the_bottom_left_dot_in_the_last_row_first_column():
    canvas = BrailleCanvas(2, 2)
    canvas.dot(0, 0)
    assert canvas.rows() == [chr(BRAILLE_BASE) * 2, chr(BRAILLE_BASE + 0x40) + chr(BRAILLE_BASE)]


def test_an_upright_pole_stands_straight_above_the_cart_centre():
    raised = dots(draw_cartpole(0.0, 0.0, 30, 6, TRACK))
    top = max(y for _, y in raised)
    tip_xs = {x for x, y in raised if y == top}
    assert tip_xs <= {29, 30}  # the middle of 60 dots, two dots wide


def test_a_pole_leaning_right_has_its_tip_right_of_the_cart():
    raised = dots(draw_cartpole(0.0, 0.2, 30, 6, TRACK))
    top = max(y for _, y in raised)
    assert min(x for x, y in raised if y == top) > 31


@pytest.mark.parametrize(("width", "height"), [(28, 4), (34, 20), (54, 36), (60, 8)])
def test_the_upright_pole_fills_the_panel_height_with_the_cart_drawn_to_scale(width, height):
    rows = draw_cartpole(0.0, 0.0, width, height, TRACK)
    used = [r for r, row in enumerate(rows) if row.strip(chr(BRAILLE_BASE))]
    assert len(used) >= 0.8 * height  # the drawing is as tall as the panel allows
    raised = dots(rows)
    cart = [(x, y) for x, y in raised if y == 2]
    cart_width = max(x for x, _ in cart) - min(x for x, _ in cart)
    pole = [x for x, y in raised if y > 3 + cart_width * CART_HEIGHT / CART_WIDTH]
    cart_height = max(y for x, y in raised if x == min(x for x, _ in cart))
    assert cart_width / cart_height == pytest.approx(CART_WIDTH / CART_HEIGHT, rel=0.3)  # square dots
    assert cart_width <= 2 * width / 3 + 1 and pole  # room to travel, and a pole above the cart


@pytest.mark.parametrize("width", [30, 34, 60])
def test_at_a_limit_the_cart_touches_the_end_of_the_track(width):
    for side, end in ((-1, 0), (1, 2 * width - 1)):
        raised = dots(draw_cartpole(side * TRACK.x_threshold, 0.0, width, 20, TRACK))
        cart_xs = [x for x, y in raised if y == 2]
        assert end in cart_xs


def test_the_cart_moves_with_x_and_the_track_spans_the_limits():
    left = dots(draw_cartpole(-2.0, 0.0, 30, 6, TRACK))
    right = dots(draw_cartpole(2.0, 0.0, 30, 6, TRACK))
    assert {(0, 0), (59, 0)} <= left  # the track: -x_threshold to +x_threshold
    cart_left = np.mean([x for x, y in left if y == 2])
    cart_right = np.mean([x for x, y in right if y == 2])
    assert cart_left < 15 < 45 < cart_right


def test_parse_setting_accepts_numbers_and_explains_refusals():
    assert parse_setting("lr", " 0.01 ") == 0.01
    with pytest.raises(AcPlayError, match="'fast' is not a number"):
        parse_setting("lr", "fast")
    with pytest.raises(AcPlayError, match=r"^gamma must be in \(0, 1\], not 1.5"):
        parse_setting("gamma", "1.5")
    with pytest.raises(AcPlayError, match="entropy must be zero or positive"):
        parse_setting("entropy", "-1")


@pytest.mark.parametrize("count", [1, 2, 399, 400, 401, 1000, 1001, 99_999])
def test_thin_keeps_the_first_and_the_newest_value_and_about_the_limit(count):
    values = list(range(1, count + 1))
    kept = thin(values, 400)
    assert kept[0] == 1 and kept[-1] == count  # the chart ends at the newest episode
    assert len(kept) <= 401 and kept == sorted(set(kept))
    assert thin(values[:10], 400) == values[:10]


def is_round_step(step: float) -> bool:
    """1, 2 or 5 times a power of ten."""
    mantissa = step / 10 ** np.floor(np.log10(step))
    return any(np.isclose(mantissa, m) for m in (1, 2, 5, 10))


RANGES = [(0, 498.75), (0, 210), (0, 26.25), (0, 1), (0.0712, 0.07143), (-8.912, 3.1), (-500, -60),
          (-500, 0), (1, 142), (1, 3), (1, 1), (0, 0), (100, 100), (99.9, 100.1), (-1e-9, 1e-9),
          (3e6, 7.7e6), (1, 123_456), (-0.004, 0.0), (475, 475), (12.5, 12.5000001)]


@pytest.mark.parametrize(("low", "high"), RANGES)
def test_nice_ticks_are_round_evenly_spaced_and_cover_the_range(low, high):
    ticks = nice_ticks(low, high)
    steps = np.diff(ticks)
    assert ticks[0] <= low and ticks[-1] >= high
    assert 2 <= len(ticks) <= 12
    assert np.allclose(steps, steps[0]) and is_round_step(steps[0])
    assert all(np.isclose(t / steps[0], round(t / steps[0])) for t in ticks)  # multiples of the step
    labels = tick_labels(ticks)
    assert [float(label) for label in labels] == pytest.approx(ticks)
    assert all(len(label) <= 9 for label in labels), labels  # no 0.07143000001 or 1.0000000000000002


@pytest.mark.parametrize(("first", "last"), [(1, 1), (1, 3), (1, 39), (1, 142), (40, 300), (1, 100_000)])
def test_episode_ticks_are_whole_numbers(first, last):
    ticks = nice_ticks(first, last, whole=True)
    labels = tick_labels(ticks)
    assert all(label.lstrip("-").isdigit() for label in labels), labels
    assert ticks[0] <= first and ticks[-1] >= last and np.diff(ticks).min() >= 1


def test_tick_labels_carry_the_decimals_the_step_needs():
    assert tick_labels(nice_ticks(0, 498.75)) == ["0", "100", "200", "300", "400", "500"]
    assert tick_labels(nice_ticks(0, 1)) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert tick_labels(nice_ticks(-500, -60)) == ["-500", "-400", "-300", "-200", "-100", "0"]


def test_a_constant_series_draws_flat_at_half_height():
    assert set(spark_bars([100.0] * 30, 30)) == {SPARK_BARS[3]}
    assert set(spark_bars([0.0] * 30, 30)) == {SPARK_BARS[3]}
    assert set(spark_bars([-3.0] * 30, 30)) == {SPARK_BARS[3]}


def test_noise_of_a_tenth_on_a_hundred_draws_flat():
    noisy = [100 + 0.1 * (-1) ** i for i in range(40)]
    bars = spark_bars(noisy, 40)
    assert set(bars) == {SPARK_BARS[3]}  # flat, not the full height


def test_a_real_trend_still_spans_the_whole_height():
    falling = [1.0 / (1 + i) for i in range(40)]
    bars = spark_bars(falling, 40)
    assert bars[0] == SPARK_BARS[-1] and bars[-1] == SPARK_BARS[0]


def test_buckets_average_runs_to_fit_the_width():
    assert buckets([1, 2, 3], 10) == [1, 2, 3]
    assert buckets(list(range(120)), 20) == [i * 6 + 2.5 for i in range(20)]
    assert len(spark_bars(buckets(list(range(120)), 17), 17)) == 17


def test_history_is_read_beside_the_checkpoint_and_survives_a_torn_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"episode": 1}\n{"episode": 2}\n{"episo')
    assert load_history(tmp_path / "final.npz") == [{"episode": 1}, {"episode": 2}]
    assert load_history(tmp_path / "elsewhere" / "x.npz") == []


def test_a_snapshot_is_a_copy_that_later_updates_do_not_touch(tmp_path):
    session = TrainingSession(TrainConfig(hidden=8, episodes=3), None, tmp_path / "run")
    before = Snapshot.of(session.trainer)
    session.trainer.run_update()
    assert not np.array_equal(before.params["W1"], session.trainer.agent.params["W1"])
    assert before.progress.episode == 0
    saved = checkpoint.load(before.save(tmp_path / "before.npz"))
    assert np.array_equal(saved.agent.params["W1"], before.params["W1"])
    assert saved.meta["progress"]["episode"] == 0


def test_session_writes_the_same_run_folder_as_headless(tmp_path):
    session = TrainingSession(TrainConfig(hidden=8, episodes=4), None, tmp_path / "run")
    for stats in session.trainer.episodes():
        session.record(stats)
    final = session.finish()
    assert session.finish() is None  # a second call does nothing
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {"config.json", "metrics.jsonl", "best.npz", "final.npz", "history.npz"}
    assert [json.loads(line)["episode"] for line in (run / "metrics.jsonl").open()] == [1, 2, 3, 4]
    assert checkpoint.load(final).meta["progress"]["episode"] == 4


def test_bench_times_the_tui_on_the_same_work_as_headless_up_to_the_end_of_training(tmp_path):
    config = dict(hidden=16, seed=1, episodes=30, envs=1)
    _, steps = headless_seconds(TrainConfig(**config), tmp_path / "headless")
    result = asyncio.run(tui_run(TrainConfig(**config), tmp_path / "tui", probe=False))
    assert result["env_steps"] == steps
    assert result["seconds"] > 0
    episodes = [json.loads(line)["episode"] for line in (tmp_path / "tui" / "metrics.jsonl").open()]
    assert episodes == list(range(1, 31))


def test_the_tui_never_imports_pygame():
    code = "import sys, ac_play.tui.app, ac_play.tui.bench; print('pygame' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_the_return_chart_reads_plotext_colours_as_rich_does():
    from plotext._figure import _figure_class
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text

    from ac_play.tui.charts import ansi_strips

    figure = _figure_class()
    figure.plotsize(60, 16)
    figure.scatter(list(range(50)), [(7 * i) % 31 for i in range(50)], marker="dot", color="blue")
    figure.plot(list(range(50)), [i / 2 for i in range(50)], marker="braille", color="green")
    figure.hline(20, "red")
    output = figure.build()
    base = Style(bgcolor="black")
    expected = Text.from_ansi(output)
    assert len(expected.spans) > 20  # colours of all three series and the axes
    lines = expected.split("\n")
    rendered = [[(s.text, base + s.style if s.style else base) for s in line.render(Console())] for line in lines]
    strips = ansi_strips(output, base, 60)
    assert len(strips) == len(rendered) == 16
    assert all(strip.cell_length == 60 for strip in strips)
    assert [[(s.text, s.style) for s in strip] for strip in strips] == rendered
