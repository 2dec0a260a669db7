"""Keymaps as data: a table per screen, from which both the handling and the on-screen hints come.

A row names the keys, how they are written on screen, what they do in words, the method of the
screen that does it, and the states of the screen in which the row applies. As in gymnasium's
`utils/play.py`, the table is the one place a key is bound, so the hints cannot drift from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ALWAYS = ()
"""`states` of a row that applies in every state."""


@dataclass(frozen=True)
class Key:
    """One row of a keymap."""

    codes: tuple[int, ...]
    """pygame key codes."""
    label: str
    """The keys as written on screen: "space", "q / Esc"."""
    does: str
    """What they do, in a few words."""
    action: str | None
    """The screen's method to call; None for keys held down rather than pressed (read each step)."""
    states: tuple[str, ...] = ALWAYS
    chars: tuple[str, ...] = ()
    """Typed characters that also match (a "+" typed on a layout without a plus key)."""

    def applies(self, state: str) -> bool:
        return not self.states or state in self.states


Keymap = Sequence[Key]


def find(keymap: Keymap, code: int, char: str, state: str) -> Key | None:
    """The first row for a pressed key (or typed character) in this state."""
    for row in keymap:
        if row.action is not None and row.applies(state) and (code in row.codes or (char and char in row.chars)):
            return row
    return None


def press(screen, keymap: Keymap, code: int, char: str = "") -> bool:
    """Call the method a key is bound to in the screen's current state; False if it means nothing there."""
    row = find(keymap, code, char, screen.state)
    if row is None:
        return False
    getattr(screen, row.action)()
    return True


def hints(keymap: Keymap, state: str | None = None) -> str:
    """"keys: what they do" for the rows of `state` (every row when None), keys that do the same merged."""
    merged: dict[str, list[str]] = {}
    for row in keymap:
        if state is None or row.applies(state):
            labels = merged.setdefault(row.does, [])
            if row.label not in labels:
                labels.append(row.label)
    return "    ".join(f"{' / '.join(labels)}: {does}" for does, labels in merged.items())


def help_rows(keymap: Keymap) -> list[tuple[str, str]]:
    """(keys, what they do) per label, each meaning followed by the states it holds in, for help tables."""
    rows: dict[str, list[str]] = {}
    for row in keymap:
        where = f" ({', '.join(row.states)})" if row.states else ""
        rows.setdefault(row.label, []).append(row.does + where)
    return [(label, "; ".join(meanings)) for label, meanings in rows.items()]
