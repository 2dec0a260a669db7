"""`ac-play inspect`: what a checkpoint's policy and critic make of every pole angle and angular velocity.

The core of the policy map, with no UI import: the grid of states (cart fixed, pole angle
across the failure limits, pole angular velocity), the agent's own forward pass over all of it
at once, a greedy episode's path through it, the one mapping from a state to a point of a
picture (`PlotAxes`, shared by the terminal, the PNG and the tests), the colours both pictures
use, and the statistics printed below the maps: weight norms and dead hidden units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ac_play import checkpoint, learning_stats
from ac_play.agent import PARAM_NAMES, ActorCritic
from ac_play.cartpole import Track, is_cartpole
from ac_play.envs import make_runner
from ac_play.errors import AcPlayError, SettingError, printable
from ac_play.returns import ValueScale
from ac_play.scales import clean, min_span, nice_step
from ac_play.snapshot import Snapshot

ANGLE_REACH = 1.25
"""The map spans the failure angle plus 25% on each side, so the limits are drawn inside it."""
VELOCITY_LIMIT = 2.0
"""rad/s up and down the map: a balancing agent stays within about 0.5; random pushes reach 2 to 3
before the pole falls (the bundled agent, seeds 0-4: 0.43 at most; random play: 2.0 at the 99th percentile)."""
GREEDY_EPISODES = 3
RANDOM_EPISODES = 3
"""The sample dead units are counted over: the agent's own states, and the wilder ones of random play."""
MAP_MIN_SPAN = 0.1
"""A value map's colour scale spans at least this fraction of a chart's least span (1% of the values' size)."""

LEFT_BLUE = (59, 110, 220)
NEUTRAL = (226, 226, 226)
RIGHT_RED = (214, 55, 50)
PROB_STOPS = (LEFT_BLUE, NEUTRAL, RIGHT_RED)
"""P(push right) from 0 to 1: blue pushes left, red right, pale grey cannot decide (0.5)."""
VALUE_STOPS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
"""The critic's value from low to high (viridis: its brightness rises steadily, also in grey)."""


@dataclass(frozen=True)
class Extent:
    """What a map spans: pole angle (rad) across, pole angular velocity (rad/s) up."""

    angle: float
    """The map runs from -angle to +angle."""
    velocity: float
    """... and from -velocity (bottom) to +velocity (top)."""


@dataclass(frozen=True)
class PlotAxes:
    """The one mapping from a state to a point of a picture: a rectangle showing an Extent.

    x grows with the angle (leaning right is to the right); y grows downwards, as on a screen,
    so a fast rightward fall (large angular velocity) is near the top.
    """

    extent: Extent
    left: float
    top: float
    width: float
    height: float

    def to_pixel(self, angle: float, velocity: float) -> tuple[float, float]:
        x = self.left + (angle + self.extent.angle) / (2 * self.extent.angle) * self.width
        y = self.top + (self.extent.velocity - velocity) / (2 * self.extent.velocity) * self.height
        return x, y

    def cell(self, angle: float, velocity: float) -> tuple[int, int] | None:
        """(row, column) of the unit cell holding the state, when the rectangle is a grid of them; None outside."""
        x, y = self.to_pixel(angle, velocity)
        column, row = math.floor(x - self.left), math.floor(y - self.top)
        if 0 <= column < self.width and 0 <= row < self.height:
            return row, column
        return None


