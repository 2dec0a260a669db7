"""The TUI's pure parts: the braille CartPole, setting parsing, chart thinning, history, snapshots."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ac_play import checkpoint
from ac_play.cartpole import Track
from ac_play.config import TrainConfig
from ac_play.errors import AcPlayError
from ac_play.snapshot import Snapshot
from ac_play.tui.cartpole_text import BRAILLE_BASE, BrailleCanvas, draw_cartpole
from ac_play.tui.charts import round_ticks, thin
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


def test_thin_keeps_the_first_value_and_at_most_the_limit():
    values = list(range(1000))
    assert thin(values, 400)[0] == 0 and len(thin(values, 400)) <= 400
    assert thin(values[:10], 400) == values[:10]


def test_round_ticks_step_by_one_two_or_five_times_a_power_of_ten():
    assert round_ticks(498.75) == [0, 100, 200, 300, 400]
    assert round_ticks(210) == [0, 50, 100, 150, 200]
    assert round_ticks(26.25) == [0, 10, 20]


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
    assert {p.name for p in run.iterdir()} == {"config.json", "metrics.jsonl", "best.npz", "final.npz"}
    assert [json.loads(line)["episode"] for line in (run / "metrics.jsonl").open()] == [1, 2, 3, 4]
    assert checkpoint.load(final).meta["progress"]["episode"] == 4


def test_the_tui_never_imports_pygame():
    code = "import sys, ac_play.tui.app, ac_play.tui.bench; print('pygame' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
