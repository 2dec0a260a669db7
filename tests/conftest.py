"""Shared by every test file: the CLI in a subprocess, the bundled agent, fonts and a window."""

import os
import subprocess
import sys

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

WINDOW_SIZE = (800, 500)


def run_cli(*args, timeout=120, **kwargs):
    """Run `python -m ac_play ARGS` and return the CompletedProcess (text mode)."""
    return subprocess.run(
        [sys.executable, "-m", "ac_play", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def bundled():
    """The bundled CartPole-v1 checkpoint, read once."""
    from ac_play import checkpoint

    return checkpoint.load_or_bundled(None)


@pytest.fixture(scope="session")
def older_checkpoint():
    """The agent bundled until 2026-11-27: saved before checkpoints named their update, with the
    metadata's old copies of seed and episode."""
    from pathlib import Path

    from ac_play import checkpoint

    return checkpoint.load(Path(__file__).parent / "data" / "cartpole-v1-2026-11-27.npz")


@pytest.fixture(scope="session")
def bundled_snapshot(bundled):
    """The bundled checkpoint as a Snapshot, as `watch` and the live window see it."""
    from ac_play.snapshot import Snapshot

    return Snapshot.from_checkpoint(bundled)


def reset_fonts() -> None:
    """Drop fonts cached by the drawing module: they die with a font module another test quit."""
    import pygame

    from ac_play.window import draw

    draw.font.cache_clear()
    draw.text.cache_clear()
    pygame.font.init()


@pytest.fixture
def fonts():
    reset_fonts()


@pytest.fixture(scope="module")
def display():
    """A window on SDL's dummy driver, shared by the tests of one file."""
    import pygame

    from ac_play.window.display import open_window

    assert os.environ["SDL_VIDEODRIVER"] == "dummy"
    reset_fonts()
    yield open_window("test", WINDOW_SIZE, "tests need SDL's dummy driver")
    pygame.display.quit()
