"""`ac-play bench --render`: how long one 800x500 watch frame with every overlay takes to draw.

Draws off-screen (no window needed) a late-episode scene: both probability bars, a 500-step
critic line, the returns-to-go, the warning tint and a push arrow, so nothing is left out. Then
the same in explain mode, the bundled agent taking a step before each frame, so every frame
pays for its state's input gradients as well as the three panels (the last episode's advantages
among them).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pygame

from ac_play import checkpoint
from ac_play.cartpole import Track
from ac_play.snapshot import Snapshot
from ac_play.window.draw import Scene, draw_frame
from ac_play.window.explain import Explainer, draw_explained_frame
from ac_play.window.playthrough import Playthrough

FRAMES = 300
WARM_UP = 20
TARGET_MS = 4.0
FRAME_SIZE = (800, 500)


def busy_scene(track: Track, step: int) -> Scene:
    """A scene with every overlay on, changing a little each frame as a real episode does."""
    steps = np.arange(track.max_episode_steps or 500)
    values = 99.0 + np.sin(steps / 40.0)
    phase = step / 25.0
    return Scene(
        track,
        x=1.8 * np.sin(phase), theta=0.8 * track.theta_threshold_radians * np.cos(phase),
        probs=(0.3 + 0.2 * np.sin(phase), 0.7 - 0.2 * np.sin(phase)), action=step % 2,
        value=float(values[-1]), values=values, returns_to_go=values[::-1],
        step=step, episode_return=float(step), episode=7, label="cartpole-v1.npz", mode="sampled",
        fps=60.0, source="weights of training episode 123", kick=1, message="episode over: return 500",
    )


def pushed_episode_played() -> tuple[Playthrough, Explainer]:
    """The bundled agent after one episode pushed twice, played to its end: its advantages are
    the explain mode's last episode while the next one plays."""
    play = Playthrough(Snapshot.from_checkpoint(checkpoint.load_or_bundled(None)), seed=0)
    explainer = Explainer.for_env(play.env, on=True)
    while not play.done:
        if play.steps in (40, 120):
            play.kick(1)
        explainer.observe(play)
        play.step()
    explainer.explain(play)
    play.reset()
    return play, explainer


def time_frames(frames: int = FRAMES, explain: bool = False) -> np.ndarray:
    """Milliseconds taken by each of `frames` draws, after a warm-up (explain mode's with `explain`)."""
    pygame.font.init()
    track = Track.from_env_id("CartPole-v1")
    surface = pygame.Surface(FRAME_SIZE)
    play, explainer = pushed_episode_played() if explain else (None, None)
    timings = []
    try:
        for step in range(WARM_UP + frames):
            scene = busy_scene(track, step)
            if play is not None:
                play.step() if not play.done else play.reset()  # a new state each frame: no cached gradients
            started = time.perf_counter()
            if explainer is not None:
                draw_explained_frame(surface, scene, explainer.explain(play))
            else:
                draw_frame(surface, scene)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        if play is not None:
            play.close()
    return np.array(timings[WARM_UP:])


def frame_times(timings: np.ndarray) -> dict[str, float]:
    return {
        "median_ms": round(float(np.median(timings)), 3),
        "p90_ms": round(float(np.percentile(timings, 90)), 3),
        "max_ms": round(float(timings.max()), 3),
    }


def run_render_bench(json_out: bool = False, frames: int = FRAMES) -> int:
    """`ac-play bench --render`: the frame time's median, 90th percentile and maximum; then in explain mode."""
    timings = time_frames(frames)
    result = {"frame": f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]}", "frames": len(timings), **frame_times(timings),
              "target_ms": TARGET_MS}
    result["explain"] = frame_times(time_frames(frames, explain=True))
    if json_out:
        print(json.dumps(result))
        return 0
    for name, times in (("render", result), ("render in explain mode", result["explain"])):
        verdict = "within" if times["median_ms"] <= TARGET_MS else "OVER"
        print(
            f"{name} {result['frame']}, {result['frames']} frames: median {times['median_ms']:.2f} ms, "
            f"p90 {times['p90_ms']:.2f} ms, max {times['max_ms']:.2f} ms ({verdict} the {TARGET_MS:g} ms target)",
            flush=True,
        )
    return 0
