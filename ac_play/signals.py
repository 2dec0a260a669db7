"""SIGTERM and SIGHUP end a training run the way Ctrl-C does: it is saved, and the exit code says why.

A handler only asks the run to stop (the trainer stops between updates, the TUI quits as `q`
does), so the checkpoint written afterwards is a consistent one, never a half-applied update.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
WITH_CTRL_C = (signal.SIGINT, *STOP_SIGNALS)
"""For a loop that should also finish its update on Ctrl-C rather than drop out of it mid-way."""


class StopSignals:
    """While active (a `with` block), SIGTERM and SIGHUP call `on_signal` instead of ending the process."""

    def __init__(self, on_signal: Callable[[], None], numbers: tuple[int, ...] = STOP_SIGNALS):
        self.on_signal = on_signal
        self.numbers = numbers
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # Python allows handlers only there
            for number in self.numbers:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, frame) -> None:
        self.received = number
        self.on_signal()

    @property
    def exit_code(self) -> int | None:
        """128 + the signal's number, as a shell reports a process ended by it (143, 129); None before one."""
        return None if self.received is None else 128 + self.received

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received is not None else ""
