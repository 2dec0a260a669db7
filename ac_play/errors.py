"""The exceptions the CLI turns into `ac-play: error: <sentence>` and exit code 2, and what reaches the terminal."""

from __future__ import annotations

import os
import sys


class AcPlayError(Exception):
    """A problem the user can act on: bad input, a bad file, a missing display."""


class SettingError(AcPlayError):
    """A setting with a value it cannot take: `field` names it (in Python's words), `reason` says why.

    The core and the UIs name the field; the CLI, the only place that knows flags, writes it as
    the flag that set it.
    """

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field} {reason}")
        self.field, self.reason = field, reason

    @classmethod
    def unless_between(cls, field: str, value: float, low: float, high: float) -> float:
        """`value`, or this error if it lies outside [low, high]."""
        if not low <= value <= high:
            raise cls(field, f"must be between {low:g} and {high:g}, not {value:g}")
        return value


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control and other unprintable characters as visible escapes.

    Names, paths and metadata come from files and flags; printed raw, an ESC or a CSI (\\x9b) would
    drive the terminal (clear it, retitle it, hide text) and a bidi override (U+202E) would reverse
    what follows. Letters of any script (é, ü, 中) stay as they are.
    """
    if text.isprintable():  # the common case, at C speed
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in SHORT_ESCAPES:
        return SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def silence_stdout() -> None:
    """After a reader closed our stdout (`| head`): send the rest nowhere, so no flush can fail at exit."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing will flush into a closed pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)
