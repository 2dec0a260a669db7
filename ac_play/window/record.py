"""`watch --record`: the frames shown, written as one GIF (pygame cannot write GIFs; pillow can)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pygame

from ac_play.errors import AcPlayError, SettingError


class GifRecorder:
    """Collects shown frames and writes them as one GIF when closed.

    Frames are reduced to 256 colours as they come and kept zlib-compressed (flat colours
    compress about fifty-fold), so a long recording does not fill the memory.
    """

    def __init__(self, path: str | Path, fps: int):
        self.path = Path(path)
        check_record_path(self.path)
        self.duration_ms = round(1000 / fps)
        self.frames: list[tuple[tuple[int, int], bytes, bytes]] = []

    def add(self, surface: pygame.Surface) -> None:
        from PIL import Image

        image = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
        frame = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        self.frames.append((frame.size, frame.getpalette(), zlib.compress(frame.tobytes(), 1)))

    def _images(self):
        from PIL import Image

        for size, palette, pixels in self.frames:
            image = Image.frombytes("P", size, zlib.decompress(pixels))
            image.putpalette(palette)
            yield image

    def close(self) -> None:
        if not self.frames:
            return
        images = self._images()
        first = next(images)
        try:
            first.save(self.path, save_all=True, append_images=images, duration=self.duration_ms, loop=0)
        except OSError as exc:
            raise AcPlayError(f"cannot write {self.path}: {exc.strerror or exc}") from None


def check_record_path(path: Path) -> None:
    if path.suffix.lower() == ".mp4":
        raise SettingError("record", "writes .gif only (mp4 needs ffmpeg); record a .gif and convert it with ffmpeg")
    if path.suffix.lower() != ".gif":
        raise SettingError("record", f"needs a .gif path, not {path.name}")
    if not path.parent.resolve().is_dir():
        raise AcPlayError(f"cannot record to {path}: folder {path.parent} does not exist")
