"""MelodyVectorEnv: N melody envs stepped together with array operations.

It behaves exactly like ``gym.vector.SyncVectorEnv`` over N ``gym.make(id, ...)`` envs with the
same arguments (tested: same observations, rewards, reward terms, infos and terminations for
the same seeds and actions), but keeps the N melodies in numpy arrays and steps them at once.

The env itself rewards nothing: reward terms (any object with the :class:`RewardTermLike`
interface, such as :class:`rewards.RewardTerm`) are given to it, and each step it hands them
one :class:`~mammad_envs.step_batch.StepBatch` for the whole batch.
:func:`mammad_envs.compat.make_vector` (``gym.make_vec`` of an id's vector entry point) and
:func:`rewards.make_vector_env` build it with the rewards named by ``reward=``, the same names
``gym.make`` takes.

Autoreset is same-step: an env whose melody is complete is reset in the same step, and the
step's last observation and info are in ``infos["final_observation"]`` and
``infos["final_info"]`` (an array of dicts) on Gymnasium 0.29, ``infos["final_obs"]`` and
``infos["final_info"]`` (a dict of arrays; ``metadata["autoreset_mode"]`` says ``SAME_STEP``)
on 1.x, as each version's ``SyncVectorEnv`` does (:mod:`mammad_envs.compat`). Infos follow
Gymnasium's vector layout (:mod:`mammad_envs.infos`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from mammad_envs import compat
from mammad_envs.accompaniment import pick_random
from mammad_envs.data import load_accompaniments
from mammad_envs.frames import SixteenthWriter
from mammad_envs.infos import add_term, restart_rows, row_infos, step_infos
from mammad_envs.melody_env import MelodyEnv
from mammad_envs.step_batch import StepBatch

UNIFORMS_AHEAD = 64
"""Uniform draws each env's generator makes at once, for its next random accompaniments."""


class RewardTermLike(Protocol):
    """What the vector env needs of a reward term (see :class:`rewards.RewardTerm`)."""

    name: ClassVar[str]
    weight: float
    batch: int
    extras: Mapping[str, Mapping[str, np.ndarray]]

    def reset(self, rows: np.ndarray) -> None:
        """Starts new melodies in the given rows."""

    def compute(self, step: StepBatch) -> np.ndarray:
        """``(N,)`` the unweighted term of every env for the step."""


class MelodyVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` MammadMelody envs in arrays (see the module docstring).

    Args:
        num_envs: Number of envs.
        reward_terms: Reward terms for a batch of ``num_envs`` (default: none; the reward is
            then 0). Their weighted values add up to the reward, in this order.
        **env_kwargs: Arguments of :class:`~mammad_envs.melody_env.MelodyEnv` (no
            ``render_mode``), checked before any buffer is allocated; ``steps`` is at most
            :data:`~mammad_envs.melody_env.MAX_STEPS`.

    Raises:
        ValueError: On bad arguments, as the scalar env, or a term built for another batch.
    """

    def __init__(self, num_envs: int, reward_terms: Sequence[RewardTermLike] = (),
                 **env_kwargs: Any) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) \
                or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        num_envs = int(num_envs)
        if env_kwargs.get("render_mode") is not None:
            raise ValueError("MelodyVectorEnv does not render; use gym.make for one env")
        env_kwargs.pop("render_mode", None)
        self.template = MelodyEnv(**env_kwargs)  # validates the arguments, gives the spaces
        compat.init_vector_env(self, num_envs, self.template.observation_space,
                               self.template.action_space)
        self.metadata = {**getattr(self, "metadata", {}), **compat.same_step_metadata()}
        self.reward_terms = list(reward_terms)
        for term in self.reward_terms:
            if term.batch != num_envs:
                raise ValueError(f"reward term {term.name!r} is built for {term.batch} envs, "
                                 f"not {num_envs}")
        self._accompaniments = load_accompaniments()
        self.writer = SixteenthWriter(self.template.encoding, self._accompaniments,
                                      self.template.events_table, self.template.steps, num_envs)
        self._names = np.array([a.name for a in self._accompaniments] + [None], dtype=object)
        self._generators = [seeding.np_random(None)[0] for _ in range(num_envs)]
        # Each env's next uniform draws, drawn ahead in blocks (the same numbers as one at a
        # time): row i has used _drawn[i] of its block.
        self._ahead = np.zeros((num_envs, UNIFORMS_AHEAD))
        self._drawn = np.full(num_envs, UNIFORMS_AHEAD, dtype=np.int64)
        self._previous: np.ndarray | None = None  # the observations before the next step

    @property
    def rewards(self) -> list[str]:
        """The names of the reward terms, in order."""
        return [term.name for term in self.reward_terms]

    # ----- the VectorEnv API -----

    def reset(self, *, seed: int | Sequence[int] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Resets every env; an int seed ``s`` seeds env ``i`` with ``s + i``."""
        if options:
            raise ValueError(f"MelodyVectorEnv takes no reset options, got {sorted(options)}")
        if seed is None:
            seeds = [None] * self.num_envs
        elif isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"{len(seeds)} seeds for {self.num_envs} envs")
        for i, value in enumerate(seeds):
            if value is not None:  # as a scalar env: no seed keeps the generator going
                self._generators[i] = seeding.np_random(value)[0]
                self._drawn[i] = UNIFORMS_AHEAD
        rows = np.arange(self.num_envs)
        names = np.empty(self.num_envs, dtype=object)
        names[:] = self._reset_rows(rows)
        self._previous = self.observations.copy()
        return self._previous, {"accompaniment": names,
                                "_accompaniment": np.ones(self.num_envs, dtype=bool)}

    @property
    def melodies(self) -> np.ndarray:
        """``(num_envs, steps)`` the melodies being written (HOLD beyond ``current_step``)."""
        return self.writer.melodies

    @property
    def current_step(self) -> np.ndarray:
        """``(num_envs,)`` how many 16ths each env has written in its episode."""
        return self.writer.current_step

    @property
    def observations(self) -> np.ndarray:
        """``(num_envs, 128)`` the current observations (the writer's own array)."""
        return self.writer.observations

    def _reset_rows(self, rows: np.ndarray) -> np.ndarray:
        """Starts new episodes in the given envs; returns their accompaniments' names."""
        choice = self.template.accompaniment_choice
        if choice == "random":
            indices = pick_random(self._uniforms(rows), len(self._accompaniments))
        else:
            index = self.writer.silent_row if choice is None else choice
            indices = np.full(len(rows), index, dtype=np.int64)
        self.writer.reset(rows, indices)
        names = self._names[indices]
        for term in self.reward_terms:
            term.reset(rows)
        return names

    def _uniforms(self, rows: np.ndarray) -> np.ndarray:
        """The next ``np_random.random()`` of each given env's generator."""
        for row in rows[self._drawn[rows] >= UNIFORMS_AHEAD]:
            self._ahead[row] = self._generators[row].random(UNIFORMS_AHEAD)
            self._drawn[row] = 0
        uniforms = self._ahead[rows, self._drawn[rows]]
        self._drawn[rows] += 1
        return uniforms

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        """Writes one 16th in every env (see the module docstring for autoreset).

        Raises:
            ValueError: If the actions are not ``num_envs`` integers of the action space.
            RuntimeError: If called before ``reset()``.
        """
        if self._previous is None:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":
            raise ValueError(f"actions must be {self.num_envs} integers, got {actions!r}")
        step = self.current_step.copy()
        try:
            events, observations = self.writer.write(actions)
        except ValueError as error:
            raise ValueError(f"actions must lie in 0..{self.single_action_space.n - 1}, got "
                             f"{actions.tolist()}") from error
        terminated = self.current_step >= self.template.steps
        batch = StepBatch(events, actions, step, self.writer.melodies, observations,
                          self._previous, terminated, self.writer.rows)
        infos = step_infos(step, events)
        rewards = np.zeros(self.num_envs)
        for term in self.reward_terms:  # in the order of the stack, as the wrappers add them
            values = term.weight * term.compute(batch)
            rewards += values
            add_term(infos, term.name, values, term.extras)
        truncated = np.zeros(self.num_envs, dtype=bool)
        if terminated.any():
            done = np.flatnonzero(terminated)
            compat.add_final(infos, terminated, observations,
                             [] if compat.GYMNASIUM_1 else row_infos(infos, done,
                                                                     skip=compat.FINAL_KEYS))
            restart_rows(infos, done)
            accompaniment = np.empty(self.num_envs, dtype=object)
            accompaniment[done] = self._reset_rows(done)
            np.copyto(observations, self.observations, where=terminated[:, None])
            infos["accompaniment"], infos["_accompaniment"] = accompaniment, terminated.copy()
        self._previous = observations
        return observations, rewards, terminated, truncated, infos

    def action_masks(self) -> np.ndarray:
        """``(num_envs, n)`` legal actions (the same for every env)."""
        return np.tile(self.template.action_masks(), (self.num_envs, 1))

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to close."""
