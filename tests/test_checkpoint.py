"""Checkpoints: round trip, resume, atomic writes, and every kind of bad file refused with a reason."""

import io
import json
import zipfile

import numpy as np
import pytest

from ac_play import checkpoint
from ac_play.agent import ActorCritic
from ac_play.checkpoint import CheckpointError
from ac_play.config import TrainConfig
from ac_play.runs import make_trainer
from ac_play.snapshot import Snapshot
from ac_play.training import Trainer


def save_checkpoint(trainer, path):
    return Snapshot.of(trainer).save(path)


@pytest.fixture
def trained(tmp_path):
    trainer = Trainer(TrainConfig(seed=0, episodes=10, hidden=16))
    list(trainer.episodes())
    path = save_checkpoint(trainer, tmp_path / "ckpt.npz")
    return trainer, path


def rewrite(path, change):
    """Load a checkpoint's raw arrays, let `change` edit the dict, write it back."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(path, **arrays)


def test_round_trip_keeps_parameters_optimizer_and_metadata(trained):
    trainer, path = trained
    loaded = checkpoint.load(path)
    for name, value in trainer.agent.params.items():
        np.testing.assert_array_equal(loaded.agent.params[name], value)
    assert loaded.optimizer_state["t"][0] == trainer.optimizer.t
    np.testing.assert_array_equal(loaded.optimizer_state["m/W1"], trainer.optimizer.m["W1"])
    meta = loaded.meta
    assert meta["env_id"] == "CartPole-v1" and meta["hidden"] == 16 and meta["progress"]["episode"] == 10
    assert meta["config"]["seed"] == 0 and meta["format_version"] == 1 and "saved_at" in meta
    assert meta["config"]["lr"] == trainer.config.lr
    # each fact once: the seed lives in the config, the episode in the progress
    assert not {"seed", "optimizer", "episode", "env_steps", "running_reward"} & set(meta)


def test_a_checkpoint_reads_back_as_the_snapshot_it_was_saved_from(trained):
    trainer, path = trained
    snapshot = Snapshot.from_checkpoint(checkpoint.load(path))
    assert snapshot.config == trainer.config and snapshot.progress == trainer.progress
    assert snapshot.normaliser.state() == trainer.normaliser.state()
    np.testing.assert_array_equal(snapshot.params["Wa"], trainer.agent.params["Wa"])


def test_an_older_checkpoint_with_duplicated_metadata_still_resumes(older_checkpoint):
    assert older_checkpoint.meta["episode"] == older_checkpoint.meta["progress"]["episode"]
    snapshot = Snapshot.from_checkpoint(older_checkpoint)
    assert snapshot.episode == older_checkpoint.meta["progress"]["episode"] and snapshot.value_normaliser is not None


def test_a_checkpoint_from_before_the_rollout_update_resumes_with_the_episode_update(older_checkpoint, tmp_path):
    from ac_play.runs import run_config

    assert "update" not in older_checkpoint.meta["config"]
    config, _ = run_config(resume=older_checkpoint.path)
    assert config.update == "episode" and config.envs == older_checkpoint.meta["config"]["envs"]
    assert Snapshot.from_checkpoint(older_checkpoint).config.update == "episode"


def test_a_rollout_run_resumes_with_the_rollout_update(tmp_path):
    from ac_play.runs import run_config

    trainer = Trainer(TrainConfig(seed=1, episodes=5, hidden=16, envs=4))
    list(trainer.episodes())
    path = save_checkpoint(trainer, tmp_path / "rollout.npz")
    config, _ = run_config(resume=path)
    assert config.update == "rollout" and config.steps == trainer.config.steps


def test_resume_continues_counters_and_optimizer(trained):
    trainer, path = trained
    loaded = Snapshot.from_checkpoint(checkpoint.load(path))
    config = TrainConfig.from_dict({**loaded.config.to_dict(), "episodes": 5})
    resumed = make_trainer(config, loaded)
    assert resumed.optimizer.t == trainer.optimizer.t
    stats = list(resumed.episodes())
    assert [s.episode for s in stats] == list(range(11, 16))
    steps_per_update = config.epochs * config.minibatches  # each pass over a rollout, in minibatches
    updates = resumed.progress.updates - trainer.progress.updates
    assert updates >= 1 and resumed.optimizer.t == trainer.optimizer.t + updates * steps_per_update


def test_resuming_twice_gives_identical_runs(trained):
    _, path = trained
    runs = []
    for _ in range(2):
        loaded = Snapshot.from_checkpoint(checkpoint.load(path))
        trainer = make_trainer(TrainConfig.from_dict({**loaded.config.to_dict(), "episodes": 5}), loaded)
        runs.append([s.episode_return for s in trainer.episodes()] + [trainer.agent.params["W1"].sum()])
    assert runs[0] == runs[1]


def test_a_crash_while_saving_keeps_the_previous_checkpoint(trained, monkeypatch):
    trainer, path = trained
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(trainer, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.npz"]  # no temporary file left


def test_bundled_agent_loads():
    bundled = checkpoint.load_or_bundled(None)
    assert bundled.env_id == "CartPole-v1" and bundled.agent.hidden >= 1


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load(tmp_path / "nope.npz")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        checkpoint.load(path)


def test_truncated_file(trained):
    _, path = trained
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="not a readable"):
        checkpoint.load(path)


def test_not_an_npz(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello, I am a text file\n")
    with pytest.raises(CheckpointError, match="not a"):
        checkpoint.load(path)


def test_pickled_objects_are_refused_without_being_run(tmp_path):
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    meta = {"format_version": 1, "obs_dim": 4, "n_actions": 2, "hidden": 8, "env_id": "CartPole-v1"}
    np.savez(path, meta=np.array(json.dumps(meta)), **{"param/W1": np.array([Boom()], dtype=object)})
    with pytest.raises(CheckpointError, match="'param/W1' holds pickled objects"):
        checkpoint.load(path)
    assert not marker.exists()


def test_missing_array(trained):
    _, path = trained
    rewrite(path, lambda arrays: arrays.pop("param/Wa"))
    with pytest.raises(CheckpointError, match="missing array 'param/Wa'"):
        checkpoint.load(path)


def test_unexpected_array(trained):
    _, path = trained
    rewrite(path, lambda arrays: arrays.update({"param/extra": np.zeros(3)}))
    with pytest.raises(CheckpointError, match="unexpected"):
        checkpoint.load(path)


def test_wrong_shape(trained):
    _, path = trained
    rewrite(path, lambda arrays: arrays.update({"param/W1": np.zeros((4, 15))}))
    with pytest.raises(CheckpointError, match="shape"):
        checkpoint.load(path)


@pytest.mark.parametrize("bad", [np.zeros((4, 16), dtype=np.int64), np.full((4, 16), "x")])
def test_wrong_dtype(trained, bad):
    _, path = trained
    rewrite(path, lambda arrays: arrays.update({"param/W1": bad}))
    with pytest.raises(CheckpointError, match="dtype"):
        checkpoint.load(path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_parameters(trained, value):
    _, path = trained

    def poison(arrays):
        arrays["param/b1"] = arrays["param/b1"].copy()
        arrays["param/b1"][3] = value

    rewrite(path, poison)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        checkpoint.load(path)


def test_bad_metadata(trained):
    _, path = trained
    rewrite(path, lambda arrays: arrays.update({"meta": np.array("{not json")}))
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.load(path)


def test_npz_without_metadata(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an ac-play checkpoint"):
        checkpoint.load(path)


def test_checkpoint_for_another_env_or_size_is_refused(trained):
    _, path = trained
    loaded = checkpoint.load(path)
    with pytest.raises(CheckpointError, match="trained on CartPole-v1, not Acrobot-v1"):
        checkpoint.check_compatible(loaded, "Acrobot-v1")
    with pytest.raises(CheckpointError, match="16 hidden units, not 128"):
        checkpoint.check_compatible(loaded, "CartPole-v1", hidden=128)


def test_zip_with_garbage_member_is_refused(tmp_path):
    path = tmp_path / "garbage.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.npy", b"this is not an npy header")
    with pytest.raises(CheckpointError):
        checkpoint.load(path)


def test_saved_file_is_a_plain_npz(tmp_path):
    agent = ActorCritic.create(4, 2, 8, seed=0)
    path = checkpoint.save(tmp_path / "a.npz", agent, {"env_id": "CartPole-v1"})
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        assert "meta.npy" in archive.namelist()


@pytest.mark.parametrize(
    "section",
    [{"config": "fast"}, {"config": {"gamma": "high"}}, {"config": {"hidden": -3}}, {"progress": ["episode", 3]},
     {"progress": {"episode": 1, "elapsed": 0.0, "stolen": 1}}, {"normaliser": {"mean": "zero"}}],
)
def test_metadata_that_describes_no_run_is_refused_with_a_reason(trained, section):
    _, path = trained

    def change(arrays):
        meta = json.loads(str(arrays["meta"]))
        meta.update(section)
        arrays["meta"] = np.array(json.dumps(meta))

    rewrite(path, change)
    if "stolen" in section.get("progress", {}):  # unknown counters of a newer version are ignored
        assert Snapshot.from_checkpoint(checkpoint.load(path)).episode == 1
        return
    with pytest.raises(CheckpointError, match="ckpt.npz: metadata"):
        Snapshot.from_checkpoint(checkpoint.load(path))
