"""Files someone else may have planted: open only regular ones, replace any atomically.

A FIFO or a device where a run file or the scores belong would hang a read (/dev/zero never
ends, a FIFO waits for a writer) or take a write that goes nowhere. O_NONBLOCK keeps the open
itself from waiting on a FIFO, and fstat on the open descriptor judges the very file opened.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ac_play.errors import AcPlayError, SettingError

TEMP_SUFFIX = ".tmp"


class NotRegularFile(Exception):
    """The path names a folder, a FIFO, a device or a socket; `kind` says which ("a FIFO")."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a file of this st_mode is, in words: "a regular file", "a folder", "a FIFO", "a device"..."""
    kinds = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    return next((kind for test, kind in kinds if test(mode)), "a special file")


def open_regular(path: str | Path, flags: int, mode: int = 0o644) -> int:
    """`os.open(path, flags)` that never waits, and closes and raises NotRegularFile unless it got a regular file.

    Errors of the open itself are the OSError `os.open` raises.
    """
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO without a reader, opened to write
            raise NotRegularFile("a FIFO") from None
        raise
    file_mode = os.fstat(fd).st_mode
    if stat.S_ISREG(file_mode):
        return fd
    os.close(fd)
    raise NotRegularFile(kind_of(file_mode))


def replace_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """A new file at `path`: `write(out)` fills a temporary file beside it, which is synced, then renamed.

    A crash leaves the old file or the new one, never half of one; a symlink at `path` is replaced,
    not written through; the temporary file never stays behind. Errors are the OSError raised.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
    try:
        # O_EXCL and O_NOFOLLOW: the temporary name is ours alone; 0o644 lets the umask apply as usual
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: Path, name: str) -> list[Path]:
    """Delete the temporary files `replace_atomically` left for files called `name` (a glob) when killed."""
    removed = []
    for temp in folder.glob(f".{name}.*{TEMP_SUFFIX}"):
        if temp.is_file() and not temp.is_symlink():
            temp.unlink(missing_ok=True)
            removed.append(temp)
    return removed


def check_new_file(text: str | Path, suffixes: tuple[str, ...], force: bool, field: str, example: str) -> Path:
    """The path a new file ending in one of `suffixes` may be written to, or the reason it cannot be
    (an AcPlayError naming `field`).

    The rules of `watch --record` and `inspect --png`, checked before any work: a name given, not a
    folder, the suffix, an existing folder that takes a new file, and no file there already unless
    `force` (a SettingError naming "force").
    """
    if not str(text):
        raise SettingError(field, f"needs a file name, such as {example}")
    path = Path(text)
    if path.is_dir():
        raise SettingError(field, f"needs a file, and {path} is a folder")
    if path.suffix.lower() not in suffixes:
        raise SettingError(field, f"needs a {' or '.join(suffixes)} path, not {path.name}")
    if not path.parent.resolve().is_dir():
        raise AcPlayError(f"cannot write {path}: folder {path.parent} does not exist")
    if (path.exists() or path.is_symlink()) and not force:
        raise SettingError("force", f"is needed to replace {path}, which exists already")
    # named as the temporary file the writers use, plus a little: a name too long for one is refused now
    probe = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}.probe")
    try:  # create and remove a file: the one check that also holds for root and read-only mounts
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise SettingError(field, f"needs a shorter file name than {path.name[:40]}...") from None
        raise AcPlayError(f"cannot write in folder {path.parent}: {exc.strerror or exc}") from None
    return path
