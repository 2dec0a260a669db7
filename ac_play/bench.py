"""`ac-play bench`: how fast the agent learns, and how close training runs to bare env speed.

Each seed trains in its own process (up to --jobs at once). Right before training, the same
process times bare `env.step` calls, so the throughput ratio compares numbers measured side by
side under the same load.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from ac_play.config import TrainConfig
from ac_play.envs import make_vector_env
from ac_play.training import Trainer

BARE_STEPS = 100_000
"""env.step calls timed for the bare throughput (about one second)."""


def bare_steps_per_second(env_id: str, envs: int, steps: int = BARE_STEPS, seed: int = 0) -> float:
    """env.step throughput with random actions and nothing else: the ceiling for training."""
    rng = np.random.default_rng(seed)
    if envs == 1:
        env = gym.make(env_id)
        actions = rng.integers(env.action_space.n, size=steps).tolist()
        env.reset(seed=seed)
        started = time.perf_counter()
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        elapsed = time.perf_counter() - started
        env.close()
        return steps / elapsed
    env = make_vector_env(env_id, envs)
    calls = max(1, steps // envs)
    actions = rng.integers(env.single_action_space.n, size=(calls, envs))
    env.reset(seed=seed)
    started = time.perf_counter()
    for batch in actions:
        env.step(batch)
    elapsed = time.perf_counter() - started
    env.close()
    return calls * envs / elapsed


def bench_seed(job: tuple[str, int, int]) -> dict:
    """Train one seed until solved; report its numbers beside the bare env throughput."""
    env_id, seed, envs = job
    bare = bare_steps_per_second(env_id, envs, seed=seed)
    started = time.perf_counter()
    trainer = Trainer(TrainConfig(env_id=env_id, seed=seed, envs=envs))
    *_, last = trainer.episodes()
    wall = time.perf_counter() - started
    trainer.close()
    steps_per_s = last.env_steps / wall
    return {
        "seed": seed,
        "solved": trainer.solved,
        "episodes": trainer.progress.solved_at or last.episode,
        "env_steps": last.env_steps,
        "wall_s": wall,
        "steps_per_s": steps_per_s,
        "bare_steps_per_s": bare,
        "ratio": steps_per_s / bare,
    }


def resident_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; elsewhere the peak from getrusage)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        import os

        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_memory(env_id: str, episodes: int, envs: int, warmup: int = 100) -> dict:
    """Resident memory after a warm-up and after `episodes` episodes of training."""
    config = TrainConfig(env_id=env_id, envs=envs, episodes=episodes)
    warmup = min(warmup, episodes)
    trainer = Trainer(config)
    before = None
    for stats in trainer.episodes():
        if before is None and stats.episode >= warmup:
            before = resident_mb()
    after = resident_mb()
    trainer.close()
    return {"episodes": episodes, "rss_after_warmup_mb": before, "rss_end_mb": after, "growth_mb": after - before}


def summary(runs: list[dict]) -> dict:
    keys = ("episodes", "env_steps", "wall_s", "steps_per_s", "bare_steps_per_s", "ratio")
    medians = {key: statistics.median(run[key] for run in runs) for key in keys}
    return {"solved": sum(run["solved"] for run in runs), "seeds": len(runs), **medians}


def print_table(runs: list[dict], totals: dict) -> None:
    print("seed solved episodes env steps  wall s  steps/s   bare/s ratio")
    for run in runs:
        print(
            f"{run['seed']:>4} {'yes' if run['solved'] else 'NO':>6} {run['episodes']:>8} {run['env_steps']:>9} "
            f"{run['wall_s']:>7.2f} {run['steps_per_s']:>8.0f} {run['bare_steps_per_s']:>8.0f} {run['ratio']:>5.2f}"
        )
    print(
        f"{'med':>4} {totals['solved']:>3}/{totals['seeds']:<2} {totals['episodes']:>8.0f} {totals['env_steps']:>9.0f} "
        f"{totals['wall_s']:>7.2f} {totals['steps_per_s']:>8.0f} {totals['bare_steps_per_s']:>8.0f} "
        f"{totals['ratio']:>5.2f}"
    )


def run_memory_bench(env_id: str, episodes: int, envs: int = 1, json_out: bool = False) -> int:
    """`ac-play bench --memory N`: resident memory growth over N episodes of training."""
    TrainConfig(env_id=env_id, envs=envs).validate()
    result = bench_memory(env_id, episodes, envs)
    if json_out:
        print(json.dumps(result))
    else:
        print(
            f"resident memory: {result['rss_after_warmup_mb']:.1f} MB after warm-up, "
            f"{result['rss_end_mb']:.1f} MB after {episodes} episodes (growth {result['growth_mb']:+.1f} MB)"
        )
    return 0


def run_bench(env_id: str, seeds: int = 10, jobs: int = 2, envs: int = 1, json_out: bool = False) -> int:
    """`ac-play bench`: train `seeds` seeds until solved, `jobs` at a time; 1 if any did not solve."""
    TrainConfig(env_id=env_id, envs=envs).validate()
    work = [(env_id, seed, envs) for seed in range(seeds)]
    with multiprocessing.get_context("spawn").Pool(min(jobs, len(work))) as pool:
        runs = pool.map(bench_seed, work, chunksize=1)
    totals = summary(runs)
    if json_out:
        print(json.dumps({"env_id": env_id, "envs": envs, "jobs": jobs, "runs": runs, "median": totals}))
    else:
        print(f"{env_id}, envs={envs}, {seeds} seeds on {jobs} processes")
        print_table(runs, totals)
    return 0 if totals["solved"] == totals["seeds"] else 1
