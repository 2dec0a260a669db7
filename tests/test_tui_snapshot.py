"""The layout of the training TUI, compared with stored SVG snapshots (pytest-textual-snapshot).

The app is shown before training starts: fixed seed, a relative run folder, the terminal
CartPole frozen on its first frame, so nothing depends on timing. Update with
`pytest tests/test_tui_snapshot.py --snapshot-update` after an intended change, and look at it.
"""

from __future__ import annotations

import pytest

from ac_play.config import TrainConfig
from ac_play.training import Trainer
from ac_play.tui.app import TrainApp
from ac_play.tui.gradients import GradientPanel
from ac_play.tui.session import TrainingSession


def ready_app(tmp_path, monkeypatch) -> TrainApp:
    monkeypatch.chdir(tmp_path)  # the run folder shows as plain "run"
    return TrainApp(TrainingSession(TrainConfig(seed=0, hidden=32), None, "run"))


def test_layout_at_80x24_before_training(snap_compare, tmp_path, monkeypatch):
    assert snap_compare(ready_app(tmp_path, monkeypatch), terminal_size=(80, 24))


def test_help_screen_over_the_layout(snap_compare, tmp_path, monkeypatch):
    assert snap_compare(ready_app(tmp_path, monkeypatch), press=["question_mark"], terminal_size=(100, 34))


def trained_updates() -> list:
    """The statistics of a short run with a fixed seed: the same numbers on every machine."""
    return list(Trainer(TrainConfig(seed=0, hidden=32, episodes=150)).episodes())


@pytest.mark.parametrize("size", [(80, 24), (100, 32)], ids=["80x24", "100x32"])
def test_gradients_tab_after_a_short_run(snap_compare, tmp_path, monkeypatch, size):
    async def show_gradients(pilot):
        pilot.app.query_one(GradientPanel).add(trained_updates())
        await pilot.press("g")

    assert snap_compare(ready_app(tmp_path, monkeypatch), run_before=show_gradients, terminal_size=size)
