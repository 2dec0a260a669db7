"""`ac-play human`: play CartPole with the keyboard, beside the agent on the very same start state.

The game is a small state machine (title, countdown, playing, paused, result). It takes input
through `handle_event` (pygame events) and time through `update(elapsed_ms)` (game time); the
window loop in `run_human` only pumps events, ticks a clock and draws, so tests can drive the
same methods with posted key events and no wall clock.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import gymnasium as gym
import pygame

from ac_play import checkpoint, history
from ac_play.agent import ActorCritic
from ac_play.cartpole import Track, is_cartpole
from ac_play.errors import AcPlayError, SettingError
from ac_play.returns import ValueScale
from ac_play.sampling import choose
from ac_play.snapshot import Snapshot
from ac_play.window import keys, scores
from ac_play.window.display import open_window
from ac_play.window.human_screens import draw_game, plural, window_size
from ac_play.window.ladder import Ladder, beats, one_stage

MIN_SPEED, MAX_SPEED = 0.25, 2.0
DEFAULT_SPEED = 0.5  # 25 steps a second: 50 (the env's 1 / tau) is too fast for most people
COUNTDOWN_MS = 3000
LONGEST_FRAME_MS = 100  # a stalled window (dragged, suspended) must not fast-forward the game
LEFT_KEYS = (pygame.K_LEFT, pygame.K_a)
RIGHT_KEYS = (pygame.K_RIGHT, pygame.K_d)
START_KEYS = (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_SPACE)
PUSH = keys.Key(LEFT_KEYS + RIGHT_KEYS, "Left / Right (or A / D)", "push", None, states=("countdown", "playing"))
"""Held, not pressed: read at every step (`Game.step`)."""
KEYMAP = (
    PUSH,
    keys.Key(START_KEYS, "Enter / space", "start", "new_round", states=("title",)),
    keys.Key(START_KEYS, "Enter / space", "another round", "new_round", states=("result",)),
    keys.Key(START_KEYS, "Enter / space", "go on", "resume", states=("paused",)),
    keys.Key((pygame.K_r,), "r", "another round", "new_round", states=("result",)),
    keys.Key((pygame.K_r,), "r", "restart", "new_round", states=("paused",)),
    keys.Key((pygame.K_ESCAPE,), "Esc", "pause", "pause", states=("playing",)),
    keys.Key((pygame.K_ESCAPE,), "Esc", "title", "leave", states=("countdown", "paused", "result")),
    keys.Key((pygame.K_ESCAPE,), "Esc", "quit", "quit", states=("title",)),
    keys.Key((pygame.K_h,), "h", "hint", "toggle_hint"),
    keys.Key((pygame.K_q,), "q", "quit", "quit"),
)
"""The game's keys, by state (title, countdown, playing, paused, result); the screens' hints come from it."""
NO_KEY_RULE = "No key held: the cart is pushed left and right in turn, which nets zero force."


class GameClock:
    """Says how many env steps are due after some game time, at a fixed rate of steps per second.

    It counts from the total time played, not per frame, so rounding never drifts: after t ms
    exactly floor(t * rate / 1000) steps have been handed out.
    """

    def __init__(self, steps_per_second: float):
        self.steps_per_second = steps_per_second
        self.elapsed_ms = 0.0
        self.steps_given = 0

    def advance(self, elapsed_ms: float) -> int:
        """Move game time on by elapsed_ms and return the number of steps now due."""
        self.elapsed_ms += elapsed_ms
        due = int(self.elapsed_ms * self.steps_per_second // 1000)
        steps, self.steps_given = due - self.steps_given, due
        return steps


def player_action(left_held: bool, right_held: bool, step: int) -> int:
    """The push for this step: 0 left, 1 right; with no key (or both) alternate, starting left."""
    if left_held != right_held:
        return 0 if left_held else 1
    return step % 2


class Side:
    """One cart: an env reset from the round's seed, stepped one action at a time.

    It also keeps what the agent thinks of each state it passes (probabilities, critic value in
    `scale`'s units, as `watch` shows it), for the agent's own moves, the hint and the value chart.
    """

    def __init__(self, env_id: str, seed: int, label: str, agent: ActorCritic, scale: ValueScale):
        self.label = label
        self.agent = agent
        self.scale = scale
        self.env = gym.make(env_id)
        self.track = Track.from_env(self.env)
        self.obs, _ = self.env.reset(seed=seed)
        self.start = self.obs.copy()
        self.steps = 0
        self.terminated = self.truncated = False
        self.action: int | None = None
        self.values: list[float] = []
        self.look()

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    def look(self) -> None:
        probs, critic = self.agent.forward(self.obs)
        self.probs, self.value = probs[0], float(self.scale.values(critic)[0])
        self.values.append(self.value)

    def step(self, action: int) -> None:
        self.obs, _, terminated, truncated, _ = self.env.step(action)
        self.terminated, self.truncated = bool(terminated), bool(truncated)
        self.action = action
        self.steps += 1
        self.look()

    def greedy_action(self) -> int:
        return int(choose(self.probs[None], None)[0])

    def ending(self) -> str:
        """Why the episode ended, in words ("" while it goes on)."""
        if self.terminated:
            return "cart left the track" if abs(self.obs[0]) > self.track.x_threshold else "pole fell"
        return "step limit reached" if self.truncated else ""

    def close(self) -> None:
        self.env.close()


class Game:
    """Rounds of CartPole for a human, optionally against the agent, and the session's record."""

    no_key_rule = NO_KEY_RULE
    keymap = KEYMAP
    push_keys = PUSH.label

    def __init__(
        self,
        agent: ActorCritic,
        agent_name: str,
        env_id: str = "CartPole-v1",
        seed: int = 0,
        speed: float = DEFAULT_SPEED,
        solo: bool = False,
        name: str = "player",
        scores_file: Path | None = None,
        value_scale: ValueScale | None = None,
        ladder: Ladder | None = None,
    ):
        self.agent, self.agent_name, self.env_id = agent, agent_name, env_id
        self.ladder = ladder  # the agent changes with the stage: see new_round
        # without the checkpoint's normaliser the critic's values stay normalised, and say so
        self.value_scale = value_scale or ValueScale()
        self.seed, self.speed, self.solo, self.name = seed, speed, solo, name
        self.scores_file = scores_file
        self.track = Track.from_env_id(env_id)  # limits and tau, for the rules and the clock
        # speed 1 is the simulation's real time: one step every tau seconds (50 a second for CartPole)
        self.steps_per_second = speed / self.track.tau
        self.state = "title"
        self.running = True
        self.hint = False
        self.held: set[int] = set()
        self.round_number = 0
        self.player: Side | None = None
        self.opponent: Side | None = None
        self.countdown_ms = 0.0
        self.clock = GameClock(self.steps_per_second)
        self.record = {"wins": 0, "ties": 0, "losses": 0, "rounds": 0, "best": 0, "agent_best": 0}
        self.notice = ""

    @property
    def round_seed(self) -> int:
        """Round k (from 1) starts from seed + k - 1: a fresh start every round, the same for both sides."""
        return self.seed + max(0, self.round_number - 1)

    # input

    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.WINDOWFOCUSLOST:
            self.held.clear()  # a key released in another window never reaches us
        elif event.type == pygame.KEYUP:
            self.held.discard(event.key)
        elif event.type == pygame.KEYDOWN:
            self.held.add(event.key)
            self.press(event.key)

    def press(self, key: int) -> None:
        keys.press(self, self.keymap, key)

    def quit(self) -> None:
        self.running = False

    def toggle_hint(self) -> None:
        self.hint = not self.hint

    def pause(self) -> None:
        self.state = "paused"

    def resume(self) -> None:
        self.state = "playing"

    def leave(self) -> None:
        """Back to the title, dropping the round."""
        self.close_round()
        self.state = "title"

    # time

    def update(self, elapsed_ms: float) -> None:
        """Advance game time: the countdown, or as many env steps as the clock says are due."""
        if self.state == "countdown":
            self.countdown_ms -= elapsed_ms
            if self.countdown_ms <= 0:
                self.state = "playing"
        elif self.state == "playing":
            for _ in range(self.clock.advance(elapsed_ms)):
                self.step()
                if self.state != "playing":
                    break

    def step(self) -> None:
        left = any(key in self.held for key in LEFT_KEYS)
        right = any(key in self.held for key in RIGHT_KEYS)
        self.player.step(player_action(left, right, self.player.steps))
        if self.opponent and not self.opponent.done:
            self.opponent.step(self.opponent.greedy_action())
        if self.player.done:
            self.finish_round()

    # rounds

    def new_round(self) -> None:
        self.close_round()
        if self.ladder:
            self.face(self.ladder.snapshot, self.ladder.opponent)
        self.round_number += 1
        self.player = Side(self.env_id, self.round_seed, self.name, self.agent, self.value_scale)
        self.opponent = None if self.solo else Side(
            self.env_id, self.round_seed, self.agent_name, self.agent, self.value_scale
        )
        self.clock = GameClock(self.steps_per_second)
        self.countdown_ms = COUNTDOWN_MS
        self.notice = ""
        self.state = "countdown"

    def finish_round(self) -> None:
        """The player's pole is down: let the agent play out its episode, record and score the round."""
        while self.opponent and not self.opponent.done:
            self.opponent.step(self.opponent.greedy_action())
        agent_steps = self.opponent.steps if self.opponent else None
        self.tally(self.player.steps, agent_steps)
        fields = {"agent": None if self.solo else self.agent_name}
        if self.ladder:
            beaten = beats(self.player.steps, agent_steps, self.player.truncated, self.opponent.truncated)
            fields = self.ladder.score_fields(beaten)
        score = scores.Score(name=self.name, date=scores.now(), seed=self.round_seed, speed=self.speed,
                             player_steps=self.player.steps, agent_steps=agent_steps, env_id=self.env_id, **fields)
        try:
            scores.append_score(score, self.scores_file)
        except AcPlayError as exc:
            self.warn(f"this round was not saved: {exc}")
        if self.ladder:
            self.ladder.finish(fields["beaten"])
        self.state = "result"

    def face(self, snapshot: Snapshot, name: str) -> None:
        """Play against `snapshot` from the next round on (a ladder's stage)."""
        self.agent, self.agent_name, self.value_scale = snapshot.agent, name, ValueScale.of(snapshot)

    def tally(self, player_steps: int, agent_steps: int | None) -> None:
        self.record["rounds"] += 1
        self.record["best"] = max(self.record["best"], player_steps)
        if agent_steps is not None:
            self.record["agent_best"] = max(self.record["agent_best"], agent_steps)
            outcome = "wins" if player_steps > agent_steps else "losses" if player_steps < agent_steps else "ties"
            self.record[outcome] += 1

    def summary(self) -> str:
        """The session in one line, printed when the game ends: the rounds finished and their best."""
        record = self.record
        if not record["rounds"]:
            return "no rounds finished"
        rounds = plural(record["rounds"], "round")
        if self.solo:
            return f"{rounds}; your best {plural(record['best'], 'step')}"
        return (
            f"{rounds}: you won {record['wins']}, the agent {record['losses']}, {record['ties']} tied; "
            f"your best {plural(record['best'], 'step')}, the agent's {record['agent_best']}"
        ) + (f"; {self.ladder.summary()}" if self.ladder else "")

    def warn(self, message: str) -> None:
        scores.print_warning(message)
        self.notice = message

    def close_round(self) -> None:
        for side in (self.player, self.opponent):
            if side:
                side.close()
        self.player = self.opponent = None


# the window


HUMAN_ADVICE = "`ac-play human` needs a desktop session"


def play(game: Game, window: pygame.Surface) -> None:
    """The window loop: events in, game time on, one frame out, about 60 times a second."""
    ticker = pygame.time.Clock()
    while game.running:
        for event in pygame.event.get():
            game.handle_event(event)
        game.update(min(ticker.tick(60), LONGEST_FRAME_MS))
        draw_game(window, game)
        pygame.display.flip()


def make_game(agent_path: str | None, seed: int = 0, speed: float = DEFAULT_SPEED, solo: bool = False,
              name: str | None = None, ladder: bool = False, at: int | None = None) -> Game:
    """A Game against the agent at `agent_path`, loaded and checked: a checkpoint (the bundled agent when
    None); a run folder's snapshot at episode `at` (its last when None); or, with `ladder`, the run's stages."""
    SettingError.unless_between("speed", speed, MIN_SPEED, MAX_SPEED)
    options = {"seed": seed, "speed": speed, "solo": solo, "name": name or default_name()}
    if ladder:
        stages = Ladder.of_run(agent_path)
        return Game(stages.snapshot.agent, stages.opponent, env_id=stages.run.config.env_id,
                    value_scale=ValueScale.of(stages.snapshot), ladder=stages, **options)
    if at is not None or has_history(agent_path):
        snapshot, label = one_stage(agent_path, at)
        return Game(snapshot.agent, label, env_id=snapshot.config.env_id, value_scale=ValueScale.of(snapshot),
                    **options)
    ckpt = checkpoint.load_or_bundled(agent_path)
    if not is_cartpole(ckpt.env_id):
        raise AcPlayError(f"{ckpt.path} plays {ckpt.env_id}; `ac-play human` is a CartPole game")
    return Game(ckpt.agent, ckpt.name, env_id=ckpt.env_id, value_scale=ValueScale.of(Snapshot.from_checkpoint(ckpt)),
                **options)


def has_history(agent_path: str | None) -> bool:
    """Whether `--agent` names a run folder with a history; any other folder is refused as no checkpoint."""
    return agent_path is not None and (Path(agent_path) / history.HISTORY_NAME).exists()


def default_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return "player"


def run_human(agent_path: str | None, seed: int = 0, speed: float = DEFAULT_SPEED, solo: bool = False,
              name: str | None = None, ladder: bool = False, at: int | None = None) -> int:
    """`ac-play human`: the game in a window until the player quits."""
    game = make_game(agent_path, seed, speed, solo, name, ladder, at)
    window = open_window("ac-play human", window_size(game.solo), HUMAN_ADVICE, resizable=False)
    try:
        play(game, window)
    finally:
        game.close_round()
        pygame.quit()
    print(game.summary(), flush=True)
    return 0
