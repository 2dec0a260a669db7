"""`ac-play bench`: how fast the agent learns, and how close training runs to bare env speed.

Each seed trains in its own process (up to --jobs at once). Right before training, the same
process times bare `env.step` calls, so the throughput ratio compares numbers measured side by
side under the same load. A sweep (several --envs settings) trains every setting's seeds in one
pool of workers and reports each setting as a one-setting bench would.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import statistics
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np

from ac_play.config import TrainConfig, preset
from ac_play.envs import env_info, make_vector_env
from ac_play.errors import AcPlayError, SettingError
from ac_play.memory import MEMORY_LIMIT, check_memory, memory_needed, too_big
from ac_play.signals import StopSignals
from ac_play.training import Trainer

BARE_STEPS = 100_000
"""The most env.step calls timed for the bare throughput (about one second on CartPole)."""
BARE_SECONDS = 1.0
"""The bare throughput is timed for about this long at most: Acrobot's steps are 25 times slower than CartPole's."""
CHECK_EVERY = 1000
"""env steps between looks at the clock."""
WORKER_BYTES = 64 * 2**20
"""A worker process's own memory, before training: Python, NumPy and gymnasium (40 MB resident, measured)."""


def bare_steps_per_second(env_id: str, envs: int, steps: int = BARE_STEPS, seed: int = 0,
                          seconds: float = BARE_SECONDS) -> float:
    """env.step throughput with random actions and nothing else: the ceiling for training."""
    rng = np.random.default_rng(seed)
    if envs == 1:
        env = gym.make(env_id)
        actions = rng.integers(env.action_space.n, size=steps).tolist()
        env.reset(seed=seed)
        started, done = time.perf_counter(), 0
        while done < steps and time.perf_counter() - started < seconds:
            for action in actions[done:done + CHECK_EVERY]:
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
            done = min(done + CHECK_EVERY, steps)
        elapsed = time.perf_counter() - started
        env.close()
        return done / elapsed
    env = make_vector_env(env_id, envs)
    actions = rng.integers(env.single_action_space.n, size=(max(1, steps // envs), envs))
    every = max(1, CHECK_EVERY // envs)
    env.reset(seed=seed)
    started, calls = time.perf_counter(), 0
    while calls < len(actions) and time.perf_counter() - started < seconds:
        for batch in actions[calls:calls + every]:
            env.step(batch)
        calls = min(calls + every, len(actions))
    elapsed = time.perf_counter() - started
    env.close()
    return calls * envs / elapsed


def bench_config(env_id: str, seed: int, envs: int, preset_name: str = "default",
                 max_episodes: int | None = None, update: str | None = None) -> TrainConfig:
    """The settings one seed trains with: the preset's (with `update` if given), until solved or `max_episodes`."""
    return preset(preset_name, env_id=env_id, seed=seed, envs=envs, max_episodes=max_episodes, update=update).validate()


def bench_seed(job: tuple) -> dict:
    """One seed's numbers (in a worker process); a problem the user can act on comes back as {"error": sentence}.

    Returned rather than raised: SettingError's arguments do not survive pickling back to the parent.
    """
    try:
        return train_seed(*job)
    except AcPlayError as exc:
        return {"error": str(exc)}


def train_seed(env_id: str, seed: int, envs: int, preset_name: str = "default",
               max_episodes: int | None = None, update: str | None = None) -> dict:
    """Train one seed until solved (or out of episodes); report its numbers beside the bare env throughput."""
    config = bench_config(env_id, seed, envs, preset_name, max_episodes, update)
    bare = bare_steps_per_second(env_id, envs, seed=seed)
    started = time.perf_counter()
    trainer = Trainer(config)
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


def checked(run: dict) -> dict:
    """A worker's result, or its error raised again in the parent."""
    if "error" in run:
        raise AcPlayError(run["error"])
    return run


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


def check_bench(config: TrainConfig, processes: int) -> None:
    """In the parent, before any worker starts: a bad env or size is one sentence, not a worker's traceback."""
    info = env_info(config.env_id)
    check_memory(config, info)
    needed = processes * (WORKER_BYTES + memory_needed(config, info))
    if needed > MEMORY_LIMIT:
        raise SettingError("jobs", too_big(processes, needed))


def ignore_ctrl_c() -> None:
    """Pool initializer: Ctrl-C is the parent's to handle (it stops the workers), so workers print nothing,
    not even a library's warning (the parent's command line shows none either)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.showwarning = lambda *args, **kwargs: None


def train_seeds(work: Iterable[tuple], processes: int) -> list[dict]:
    """`bench_seed` over `work` in `processes` spawned workers; Ctrl-C is this process's alone.

    Ctrl-C raises KeyboardInterrupt here, and leaving the `with` terminates the workers, which
    ignore SIGINT. The initializer makes them ignore it only once they have imported NumPy and
    gymnasium; to cover their start too, this process ignores SIGINT while it starts them, and
    they inherit that across exec (a Ctrl-C in those few milliseconds is lost).
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = multiprocessing.get_context("spawn").Pool(processes, initializer=ignore_ctrl_c)
    finally:
        signal.signal(signal.SIGINT, previous)
    with pool:
        return [checked(run) for run in pool.imap(bench_seed, work)]


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: raised in the main thread, so leaving the pool's `with` ends the workers."""


class StopOnce:
    """A StopSignals callback: Stopped at the first signal only (a second must not cut short the pool's cleanup)."""

    def __init__(self):
        self.stopped = False

    def __call__(self) -> None:
        if not self.stopped:
            self.stopped = True
            raise Stopped


def run_bench(env_id: str, seeds: int = 10, jobs: int = 2, envs: Sequence[int] = (1,), json_out: bool = False,
              seed_start: int = 0, preset_name: str = "default", max_episodes: int | None = None,
              update: str | None = None) -> int:
    """`ac-play bench`: train seeds `seed_start` on, `seeds` of them, at each `envs` setting, `jobs` at a time.

    Exit 1 if any did not solve. SIGTERM and SIGHUP end it as Ctrl-C does, the workers terminated
    and joined; exit 143 or 129.
    """
    processes = min(jobs, seeds * len(envs))
    for setting in envs:
        check_bench(bench_config(env_id, seed_start, setting, preset_name, max_episodes, update), processes)
    seed_range = range(seed_start, seed_start + seeds)
    # a generator, not a list: --seeds may be huge, and the pool takes jobs as workers free up
    work = ((env_id, seed, setting, preset_name, max_episodes, update) for setting in envs for seed in seed_range)
    # Without this, SIGTERM would end this process alone, and the workers would train on and die
    # of a broken pipe, printing tracebacks, when they hand back their results.
    signals = StopSignals(StopOnce())
    try:
        with signals:
            runs = train_seeds(work, processes)
    except Stopped:
        print(f"ac-play: interrupted by {signals.name}", file=sys.stderr)
        return signals.exit_code
    reports = [
        {"env_id": env_id, "envs": setting, "jobs": jobs, "runs": runs[i * seeds:(i + 1) * seeds]}
        for i, setting in enumerate(envs)
    ]
    for report in reports:
        report["median"] = summary(report["runs"])
    if json_out:
        print(json.dumps(reports[0] if len(reports) == 1 else {"settings": reports}))
    else:
        chosen = bench_config(env_id, seed_start, envs[0], preset_name, max_episodes, update).update
        recipe = f"preset {preset_name}, {chosen} update"
        print_tables(reports, seed_range, recipe)
    return 0 if all(report["median"]["solved"] == seeds for report in reports) else 1


def print_tables(reports: list[dict], seed_range: range, recipe: str) -> None:
    """One table per setting, each under a line naming it."""
    seeds = f"seed {seed_range[0]}" if len(seed_range) == 1 else f"seeds {seed_range[0]}-{seed_range[-1]}"
    for number, report in enumerate(reports):
        if number:
            print()
        print(f"{report['env_id']}, envs={report['envs']}, {recipe}, {seeds} on {report['jobs']} processes")
        print_table(report["runs"], report["median"])
