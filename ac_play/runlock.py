"""One writer per run folder: an flock on FOLDER/.lock, which holds the owner's pid.

flock rather than a bare pid file: the kernel drops the lock when its process dies, however it
dies, so a .lock left behind by a killed run never blocks the next one; it is simply taken over.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ac_play import files
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
        """Take the lock and write our pid into it; any failure is an AcPlayError and leaves no lock behind."""
        fd = self._lock()
        pid = f"{os.getpid()}\n".encode()
        try:
            os.ftruncate(fd, 0)
            written = os.write(fd, pid)
        except OSError as exc:  # a full disk, a quota
            self._give_up(fd)
            raise AcPlayError(f"cannot lock the run folder {self.folder}: {exc.strerror or exc}") from None
        if written < len(pid):
            self._give_up(fd)
            raise AcPlayError(f"cannot lock the run folder {self.folder}: its pid was not written (is the disk full?)")
        self.fd = fd

    def _lock(self) -> int:
        """An open, flocked descriptor of the file now named .lock, checked to be a lock file of ours."""
        while True:
            fd = self._open()
            try:
                self._check_lock_file(fd)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                raise RunInUseError(
                    f"{self.folder} is in use by another ac-play ({holder}); "
                    "wait for it to finish or choose another folder"
                ) from None
            except OSError as exc:
                os.close(fd)
                raise AcPlayError(f"cannot lock the run folder {self.folder}: {exc.strerror or exc}") from None
            except BaseException:
                os.close(fd)
                raise
            if self._is_current(fd):
                return fd
            # the owner released it (removing the file) between our open and our flock: try the new file
            os.close(fd)

    def _give_up(self, fd: int) -> None:
        """Remove the lock file we hold (a half-written pid helps nobody), then close it."""
        self.path.unlink(missing_ok=True)
        os.close(fd)

    def release(self) -> None:
        """Remove the lock file, then let go of the lock. Safe to call twice."""
        if self.fd is None:
            return
        # unlink while still holding it, so nobody locks a file that is about to disappear unseen
        self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None

    def _open(self) -> int:
        # O_NOFOLLOW: never lock (and truncate) a symlink's target
        try:
            return files.open_regular(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW)
        except files.NotRegularFile:
            raise self._refused("is not a regular file") from None
        except OSError as exc:
            raise AcPlayError(f"cannot lock the run folder {self.folder}: {exc.strerror}") from None

    def _check_lock_file(self, fd: int) -> None:
        """Refuse a file with more than one name (`_open` already refused all but regular files).

        .lock is truncated and written: through a hard link planted there that would destroy the
        file it shares its data with.
        """
        if os.fstat(fd).st_nlink > 1:
            raise self._refused("is a hard link to another file")

    def _refused(self, problem: str) -> AcPlayError:
        return AcPlayError(
            f"cannot lock the run folder {self.folder}: {self.path} {problem}, so ac-play leaves it alone; "
            "remove it or choose another folder"
        )

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
