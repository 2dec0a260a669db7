"""`watch --record`: the frames shown, written as one GIF (pillow) or MP4 (imageio's ffmpeg, an extra).

pygame writes neither. The frames are kept as they come, and the file is written when the
recorder closes: beside its place, then renamed into it, so it is never left half-written.
"""

from __future__ import annotations

import os
import secrets
import zlib
from pathlib import Path

import pygame

from ac_play.errors import AcPlayError, SettingError
from ac_play.files import TEMP_SUFFIX, check_new_file, replace_atomically

SUFFIXES = (".gif", ".mp4")
VIDEO_EXTRA = 'pip install "ac-play[video]" (in a clone: pip install ".[video]")'
"""The command that adds the MP4 writer, as the refusal names it."""


class Recorder:
    """Collects shown frames; a subclass writes them when closed.

    Frames are reduced to 256 colours as they come and kept zlib-compressed (flat colours
    compress about fifty-fold), so a long recording does not fill the memory. A frame shown
    several times in a row (a title card, a held ending) is kept once, with its count.
    """

    def __init__(self, path: str | Path, fps: int, force: bool = False):
        self.path = check_record_path(path, force)
        self.fps = fps
        self.duration_ms = round(1000 / fps)
        self.frames: list[tuple[tuple[int, int], bytes, bytes]] = []
        self.counts: list[int] = []

    def add(self, surface: pygame.Surface, count: int = 1) -> None:
        """`surface` as the next `count` frames."""
        from PIL import Image

        image = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
        frame = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        self.frames.append((frame.size, frame.getpalette(), zlib.compress(frame.tobytes(), 1)))
        self.counts.append(count)

    @property
    def frame_count(self) -> int:
        return sum(self.counts)

    @property
    def seconds(self) -> float:
        return self.frame_count * self.duration_ms / 1000

    def _images(self):
        """(image, count) for each frame kept."""
        from PIL import Image

        for (size, palette, pixels), count in zip(self.frames, self.counts, strict=True):
            image = Image.frombytes("P", size, zlib.decompress(pixels))
            image.putpalette(palette)
            yield image, count

    def close(self) -> None:
        if not self.frames:
            return
        try:
            self.write()
        except OSError as exc:
            raise AcPlayError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def write(self) -> None:
        raise NotImplementedError


class GifRecorder(Recorder):
    """A GIF: pillow merges repeated frames into one longer frame."""

    def write(self) -> None:
        images = self._images()
        first, count = next(images)
        durations = [count * self.duration_ms]
        rest = []
        for image, count in images:
            rest.append(image)
            durations.append(count * self.duration_ms)

        def write(out) -> None:
            first.save(out, format="GIF", save_all=True, append_images=rest, duration=durations, loop=0)

        replace_atomically(self.path, write)


class Mp4Recorder(Recorder):
    """An H.264 MP4 through imageio's ffmpeg, which needs a real path ending in .mp4 to write to."""

    def write(self) -> None:
        import imageio.v2 as imageio
        import numpy as np

        temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}.mp4")
        try:
            # macro_block_size 2: yuv420p needs even sizes only; the default 16 would stretch 500 rows to 512
            with imageio.get_writer(temp, format="FFMPEG", fps=self.fps, macro_block_size=2,
                                    ffmpeg_log_level="error") as video:
                for image, count in self._images():
                    pixels = np.asarray(image.convert("RGB"))
                    for _ in range(count):
                        video.append_data(pixels)
            with open(temp, "rb") as written:
                os.fsync(written.fileno())
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def open_recorder(path: str | Path, fps: int, force: bool = False) -> Recorder:
    """The recorder for the path's suffix; the path is checked at once, before anything is played."""
    kind = Mp4Recorder if Path(path).suffix.lower() == ".mp4" else GifRecorder
    return kind(path, fps, force)


def check_record_path(text: str | Path, force: bool = False) -> Path:
    """The path to record to, or the reason it cannot be one; checked before anything is played."""
    path = check_new_file(text, SUFFIXES, force, "record", "cartpole.gif")
    if path.suffix.lower() == ".mp4":
        check_video_extra()
    return path


def check_video_extra() -> None:
    """MP4 needs the optional `video` extra: imageio and the ffmpeg its companion ships."""
    try:
        import imageio.v2  # noqa: F401
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        reason = f"writes .mp4 with the video extra, which is not installed: {VIDEO_EXTRA}"
        raise SettingError("record", reason) from None
