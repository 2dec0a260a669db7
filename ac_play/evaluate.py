"""`ac-play eval`: score a checkpoint over many episodes."""

from __future__ import annotations

import json

import numpy as np

from ac_play import checkpoint
from ac_play.agent import ActorCritic
from ac_play.envs import env_info, make_runner
from ac_play.errors import printable


def evaluate(agent: ActorCritic, env_id: str, episodes: int, greedy: bool = True, seed: int = 0) -> np.ndarray:
    """The return of each of `episodes` episodes played by `agent` (no learning)."""
    info = env_info(env_id)
    if (agent.obs_dim, agent.n_actions) != (info.obs_dim, info.n_actions):
        raise checkpoint.CheckpointError(f"the agent does not fit {env_id}")
    runner = make_runner(env_id, 1, seed, np.random.default_rng(seed))
    try:
        with np.errstate(all="ignore"):  # a wildly trained agent may overflow; its score says so
            played = runner.play(agent, episodes, greedy=greedy)
    finally:
        runner.close()
    return np.array([episode.rewards.sum() for episode in played])


def run_eval(path: str | None, episodes: int = 100, greedy: bool = True, seed: int = 0, json_out: bool = False) -> int:
    """`ac-play eval`: the checkpoint at `path` (the bundled agent when None), scored and printed."""
    ckpt = checkpoint.load_or_bundled(path)
    returns = evaluate(ckpt.agent, ckpt.env_id, episodes, greedy, seed)
    summary = {
        "checkpoint": str(ckpt.path),
        "env_id": ckpt.env_id,
        "episodes": int(len(returns)),
        "mode": "greedy" if greedy else "sample",
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "min": float(returns.min()),
        "max": float(returns.max()),
    }
    if json_out:
        print(json.dumps(summary))  # the full path: a script may want to open it
    else:
        print(
            f"{printable(ckpt.label)} on {printable(summary['env_id'])}, "
            f"{summary['episodes']} {summary['mode']} episodes: "
            f"mean {summary['mean']:.1f}  std {summary['std']:.1f}  "
            f"min {summary['min']:.1f}  max {summary['max']:.1f}"
        )
    return 0
