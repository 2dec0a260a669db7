"""`watch --record`: the frames shown, written as one GIF (pygame cannot write GIFs; pillow can)."""

from __future__ import annotations

import os
import secrets
import zlib
from pathlib import Path

import pygame

from ac_play.errors import AcPlayError, SettingError
from ac_play.files import replace_atomically


class GifRecorder:
    """Collects shown frames and writes them as one GIF when closed.

    Frames are reduced to 256 colours as they come and kept zlib-compressed (flat colours
    compress about fifty-fold), so a long recording does not fill the memory.
    """

    def __init__(self, path: str | Path, fps: int, force: bool = False):
        self.path = check_record_path(path, force)
        self.duration_ms = round(1000 / fps)
        self.frames: list[tuple[tuple[int, int], bytes, bytes]] = []

    def add(self, surface: pygame.Surface) -> None:
        from PIL import Image

        image = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
        frame = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        self.frames.append((frame.size, frame.getpalette(), zlib.compress(frame.tobytes(), 1)))

    @property
    def seconds(self) -> float:
        return len(self.frames) * self.duration_ms / 1000

    def _images(self):
        from PIL import Image

        for size, palette, pixels in self.frames:
            image = Image.frombytes("P", size, zlib.decompress(pixels))
            image.putpalette(palette)
            yield image

    def close(self) -> None:
        """Write the GIF beside its place and rename it there: a crash never leaves half a GIF."""
        if not self.frames:
            return
        images = self._images()
        first = next(images)

        def write(out) -> None:
            first.save(out, format="GIF", save_all=True, append_images=images, duration=self.duration_ms, loop=0)

        try:
            replace_atomically(self.path, write)
        except OSError as exc:
            raise AcPlayError(f"cannot write {self.path}: {exc.strerror or exc}") from None


def check_record_path(text: str | Path, force: bool = False) -> Path:
    """The path to record to, or the reason it cannot be one; checked before anything is played."""
    if not str(text):
        raise SettingError("record", "needs a file name, such as cartpole.gif")
    path = Path(text)
    if path.is_dir():
        raise SettingError("record", f"needs a file, and {path} is a folder")
    if path.suffix.lower() == ".mp4":
        raise SettingError("record", "writes .gif only (mp4 needs ffmpeg); record a .gif and convert it with ffmpeg")
    if path.suffix.lower() != ".gif":
        raise SettingError("record", f"needs a .gif path, not {path.name}")
    if not path.parent.resolve().is_dir():
        raise AcPlayError(f"cannot record to {path}: folder {path.parent} does not exist")
    if (path.exists() or path.is_symlink()) and not force:
        raise SettingError("force", f"is needed to replace {path}, which exists already")
    check_writable(path.parent)
    return path


def check_writable(folder: Path) -> None:
    """Create and remove a file in `folder`: the one check that also holds for root and read-only mounts."""
    probe = folder / f".ac-play-probe-{secrets.token_hex(6)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        raise AcPlayError(f"cannot record in folder {folder}: {exc.strerror or exc}") from None
