"""The training loop: play episodes, compute returns, update the agent, report statistics.

`Trainer.episodes()` is a generator of per-episode statistics; the headless CLI prints them,
the TUI charts them and the benchmark aggregates them. Nobody else re-implements the loop.
Controls (pause, resume, one step, stop, new lr/gamma/entropy) are thread-safe and take
effect between updates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import accumulate

import numpy as np

from ac_play.agent import ActorCritic
from ac_play.blas import AUTO, TRAINING_LIMIT, wanted_threads
from ac_play.config import HOT_SETTINGS, TrainConfig
from ac_play.envs import Episode, env_info, make_rollout_runner, make_runner
from ac_play.errors import AcPlayError
from ac_play.learning_stats import gradient_norms, squared_norms, update_size
from ac_play.memory import check_memory
from ac_play.optim import make_optimizer
from ac_play.returns import RunningNormaliser, discounted_returns, normalise
from ac_play.rollouts import Batch, learn_in_passes, rollout_batch


class DivergedError(AcPlayError):
    """The loss, the gradients or the updated parameters stopped being finite; the agent is left as it was."""


@dataclass(frozen=True)
class EpisodeStats:
    """One finished episode and the update it took part in."""

    episode: int
    episode_return: float
    length: int
    running_reward: float
    actor_loss: float
    critic_loss: float
    entropy: float
    grad_norm: float
    mean_value: float
    grad_W1: float
    grad_b1: float
    grad_Wa: float
    grad_ba: float
    grad_Wc: float
    grad_bc: float
    """Each layer's gradient norm before clipping: the mean over the update's optimiser steps, as for the losses."""
    dead_units: float
    """The fraction of hidden ReLUs zero on every row of a step's (mini)batch, averaged over the update's steps."""
    update_size: float
    """How far the update moved the parameters: ||after - before|| / ||after||, all of them as one vector."""
    env_steps: int
    elapsed: float
    update: int
    solved: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Progress:
    """Counters that carry over when a run is resumed."""

    episode: int = 0
    env_steps: int = 0
    updates: int = 0
    running_reward: float = 0.0
    best_running_reward: float = 0.0
    solved_at: int | None = None
    elapsed: float = 0.0


def hot_settings(config: TrainConfig) -> dict[str, float]:
    """The config's values of the settings that may change while training runs (HOT_SETTINGS)."""
    return {name: getattr(config, name) for name in HOT_SETTINGS}


