"""Gymnasium environments and the lean loops that play episodes with the current policy.

A runner plays whole episodes with the agent's policy (`ActorCritic.act`, or its lean per-row
variant for one env) and hands them back as arrays; it never learns. Uniform numbers are drawn
in blocks, so a step costs one small matrix product and a few float operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ac_play.agent import COMPUTE_DTYPE, ActorCritic
from ac_play.cartpole import is_cartpole
from ac_play.errors import AcPlayError

UNIFORM_BLOCK = 4096


@dataclass
class Episode:
    """One finished episode: obs [T, D], actions [T], rewards [T], and how it ended."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    last_obs: np.ndarray
    truncated: bool

    @property
    def length(self) -> int:
        return len(self.actions)


@dataclass(frozen=True)
class EnvInfo:
    """What the trainer needs to know of an environment."""

    env_id: str
    obs_dim: int
    n_actions: int
    reward_threshold: float | None
    max_episode_steps: int | None


def env_info(env_id: str) -> EnvInfo:
    """Check that env_id exists and has a flat Box observation and Discrete actions."""
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as exc:
        raise AcPlayError(f"unknown environment {env_id!r} ({exc})") from None
    try:
        env = gym.make(env_id)
    except Exception as exc:  # a missing extra (box2d, mujoco) lands here
        raise AcPlayError(f"cannot create environment {env_id!r}: {exc}") from None
    try:
        obs_space, action_space = env.observation_space, env.action_space
    finally:
        env.close()
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise AcPlayError(
            f"{env_id} has observation space {obs_space}; ac-play needs a flat Box"
        )
    if not isinstance(action_space, gym.spaces.Discrete):
        raise AcPlayError(f"{env_id} has action space {action_space}; ac-play needs Discrete")
    return EnvInfo(
        env_id,
        int(obs_space.shape[0]),
        int(action_space.n),
        spec.reward_threshold,
        spec.max_episode_steps,
    )


UNLEARNABLE = {
    "MountainCar-v0": "MountainCar-v0 gives -1 every step until the car reaches the flag, which random "
                      "pushes almost never do: with no signal to learn from, this agent will not solve it "
                      "(README: Performance)",
}
"""Environments this agent is known not to learn, and why: `train` says so before it starts."""


def registered_env_info(env_id: str) -> EnvInfo:
    """`env_info` for an id read from a file: it must be in gymnasium's registry already.

    An id typed by the user may name a module to import (`module:Env-v0`); one read from a
    checkpoint may not, so it is looked up, and nothing is imported for it.
    """
    if env_id not in gym.registry:
        raise AcPlayError(f"environment {env_id!r} is not registered with gymnasium")
    return env_info(env_id)


def make_vector_env(env_id: str, num_envs: int) -> gym.vector.VectorEnv:
    """gymnasium's own NumPy-vectorised CartPole where there is one, else N envs in step."""
    mode = "vector_entry_point" if is_cartpole(env_id) else "sync"
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)


