import os
import subprocess
import sys

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


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
