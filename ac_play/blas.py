"""BLAS threads while training: one, unless the user asked otherwise.

Our matrices are small (at most a few thousand rows by 128): BLAS worker threads cost more in
wake-ups than they save, and training ran twice as fast with one thread on a 2-core machine.
The thread count also changes how BLAS splits its sums, so the same seed would give other
numbers with another count: one thread everywhere makes a run reproducible from Python and from
the command line alike.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

AUTO = "auto"
"""The default choice: one thread, unless one of THREAD_VARIABLES is set."""
THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
)
"""Environment variables by which a user tells BLAS how many threads to use; they win over AUTO."""


def wanted_threads(choice: int | str | None) -> int | None:
    """BLAS threads to train with for a Trainer's `blas_threads`: a count, or None to leave BLAS as it is."""
    if choice == AUTO:
        return None if any(os.environ.get(name) for name in THREAD_VARIABLES) else 1
    if choice is not None and (not isinstance(choice, int) or choice < 1):
        raise ValueError(f"blas_threads must be 'auto', None or a whole number of 1 or more, not {choice!r}")
    return choice


class SharedLimit:
    """A BLAS thread limit shared by every trainer running in this process.

    OpenBLAS keeps one thread count for the whole process, so two trainers in one process (the
    TUI's worker thread and the next run after a reset) must not give the count back while the
    other still trains: the first to start sets the limit, the last to stop restores it.

    The limit is set and restored by a thread of its own that lives only while someone trains.
    threadpoolctl lets only one Python thread at a time change OpenBLAS's count (the first that
    did, for as long as it lives) and silently ignores the others: had a trainer on the main
    thread set it, no trainer on another thread (the TUI's) could, ever after.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._holders = 0
        self._release = threading.Event()
        self._keeper: threading.Thread | None = None

    @contextmanager
    def held(self, threads: int | None) -> Iterator[None]:
        """BLAS limited to `threads` for the duration of the block; None leaves it alone."""
        if threads is None:
            yield
            return
        with self._lock:
            if self._holders == 0:
                self._start(threads)
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._stop()

    def _start(self, threads: int) -> None:
        limited = threading.Event()
        self._release.clear()

        def keep() -> None:
            try:
                with threadpool_limits(limits=threads, user_api="blas"):
                    limited.set()
                    self._release.wait()
            finally:
                limited.set()  # a failure must not leave the trainer waiting

        self._keeper = threading.Thread(target=keep, name="ac-play BLAS limit", daemon=True)
        self._keeper.start()
        limited.wait()

    def _stop(self) -> None:
        self._release.set()
        self._keeper.join()
        self._keeper = None


TRAINING_LIMIT = SharedLimit()
