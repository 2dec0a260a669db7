"""`w` in the training TUI: the live window after training has ended, and without a display."""

from __future__ import annotations

import asyncio
import os

import pytest
from test_tui import SIZE, make_app, pilot_test, press, wait_for

from ac_play.config import TrainConfig
from ac_play.tui.app import TrainApp
from ac_play.tui.session import TrainingSession


def window_pid(app: TrainApp) -> int:
    return app.live.window.pid


def sent_state(app: TrainApp) -> str | None:
    """How the window was last told training stands: None while it trains, else "finished" or "stopped"."""
    return app.live.sent[1] if app.live.sent else "nothing sent"


@pilot_test
async def test_w_after_training_has_ended_opens_the_window_on_the_final_weights(tmp_path):
    app = make_app(tmp_path, episodes=3)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: app.state == "finished")
        await press(app, "w")
        await wait_for(pilot, lambda: app.live.window is not None, timeout=60)
        await wait_for(pilot, lambda: sent_state(app) == "finished")
        assert app.live.sent[0] is app.session.snapshot and app.session.snapshot.episode == 3
        await asyncio.sleep(1.0)
        assert app.live.window is not None and app.live.window.alive  # it plays on, training is over
        pid = window_pid(app)
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # quitting the TUI closes it


@pilot_test
async def test_the_open_window_is_told_each_time_training_ends(tmp_path):
    config = TrainConfig(hidden=16, seed=3, episodes=3)
    app = TrainApp(TrainingSession(config, None, tmp_path / "run"), open_window=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.live.window is not None, timeout=60)
        await wait_for(pilot, lambda: sent_state(app) is None)
        await press(app, "space")
        await wait_for(pilot, lambda: app.state == "finished")
        await wait_for(pilot, lambda: sent_state(app) == "finished")
        assert app.live.sent[0].episode == 3
        await press(app, "space")  # 3 episodes more, and the window is told of the new end
        await wait_for(pilot, lambda: sent_state(app) == "finished" and app.live.sent[0].episode == 6)
