"""The training TUI: an App of small widgets; training runs in a thread worker beside it."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterable
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from ac_play.config import TrainConfig
from ac_play.envs import UNLEARNABLE
from ac_play.errors import AcPlayError, SettingError
from ac_play.training import EpisodeStats
from ac_play.tui.cartpole_panel import CartPolePanel
from ac_play.tui.charts import ReturnChart, SparkGrid
from ac_play.tui.gradients import ChartTabs
from ac_play.tui.help import ConfirmReset, HelpScreen, key_rows
from ac_play.tui.jobs import EVAL_EPISODES, BackgroundJobs
from ac_play.tui.live_link import LiveLink
from ac_play.tui.messages import EpisodesTrained, TrainingEnded
from ac_play.tui.session import TrainingSession
from ac_play.tui.widgets import EventLog, SettingsPanel, StatsPanel, parse_setting

POST_INTERVAL = 1 / 2
"""Seconds between messages from the training thread; stats and charts refresh together with each
(a redraw costs the UI thread ~10 ms of the interpreter, which training then waits for)."""
PAUSE_SETTLE = 0.5  # seconds a pause waits for the update in progress to show, if it never does
MIN_SIZE = (80, 24)


class TrainApp(BackgroundJobs, App[Path | None]):
    """`ac-play train`: watch the actor-critic learn, steer it, save it."""

    CSS_PATH = "app.tcss"
    TITLE = "ac-play"
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("space", "toggle", "Run/Pause", tooltip="start, pause, resume; after SOLVED, keep training"),
        Binding("n", "step", "Step", tooltip="one update while paused"),
        Binding("s", "save", "Save", tooltip="save a checkpoint now (the log says where)"),
        Binding("e", "evaluate", "Eval",
                tooltip=f"evaluate the current policy over {EVAL_EPISODES} greedy episodes, in the background"),
        Binding("r", "reset", "Reset", tooltip="reset to a fresh agent (asks first; a trained run is saved)"),
        Binding("w", "window", "Window", tooltip="open or close the pygame window with the current policy"),
        Binding("g", "gradients", "Grads", tooltip="the gradients per layer, dead ReLUs and update size, "
                "in the return chart's place; again to go back"),
        Binding("question_mark", "help", "Help", key_display="?",
                tooltip="what the actor, critic, advantage and running reward are; the keys"),
        Binding("q", "quit", "Quit",
                tooltip="save final.npz and the metrics, then quit (a new run never trained leaves no folder)"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True,
                tooltip="as q, then exit with 130, as Ctrl-C does headless"),
        Binding("escape", "leave_setting", show=False, key_display="Esc",
                tooltip="in a setting: drop the value typed, back to the keys"),
    ]
    """The keys: the footer, the help screen, the command palette and the README's table all come from here."""

    def __init__(
        self, session: TrainingSession, history: list[dict] | None = None, note: str = "", open_window: bool = False
    ):
        super().__init__()
        self.open_window = open_window
        self.session = session
        self.history = history or []
        self.note = note
        self.state = "ready"
        self.quitting = False
        self.signalled = False
        self.interrupted = False  # by ctrl+c, which the terminal sends as a key, not as SIGINT
        self.event_loop: asyncio.AbstractEventLoop | None = None
        self.pause_pending = False  # "paused" waits for the update in progress to be shown
        self.live = LiveLink(self)
        self.sub_title = str(session.run_dir)

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        trainer = self.session.trainer
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SettingsPanel(trainer.config, id="settings")
                yield StatsPanel(trainer.threshold, id="stats")
                yield CartPolePanel(trainer.config.env_id, lambda: self.session.snapshot,
                                    trainer.config.seed, id="cartpole")
            with Vertical(id="right"):
                yield ChartTabs(trainer.threshold, trainer.config, id="charts")
                yield SparkGrid(id="sparks")
                yield EventLog(id="log")
        yield Static(f"Terminal too small: ac-play needs {MIN_SIZE[0]}x{MIN_SIZE[1]}.", id="too-small")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        threshold = self.session.trainer.threshold
        solve_line = f" · [red]solve {threshold:g}[/]" if threshold is not None else ""
        titles = {
            "settings": f"settings · {self.session.trainer.config.update}",  # the update; fits at 80 columns
            "stats": "progress",
            "returns": f"[$accent]return[/] · [green]running reward[/]{solve_line}",
            "sparks": "per update (value in normalised units)",
            "log": "events",
        }
        for widget_id, title in titles.items():
            self.query_one(f"#{widget_id}").border_title = title
        self.show_history()
        self.redraw_charts()
        self.log_event(self.note or "ready: press space to start training, ? for help")
        if self.session.trainer.config.env_id in UNLEARNABLE:
            self.log_event(f"note: {UNLEARNABLE[self.session.trainer.config.env_id]}")
        self.log_event(f"run folder: {self.session.run_dir}")
        self.session.trainer.pause()  # the worker waits for the first space
        self.start_worker()
        if self.open_window:
            self.live.toggle()
        self.event_loop = asyncio.get_running_loop()
        if self.signalled:  # SIGTERM or SIGHUP came while the app was starting
            self.call_later(self.action_quit)

    def on_unmount(self) -> None:
        # however the app ends, let the training thread go; run_tui then saves the run
        self.session.trainer.stop()
        self.live.close()

    def on_resize(self) -> None:
        small = self.size.width < MIN_SIZE[0] or self.size.height < MIN_SIZE[1]
        self.screen.set_class(small, "-too-small")

    def show_history(self) -> None:
        chart = self.query_one(ReturnChart)
        for row in self.history:
            chart.add(row["episode"], row["episode_return"], row["running_reward"])
        self.query_one(StatsPanel).reset(copy.copy(self.session.trainer.progress))

    # -- the training thread -------------------------------------------------------------

    def start_worker(self) -> None:
        self.session.idle.clear()  # here, not in the thread, so a quick quit still waits for it
        self.train(self.session)

    @work(thread=True, exclusive=True, group="training")
    def train(self, session: TrainingSession) -> None:
        """Iterate the trainer's episodes; post them in batches at most every POST_INTERVAL."""
        try:
            self.train_session(session)
        finally:
            session.idle.set()

    def train_session(self, session: TrainingSession) -> None:
        """The body of the training thread (it owns the trainer until it returns)."""
        trainer = session.trainer
        worker = get_current_worker()
        pending: list[EpisodeStats] = []
        last_post = time.monotonic()
        reason, error = "budget", None

        def show_before_pausing() -> None:
            # a pause that lands after the check below still shows every episode trained before it
            nonlocal pending
            if pending:
                self.post_message(EpisodesTrained(pending, session, paused=True))
                pending = []

        try:
            for stats in trainer.episodes(show_before_pausing):
                session.record(stats)
                pending.append(stats)
                if stats.episode != trainer.progress.episode:
                    continue  # more episodes of the same update to come
                if worker.is_cancelled:
                    trainer.stop()
                now = time.monotonic()
                if trainer.paused or now - last_post >= POST_INTERVAL:
                    self.post_message(EpisodesTrained(pending, session, paused=trainer.paused))
                    pending, last_post = [], now
            session.folder.flush()
        except AcPlayError as exc:  # diverged, or a run file could not be written
            reason, error = "error", str(exc)
        finally:
            if pending:
                self.post_message(EpisodesTrained(pending, session))
        if error is None and session.stopping:
            reason = "stopped"
        elif error is None and trainer.solved and trainer.config.episodes is None:
            reason = "solved"
        self.post_message(TrainingEnded(reason, session, error))

    def on_episodes_trained(self, message: EpisodesTrained) -> None:
        if message.session is not self.session or not self.widgets_alive:
            return
        progress = self.session.trainer.progress
        was_solved = self.query_one(StatsPanel).solved_at is not None
        self.query_one(ChartTabs).add(message.stats)
        self.query_one(SparkGrid).add(message.stats[-1])
        solved_at = next((s.episode for s in message.stats if s.solved), None) if not was_solved else None
        stats_panel = self.query_one(StatsPanel)
        stats_panel.add(message.stats, progress.best_running_reward, stats_panel.solved_at or solved_at)
        if solved_at is not None:
            self.log_event(f"SOLVED: running reward above {self.session.trainer.threshold:g}", solved_at)
        self.redraw_charts()  # with the counters, so they agree; plotext's cost sets POST_INTERVAL
        if message.paused:
            self.log_paused()

    def redraw_charts(self) -> None:
        if not self.widgets_alive:
            return
        self.query_one(ChartTabs).show()
        self.query_one(SparkGrid).show()

    def on_training_ended(self, message: TrainingEnded) -> None:
        if message.session is not self.session or message.reason == "stopped" or not self.widgets_alive:
            return
        self.query_one(CartPolePanel).running = True  # keep showing the newest policy
        if message.error:
            self.set_state("error")
            self.log_event(f"training stopped: {message.error}. Press r to reset or q to quit.")
        elif message.reason == "solved":
            self.set_state("solved")
            self.log_event("solved: training stops here; space keeps training, q quits")
        elif message.reason == "budget":
            self.set_state("finished")
            self.log_event(f"trained the {self.session.trainer.config.episodes} episodes asked for; "
                           "space trains as many more")

    # -- actions -------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        self.state = state
        self.query_one(StatsPanel).set_state(state)
        self.query_one(CartPolePanel).follow(state)

    @property
    def widgets_alive(self) -> bool:
        # at shutdown Textual removes the widgets first, while timers and the training thread's
        # messages may still arrive: they must find nothing to update rather than crash the exit
        return self.is_running

    def log_event(self, message: str, episode: int | None = None) -> None:
        """An entry stamped with the episode it is about, by default the stats panel's (not the trainer's)."""
        if not self.widgets_alive:
            return
        if episode is None:
            stats = self.query_one(StatsPanel)
            episode = (stats.latest or stats.start).episode
        self.query_one(EventLog).event(episode, message)

    def log_paused(self) -> None:
        """Once the last update before the pause is on screen, so the entry carries its episode."""
        if self.pause_pending:
            self.pause_pending = False
            self.log_event("paused: n steps one update, space resumes")

    def action_toggle(self) -> None:
        """Start, pause, resume, or keep training after the run has finished."""
        trainer = self.session.trainer
        if self.state in ("ready", "paused"):
            self.log_paused()
            trainer.resume()
            self.log_event("training started" if self.state == "ready" else "resumed")
            self.set_state("training")
        elif self.state == "training":
            trainer.pause()
            self.set_state("paused")
            self.pause_pending = True
            self.set_timer(PAUSE_SETTLE, self.log_paused)
        elif self.state in ("solved", "finished"):
            more = self.session.base_episodes or trainer.config.max_episodes
            trainer.config.episodes = trainer.progress.episode + more
            self.log_event(f"keep training: up to {more} more episodes")
            trainer.resume()
            self.set_state("training")
            self.start_worker()
        else:
            self.log_event("training stopped after an error; press r to reset")

    def action_step(self) -> None:
        """One update while paused."""
        if self.state in ("ready", "paused"):
            self.session.trainer.step_once()
            self.set_state("paused")
        else:
            self.notify("n steps one update while paused")

    def on_settings_panel_changed(self, change: SettingsPanel.Changed) -> None:
        panel = self.query_one(SettingsPanel)
        try:
            value = parse_setting(change.name, change.text)
            self.session.trainer.set_hyperparameters(**{change.name: value})
        except AcPlayError as exc:
            # the panel and the log name the setting already: the reason alone follows
            reason = exc.reason if isinstance(exc, SettingError) and exc.field == change.name else str(exc)
            panel.rejected(change.name, reason)
            self.log_event(f"rejected {change.name}: {reason}")
        else:
            panel.accepted(change.name, value)
            self.log_event(f"{change.name} set to {value:g} (applies at the next update)")

    def action_leave_setting(self) -> None:
        self.screen.set_focus(None)

    def action_help(self) -> None:
        """What the actor, critic, advantage and running reward are; the keys."""
        trainer = self.session.trainer
        self.push_screen(HelpScreen(trainer.config.running_alpha, trainer.threshold, key_rows(self.BINDINGS)))

    def action_gradients(self) -> None:
        self.query_one(ChartTabs).toggle()

    def action_window(self) -> None:
        """Open or close the pygame window that plays the current policy."""
        self.live.toggle()

    def action_reset(self) -> None:
        """Start again with a fresh agent (asks first; the current run is saved)."""
        self.push_screen(ConfirmReset(self.session.folder.unused), self.reset_if_confirmed)

    async def reset_if_confirmed(self, yes: bool | None) -> None:
        if not yes:
            self.log_event("reset cancelled")
            return
        old = self.session
        try:
            await self.stop_training()
        except AcPlayError as exc:
            self.log_event(f"the previous run could not be saved completely: {exc}")
        # a value applied with Enter carries into the new run, even one still waiting for an update
        chosen = self.session.trainer.chosen_settings()
        config = TrainConfig.from_dict({**self.session.base_config.to_dict(), **chosen})
        self.session = TrainingSession(config, None, None, root=self.session.run_dir.parent)
        self.query_one(SettingsPanel).show_settings(config)
        self.history = []
        self.query_one(ChartTabs).clear()
        self.query_one(SparkGrid).clear()
        self.query_one(StatsPanel).reset()
        self.query_one(CartPolePanel).restart()
        self.sub_title = str(self.session.run_dir)
        previous = "had no episodes, so its folder was removed" if old.discarded else f"is saved in {old.run_dir}"
        self.log_event(f"reset: the previous run {previous}; new run folder {self.session.run_dir}")
        self.session.trainer.pause()
        self.set_state("ready")
        self.start_worker()

    async def stop_training(self) -> Path | None:
        """Stop the training thread, wait for it, and write final.npz, best.npz and metrics."""
        return await asyncio.to_thread(self.session.stop_and_finish)

    async def action_quit(self) -> None:
        """Save the final checkpoint first, then leave."""
        if self.quitting:
            return
        self.quitting = True
        self.log_event("saving the final checkpoint…")
        self.live.close()
        try:
            final = await self.stop_training()
        except AcPlayError:
            final = None  # the session keeps the error; run_tui reports it once the terminal is back
        self.exit(final)

    async def action_interrupt(self) -> None:
        """ctrl+c: quit as q does; the exit code then says it was interrupted."""
        self.interrupted = True
        await self.action_quit()

    def quit_on_signal(self) -> None:
        """SIGTERM, SIGHUP or SIGINT: quit as q does, saving the run.

        Called by the signal handler between two bytecodes of the main thread, which is the event
        loop's: it only hands the work to the loop (call_soon_threadsafe is safe there).
        """
        self.signalled = True
        if self.event_loop is not None and self.event_loop.is_running():
            self.event_loop.call_soon_threadsafe(self.call_later, self.action_quit)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if binding.show:
                yield SystemCommand(f"{binding.description} ({binding.key_display or binding.key})", binding.tooltip,
                                    getattr(self, f"action_{binding.action}"))