class UniformStream:
    """Uniform numbers from a seeded Generator, drawn a block at a time (cheap per step)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.block: list[float] = []

    def next(self) -> float:
        if not self.block:
            self.block = self.rng.random(UNIFORM_BLOCK).tolist()
            self.block.reverse()
        return self.block.pop()


class SingleRunner:
    """Plays one episode at a time on a plain gymnasium env (the notebook's setting)."""

    def __init__(self, env_id: str, seed: int, rng: np.random.Generator):
        self.env = gym.make(env_id)
        self.seed: int | None = seed
        self.uniforms = UniformStream(rng)
        capacity = self.env.spec.max_episode_steps or 1000
        self.obs_buf = np.empty((capacity, self.env.observation_space.shape[0]))

    def play(self, agent: ActorCritic, count: int, greedy: bool = False) -> list[Episode]:
        policy = agent.row_policy(None if greedy else self.uniforms.next)
        return [self._episode(policy) for _ in range(count)]

    def _episode(self, policy: Callable[[np.ndarray], int]) -> Episode:
        obs, _ = self.env.reset(seed=self.seed)
        self.seed = None  # seed once; later resets continue the env's own generator
        actions: list[int] = []
        rewards: list[float] = []
        env_step = self.env.step
        while True:
            if len(actions) == len(self.obs_buf):
                self.obs_buf = np.concatenate([self.obs_buf, np.empty_like(self.obs_buf)])
            row = self.obs_buf[len(actions)]
            row[:] = obs
            # the float64 copy, not the env's float32 array: a mixed-type product costs 2 us more
            action = policy(row)
            obs, reward, terminated, truncated, _ = env_step(action)
            actions.append(action)
            rewards.append(reward)
            if terminated or truncated:
                break
        length = len(actions)
        return Episode(
            self.obs_buf[:length].copy(),
            np.array(actions, dtype=np.int64),
            np.array(rewards, dtype=np.float64),
            np.asarray(obs, dtype=np.float64),
            bool(truncated and not terminated),
        )

    def close(self) -> None:
        self.env.close()


class VectorRunner:
    """Plays N episodes at once on a gymnasium vector env.

    Episodes stream: every env keeps its own episode going across calls, and a call returns as
    soon as `count` episodes have finished, so no env ever idles waiting for the others.
    """

    def __init__(self, env_id: str, num_envs: int, seed: int, rng: np.random.Generator):
        self.env = make_vector_env(env_id, num_envs)
        self.rng = rng
        self.num_envs = num_envs
        self.obs, _ = self.env.reset(seed=seed)
        capacity = gym.spec(env_id).max_episode_steps or 1000
        obs_dim = self.env.single_observation_space.shape[0]
        self.obs_buf = np.empty((num_envs, capacity, obs_dim))
        self.act_buf = np.zeros((num_envs, capacity), dtype=np.int64)
        self.rew_buf = np.zeros((num_envs, capacity))
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        # with NEXT_STEP autoreset, the step after an episode ends only resets that env
        self.resetting = np.zeros(num_envs, dtype=bool)
        self.ready: list[Episode] = []

    def play(self, agent: ActorCritic, count: int, greedy: bool = False) -> list[Episode]:
        """Exactly `count` finished episodes; extras that ended on the same step wait for the next call."""
        rng = None if greedy else self.rng
        while len(self.ready) < count:
            self.ready.extend(self._step(agent.act(self.obs, rng)))
        finished, self.ready = self.ready[:count], self.ready[count:]
        return finished

    def _step(self, actions: np.ndarray) -> list[Episode]:
        live = np.flatnonzero(~self.resetting)
        if self.lengths.max() == self.obs_buf.shape[1]:
            self._grow()
        slots = self.lengths[live]
        self.obs_buf[live, slots] = self.obs[live]
        self.act_buf[live, slots] = actions[live]
        self.obs, rewards, terminated, truncated, _ = self.env.step(actions)
        self.rew_buf[live, slots] = rewards[live]
        self.lengths[live] += 1
        done = (terminated | truncated) & ~self.resetting
        self.resetting = done
        return [self._finish(i, bool(truncated[i] and not terminated[i])) for i in np.flatnonzero(done)]

    def _finish(self, i: int, truncated: bool) -> Episode:
        length = self.lengths[i]
        self.lengths[i] = 0
        return Episode(
            self.obs_buf[i, :length].copy(),
            self.act_buf[i, :length].copy(),
            self.rew_buf[i, :length].copy(),
            self.obs[i].astype(np.float64),
            truncated,
        )

    def _grow(self) -> None:
        self.obs_buf = np.concatenate([self.obs_buf, np.empty_like(self.obs_buf)], axis=1)
        self.act_buf = np.concatenate([self.act_buf, np.zeros_like(self.act_buf)], axis=1)
        self.rew_buf = np.concatenate([self.rew_buf, np.zeros_like(self.rew_buf)], axis=1)

    def close(self) -> None:
        self.env.close()


@dataclass
class Rollout:
    """T steps of N envs, as played: arrays [T, N], and obs [T + 1, N, D] with the obs after the last step.

    `valid` is False at the steps that only reset an env whose episode had ended (gymnasium's
    next-step autoreset): they are no one's transition. obs[t + 1] is what step t returned, so
    after an episode's last step it is that episode's final observation.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray
    finished: list[tuple[float, int, int]]
    """Episodes that ended in the rollout, in order: (return, length, valid steps of the rollout up to its end)."""


def episodes_ended(rewards: np.ndarray, valid: np.ndarray, ended: np.ndarray, returns: np.ndarray,
                   lengths: np.ndarray) -> tuple[list[tuple[float, int, int]], np.ndarray, np.ndarray]:
    """The episodes that ended in T steps of N envs (arrays [T, N]), in order of their ends, each as
    (return, length, valid steps of all envs up to its end); and the returns [N] and lengths [N]
    of the episodes still going, carried on from `returns` and `lengths`."""
    so_far = returns + np.cumsum(rewards * valid, axis=0)  # [T, N]: each env's return up to each step
    steps_so_far = lengths + np.cumsum(valid, axis=0)
    played = np.cumsum(valid.sum(axis=1))
    start_return, start_length = np.zeros(len(returns)), np.zeros(len(lengths), dtype=np.int64)
    finished = []
    for t, i in zip(*np.nonzero(ended), strict=True):  # by step, then env
        finished.append((float(so_far[t, i] - start_return[i]), int(steps_so_far[t, i] - start_length[i]),
                         int(played[t])))
        start_return[i], start_length[i] = so_far[t, i], steps_so_far[t, i]
    return finished, so_far[-1] - start_return, steps_so_far[-1] - start_length


class RolloutRunner:
    """Plays a fixed number of steps on N envs at a time, episodes carrying on across calls."""

    def __init__(self, env_id: str, num_envs: int, seed: int, rng: np.random.Generator):
        self.env = make_vector_env(env_id, num_envs)
        self.rng = rng
        self.obs, _ = self.env.reset(seed=seed)
        self.resetting = np.zeros(num_envs, dtype=bool)
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)

    def play(self, agent: ActorCritic, steps: int) -> Rollout:
        n = len(self.resetting)
        obs = np.empty((steps + 1, n, self.obs.shape[1]), dtype=COMPUTE_DTYPE)
        actions = np.empty((steps, n), dtype=np.int64)
        rewards = np.empty((steps, n))
        terminated, truncated = np.empty((steps, n), dtype=bool), np.empty((steps, n), dtype=bool)
        policy = agent.rollout_policy(self.rng)
        # only what must happen step by step is in the loop; the rest is worked out below for all steps at once
        for t in range(steps):
            obs[t] = self.obs
            actions[t] = policy(self.obs)
            self.obs, rewards[t], terminated[t], truncated[t], _ = self.env.step(actions[t])
        obs[steps] = self.obs
        ended = terminated | truncated
        valid = np.empty((steps, n), dtype=bool)
        # next-step autoreset: the step after an episode's end only resets its env (and ends nothing)
        valid[0], valid[1:] = ~self.resetting, ~ended[:-1]
        ended &= valid
        self.resetting = ended[-1]
        finished, self.returns, self.lengths = episodes_ended(rewards, valid, ended, self.returns, self.lengths)
        return Rollout(obs, actions, rewards, terminated, truncated, valid, finished)

    def close(self) -> None:
        self.env.close()


class SingleRolloutRunner:
    """`RolloutRunner` for one env, on a plain env with the lean per-row policy (a sixth of the cost per step).

    It lays out its Rollout exactly as the vector env's next-step autoreset does: after an
    episode's last step comes one invalid row holding the final observation, then the reset.
    """

    def __init__(self, env_id: str, seed: int, rng: np.random.Generator):
        self.env = gym.make(env_id)
        self.uniforms = UniformStream(rng)
        self.obs = self.env.reset(seed=seed)[0]
        self.resetting = False
        self.returns, self.lengths = np.zeros(1), np.zeros(1, dtype=np.int64)

    def play(self, agent: ActorCritic, steps: int) -> Rollout:
        policy = agent.row_policy(self.uniforms.next)
        obs = np.empty((steps + 1, 1, len(self.obs)), dtype=COMPUTE_DTYPE)  # as the vector runner's
        rows = obs[:, 0]
        # plain lists per step, arrays at the end: a NumPy scalar store costs more than the list's
        actions, rewards = [0] * steps, [0.0] * steps
        terminated, truncated, valid = [False] * steps, [False] * steps, [False] * steps
        env_step = self.env.step
        for t in range(steps):
            rows[t] = self.obs
            if self.resetting:
                self.obs = self.env.reset()[0]
                self.resetting = False
                continue
            action = actions[t] = policy(self.obs)
            self.obs, rewards[t], terminated[t], truncated[t], _ = env_step(action)
            valid[t] = True
            self.resetting = terminated[t] or truncated[t]
        rows[steps] = self.obs
        column = (steps, 1)
        rollout = Rollout(
            obs, np.array(actions, dtype=np.int64).reshape(column), np.array(rewards, dtype=np.float64).reshape(column),
            np.array(terminated, dtype=bool).reshape(column), np.array(truncated, dtype=bool).reshape(column),
            np.array(valid, dtype=bool).reshape(column), [],
        )
        rollout.finished, self.returns, self.lengths = episodes_ended(
            rollout.rewards, rollout.valid, rollout.terminated | rollout.truncated, self.returns, self.lengths
        )
        return rollout

    def close(self) -> None:
        self.env.close()


def make_rollout_runner(env_id: str, num_envs: int, seed: int, rng: np.random.Generator):
    """The lean single-env rollout runner for one env, the vector one for more."""
    if num_envs == 1:
        return SingleRolloutRunner(env_id, seed, rng)
    return RolloutRunner(env_id, num_envs, seed, rng)


def make_runner(env_id: str, num_envs: int, seed: int, rng: np.random.Generator):
    """The lean single-env runner for one env, the streaming vector runner for more."""
    if num_envs == 1:
        return SingleRunner(env_id, seed, rng)
    return VectorRunner(env_id, num_envs, seed, rng)
