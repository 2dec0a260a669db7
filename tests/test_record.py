"""`watch --record` on a machine with no display, GIF and MP4, and the paths it refuses before playing anything."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ac_play.errors import AcPlayError
from ac_play.window import draw
from ac_play.window.record import VIDEO_EXTRA, GifRecorder, Mp4Recorder
from ac_play.window.viewer import HEADLESS_EPISODES, RECORD_FPS, RECORD_HOLD

NO_DISPLAY = {name: value for name, value in os.environ.items()
              if name not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
"""A server's environment: no display, and no video driver asked for (the tests' dummy one removed)."""
HOLD_FRAMES = round(RECORD_HOLD * RECORD_FPS)


def gif_frames(path: Path) -> int:
    with Image.open(path) as gif:
        return gif.n_frames


def last_frame_has(path: Path, colour) -> int:
    """Pixels near `colour` in the GIF's last frame (256 colours move each a little)."""
    with Image.open(path) as gif:
        gif.seek(gif.n_frames - 1)
        pixels = np.asarray(gif.convert("RGB")).astype(int)
    return int(np.all(abs(pixels - np.array(colour)) <= 12, axis=-1).sum())


def test_record_without_a_display_draws_off_screen_one_episode_and_says_so(cli, tmp_path):
    out = tmp_path / "run.gif"
    result = cli("watch", "--record", out, env=NO_DISPLAY, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == ("no display (neither DISPLAY nor WAYLAND_DISPLAY is set): recording off-screen, "
                        f"{HEADLESS_EPISODES} episode (--episodes sets how many)")
    # the bundled agent balances all 500 steps, then the comparison is held for RECORD_HOLD seconds of frames
    frames = 500 + HOLD_FRAMES
    assert gif_frames(out) == frames
    assert f"recorded {frames} frames ({frames / RECORD_FPS:g} s) to {out}" in lines
    assert "  episode 1: return 500, length 500, untouched" in lines
    assert last_frame_has(out, draw.RETURN_LINE) > 200


def test_record_without_a_display_plays_the_episodes_asked_for(cli, tmp_path):
    out = tmp_path / "two.gif"
    result = cli("watch", "--record", out, "--episodes", 2, "--speed", 8, env=NO_DISPLAY, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "recording off-screen\n" in result.stdout  # the budget came from --episodes: nothing added
    assert "  episode 2: return 500, length 500, untouched" in result.stdout.splitlines()
    # 500 steps at 8 steps a frame take 63 frames, then each episode's hold
    assert gif_frames(out) == 2 * (63 + HOLD_FRAMES)


def test_record_when_the_display_cannot_be_opened_falls_back_to_off_screen(cli, tmp_path):
    out = tmp_path / "x.gif"
    result = cli("watch", "--record", out, "--frames", 20, env={**NO_DISPLAY, "DISPLAY": ":97531"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no display (") and "recording off-screen" in result.stdout
    assert gif_frames(out) == 20


def test_frames_bound_a_headless_recording_without_an_episode_budget(cli, tmp_path):
    out = tmp_path / "x.gif"
    result = cli("watch", "--record", out, "--frames", 30, env=NO_DISPLAY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("recording off-screen")
    assert gif_frames(out) == 30
    # the bundled agent is named as eval names it, not by its path inside site-packages
    assert "cartpole-v1.npz (bundled), 0 finished episodes, 30 frames" in result.stdout


def test_watch_without_record_still_refuses_a_missing_display(cli):
    result = cli("watch", "--frames", 5, env=NO_DISPLAY)
    assert result.returncode == 2 and result.stderr.startswith("ac-play: error: no display")


def refused(cli, *args) -> str:
    """Run watch without a display and return its one error line, checking exit 2 and no traceback."""
    result = cli("watch", *args, env=NO_DISPLAY)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("ac-play: error: ")
    return line


def test_an_existing_file_is_refused_and_kept_without_force(cli, tmp_path):
    out = tmp_path / "keep.gif"
    out.write_bytes(b"my earlier recording")
    line = refused(cli, "--record", out, "--frames", 5)
    assert line == f"ac-play: error: --force is needed to replace {out}, which exists already"
    assert out.read_bytes() == b"my earlier recording"


def test_force_replaces_an_existing_file(cli, tmp_path):
    out = tmp_path / "old.gif"
    out.write_bytes(b"my earlier recording")
    result = cli("watch", "--record", out, "--frames", 5, "--force", env=NO_DISPLAY)
    assert result.returncode == 0, result.stderr
    assert gif_frames(out) == 5
    assert [path.name for path in tmp_path.iterdir()] == ["old.gif"]  # no temporary file left beside it


def test_force_without_record_is_refused(cli):
    assert refused(cli, "--force") == "ac-play: error: --force replaces the file of --record, and needs --record"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "--record needs a file name, such as cartpole.gif"),
        ("folder.gif", "--record needs a file, and {tmp}/folder.gif is a folder"),
        ("clip.txt", "--record needs a .gif or .mp4 path, not clip.txt"),
        ("clip.webm", "--record needs a .gif or .mp4 path, not clip.webm"),
        ("missing/clip.gif", "cannot write {tmp}/missing/clip.gif: folder {tmp}/missing does not exist"),
        # a name the folder takes, but not the longer temporary name beside it (once, ffmpeg's own lines)
        ("a" * 240 + ".mp4", "--record needs a shorter file name than " + "a" * 40 + "..."),
    ],
    ids=["empty", "folder", "unknown-extension", "webm", "missing-folder", "too-long-for-its-temporary-file"],
)
def test_bad_record_paths_are_one_line_and_exit_2(cli, tmp_path, name, says):
    (tmp_path / "folder.gif").mkdir()
    path = str(tmp_path / name) if name else ""
    line = refused(cli, "--record", path)
    assert line.startswith("ac-play: error: " + says.format(tmp=tmp_path))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/sys refuses new files even to root on Linux")
def test_a_folder_that_takes_no_new_file_is_refused_before_playing(cli):
    # root may write in any folder whatever its mode bits: /sys refuses new files even to root
    line = refused(cli, "--record", "/sys/clip.gif")
    assert line.startswith("ac-play: error: cannot write in folder /sys: ")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_half_gif(tmp_path, monkeypatch):
    import pygame

    out = tmp_path / "clip.gif"
    out.write_bytes(b"the old recording")
    recorder = GifRecorder(out, RECORD_FPS, force=True)
    frame = pygame.Surface((40, 30))
    for shade in range(0, 250, 50):
        frame.fill((shade, 0, 0))
        recorder.add(frame)

    def full_disk(image, out, **kwargs):
        out.write(b"GIF89a half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(AcPlayError, match="No space left on device"):
        recorder.close()
    assert out.read_bytes() == b"the old recording"
    assert [path.name for path in tmp_path.iterdir()] == ["clip.gif"]


def test_ctrl_c_before_the_first_frame_says_nothing_was_recorded(display, tmp_path, monkeypatch, capsys):
    from ac_play.window import viewer

    def interrupted(self, frames, recorder):
        raise KeyboardInterrupt

    monkeypatch.setattr(viewer.Viewer, "run", interrupted)
    out = tmp_path / "x.gif"
    assert viewer.run_watch(None, record=str(out)) == 0
    printed = capsys.readouterr().out
    assert f"nothing recorded, so {out} was not written" in printed
    assert "recorded 0 frames" not in printed and not out.exists()


def mp4_frames(path: Path) -> int:
    """The frames in an MP4, counted by decoding it (imageio's ffmpeg)."""
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="FFMPEG") as video:
        return video.count_frames()


def test_record_mp4_without_a_display_writes_the_frames_shown(cli, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    out = tmp_path / "clip.mp4"
    result = cli("watch", "--record", out, "--frames", 20, env=NO_DISPLAY)
    assert result.returncode == 0, result.stderr
    assert f"recorded 20 frames (0.4 s) to {out}" in result.stdout
    assert mp4_frames(out) == 20
    assert [path.name for path in tmp_path.iterdir()] == ["clip.mp4"]  # written beside it, renamed into place


def test_mp4_without_the_video_extra_names_the_install_command_before_playing(tmp_path, monkeypatch, capsys):
    import warnings

    from ac_play import cli

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() silences warnings
    for name in ("imageio", "imageio.v2", "imageio_ffmpeg"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed: importing it raises ImportError
    out = tmp_path / "clip.mp4"
    assert cli.main(["watch", "--record", str(out), "--frames", "5"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"ac-play: error: --record writes .mp4 with the video extra, which is not installed: {VIDEO_EXTRA}"
    ]
    assert 'pip install "ac-play[video]"' in captured.err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_mp4_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v2 as imageio
    import pygame

    out = tmp_path / "clip.mp4"
    out.write_bytes(b"the old recording")
    recorder = Mp4Recorder(out, RECORD_FPS, force=True)
    recorder.add(pygame.Surface((40, 30)), count=3)
    real_writer = imageio.get_writer

    def full_disk(*args, **kwargs):
        writer = real_writer(*args, **kwargs)

        def no_space(pixels):
            raise OSError(28, "No space left on device")

        writer.append_data = no_space
        return writer

    monkeypatch.setattr(imageio, "get_writer", full_disk)
    with pytest.raises(AcPlayError, match="No space left on device"):
        recorder.close()
    assert out.read_bytes() == b"the old recording"
    assert [path.name for path in tmp_path.iterdir()] == ["clip.mp4"]
