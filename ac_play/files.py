"""Opening a file someone else may have planted: a regular file, or a NotRegularFile saying what it is.

A FIFO or a device where a run file or the scores belong would hang a read (/dev/zero never
ends, a FIFO waits for a writer) or take a write that goes nowhere. O_NONBLOCK keeps the open
itself from waiting on a FIFO, and fstat on the open descriptor judges the very file opened.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


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
