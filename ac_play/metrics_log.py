"""metrics.jsonl, appended whole lines at a time: a crash or a full disk never leaves half a line.

Lines wait in memory and go to disk in one `os.write` each time a few kilobytes (or a second)
have gathered, as a buffered file would, but a failed or short write is cut back to the last
whole line and reported in words instead of leaving a torn line behind.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from ac_play import files
from ac_play.errors import AcPlayError

FLUSH_BYTES = 16384
"""Write once this much has gathered (a few dozen episodes; one write per episode would cost speed)."""
FLUSH_INTERVAL = 1.0
"""Or once this many seconds have passed, so `tail -f` keeps up with a slow run."""
READ_BACK = 65536
LONGEST_LINE = 1 << 20
"""Reading backwards stops at a line longer than this (ours take about 350 bytes): damage, not history."""
COPY_CHUNK = 1 << 20


class MetricsWriteError(AcPlayError):
    """metrics.jsonl could not be opened or written."""


def describe(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link, which ac-play does not write through"
    return exc.strerror or str(exc)


def whole_lines_end(fd: int) -> int:
    """The offset just past the file's last newline (0 without one): where its whole lines end."""
    end = os.fstat(fd).st_size
    while end > 0:
        start = max(0, end - READ_BACK)
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


class MetricsLog:
    """An append-only JSON Lines file; `add` lines, `flush_if_due` between updates, `close` at the end."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        # O_NOFOLLOW: a symlink planted here is an error, never a way to append to its target.
        # O_RDWR rather than O_WRONLY only to read back the end and drop a line a crash cut short.
        try:
            self.fd = files.open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW)
        except files.NotRegularFile:
            raise MetricsWriteError(f"cannot open {self.path}: it is not a regular file") from None
        except OSError as exc:
            raise MetricsWriteError(f"cannot open {self.path}: {describe(exc)}") from None
        try:
            self.end = self._drop_torn_line()
        except OSError as exc:
            os.close(self.fd)
            raise MetricsWriteError(f"cannot open {self.path}: {describe(exc)}") from None
        self.pending: list[str] = []
        self.pending_bytes = 0
        self.flushed_at = time.monotonic()
        self.failed = False
        # the TUI's save key flushes from another thread than the one adding lines
        self._lock = threading.Lock()

    def _drop_torn_line(self) -> int:
        """Truncate a last line without its newline (left by a crash); return the file's length."""
        end = whole_lines_end(self.fd)
        if end != os.fstat(self.fd).st_size:
            os.ftruncate(self.fd, end)
        return end

    def add(self, line: str) -> None:
        """One line, ending in a newline (JSON with ASCII escapes, so characters are bytes)."""
        with self._lock:
            self.pending.append(line)
            self.pending_bytes += len(line)

    def flush_if_due(self) -> None:
        if self.pending_bytes >= FLUSH_BYTES or time.monotonic() - self.flushed_at >= FLUSH_INTERVAL:
            self.flush()

    def flush(self) -> None:
        """Write the waiting lines in one call; MetricsWriteError if they do not all reach the file."""
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        if self.failed or self.fd is None or not self.pending:
            return
        data = "".join(self.pending).encode()
        self.pending, self.pending_bytes = [], 0
        self.flushed_at = time.monotonic()
        try:
            written = os.write(self.fd, data)
        except OSError as exc:
            self._fail(describe(exc))
        if written < len(data):
            # on a regular file a short write means the disk (or a size limit) stopped it; every line
            # that reached the file whole stays, only the one cut in two goes
            self.end += data.rfind(b"\n", 0, written) + 1
            self._fail(f"only {written} of {len(data)} bytes were written (is the disk full?)")
        self.end += written

    def _fail(self, reason: str) -> NoReturn:
        """Cut the file back to its last whole line, take no more lines, and raise."""
        self.failed = True
        try:
            os.ftruncate(self.fd, self.end)
            outcome = "it ends at its last whole line"
        except OSError as exc:
            outcome = f"and it could not be cut back to its last whole line ({exc.strerror})"
        raise MetricsWriteError(f"cannot write {self.path}: {reason}; {outcome}") from None

    def close(self) -> None:
        """Close the file (lines not flushed are dropped: `flush` first)."""
        with self._lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


# -- reading back: where the logged history ends, and cutting off what a killed run logged after its save


def last_episode(path: str | Path) -> int | None:
    """The episode of the last whole line that names one; None without such a line (or a readable file)."""
    fd = _open_for_reading(Path(path))
    if fd is None:
        return None
    try:
        return next((episode for _, episode in _episodes_from_end(fd) if episode is not None), None)
    finally:
        os.close(fd)


def drop_after(path: str | Path, episode: int) -> int:
    """Remove the lines logged after `episode` from the end of the file; return how many went.

    The rest is copied to a temporary file that replaces the original by a rename, so a crash
    leaves either the old file or the new one, and a hard link to the old file keeps its lines.
    """
    path = Path(path)
    fd = _open_for_reading(path)
    if fd is None:
        return 0
    try:
        cut, dropped = None, 0
        for start, logged in _episodes_from_end(fd):
            if logged is not None and logged <= episode:
                break
            cut, dropped = start, dropped + 1
        if dropped:
            _replace_with_start(path, fd, cut)
    except OSError as exc:
        raise MetricsWriteError(f"cannot drop the lines after episode {episode} from {path}: {describe(exc)}") from None
    finally:
        os.close(fd)
    return dropped


def _open_for_reading(path: Path) -> int | None:
    """A descriptor of the regular file at `path`; None if there is none (MetricsLog reports a symlink or FIFO)."""
    try:
        return files.open_regular(path, os.O_RDONLY | os.O_NOFOLLOW)
    except (OSError, files.NotRegularFile):
        return None


def _episodes_from_end(fd: int) -> Iterator[tuple[int, int | None]]:
    """(offset, episode) of each whole line, the last first; episode None where a line names none.

    Reads back a block at a time, so the usual question (the last few lines) costs one read
    however long the file; gives up at a line longer than LONGEST_LINE.
    """
    offset = whole_lines_end(fd)
    block, stop = b"", 0  # block: the file from `offset` on; its lines before `stop` are not given yet
    while offset + stop > 0:
        start = block.rfind(b"\n", 0, max(stop - 1, 0)) + 1
        if start == 0 and offset > 0:  # the first line in the block may begin before it
            if stop > LONGEST_LINE:
                return
            more = min(READ_BACK, offset)
            block = os.pread(fd, more, offset - more) + block[:stop]
            offset, stop = offset - more, stop + more
            continue
        yield offset + start, _episode(block[start:stop])
        stop = start


def _episode(line: bytes) -> int | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    episode = record.get("episode") if isinstance(record, dict) else None
    return episode if type(episode) is int else None


def _replace_with_start(path: Path, fd: int, length: int) -> None:
    """Replace `path` with a copy of its first `length` bytes (read from `fd`)."""

    def copy(out) -> None:
        copied = 0
        while copied < length:
            chunk = os.pread(fd, min(COPY_CHUNK, length - copied), copied)
            if not chunk:
                raise OSError(errno.EIO, "the file got shorter while it was copied")
            copied += out.write(chunk)

    files.replace_atomically(path, copy)