@dataclass(frozen=True)
class PolicyMap:
    """The agent's view of a grid of states, cart fixed: P(push right) and V [rows, columns].

    Row 0 is the top of the picture (the fastest rightward angular velocity), column 0 its left.
    """

    extent: Extent
    angles: np.ndarray
    """The angle at the centre of each column [columns], rad."""
    velocities: np.ndarray
    """The angular velocity at the centre of each row [rows], rad/s, top row first."""
    probs_right: np.ndarray
    values: np.ndarray
    """In the units of `value_units`."""
    value_units: str

    def axes(self) -> PlotAxes:
        """The grid itself as a picture: one unit cell per state."""
        return PlotAxes(self.extent, 0, 0, len(self.angles), len(self.velocities))

    def value_ticks(self) -> list[float]:
        """Round numbers spanning every value shown; the first and last bound the colour scale.

        Tighter than a chart's scale (`scales.min_span`): a map is read off its colour bar's
        numbers, and a critic that expects 98 to 100 everywhere should still show where it is 98.
        Only spans under a hundredth of the values' size are widened, so noise stays flat.
        """
        low, high = float(self.values.min()), float(self.values.max())
        floor = MAP_MIN_SPAN * min_span(low, high)
        if high - low < floor:
            low, high = (low + high - floor) / 2, (low + high + floor) / 2
        step = nice_step(high - low, count=4)
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        return [clean(i * step, step) for i in range(first, last + 1)]


@dataclass(frozen=True)
class Inspection:
    """Everything `inspect` shows of one checkpoint, except the grids (each picture asks for its own size)."""

    label: str
    agent: ActorCritic
    scale: ValueScale
    track: Track
    cart_x: float
    cart_v: float
    seed: int
    trajectory: np.ndarray
    """(angle, angular velocity) at every step of the greedy episode [T + 1, 2]."""
    weight_norms: dict[str, float]
    dead_units: int
    sample_states: int

    @property
    def extent(self) -> Extent:
        return map_extent(self.track)

    @property
    def episode_length(self) -> int:
        return len(self.trajectory) - 1

    def grid(self, columns: int, rows: int) -> PolicyMap:
        return policy_map(self.agent, self.scale, self.extent, columns, rows, self.cart_x, self.cart_v)

    def title(self, width: int | None = None) -> str:
        """What is mapped, in one line; a label too long for `width` characters keeps its end (the file's name)."""
        label = printable(self.label)
        rest = (f", cart x {self.cart_x:g} m, v {self.cart_v:g} m/s; "
                f"greedy seed {self.seed}: {self.episode_length} steps")
        if width is not None and len(label) + len(rest) > width:
            label = "…" + label[-max(1, width - len(rest) - 1):]
        return label + rest

    def stats_lines(self) -> list[str]:
        norms = "  ".join(f"{name} {norm:#.3g}" for name, norm in self.weight_norms.items())
        hidden = self.agent.hidden
        share = self.dead_units / hidden
        return [
            f"weight norms (L2): {norms}",
            f"dead ReLUs: {self.dead_units} of {hidden} ({share:.0%}), zero on {self.sample_states:,} states "
            f"({GREEDY_EPISODES} greedy, {RANDOM_EPISODES} random episodes)",
        ]


def map_extent(track: Track) -> Extent:
    """What every policy map of this CartPole spans."""
    return Extent(ANGLE_REACH * track.theta_threshold_radians, VELOCITY_LIMIT)


def inspect(path: str | None, seed: int = 0, cart_x: float = 0.0, cart_v: float = 0.0) -> Inspection:
    """Load the checkpoint (the bundled agent when None), play its episodes and measure its weights."""
    ckpt = checkpoint.load_or_bundled(path)
    if not is_cartpole(ckpt.env_id):
        raise AcPlayError(f"{printable(ckpt.label)} plays {ckpt.env_id}; the policy map is drawn for CartPole only")
    track = Track.from_env_id(ckpt.env_id)
    check_cart(track, cart_x, cart_v)
    snapshot = Snapshot.from_checkpoint(ckpt)
    agent = snapshot.agent
    greedy, random = sample_episodes(agent, ckpt.env_id, seed)
    states = np.concatenate([episode.obs for episode in greedy + random])
    first = greedy[0]
    path_states = np.concatenate([first.obs, first.last_obs[None]])[:, 2:4]
    return Inspection(
        ckpt.label, agent, ValueScale.of(snapshot), track, cart_x, cart_v, seed, path_states,
        weight_norms(agent.params), dead_units(agent, states), len(states),
    )


