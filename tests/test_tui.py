"""The training TUI driven through Textual's Pilot, as a user drives it with keys."""

from __future__ import annotations

import asyncio
import functools
import json
import time

import numpy as np
import pytest
from textual import events
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from ac_play import checkpoint
from ac_play.config import TrainConfig
from ac_play.snapshot import Snapshot
from ac_play.training import DivergedError
from ac_play.tui.app import TrainApp
from ac_play.tui.charts import ReturnChart
from ac_play.tui.session import TrainingSession
from ac_play.tui.widgets import EventLog, StatsPanel

SIZE = (100, 32)


def pilot_test(test):
    """Run an async test on its own event loop (no pytest plugin needed)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return run


def make_app(tmp_path, **settings) -> TrainApp:
    # an episode budget keeps training going after it solves, so no test races the SOLVED state;
    # the episode update at one env learns once per episode, so each key's effect is one episode
    config = TrainConfig(**{"hidden": 16, "seed": 3, "episodes": 100_000, "envs": 1, "update": "episode", **settings})
    return TrainApp(TrainingSession(config, None, tmp_path / "run"))


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    # asyncio.sleep, not pilot.pause: Pilot waits for an idle CPU, never the case while training
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def press(app: TrainApp, *keys: str) -> None:
    """Keys as the terminal driver delivers them (Pilot.press would wait for an idle CPU)."""
    for key in keys:
        app.post_message(events.Key(key, " " if key == "space" else key if len(key) == 1 else None))
        await asyncio.sleep(0.05)


def shown(app: TrainApp, selector) -> str:
    """The plain text a widget shows."""
    return str(app.query_one(selector).render())


def log_text(app: TrainApp) -> str:
    """The event log as one line of words (the panel wraps long entries)."""
    return " ".join(app.query_one(EventLog).text().split())


@pilot_test
async def test_space_starts_training_and_the_counter_and_chart_advance(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert "READY" in shown(app, StatsPanel)
        assert "episode 0" in shown(app, StatsPanel)
        await press(app, "space")
        await wait_for(pilot, lambda: len(app.query_one(ReturnChart).episodes) >= 30)
        await wait_for(pilot, lambda: app.query_one(ReturnChart).version >= 1)
        episode = app.query_one(StatsPanel).latest.episode
        assert "TRAINING" in shown(app, StatsPanel)
        assert f"episode {episode:,}" in shown(app, StatsPanel)
        await wait_for(pilot, lambda: app.query_one(StatsPanel).latest.episode > episode)
        assert "training started" in log_text(app)


@pilot_test
async def test_pause_stops_the_episode_counter(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.progress.episode >= 10)
        await press(app, "space")
        assert "PAUSED" in shown(app, StatsPanel)
        await asyncio.sleep(0.3)
        trained = app.session.trainer.progress.episode
        await asyncio.sleep(0.5)
        assert app.session.trainer.progress.episode == trained
        assert app.query_one(StatsPanel).latest.episode == trained
        assert f"episode {trained:,}" in shown(app, StatsPanel)


@pilot_test
async def test_n_runs_exactly_one_update_while_paused(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "n")
        await wait_for(pilot, lambda: app.query_one(StatsPanel).latest is not None)
        await asyncio.sleep(0.3)
        assert app.session.trainer.progress.updates == 1
        assert "episode 1" in shown(app, StatsPanel)
        await press(app, "n")
        await wait_for(pilot, lambda: app.query_one(StatsPanel).latest.episode == 2)
        assert app.session.trainer.progress.updates == 2


@pilot_test
async def test_s_writes_a_checkpoint_that_eval_loads(tmp_path, cli):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)
        await press(app, "s")
        await wait_for(pilot, lambda: "checkpoint saved" in log_text(app))
        logged = app.query_one(EventLog).text().replace("\n", "")  # a long path folds mid-word
    saved = tmp_path / "run" / "checkpoint-001.npz"
    assert str(saved) in logged
    assert checkpoint.load(saved).meta["progress"]["episode"] == 1
    result = cli("eval", saved, "--episodes", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["episodes"] == 3


async def settle_setting(pilot, app, name: str, text: str) -> None:
    field = app.query_one(f"#set-{name}", Input)
    await pilot.click(field)
    field.value = text
    before = shown(app, "#setting-note")
    await press(app, "enter")
    # the verdict comes back as a message: on a busy machine one pause may not see it yet
    await wait_for(pilot, lambda: shown(app, "#setting-note") != before)


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("lr", "abc", "'abc' is not a number"),
        ("gamma", "1.5", "gamma must be in (0, 1]"),
        ("entropy", "-0.1", "zero or positive"),
    ],
)
@pilot_test
async def test_a_bad_value_is_refused_inline_and_the_old_one_stays(tmp_path, name, text, reason):
    app = make_app(tmp_path)
    old = getattr(app.session.trainer.config, name)
    async with app.run_test(size=SIZE) as pilot:
        await settle_setting(pilot, app, name, text)
        note = shown(app, "#setting-note")
        assert reason in note
        assert f"stays {old:g}" in note
        assert app.query_one(f"#set-{name}", Input).value == f"{old:g}"
        await press(app, "escape", "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)
        assert getattr(app.session.trainer.config, name) == old


@pilot_test
async def test_a_good_lr_reaches_the_trainer_at_the_next_update(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle_setting(pilot, app, "lr", "0.0123")
        assert "lr = 0.0123 from the next update" in shown(app, "#setting-note")
        await press(app, "escape", "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)
        assert app.session.trainer.config.lr == 0.0123
        assert app.session.trainer.optimizer.lr == 0.0123


@pilot_test
async def test_keys_typed_into_a_setting_do_not_control_training(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click(app.query_one("#set-gamma", Input))
        await press(app, "n", "space", "q")
        await asyncio.sleep(0.2)
        assert app.is_running
        assert app.session.trainer.progress.updates == 0


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@pilot_test
async def test_quitting_writes_the_final_checkpoint_and_metrics(tmp_path, key):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.progress.episode >= 5)
        await press(app, key)
        await wait_for(pilot, lambda: not app.is_running)
    run = tmp_path / "run"
    assert app.return_value == run / "final.npz"
    final = checkpoint.load(run / "final.npz")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == final.meta["progress"]["episode"] >= 5
    assert np.array_equal(final.agent.params["W1"], app.session.trainer.agent.params["W1"])


@pilot_test
async def test_terminal_too_small_shows_a_message_instead_of_the_layout(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        message = app.query_one("#too-small")
        assert message.display and message.region.width > 0
        assert "Terminal too small" in str(message.render())
        assert app.query_one("#main").region.width == 0


@pilot_test
async def test_fits_80x24_without_the_too_small_message(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.query_one("#too-small").region.width == 0
        for widget_id in ("settings", "stats", "cartpole", "returns", "sparks", "log"):
            region = app.query_one(f"#{widget_id}").region
            assert region.height >= 4 and region.right <= 80 and region.bottom <= 23, widget_id


@pilot_test
async def test_help_explains_actor_critic_advantage_and_running_reward(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "question_mark")
        await pilot.pause()
        text = app.screen.query_one("Markdown").source
        for term in ("actor", "critic", "advantage", "running reward"):
            assert f"**The {term}**" in text
        await press(app, "escape")
        await pilot.pause()
        assert app.screen.query("#settings")


@pilot_test
async def test_e_evaluates_over_100_greedy_episodes_in_the_background(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "e")
        assert "evaluating" in log_text(app)
        await wait_for(pilot, lambda: "100 greedy episodes: mean" in log_text(app))


@pilot_test
async def test_reset_asks_first_then_starts_a_fresh_agent_in_a_new_run(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)
        first = app.session
        await press(app, "r")
        await press(app, "n")  # no: nothing happens
        await pilot.pause()
        assert app.session is first and "reset cancelled" in log_text(app)
        await press(app, "r", "y")
        await wait_for(pilot, lambda: app.session is not first)
        assert (first.run_dir / "final.npz").is_file()
        assert app.session.run_dir != first.run_dir
        assert app.session.trainer.progress.episode == 0
        assert app.query_one(ReturnChart).episodes == []
        await press(app, "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)


@pilot_test
async def test_after_solving_space_keeps_training(tmp_path):
    bundled = Snapshot.from_checkpoint(checkpoint.load_or_bundled(None))  # an agent that has solved CartPole
    config = TrainConfig.from_dict({**bundled.config.to_dict(), "episodes": None})
    session = TrainingSession(config, bundled, tmp_path / "run")
    start = session.trainer.progress.episode
    app = TrainApp(session)
    async with app.run_test(size=SIZE) as pilot:
        assert f"SOLVED at episode {bundled.progress.solved_at:,}" in shown(app, StatsPanel)
        assert f"episode {start:,}" in shown(app, StatsPanel)
        await wait_for(pilot, lambda: app.state == "solved")  # nothing to do until asked for more
        assert "space keeps training" in log_text(app)
        await press(app, "space")
        await wait_for(pilot, lambda: session.trainer.progress.episode > start + 2)
        assert app.state == "training"


@pilot_test
async def test_the_w_key_without_a_display_says_why_in_the_log(tmp_path, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "w")
        await wait_for(pilot, lambda: "no live window:" in log_text(app))
        after = log_text(app).split("opening the live window")[-1]
        assert "no display to open a window on" in after and "DISPLAY" in after
        # advice for someone inside the TUI, not "run ac-play train", the command they are in
        assert "ac-play train" not in after
        assert "CartPole panel" in after and "ssh -X" in after
        assert app.is_running and app.live.window is None


@pilot_test
async def test_every_action_is_in_the_command_palette(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE):
        titles = [command.title for command in app.get_system_commands(app.screen)]
    for key in ("space", "n", "s", "e", "r", "w", "?", "q"):
        assert any(title.endswith(f"({key})") for title in titles), key


@pilot_test
async def test_a_value_typed_but_left_with_esc_is_not_applied(tmp_path):
    app = make_app(tmp_path)
    old = app.session.trainer.config.lr
    async with app.run_test(size=SIZE) as pilot:
        field = app.query_one("#set-lr", Input)
        await pilot.click(field)
        field.value = "0.9"
        await pilot.press("escape")
        assert field.value == f"{old:g}"
        await pilot.press("n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)
        assert app.session.trainer.config.lr == old


@pilot_test
async def test_divergence_stops_training_with_the_reason_and_quit_still_saves(tmp_path, monkeypatch):
    app = make_app(tmp_path)
    trainer = app.session.trainer
    real_update = trainer.run_update

    def diverge_on_third():
        if trainer.progress.updates == 2:
            raise DivergedError("training diverged at episode 3 (loss nan, gradient norm nan)")
        return real_update()

    monkeypatch.setattr(trainer, "run_update", diverge_on_third)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "space")
        await wait_for(pilot, lambda: app.state == "error")
        assert "ERROR" in shown(app, StatsPanel)
        assert "training stopped: training diverged at episode 3" in log_text(app)
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    assert checkpoint.load(tmp_path / "run" / "final.npz").meta["progress"]["episode"] == 2


def run_files(folder) -> tuple[dict, list[dict]]:
    """config.json and the lines of metrics.jsonl."""
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return json.loads((folder / "config.json").read_text()), [json.loads(line) for line in lines]


@pilot_test
async def test_a_value_applied_before_a_reset_carries_into_the_new_run(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle_setting(pilot, app, "lr", "0.002")
        await press(app, "escape")
        first = app.session
        await press(app, "r", "y")
        await wait_for(pilot, lambda: app.session is not first)
        assert app.query_one("#set-lr", Input).value == "0.002"
        await press(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates >= 3)
        assert app.query_one("#set-lr", Input).value == "0.002"
        trainer = app.session.trainer
        assert trainer.config.lr == trainer.optimizer.lr == 0.002
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    config, lines = run_files(app.session.run_dir)
    assert config["lr"] == 0.002 and config["changes"] == []
    assert {line["settings"]["lr"] for line in lines} == {0.002}


@pilot_test
async def test_a_change_mid_run_reaches_config_json_and_the_metrics_lines(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)
        await settle_setting(pilot, app, "entropy", "0.01")
        await press(app, "escape", "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 2)
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    config, lines = run_files(tmp_path / "run")
    assert config["entropy"] == 0.01
    assert config["changes"] == [{"episode": 2, "name": "entropy", "old": 0.0, "new": 0.01}]
    assert [line["settings"]["entropy"] for line in lines] == [0.0, 0.01]


def drawn_lines(widget) -> list[str]:
    """The lines a widget draws on the screen, as plain text."""
    return ["".join(segment.text for segment in widget.render_line(y)).rstrip() for y in range(widget.region.height)]


def footer_keys(app: TrainApp) -> list[tuple[str, str]]:
    return [(key.key_display, key.description) for key in app.query(FooterKey)]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize(
    ("name", "text", "note", "logged"),
    [
        ("gamma", "1.5", "gamma must be in (0, 1], not 1.5; stays 0.99", "rejected gamma: must be in (0, 1], not 1.5"),
        ("entropy", "-0.25", "entropy must be zero or positive, not -0.25; stays 0",
         "rejected entropy: must be zero or positive, not -0.25"),
        ("entropy", "abc", "entropy 'abc' is not a number; stays 0", "rejected entropy: 'abc' is not a number"),
        ("lr", "0.001 per step", "lr '0.001 per st…' is not a number; stays 0.005",
         "rejected lr: '0.001 per st…' is not a number"),
    ],
)
@pilot_test
async def test_a_refused_value_is_explained_in_full_inside_the_panel(tmp_path, size, name, text, note, logged):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle_setting(pilot, app, name, text)
        await pilot.pause()
        label, panel = app.query_one("#setting-note"), app.query_one("#settings")
        assert " ".join(drawn_lines(label)) == note
        assert panel.content_region.contains_region(label.region)
        assert app.query_one("#cartpole").region.bottom <= size[1] - 1  # above the footer: nothing pushed off
        assert logged in log_text(app) and f"{name}: {name}" not in log_text(app)


@pilot_test
async def test_typing_after_a_refused_value_replaces_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle_setting(pilot, app, "lr", "0.0020.005")
        field = app.query_one("#set-lr", Input)
        assert field.value == "0.005"
        await press(app, *"0.002", "enter")
        await pilot.pause()
        assert field.value == "0.002"
        assert "lr = 0.002 from the next update" in shown(app, "#setting-note")


@pilot_test
async def test_the_footer_shows_enter_and_esc_while_a_setting_has_focus(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = footer_keys(app)
        assert ("space", "Run/Pause") in keys and ("q", "Quit") in keys
        await pilot.click(app.query_one("#set-gamma", Input))
        await pilot.pause()
        assert footer_keys(app) == [("Enter", "Apply"), ("Esc", "Cancel")]
        await press(app, "escape")
        await pilot.pause()
        assert app.focused is None and footer_keys(app) == keys


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@pilot_test
async def test_quitting_before_any_training_leaves_no_run_folder(tmp_path, key):
    app = TrainApp(TrainingSession(TrainConfig(hidden=16), root=tmp_path / "runs"))
    async with app.run_test(size=SIZE) as pilot:
        assert app.session.run_dir.is_dir()
        await press(app, key)
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_value is None and app.session.discarded
    assert list((tmp_path / "runs").iterdir()) == []


@pilot_test
async def test_a_reset_removes_the_untrained_run_and_quitting_the_untrained_new_one_removes_it_too(tmp_path):
    app = TrainApp(TrainingSession(TrainConfig(hidden=16), root=tmp_path / "runs"))
    async with app.run_test(size=SIZE) as pilot:
        first = app.session
        await press(app, "r", "y")
        await wait_for(pilot, lambda: app.session is not first)
        assert first.discarded  # its name may come again: the new run is made in the same second
        assert list((tmp_path / "runs").iterdir()) == [app.session.run_dir]
        assert "the previous run had no episodes, so its folder was removed" in log_text(app)
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    assert list((tmp_path / "runs").iterdir()) == []


@pilot_test
async def test_a_checkpoint_saved_before_training_keeps_the_new_run_folder_whole(tmp_path):
    app = TrainApp(TrainingSession(TrainConfig(hidden=16), root=tmp_path / "runs"))
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "s")
        await wait_for(pilot, lambda: "checkpoint saved" in log_text(app))
        await press(app, "r")
        await wait_for(pilot, lambda: "Reset to a fresh agent?" in dialog_text(app))
        assert "The current run is saved first (final.npz)." in dialog_text(app)
        await press(app, "n", "q")
        await wait_for(pilot, lambda: not app.is_running)
    assert not app.session.discarded
    names = sorted(path.name for path in app.session.run_dir.iterdir())
    assert names == ["checkpoint-001.npz", "config.json", "final.npz", "history.npz", "metrics.jsonl"]


@pilot_test
async def test_quitting_untrained_removes_the_parent_folders_out_made_too_and_no_others(tmp_path):
    app = TrainApp(TrainingSession(TrainConfig(hidden=16), out=tmp_path / "new" / "deeper" / "run"))
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.session.discarded
    assert list(tmp_path.iterdir()) == []


@pilot_test
async def test_quitting_untrained_keeps_a_folder_that_existed_before(tmp_path):
    app = TrainApp(TrainingSession(TrainConfig(hidden=16), out=tmp_path))  # --out an existing, empty folder
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    assert (tmp_path / "final.npz").is_file() and (tmp_path / "config.json").is_file()


@pilot_test
async def test_quitting_untrained_after_a_resume_in_place_keeps_the_run(tmp_path):
    trained = make_app(tmp_path)
    async with trained.run_test(size=SIZE) as pilot:
        await press(trained, "n")
        await wait_for(pilot, lambda: trained.session.trainer.progress.updates == 1)
        await press(trained, "q")
        await wait_for(pilot, lambda: not trained.is_running)
    run = tmp_path / "run"
    resumed = Snapshot.from_checkpoint(checkpoint.load(run / "final.npz"))
    app = TrainApp(TrainingSession(resumed.config, resumed, run))
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    assert sorted(p.name for p in run.iterdir()) == [
        "best.npz", "config.json", "final.npz", "history.npz", "metrics.jsonl",
    ]
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1


def dialog_text(app: TrainApp) -> str:
    from textual.widgets import Label

    return " ".join(str(label.render()) for label in app.screen.query(Label))


@pilot_test
async def test_the_reset_question_says_what_happens_to_the_current_run(tmp_path):
    app = TrainApp(TrainingSession(TrainConfig(hidden=16), root=tmp_path / "runs"))
    async with app.run_test(size=SIZE) as pilot:
        await press(app, "r")
        await wait_for(pilot, lambda: "Reset to a fresh agent?" in dialog_text(app))
        assert "Nothing is trained yet: this run's new folder is removed." in dialog_text(app)
        assert "final.npz" not in dialog_text(app)
        await press(app, "n", "n")
        await wait_for(pilot, lambda: app.session.trainer.progress.updates == 1)
        await wait_for(pilot, lambda: not app.session.folder.unused)
        await press(app, "r")
        await wait_for(pilot, lambda: "Reset to a fresh agent?" in dialog_text(app))
        assert "The current run is saved first (final.npz)." in dialog_text(app)
        await press(app, "n", "q")
        await wait_for(pilot, lambda: not app.is_running)


@pilot_test
async def test_the_log_says_mountaincar_will_not_be_learnt(tmp_path):
    app = make_app(tmp_path, env_id="MountainCar-v0")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "note: MountainCar-v0 gives -1 every step" in log_text(app))
        await press(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
