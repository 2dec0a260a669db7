"""The live window during training: the current policy plays its own episodes beside training.

pygame wants the main thread of its own process, so the window is a separate process (spawn)
fed the newest parameters through a pipe; it plays and draws its own episodes with them, so
drawing never slows training and training never stutters drawing. This module does not import
pygame: the TUI process uses it and never loads pygame itself. The window's side is `live_window`.

Parent side: `LiveWindow`. `send` only drops the parameters into a one-item slot; a sender
thread ships the newest at most every SEND_INTERVAL seconds, so a slow or hung window can never
block a training step, and stale parameters are simply replaced. Training solves CartPole in
seconds, so when it ends `finish` tells the window, which then keeps playing the final weights
(and the best, in turn, when they differ) until the user closes it; `wait` waits for that.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
import time
from pathlib import Path

from ac_play.errors import AcPlayError
from ac_play.snapshot import Snapshot
from ac_play.training import Trainer

SEND_INTERVAL = 0.1
"""Seconds between parameter shipments: the window swaps weights per episode, so more is waste."""
START_TIMEOUT = 60.0
"""Seconds to wait for the window process to report it opened (spawn imports numpy, gymnasium, pygame)."""
CLOSE_TIMEOUT = 3.0
WAIT_POLL = 0.1
"""Seconds between checks, while waiting for the user to close the window, that nobody asked to stop."""


class LiveWindow:
    """A window in its own process, showing the newest parameters it was sent."""

    def __init__(self, label: str = "training", advice: str | None = None):
        self.label = label
        self.advice = advice
        """What to do instead when there is no display (None: what `watch` says)."""
        self._process = None
        self._conn = None
        self._slot_lock = threading.Lock()
        self._slot: tuple | None = None
        self._wake = threading.Event()
        self._closing = False
        self._sender: threading.Thread | None = None
        self._last_sent = float("-inf")
        self._exitcode: int | None = None

    def start(self) -> None:
        """Open the window; AcPlayError with the child's reason if it cannot (no display)."""
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=window_main, args=(child_conn, self.label, self.advice), name="ac-play live window", daemon=True
        )
        self._process.start()
        child_conn.close()
        status, reason = self._await_start()
        if status != "ok":
            self._process.join(CLOSE_TIMEOUT)
            raise AcPlayError(reason)
        self._sender = threading.Thread(target=self._send_loop, name="ac-play live window sender", daemon=True)
        self._sender.start()

    def _await_start(self) -> tuple[str, str]:
        try:
            if self._conn.poll(START_TIMEOUT):
                return self._conn.recv()
        except (EOFError, OSError):
            pass
        self._process.kill()
        return "error", "the live window's process did not start"

    def send(self, snapshot: Snapshot) -> None:
        """Hand over a snapshot of training (its weights, and what shows the critic in return units); never blocks."""
        self._put(("snapshot", policy_only(snapshot)))

    def finish(
        self, final: Snapshot, best: Snapshot | None = None, ended: str = "finished", run_dir: Path | None = None,
    ) -> None:
        """Training has ended (`ended` says how, "finished" or "stopped"): play `final` from now on.

        `best` (the run's best weights) takes turns with `final` when its weights differ. The
        window offers the history in `run_dir` as a timeline once it is there.
        """
        folder = str(run_dir) if run_dir is not None else None
        self._put(("finished", policy_only(final), policy_only(best) if best else None, ended, folder))

    def _put(self, message: tuple) -> None:
        with self._slot_lock:
            self._slot = message  # a message not yet sent is out of date: replace it
        self._wake.set()

    def send_from(self, trainer: Trainer) -> None:
        """Send the trainer's current weights, at most every SEND_INTERVAL (copies only then).

        Call it from the training thread between updates: the trainer changes its arrays in place.
        """
        now = time.monotonic()
        if now - self._last_sent < SEND_INTERVAL or not self.alive:
            return
        self._last_sent = now
        self.send(Snapshot.of(trainer, optimizer=False))

    @property
    def pid(self) -> int | None:
        """The window process's id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def exitcode(self) -> int | None:
        """How the window process ended (None while it runs or before it started)."""
        return self._exitcode if self._process is None else self._process.exitcode

    @property
    def alive(self) -> bool:
        """False once the user closed the window (or it was never opened, or closed here)."""
        return self._process is not None and self._process.is_alive() and not self._closing

    def wait(self, stop: threading.Event) -> None:
        """Until the user closes the window, or `stop` is set (by a signal handler, say)."""
        while self.alive and not stop.wait(WAIT_POLL):
            pass

    def _send_loop(self) -> None:
        while not self._closing:
            self._wake.wait()
            self._wake.clear()
            with self._slot_lock:
                message, self._slot = self._slot, None
            if message is None:
                continue
            try:
                self._conn.send(message)
            except (BrokenPipeError, EOFError, OSError):
                return  # the window was closed; training goes on
            time.sleep(SEND_INTERVAL)

    def close(self) -> None:
        """Close the window and end its process (training stopping closes the window)."""
        if self._process is None:
            return
        self._closing = True
        self._wake.set()
        if self._sender is not None:
            self._sender.join(CLOSE_TIMEOUT)
        if self._sender is None or not self._sender.is_alive():
            # with the sender stuck on a full pipe (a hung window), skip straight to terminate
            try:
                self._conn.send(("close",))
            except (BrokenPipeError, EOFError, OSError):
                pass
            self._process.join(CLOSE_TIMEOUT)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(CLOSE_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()  # a stopped or wedged process ignores SIGTERM
            self._process.join(CLOSE_TIMEOUT)
        self._conn.close()
        self._exitcode = self._process.exitcode
        self._process = None


def policy_only(snapshot: Snapshot) -> Snapshot:
    """The snapshot without the optimiser's state: the window only plays, and the pipe is faster."""
    return dataclasses.replace(snapshot, optimizer_state={})


def window_main(conn, label: str, advice: str | None = None) -> None:
    """The spawned process's entry point: pygame is imported here, never in the parent."""
    from ac_play.window.live_window import run_window

    run_window(conn, label, advice)