def check_cart(track: Track, cart_x: float, cart_v: float) -> None:
    """The cart's fixed state: finite, and on the track."""
    for field, value in (("cart_x", cart_x), ("cart_v", cart_v)):
        if not math.isfinite(value):
            raise SettingError(field, f"must be a finite number, not {value}")
    SettingError.unless_between("cart_x", cart_x, -track.x_threshold, track.x_threshold)


def sample_episodes(agent: ActorCritic, env_id: str, seed: int):
    """GREEDY_EPISODES greedy episodes (the first from `seed`, as `watch --seed` plays it), and
    RANDOM_EPISODES of random play, from the same seed."""
    rng = np.random.default_rng(seed)
    runner = make_runner(env_id, 1, seed, rng)
    try:
        greedy = runner.play(agent, GREEDY_EPISODES, greedy=True)
        # all-zero weights give equal logits, so sampling from them picks actions uniformly
        coin = ActorCritic({name: np.zeros_like(array) for name, array in agent.params.items()})
        random = runner.play(coin, RANDOM_EPISODES, greedy=False)
    finally:
        runner.close()
    return greedy, random


def grid_states(extent: Extent, columns: int, rows: int, cart_x: float, cart_v: float) -> np.ndarray:
    """obs [rows * columns, 4] at the centre of each cell, row by row from the top left."""
    angles = cell_centres(-extent.angle, extent.angle, columns)
    velocities = cell_centres(extent.velocity, -extent.velocity, rows)
    velocity_grid, angle_grid = np.meshgrid(velocities, angles, indexing="ij")
    obs = np.empty((rows * columns, 4))
    obs[:, 0], obs[:, 1] = cart_x, cart_v
    obs[:, 2], obs[:, 3] = angle_grid.ravel(), velocity_grid.ravel()
    return obs


def cell_centres(start: float, stop: float, count: int) -> np.ndarray:
    step = (stop - start) / count
    return start + step * (np.arange(count) + 0.5)


def policy_map(
    agent: ActorCritic, scale: ValueScale, extent: Extent, columns: int, rows: int, cart_x: float, cart_v: float,
) -> PolicyMap:
    """The agent's forward pass over the whole grid in one call: P(push right) and V [rows, columns]."""
    obs = grid_states(extent, columns, rows, cart_x, cart_v)
    probs, critic = agent.forward(obs)
    return PolicyMap(
        extent,
        obs[:columns, 2].copy(),
        obs[::columns, 3].copy(),
        probs[:, 1].reshape(rows, columns),
        scale.values(critic).reshape(rows, columns),
        scale.units,
    )


def weight_norms(params: dict[str, np.ndarray]) -> dict[str, float]:
    """The L2 (Frobenius) norm of each parameter array, in the network's order."""
    return {name: float(np.linalg.norm(params[name])) for name in PARAM_NAMES}


def dead_units(agent: ActorCritic, obs: np.ndarray) -> int:
    """Hidden units whose ReLU is zero on every row of obs [B, D]: they pass no signal and learn nothing."""
    return learning_stats.dead_count(agent.hidden_activations(obs) > 0)


def colours(values: np.ndarray, low: float, high: float, stops) -> np.ndarray:
    """values [...] -> RGB [..., 3] (uint8), linear between evenly spaced colour stops from low to high."""
    stops = np.asarray(stops, dtype=float)
    position = np.clip((np.asarray(values, dtype=float) - low) / ((high - low) or 1.0), 0.0, 1.0) * (len(stops) - 1)
    index = np.minimum(position.astype(int), len(stops) - 2)
    within = (position - index)[..., None]
    return np.rint(stops[index] * (1 - within) + stops[index + 1] * within).astype(np.uint8)


def prob_colours(probs_right: np.ndarray) -> np.ndarray:
    return colours(probs_right, 0.0, 1.0, PROB_STOPS)


def value_colours(policy: PolicyMap) -> np.ndarray:
    ticks = policy.value_ticks()
    return colours(policy.values, ticks[0], ticks[-1], VALUE_STOPS)
