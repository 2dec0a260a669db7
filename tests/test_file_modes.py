"""Every file of a run folder gets the same permissions: the user's umask decides, for checkpoints as for JSON."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

RUN_FILES = ("config.json", "metrics.jsonl", "best.npz", "final.npz")


def train(out: Path, umask: int, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ac_play", "train", "--headless", "--hidden", "8", "--episodes", "5",
         "--out", str(out), *flags],
        capture_output=True, text=True, timeout=120, umask=umask,
    )


def modes(folder: Path) -> dict[str, str]:
    return {name: oct(stat.S_IMODE((folder / name).stat().st_mode)) for name in RUN_FILES}


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o027])
def test_checkpoints_get_the_mode_of_the_json_files_beside_them(tmp_path, umask):
    result = train(tmp_path / "run", umask)
    assert result.returncode == 0, result.stderr
    # what any program that creates files with 0o644 gets: rw for the owner, r where the umask allows
    assert modes(tmp_path / "run") == dict.fromkeys(RUN_FILES, oct(0o644 & ~umask))


def test_resuming_in_place_keeps_every_file_at_the_same_mode(tmp_path):
    run = tmp_path / "run"
    assert train(run, 0o077).returncode == 0
    result = train(run, 0o077, "--resume", str(run / "final.npz"))
    assert result.returncode == 0, result.stderr
    assert modes(run) == dict.fromkeys(RUN_FILES, oct(0o600))
