"""A run's history.npz: what training keeps, how it is thinned, and files that must be refused."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ac_play import checkpoint, history
from ac_play.config import TrainConfig
from ac_play.history import DENSE, MAX_SNAPSHOTS, HistoryError, Recorder
from ac_play.training import Progress


def train(out, *flags):
    command = [sys.executable, "-m", "ac_play", "train", "--headless", "--out", str(out), *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def episode_run(tmp_path_factory):
    """80 episodes of the episode update: one update, so one snapshot, per episode."""
    out = tmp_path_factory.mktemp("runs") / "episodes"
    result = train(out, "--seed", "3", "--episodes", "80", "--update", "episode", "--envs", "1")
    assert result.returncode == 0, result.stderr
    return out


def test_a_short_run_keeps_every_update_its_curve_and_the_untrained_start(episode_run):
    run = history.load(episode_run)
    final = checkpoint.load(episode_run / "final.npz")
    assert run.episodes == list(range(81))  # the untrained agent, then one per episode
    assert run.last_episode == 80 and len(run.curve_returns) == 80
    lines = [json.loads(line) for line in (episode_run / "metrics.jsonl").read_text().splitlines()]
    assert run.curve_returns.tolist() == [line["episode_return"] for line in lines]
    assert run.curve_running.tolist() == [line["running_reward"] for line in lines]
    last = run.snapshots[-1]
    assert all(np.array_equal(last.params[name], final.agent.params[name]) for name in final.agent.params)
    assert last.progress.env_steps == final.meta["progress"]["env_steps"]
    assert [s.progress.running_reward for s in run.snapshots[1:]] == run.curve_running.tolist()
    assert run.best_index == int(np.argmax([s.progress.running_reward for s in run.snapshots]))


def test_the_file_is_small_and_plain_arrays_that_load_without_pickle(episode_run):
    path = episode_run / history.HISTORY_NAME
    assert path.stat().st_size < 2_000_000
    with np.load(path, allow_pickle=False) as arrays:
        assert arrays["param/W1"].shape == (81, 4, 128)
        assert json.loads(str(arrays["meta"]))["kind"] == "history"


def test_a_rollout_run_keeps_one_snapshot_per_update(tmp_path):
    out = tmp_path / "run"
    assert train(out, "--seed", "5", "--episodes", "120").returncode == 0
    run = history.load(out)
    updates = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["update"]
    assert len(run) == updates + 1 and run.episodes[0] == 0
    assert np.all(np.diff(run.episodes) > 0)


class FakeTrainer:
    def __init__(self, params):
        self.agent = type("Agent", (), {"params": params})()
        self.progress = Progress()
        from ac_play.returns import RunningNormaliser

        self.normaliser = RunningNormaliser()

    def update(self, running_reward):
        self.progress.episode += 1
        self.progress.env_steps += 10
        self.progress.running_reward = running_reward
        self.agent.params["b1"][:] = self.progress.episode


def params():
    from ac_play.agent import param_shapes

    return {name: np.zeros(shape) for name, shape in param_shapes(4, 2, 8).items()}


def test_a_long_run_is_thinned_evenly_keeping_the_start_the_best_and_the_last():
    trainer, recorder = FakeTrainer(params()), Recorder(TrainConfig(hidden=8))
    recorder.add_snapshot(trainer)
    for update in range(1, 5001):
        trainer.update(running_reward=1000.0 if update == 1234 else update / 100)
        recorder.add_snapshot(trainer)
    episodes = [stage.progress.episode for stage in recorder.stages]
    assert len(episodes) <= MAX_SNAPSHOTS
    assert episodes[:DENSE] == list(range(DENSE))
    assert 1234 in episodes and episodes[-1] == 5000
    later = np.diff([e for e in episodes if e >= DENSE and e not in (1234, 5000)])
    assert len(set(later.tolist())) == 1 and later[0] > 1  # one stride
    assert all(stage.params["b1"][0] == stage.progress.episode for stage in recorder.stages)  # copies, not views


def test_spread_picks_about_a_dozen_increasing_stages_from_first_to_last(episode_run):
    run = history.load(episode_run)
    chosen = run.spread(12)
    assert len(chosen) == 12 and chosen[0] == 0 and chosen[-1] == len(run) - 1
    assert chosen == sorted(set(chosen))
    assert run.index_at(40) == run.episodes.index(40) and run.index_at(10_000) == len(run) - 1


def test_resuming_in_place_carries_the_history_on(tmp_path, episode_run):
    out = tmp_path / "run"
    assert train(out, "--seed", "3", "--episodes", "30", "--update", "episode", "--envs", "1").returncode == 0
    result = train(out, "--resume", str(out / "final.npz"), "--episodes", "20")  # 20 more
    assert result.returncode == 0, result.stderr
    resumed, straight = history.load(out), history.load(episode_run)
    assert resumed.episodes == list(range(51)) and len(resumed.curve_returns) == 50
    assert resumed.curve_returns[:30].tolist() == straight.curve_returns[:30].tolist()


def test_resuming_over_an_unreadable_history_keeps_it_aside(tmp_path):
    out = tmp_path / "run"
    assert train(out, "--seed", "3", "--episodes", "20", "--update", "episode", "--envs", "1").returncode == 0
    (out / history.HISTORY_NAME).write_bytes(b"PK\x03\x04 not really")
    result = train(out, "--resume", str(out / "final.npz"), "--episodes", "5")
    assert result.returncode == 0, result.stderr
    assert "kept as history.unreadable.npz" in result.stdout + result.stderr
    assert (out / "history.unreadable.npz").read_bytes() == b"PK\x03\x04 not really"
    assert history.load(out).episodes == list(range(20, 26))


def rewrite(source, target, change):
    """Copy a history, letting `change(arrays, meta)` alter its arrays and metadata."""
    with np.load(source, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads(str(arrays.pop("meta")))
    change(arrays, meta)
    np.savez(target, meta=np.array(json.dumps(meta)), **arrays)
    return target


def set_item(mapping, key, value):
    mapping[key] = value


BAD_EDITS = {
    "episodes fall": lambda a, m: a["episode"].__setitem__(slice(2, 4), [5, 3]),
    "first episode wrong": lambda a, m: a["episode"].__setitem__(0, 7),
    "steps fall": lambda a, m: a["env_steps"].__setitem__(-1, 0),
    "nan weights": lambda a, m: a["param/W1"].__setitem__((3, 0, 0), np.nan),
    "negative std": lambda a, m: a["norm_std"].__setitem__(1, -1.0),
    "count lies": lambda a, m: set_item(m, "snapshots", 5),
    "huge count": lambda a, m: set_item(m, "snapshots", 10**12),
    "curve lies": lambda a, m: set_item(m, "curve", 7),
    "best out of range": lambda a, m: set_item(m, "best_index", 999),
    "unknown env": lambda a, m: set_item(m, "env_id", "os.system"),
    "not a history": lambda a, m: set_item(m, "kind", "checkpoint"),
    "bool as count": lambda a, m: set_item(m, "curve", True),
    "wrong dtype": lambda a, m: set_item(a, "episode", a["episode"].astype(np.float64)),
    "extra array": lambda a, m: set_item(a, "extra", np.zeros(3)),
    "missing array": lambda a, m: a.pop("curve_running"),
    "pickled member": lambda a, m: set_item(a, "running", np.array([{"x": 1}] * 81, dtype=object)),
    # finite, but a span past a float's range: the timeline strip's axis overflowed
    "curve beyond floats": lambda a, m: a["curve_running"].__setitem__(slice(0, 2), [1e308, -1e308]),
}


@pytest.mark.parametrize("edit", BAD_EDITS, ids=list(BAD_EDITS))
def test_a_damaged_history_is_refused_in_one_line(tmp_path, episode_run, edit):
    bad = rewrite(episode_run / history.HISTORY_NAME, tmp_path / "bad.npz", BAD_EDITS[edit])
    with pytest.raises(HistoryError) as refused:
        history.load(bad)
    assert str(bad) in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("cut", [0, 10, 1000, 0.5, -20])
def test_a_truncated_history_is_refused(tmp_path, episode_run, cut):
    data = (episode_run / history.HISTORY_NAME).read_bytes()
    size = int(len(data) * cut) if isinstance(cut, float) else cut % len(data)
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[:size])
    with pytest.raises(HistoryError):
        history.load(bad)


def test_bit_flips_are_refused_or_load_whole(tmp_path, episode_run):
    data = (episode_run / history.HISTORY_NAME).read_bytes()
    bad, loaded = tmp_path / "flipped.npz", 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        flipped = bytearray(data)
        for position in rng.integers(len(data), size=rng.integers(1, 4)):
            flipped[position] ^= 1 << int(rng.integers(8))
        bad.write_bytes(bytes(flipped))
        try:
            run = history.load(bad)
        except HistoryError as refused:
            assert "\n" not in str(refused)
            continue
        loaded += 1
        assert len(run) == len(history.load(episode_run))
    assert loaded < 20  # the zip's checksums catch nearly every flip


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_folder_fifo_or_device_named_history_npz_is_refused_at_once(tmp_path):
    makers = {
        "a folder": lambda path: path.mkdir(),
        "a FIFO": lambda path: os.mkfifo(path),
        "a device": lambda path: path.symlink_to("/dev/zero"),
    }
    for kind, make in makers.items():
        run = tmp_path / kind.replace(" ", "-")
        run.mkdir()
        make(run / history.HISTORY_NAME)
        with pytest.raises(HistoryError, match=f"history.npz is {kind}, not a history"):
            history.load(run)


def test_watch_of_a_damaged_history_is_one_line_and_exit_2(tmp_path, episode_run):
    run = tmp_path / "run"
    run.mkdir()
    rewrite(episode_run / history.HISTORY_NAME, run / history.HISTORY_NAME, BAD_EDITS["curve beyond floats"])
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    result = subprocess.run([sys.executable, "-m", "ac_play", "watch", str(run), "--frames", "3"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ac-play: error: {run / history.HISTORY_NAME}: array 'curve_running' holds returns beyond ±1e+15"
    ]


def test_other_files_are_refused_by_name(tmp_path, episode_run):
    old_run = tmp_path / "old"
    old_run.mkdir()
    (old_run / "final.npz").write_bytes((episode_run / "final.npz").read_bytes())
    cases = {
        old_run: "has no history.npz",
        episode_run / "final.npz": "does not describe a history",
        tmp_path / "missing.npz": "history not found",
    }
    for path, reason in cases.items():
        with pytest.raises(HistoryError, match=reason):
            history.load(path)
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(HistoryError, match="no metadata"):
        history.load(tmp_path / "other.npz")


def test_the_bundled_agent_ships_its_history():
    bundled, agent = history.load_or_bundled(None), checkpoint.load_or_bundled(None)
    assert bundled.bundled and bundled.label == "cartpole-v1.history.npz (bundled)"
    assert bundled.last_episode == agent.meta["progress"]["episode"] and bundled.solved_at == 327
    assert all(np.array_equal(bundled.snapshots[-1].params[k], agent.agent.params[k]) for k in agent.agent.params)
    assert bundled.snapshots[0].progress.running_reward == 0 and bundled.snapshots[-1].progress.running_reward > 475


def test_a_tui_run_that_spends_its_budget_has_its_history_on_disk_before_it_quits(tmp_path):
    from ac_play.tui.session import TrainingSession

    session = TrainingSession(TrainConfig(hidden=8, episodes=40, update="episode", envs=1), None, tmp_path / "run")
    for stats in session.trainer.episodes():
        session.record(stats)
    # training is over but the TUI is still open: the window's timeline can read the run already
    assert history.load(tmp_path / "run").last_episode == 40
    assert checkpoint.load(tmp_path / "run" / "final.npz").meta["progress"]["episode"] == 40
    session.finish()
