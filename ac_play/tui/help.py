"""The help screen (what the numbers mean, which keys do what) and the reset confirmation."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown

HELP = """\
# What you are watching

**The actor** is the policy: for the state it sees (cart position and speed, pole angle and
its speed) it gives a probability to each action, push left or push right. Training makes the
actions that led to better-than-expected results more likely.

**The critic** guesses how much reward is still to come from a state: the discounted sum of
future rewards, the *value*. It learns by comparing its guess with what really happened.

**The advantage** is what really happened minus what the critic expected: the return from a
step on, less the critic's value there. Positive means "better than usual", so the actor
makes that action more likely; negative, less likely. The critic is there to make this signal
steadier than the raw return. The default update (rollout) does not wait for the episode's end:
it learns every few dozen steps of each env, reading the rest of the return off the critic.

**The running reward** is a smoothed score: each episode moves it {alpha:.0%} of the way towards
that episode's return. Training counts as solved once it passes the env's threshold{threshold}.

# Inside the update (g)

**The gradient norms** (W1, b1: the shared layer; Wa, ba: the actor; Wc, bc: the critic) say
how hard the loss pulls on each layer: the length of the gradient the hand-written backward pass
gives it, before clipping, averaged over the update's optimiser steps. They are drawn on a log
scale: a layer near zero is learning nothing, and a jump of several tenfolds is what the
clipping guards against.

**Dead ReLUs** are hidden units that output zero on every step of a (mini)batch, so no gradient
reaches their weights and they stop learning. A few percent is harmless; a share that keeps
growing means the network is losing units it may never get back.

**The update's size** Δθ/|θ| is how far one update moved all the weights together, as a
fraction of their length. Large values mean the policy changes a lot between rollouts (too high
a learning rate makes it jump); values that fall towards zero mean learning has settled or
stalled.

# Keys

{keys}
"""

CLOSE_HINT = "↑ ↓ PgUp PgDn Home End scroll · Esc or ? closes"


OTHER_KEYS = [
    ("Enter", "in a setting: apply the value typed"),
    ("ctrl+p", "every action in the command palette"),
]
"""Keys that are not the app's own bindings: the settings' input fields, Textual's palette."""


def key_rows(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(keys, what they do) per action, in the order bound: one row for all the keys of an action."""
    keys: dict[str, list[str]] = {}
    does: dict[str, str] = {}
    for binding in bindings:
        keys.setdefault(binding.action, []).append(binding.key_display or binding.key)
        does[binding.action] = does.get(binding.action) or binding.tooltip
    return [(", ".join(keys[action]), does[action]) for action in keys] + OTHER_KEYS


def markdown_table(rows: list[tuple[str, str]]) -> str:
    lines = ["| key | does |", "| --- | --- |"] + [f"| {keys} | {does} |" for keys, does in rows]
    return "\n".join(lines)


class HelpScreen(ModalScreen):
    """The help text in a scrolling box; the way out stays in sight below it."""

    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close")]

    def __init__(self, running_alpha: float, threshold: float | None, keys: list[tuple[str, str]]):
        super().__init__()
        self.text = HELP.format(
            alpha=running_alpha,
            threshold=f" ({threshold:g})" if threshold is not None else "",
            keys=markdown_table(keys),
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            with VerticalScroll(id="help-text"):
                yield Markdown(self.text)
            yield Label(CLOSE_HINT, id="help-hint")

    def on_mount(self) -> None:
        # the scroll's own keys (arrows, PgUp/PgDn, Home/End) work once it has the focus;
        # the app focuses nothing by itself
        self.query_one("#help-text", VerticalScroll).focus()


class ConfirmReset(ModalScreen[bool]):
    """Ask before throwing the current agent away."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes, reset"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, untrained: bool = False):
        super().__init__()
        self.untrained = untrained

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label("Reset to a fresh agent?")
            if self.untrained:
                yield Label("Nothing is trained yet: this run's new folder is removed.")
            else:
                yield Label("The current run is saved first (final.npz).")
            yield Label("y: yes   n / Esc: no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
