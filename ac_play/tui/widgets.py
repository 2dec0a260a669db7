"""The settings panel, the stats panel and the event log."""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, RichLog, Static

from ac_play.config import HOT_SETTINGS, TrainConfig
from ac_play.errors import SettingError
from ac_play.training import EpisodeStats, Progress, hot_settings

HINT = "click a value, Enter sets"
"""The settings' note when there is nothing to report."""
RATE_WINDOW = 2.0
"""Seconds of history behind episodes/s and steps/s."""


SHOWN_CHARS = 12
"""Characters of a refused value quoted back: the note must fit two lines of the narrowest panel."""


def parse_setting(name: str, text: str) -> float:
    """The number typed for a hot setting; a SettingError naming it, with the reason, when it is not one."""
    try:
        value = float(text)
    except ValueError:
        typed = text.strip()
        shown = typed if len(typed) <= SHOWN_CHARS else typed[:SHOWN_CHARS] + "…"
        raise SettingError(name, f"{shown!r} is not a number") from None
    TrainConfig(**{name: value}).validate()
    return value


class SettingInput(Input):
    """A hot setting's field. Its keys show in the footer while it has focus (the app's are asleep then)."""

    BINDINGS = [
        Binding("enter", "submit", "Apply", key_display="Enter"),
        Binding("escape", "app.leave_setting", "Cancel", key_display="Esc"),
    ]


class SettingsPanel(Vertical):
    """Env, seed, hidden size and envs (fixed); lr, gamma and entropy (editable, Enter applies)."""

    class Changed(Message):
        """The user asked for a new value of a hot setting; the app decides whether it stands."""

        def __init__(self, name: str, text: str):
            super().__init__()
            self.name, self.text = name, text

    def __init__(self, config: TrainConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.in_force = hot_settings(config)

    def compose(self) -> ComposeResult:
        c = self.config
        # short lines: at 80 columns the panel holds 26 characters, and a cut "envs 16" would read "envs 1"
        yield Label(f"{c.env_id}  seed {c.seed}", classes="fixed")
        yield Label(f"envs {c.envs}  hidden {c.hidden}", classes="fixed")
        for name in HOT_SETTINGS:
            with Horizontal(classes="hot"):
                yield Label(name, classes="hot-name")
                yield SettingInput(f"{getattr(c, name):g}", id=f"set-{name}", select_on_focus=False)
        yield Label(HINT, id="setting-note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Changed(event.input.id.removeprefix("set-"), event.value))

    def on_input_blurred(self, event: Input.Blurred) -> None:
        # text typed but never applied with Enter must not look like the value in force
        name = event.input.id.removeprefix("set-")
        event.input.value = f"{self.in_force[name]:g}"

    def show_settings(self, config: TrainConfig) -> None:
        """A new run's settings (after a reset): the fields show its values, nothing else."""
        self.in_force = hot_settings(config)
        for name, value in self.in_force.items():
            self.query_one(f"#set-{name}", Input).value = f"{value:g}"
        self.note(HINT, "")

    def accepted(self, name: str, value: float) -> None:
        self.in_force[name] = value
        self.show_in_force(name)
        self.note(f"{name} = {value:g} from the next update", "ok")

    def rejected(self, name: str, reason: str) -> None:
        """`reason` says what is wrong with the value, without the name (`must be in (0, 1], not 1.5`)."""
        self.show_in_force(name)
        self.note(f"{name} {reason}; stays {self.in_force[name]:g}", "error")

    def show_in_force(self, name: str) -> None:
        # selected, so that the next value typed replaces it rather than joining it
        field = self.query_one(f"#set-{name}", Input)
        field.value = f"{self.in_force[name]:g}"
        field.select_all()

    def note(self, text: str, kind: str) -> None:
        label = self.query_one("#setting-note", Label)
        label.update(Text(text))  # the text quotes what was typed: never read it as markup
        label.set_classes(kind)


class StatsPanel(Static):
    """Counters, speeds and the SOLVED badge."""

    def __init__(self, threshold: float | None, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.latest: EpisodeStats | None = None
        self.start = Progress()
        self.best = 0.0
        self.solved_at: int | None = None
        self.state = "ready"
        self.samples: deque[tuple[float, int, int]] = deque()

    def on_mount(self) -> None:
        self.show()

    def reset(self, start: Progress | None = None) -> None:
        """Back to the counters a run starts from (zero, or a resumed checkpoint's)."""
        self.start = start or Progress()
        self.latest, self.best, self.solved_at = None, self.start.best_running_reward, self.start.solved_at
        self.samples.clear()
        self.show()

    def add(self, stats: list[EpisodeStats], best: float, solved_at: int | None) -> None:
        self.latest, self.best, self.solved_at = stats[-1], best, solved_at
        now = time.monotonic()
        self.samples.append((now, self.latest.episode, self.latest.env_steps))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW:
            self.samples.popleft()
        self.show()

    def set_state(self, state: str) -> None:
        self.state = state
        if state != "training":
            self.samples.clear()
        self.show()

    def rates(self) -> tuple[float, float] | None:
        if self.state != "training" or len(self.samples) < 2:
            return None
        (t0, e0, s0), (t1, e1, s1) = self.samples[0], self.samples[-1]
        if t1 - t0 <= 0:
            return None
        return (e1 - e0) / (t1 - t0), (s1 - s0) / (t1 - t0)

    def show(self) -> None:
        s = self.latest or self.start  # both have episode, env_steps, running_reward, elapsed
        last = f"{self.latest.episode_return:g}" if self.latest else "–"
        target = f" / {self.threshold:g}" if self.threshold is not None else ""
        rates = self.rates()
        text = Text()
        text.append(f"{self.state.upper():<10}", style="bold")
        text.append(f"episode {s.episode:,}\n")
        text.append(f"steps {s.env_steps:,}  {s.elapsed:.1f} s\n")
        text.append(f"running {s.running_reward:.1f}{target}\n")
        text.append(f"best {self.best:.1f}  last {last}\n")
        text.append(f"{rates[0]:.0f} ep/s  {rates[1]:,.0f} steps/s\n" if rates else "– ep/s  – steps/s\n", style="dim")
        if self.solved_at is not None:
            text.append(f" SOLVED at episode {self.solved_at:,} ", style="bold black on green")
        self.update(text, layout=False)  # fixed size: no layout pass


class EventLog(RichLog):
    """Started, solved, saved, evaluated, warnings: one entry each, stamped with the episode."""

    def __init__(self, **kwargs):
        super().__init__(wrap=True, min_width=20, **kwargs)

    def event(self, episode: int, message: str) -> None:
        line = Text(f"ep {episode} ", style="dim")
        line.append(message)
        self.write(line)

    def text(self) -> str:
        """What the log shows, as plain text (wrapped lines joined)."""
        return "\n".join(strip.text for strip in self.lines)
