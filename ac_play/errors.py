"""The exceptions the CLI turns into `ac-play: error: <sentence>` and exit code 2."""

from __future__ import annotations


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
