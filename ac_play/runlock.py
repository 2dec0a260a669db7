"""One writer per run folder: an flock on FOLDER/.lock, which holds the owner's pid.

flock rather than a bare pid file: the kernel drops the lock when its process dies, however it
dies, so a .lock left behind by a killed run never blocks the next one; it is simply taken over.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ac_play.errors import AcPlayError

LOCK_NAME = ".lock"


class RunInUseError(AcPlayError):
    """Another process is writing the run folder."""


class RunLock:
    """The lock of one run folder; `acquire` or RunInUseError, `release` when the run is done."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                raise RunInUseError(
                    f"{self.folder} is in use by another ac-play ({holder}); "
                    "wait for it to finish or choose another folder"
                ) from None
            if self._is_current(fd):
                break
            # the owner released it (removing the file) between our open and our flock: try the new file
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        """Remove the lock file, then let go of the lock. Safe to call twice."""
        if self.fd is None:
            return
        # unlink while still holding it, so nobody locks a file that is about to disappear unseen
        self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise AcPlayError(f"cannot lock the run folder {self.folder}: {exc.strerror}") from None

    def _is_current(self, fd: int) -> bool:
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    @staticmethod
    def _holder(fd: int) -> str:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return f"pid {text}" if text.isdigit() else "pid unknown"