class Trainer:
    """Trains one agent on one environment, one batch of episodes per update.

    While `episodes()` runs, BLAS uses `blas_threads` threads: "auto" is one, unless the user set
    OPENBLAS_NUM_THREADS or the like (`ac_play.blas`); None leaves BLAS as it is.
    """

    def __init__(self, config: TrainConfig, agent: ActorCritic | None = None, blas_threads: int | str | None = AUTO):
        self.config = config.validate()
        self.blas_threads = wanted_threads(blas_threads)
        self.info = env_info(config.env_id)
        check_memory(config, self.info)
        self.agent = agent or ActorCritic.create(
            self.info.obs_dim, self.info.n_actions, config.hidden, config.seed, config.init
        )
        self._check_agent_fits()
        self.optimizer = make_optimizer(config.optimizer, self.agent.params, config.lr)
        self.normaliser = RunningNormaliser()
        self.progress = Progress()
        self.threshold = self.info.reward_threshold
        self._runner = None
        self._shuffle: np.random.Generator | None = None
        self._control = threading.Condition()
        self._paused = False
        self._steps_allowed = 0
        self._stopped = False
        self._pending: dict[str, float] = {}

    def _check_agent_fits(self) -> None:
        wanted = (self.info.obs_dim, self.info.n_actions)
        if (self.agent.obs_dim, self.agent.n_actions) != wanted:
            raise AcPlayError(
                f"the agent has {self.agent.obs_dim} inputs and {self.agent.n_actions} actions; "
                f"{self.info.env_id} needs {wanted[0]} and {wanted[1]}"
            )

    # -- controls, called from any thread ------------------------------------------------

    def pause(self) -> None:
        with self._control:
            self._paused = True

    def resume(self) -> None:
        with self._control:
            self._paused = False
            self._control.notify_all()

    def step_once(self) -> None:
        """While paused, allow exactly one more update."""
        with self._control:
            self._steps_allowed += 1
            self._control.notify_all()

    def stop(self) -> None:
        with self._control:
            self._stopped = True
            self._control.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def set_hyperparameters(self, **values: float) -> None:
        """Change lr, gamma or entropy; checked now, applied at the next update."""
        unknown = set(values) - set(HOT_SETTINGS)
        if unknown:
            raise AcPlayError(f"cannot change {', '.join(sorted(unknown))} while training")
        trial = TrainConfig(**{**self.config.to_dict(), **self._pending, **values})
        trial.validate()
        with self._control:
            self._pending.update(values)

    def chosen_settings(self) -> dict[str, float]:
        """lr, gamma and entropy as last chosen: those in force, updated by any still waiting for the next update."""
        with self._control:
            return {**hot_settings(self.config), **self._pending}

    def _wait_for_turn(self, before_waiting: Callable[[], None] | None = None) -> bool:
        """Block while paused, calling `before_waiting` once first; False once stopped."""
        with self._control:
            waiting = False
            while self._paused and not self._stopped and self._steps_allowed == 0:
                if before_waiting is not None and not waiting:
                    before_waiting()  # under the lock: a pause cannot slip in between it and the wait
                waiting = True
                self._control.wait()
            if self._steps_allowed:
                self._steps_allowed -= 1
            return not self._stopped

    def _apply_pending(self) -> None:
        with self._control:
            pending, self._pending = self._pending, {}
        for name, value in pending.items():
            setattr(self.config, name, value)
        self.optimizer.lr = self.config.lr

    # -- the loop ------------------------------------------------------------------------

    @property
    def solved(self) -> bool:
        return self.progress.solved_at is not None

    @property
    def done(self) -> bool:
        """Solved, or the episode budget spent: `episodes()` trains no more."""
        return self._done()

    def _done(self) -> bool:
        if self.config.episodes is not None:
            return self.progress.episode >= self.config.episodes
        return self.solved or self.progress.episode >= self.config.max_episodes

    def episodes(self, before_waiting: Callable[[], None] | None = None) -> Iterator[EpisodeStats]:
        """Train until done (solved, or the episode budget), yielding one item per episode.

        `before_waiting` is called (on this thread, briefly: the controls wait for it) each time
        training is about to block on a pause, so a consumer can show what it has not shown yet.
        """
        # held across the loop, not taken per update: taking a limit costs about 0.25 ms (threadpoolctl
        # looks the libraries up), a third of a short update with one env
        with TRAINING_LIMIT.held(self.blas_threads):
            while not self._done() and self._wait_for_turn(before_waiting):
                yield from self.run_update()

    def run_update(self) -> list[EpisodeStats]:
        """Play one batch of episodes, update once, and return their statistics."""
        self._apply_pending()
        started = time.perf_counter()
        normaliser_before = self.normaliser.state()
        params_before = {name: array.copy() for name, array in self.agent.params.items()}
        try:
            # overflow shows up as a non-finite loss or parameter, which _update reports in words
            with np.errstate(all="ignore"):
                learn = self._learn_from_rollout if self.config.update == "rollout" else self._learn_from_episodes
                finished, update_stats, env_steps = learn()
        except DivergedError:
            # the normaliser goes back; the agent keeps its last good optimiser step (the failing
            # one is undone in _step), so what is saved after this is finite and loads
            self.normaliser.load_state(normaliser_before)
            raise
        update_stats["update_size"] = update_size(params_before, self.agent.params)
        self.progress.elapsed += time.perf_counter() - started
        self.progress.updates += 1
        stats = [self._record(*episode, update_stats) for episode in finished]
        self.progress.env_steps = env_steps  # with the steps of episodes still going
        return stats

    def _learn_from_episodes(self) -> tuple[list[tuple[float, int, int]], dict[str, float], int]:
        """One update on a batch of whole episodes; the episodes, with the env steps at the end of each."""
        batch = self._play()
        update_stats = self._update(batch)
        steps = list(accumulate((e.length for e in batch), initial=self.progress.env_steps))[1:]
        finished = [(float(e.rewards.sum()), e.length, n) for e, n in zip(batch, steps, strict=True)]
        return finished, update_stats, steps[-1] if steps else self.progress.env_steps

    def _learn_from_rollout(self) -> tuple[list[tuple[float, int, int]], dict[str, float], int]:
        """One rollout of `steps` steps per env, then `epochs` passes over it; the episodes that ended in it."""
        cfg = self.config
        rollout = self._start_runner().play(self.agent, cfg.steps)
        batch = rollout_batch(self.agent, self.normaliser, rollout, cfg.gamma, cfg.gae_lambda)
        update_stats = learn_in_passes(batch, cfg.epochs, cfg.minibatches, self._shuffle, self._update_on)
        start = self.progress.env_steps
        finished = [(ret, length, start + played) for ret, length, played in rollout.finished]
        # the budget counts episodes exactly, though the rollout played on past it
        finished = finished[: (cfg.episodes or cfg.max_episodes) - self.progress.episode]
        return finished, update_stats, start + int(rollout.valid.sum())

    def _start_runner(self):
        if self._runner is None:
            # each resume gets its own env seed, so a resumed run does not replay its start
            env_seed = self.config.seed + 1_000_003 * self.progress.episode
            rng = np.random.default_rng([self.config.seed, self.progress.episode])
            self._shuffle = np.random.default_rng([self.config.seed, self.progress.episode, 1])
            runner = make_rollout_runner if self.config.update == "rollout" else make_runner
            self._runner = runner(self.config.env_id, self.config.envs, env_seed, rng)
        return self._runner

    def _play(self) -> list[Episode]:
        self._start_runner()
        count = self.config.envs
        if self.config.episodes is not None:
            count = min(count, self.config.episodes - self.progress.episode)
        return self._runner.play(self.agent, count)

    def _targets(self, batch: list[Episode]) -> np.ndarray:
        """The critic's targets for every step of the batch, normalised."""
        gamma = self.config.gamma
        if self.config.normalize == "episode":
            return np.concatenate([normalise(discounted_returns(e.rewards, gamma)) for e in batch])
        bootstraps = np.zeros(len(batch))
        cut = [i for i, e in enumerate(batch) if e.truncated]
        if cut and self.normaliser.seen:
            _, values = self.agent.forward(np.stack([batch[i].last_obs for i in cut]))
            bootstraps[cut] = self.normaliser.denormalise(values)
        raw = np.concatenate(
            [discounted_returns(e.rewards, gamma, b) for e, b in zip(batch, bootstraps, strict=True)]
        )
        self.normaliser.update(raw)
        return self.normaliser.normalise(raw)

    def _update(self, batch: list[Episode]) -> dict[str, float]:
        targets = self._targets(batch)
        obs = np.concatenate([e.obs for e in batch])
        actions = np.concatenate([e.actions for e in batch])
        return self._update_on(Batch(obs, actions, targets, None, None))

    def _update_on(self, batch: Batch) -> dict[str, float]:
        """One optimiser step on a batch (advantages and old_logp None: G - V, no clip)."""
        cfg = self.config
        terms, grads = self.agent.loss_terms_and_grads(
            batch.obs,
            batch.actions,
            batch.targets,
            advantages=batch.advantages,
            old_logp=batch.old_logp,
            clip=cfg.clip,
            entropy_coef=cfg.entropy,
            value_coef=cfg.value_coef,
            huber_delta=cfg.huber_delta,
            reduction=cfg.loss_reduction,
        )
        squares = squared_norms(grads)  # per layer for the statistics; their sum gives the global norm
        norm = float(np.sqrt(sum(squares.values())))
        if not np.isfinite(norm) or not np.isfinite(terms.total):
            raise DivergedError(
                f"training diverged at episode {self.progress.episode + 1} (loss {terms.total}, "
                f"gradient norm {norm}); try a smaller learning rate"
            )
        if cfg.max_grad_norm and norm > cfg.max_grad_norm:
            grads.flat *= cfg.max_grad_norm / norm
        self._step(grads)
        return {
            "actor_loss": terms.actor,
            "critic_loss": terms.critic,
            "entropy": terms.entropy,
            "grad_norm": norm,
            "mean_value": terms.mean_value,
            "dead_units": terms.dead_units,
            **gradient_norms(squares),
        }

    def _step(self, grads: dict[str, np.ndarray]) -> None:
        """The optimiser's step, undone if it leaves a parameter NaN or infinite.

        Finite gradients can still overflow the parameters at a huge learning rate. Keeping the
        parameters and optimiser state from before the step (copies of three flat vectors, a few
        microseconds) means the agent a caller saves after DivergedError is the last good one.
        """
        params = self.agent.params
        params_before = params.flat.copy()
        optimizer_before = self.optimizer.save_point()
        self.optimizer.step(params, grads)
        if np.isfinite(params.flat).all():
            return
        params.flat[:] = params_before
        self.optimizer.go_back(optimizer_before)
        raise DivergedError(
            f"training diverged at episode {self.progress.episode + 1}: the update made the parameters "
            f"infinite or NaN (learning rate {self.optimizer.lr:g}); try a smaller learning rate"
        )

    def _record(self, episode_return: float, length: int, env_steps: int, update_stats: dict) -> EpisodeStats:
        p = self.progress
        p.episode += 1
        p.env_steps = env_steps
        alpha = self.config.running_alpha
        if p.episode == 1:
            # starting from the first return, not 0, keeps envs with negative rewards (Acrobot)
            # from looking solved after one episode
            p.running_reward = p.best_running_reward = episode_return
        else:
            p.running_reward = alpha * episode_return + (1 - alpha) * p.running_reward
            p.best_running_reward = max(p.best_running_reward, p.running_reward)
        if p.solved_at is None and self.threshold is not None and p.running_reward > self.threshold:
            p.solved_at = p.episode
        return EpisodeStats(
            episode=p.episode,
            episode_return=episode_return,
            length=length,
            running_reward=p.running_reward,
            env_steps=p.env_steps,
            elapsed=p.elapsed,
            update=p.updates,
            solved=p.solved_at is not None,
            **update_stats,
        )

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
