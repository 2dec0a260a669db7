"""`ac-play bench --tui`: does the TUI cost training speed, and does it answer keys quickly?

In one run, for each seed: train a fixed number of episodes headless, then the same episodes
(same seed, so the very same work) under the TUI driven by Textual's headless Pilot at
120x40, and compare wall times; medians over the seeds. While the TUI trains flat out, it also
presses space twice and measures how long until the stats panel says PAUSED, and until the
training thread has really stopped.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from textual import events

from ac_play.config import TrainConfig
from ac_play.runs import RunFolder, make_trainer
from ac_play.tui.app import TrainApp
from ac_play.tui.session import TrainingSession
from ac_play.tui.widgets import StatsPanel

EPISODES = 300
SIZE = (120, 40)
POLL = 0.002
"""Seconds between looks while timing a pause: the latency is a few milliseconds."""
WATCH_POLL = 0.05
"""Seconds between looks while training runs flat out. Every look wakes the UI thread, which
then takes the interpreter from the training thread: at POLL the bench itself would wake it
some 350 times a second, a cost no user's TUI has."""
TIMEOUT = 120.0


def headless_seconds(config: TrainConfig, out: Path) -> tuple[float, int]:
    """Wall time of the headless loop (as ac_play.headless runs it) and the env steps done."""
    trainer = make_trainer(config, None)
    folder = RunFolder(out, config, trainer=trainer)
    started = time.perf_counter()
    for stats in trainer.episodes():
        folder.record(stats, trainer)
    folder.flush()
    seconds = time.perf_counter() - started
    folder.finish(trainer)
    return seconds, trainer.progress.env_steps


async def until(condition, poll: float = POLL) -> float:
    """Poll until condition() holds; the time it took."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > TIMEOUT:
            raise TimeoutError("the TUI did not get there in time")
        await asyncio.sleep(poll)
    return time.perf_counter() - started


async def press(app: TrainApp, key: str, character: str | None) -> None:
    """Post a key as the terminal driver does (Pilot.press would also wait for the screen)."""
    app.post_message(events.Key(key, character))


async def pause_latency(app: TrainApp) -> tuple[float, float]:
    """Press space while training: seconds until PAUSED shows, and until updates stop."""
    trainer, stats = app.session.trainer, app.query_one(StatsPanel)
    started = time.perf_counter()
    await press(app, "space", " ")
    shown = await until(lambda: stats.state == "paused")
    changes = [(time.perf_counter(), trainer.progress.updates)]
    while time.perf_counter() - started < 0.5:
        await asyncio.sleep(POLL)
        if trainer.progress.updates != changes[-1][1]:
            changes.append((time.perf_counter(), trainer.progress.updates))
    halted = max(changes[-1][0] - started, shown)
    await press(app, "space", " ")
    await until(lambda: stats.state == "training")
    return shown, halted


async def tui_run(config: TrainConfig, out: Path, probe: bool) -> dict:
    """Train under the TUI; wall time of the training alone (probing pauses excluded)."""
    session = TrainingSession(config, None, out)
    app = TrainApp(session)
    result: dict = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        started = time.perf_counter()
        await press(app, "space", " ")
        paused_for = 0.0
        if probe:
            await until(lambda: session.trainer.progress.episode >= EPISODES // 3, WATCH_POLL)
            probe_start = time.perf_counter()
            result["shown"], result["halted"] = await pause_latency(app)
            paused_for = time.perf_counter() - probe_start - result["halted"]
        # the training thread's end, waited for in a thread of its own: no polling meanwhile
        if not await asyncio.to_thread(session.idle.wait, TIMEOUT):
            raise TimeoutError("the TUI did not finish training in time")
        result["seconds"] = time.perf_counter() - started - paused_for
        await until(lambda: app.state in ("finished", "solved", "error"), WATCH_POLL)
        result["env_steps"] = session.trainer.progress.env_steps
        await pilot.press("q")
    return result


def run_tui_bench(env_id: str, seeds: int = 10, envs: int = 1, json_out: bool = False) -> int:
    """`ac-play bench --tui`: for each seed, the same training headless and under the TUI."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="ac-play-bench-") as scratch:
        for seed in range(seeds):
            config = TrainConfig(env_id=env_id, seed=seed, envs=envs, episodes=EPISODES)
            headless, steps = headless_seconds(config, Path(scratch) / f"headless-{seed}")
            config = TrainConfig(env_id=env_id, seed=seed, envs=envs, episodes=EPISODES)
            tui = asyncio.run(tui_run(config, Path(scratch) / f"tui-{seed}", probe=True))
            if tui["env_steps"] != steps:
                raise RuntimeError("the TUI run did different work from the headless run")
            rows.append({"seed": seed, "env_steps": steps, "headless_s": headless, **tui,
                         "ratio": headless / tui["seconds"]})
    summary = {
        "episodes": EPISODES,
        "seeds": seeds,
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "median_headless_steps_per_s": statistics.median(r["env_steps"] / r["headless_s"] for r in rows),
        "median_tui_steps_per_s": statistics.median(r["env_steps"] / r["seconds"] for r in rows),
        "median_pause_shown_ms": 1000 * statistics.median(r["shown"] for r in rows),
        "max_pause_shown_ms": 1000 * max(r["shown"] for r in rows),
        "median_pause_halted_ms": 1000 * statistics.median(r["halted"] for r in rows),
        "max_pause_halted_ms": 1000 * max(r["halted"] for r in rows),
    }
    if json_out:
        print(json.dumps({"runs": rows, **summary}))
        return 0
    print(f"{'seed':>4} {'steps':>8} {'headless s':>10} {'TUI s':>7} {'ratio':>6} {'shown ms':>9} {'halted ms':>9}")
    for r in rows:
        print(f"{r['seed']:>4} {r['env_steps']:>8} {r['headless_s']:>10.2f} {r['seconds']:>7.2f} "
              f"{r['ratio']:>6.2f} {1000 * r['shown']:>9.1f} {1000 * r['halted']:>9.1f}")
    print(f"median throughput under the TUI: {summary['median_ratio']:.0%} of headless "
          f"({summary['median_tui_steps_per_s']:,.0f} vs {summary['median_headless_steps_per_s']:,.0f} env steps/s, "
          f"{EPISODES} episodes per run, {summary['size']})")
    print(f"space -> PAUSED shown: median {summary['median_pause_shown_ms']:.1f} ms, "
          f"max {summary['max_pause_shown_ms']:.1f} ms; training halted: median "
          f"{summary['median_pause_halted_ms']:.1f} ms, max {summary['max_pause_halted_ms']:.1f} ms")
    return 0
