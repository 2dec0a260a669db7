"""`w`: the pygame window of the current policy, in its own process (ac_play.window.live).

The TUI process never imports pygame: `LiveWindow` spawns a process that does. This module
only starts it, feeds it the newest snapshot's weights twice a second, tells it when training
has ended (it then plays the final and best weights until closed), and closes it.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from ac_play.errors import AcPlayError

if TYPE_CHECKING:
    from ac_play.tui.app import TrainApp

SEND_INTERVAL = 0.5
"""Seconds between weight updates sent to the window (it plays whole episodes in between)."""
ENDINGS = {"solved": "finished", "finished": "finished", "error": "stopped"}
"""The app's states after training has ended, and what the window's header says of them."""
NO_WINDOW_ADVICE = (
    "the CartPole panel here plays the same policy; a window needs a display: "
    "run ac-play in a desktop session, or over `ssh -X`"
)
"""What to do without a display, said from inside the TUI (not: run the command you are in)."""


class LiveLink:
    """Open, feed and close the live window on behalf of the app."""

    def __init__(self, app: TrainApp):
        self.app = app
        self.window = None
        self.sent = None
        self.timer = None

    def toggle(self) -> None:
        if self.window is not None:
            self.close()
            self.app.log_event("live window closed")
            return
        self.app.log_event("opening the live window…")
        self.app.run_worker(self.open, thread=True, group="window", exclusive=True)

    def open(self) -> None:
        """In a thread: spawning a process and starting pygame takes a moment."""
        session = self.app.session
        from ac_play.window.live import LiveWindow

        window = LiveWindow(f"training {session.run_dir.name}", NO_WINDOW_ADVICE)
        try:
            # Textual swaps sys.stderr for an object with no file descriptor, and multiprocessing
            # hands stderr's descriptor to the helper process it spawns: lend it the real one
            with contextlib.redirect_stderr(sys.__stderr__):
                window.start()
        except Exception as exc:  # any reason at all is a line in the log, never a crash
            reason = str(exc) if isinstance(exc, AcPlayError) else f"{type(exc).__name__}: {exc}"
            self.app.call_from_thread(self.app.log_event, f"no live window: {reason}")
            return
        self.app.call_from_thread(self.opened, window)

    def opened(self, window) -> None:
        self.window = window
        self.sent = None
        self.feed()
        self.timer = self.app.set_interval(SEND_INTERVAL, self.feed, name="live-window")
        self.app.log_event("live window open: it plays episodes with the newest weights")

    def feed(self) -> None:
        if self.window is None:
            return
        if not self.window.alive:
            self.close()
            self.app.log_event("live window closed")
            return
        session = self.app.session
        ended = ENDINGS.get(self.app.state)
        if (session.snapshot, ended) == self.sent:
            return
        if ended:
            self.window.finish(session.snapshot, session.folder.best, ended, session.run_dir)
        else:
            self.window.send(session.snapshot)
        self.sent = (session.snapshot, ended)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
        if self.window is not None:
            self.window.close()
            self.window = None
