"""MelodyVectorEnv: N melody envs stepped together with array operations.

It behaves exactly like ``gym.vector.SyncVectorEnv`` over N ``gym.make(id, ...)`` envs with the
same arguments (tested: same observations, rewards, reward terms and terminations for the same
seeds and actions), but keeps the N melodies in numpy arrays and steps them at once: the
encodings, the accompaniment and the music-theory rules (:class:`rewards.theory.TheoryEngine`,
the one implementation of the rules) work on the whole batch, and the Note-RNN reward is one
batched LSTM step.

Autoreset is Gymnasium 0.29's: an env whose melody is complete is reset in the same step; the
step's last observation and info are in ``infos["final_observation"]`` and
``infos["final_info"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from mammad_envs.accompaniment import pick_random
from mammad_envs.data import load_accompaniments
from mammad_envs.frames import SixteenthWriter
from mammad_envs.melody import STEPS_PER_BAR, STEPS_PER_BEAT
from mammad_envs.melody_env import MelodyEnv

UNIFORMS_AHEAD = 64
"""Uniform draws each env's generator makes at once, for its next random accompaniments."""

VECTOR_REWARDS = ("theory", "note_rnn")
"""Rewards the vector env computes itself (batched)."""


class MelodyVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` MammadMelody envs in arrays (see the module docstring).

    Args:
        num_envs: Number of envs.
        reward: ``"theory"``, ``"note_rnn"``, ``"theory+note_rnn"`` or None.
        reward_weights: Weight per reward name.
        reward_kwargs: Keyword arguments per reward name (``theory``: ``key``, ``rules``,
            ``rule_weights``, ``tonic``; ``note_rnn``: ``model``, ``renormalise``).
        **env_kwargs: Arguments of :class:`~mammad_envs.melody_env.MelodyEnv` (no
            ``render_mode``).

    Raises:
        ValueError: On bad arguments, as the scalar env, or a reward it cannot batch.
    """

    def __init__(self, num_envs: int, reward: str | Sequence[str] | None = "theory",
                 reward_weights: Mapping[str, float] | None = None,
                 reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
                 **env_kwargs: Any) -> None:
        from rewards.base import check_weight, parse_rewards

        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if env_kwargs.get("render_mode") is not None:
            raise ValueError("MelodyVectorEnv does not render; use gym.make for one env")
        env_kwargs.pop("render_mode", None)
        self.template = MelodyEnv(**env_kwargs)  # validates the arguments, gives the spaces
        super().__init__(num_envs, self.template.observation_space, self.template.action_space)
        self.rewards = parse_rewards(reward)
        unsupported = [name for name in self.rewards if name not in VECTOR_REWARDS]
        if unsupported:
            raise ValueError(f"MelodyVectorEnv batches the rewards {list(VECTOR_REWARDS)}; "
                             f"{unsupported} need gym.vector.SyncVectorEnv of gym.make envs")
        reward_weights, reward_kwargs = dict(reward_weights or {}), dict(reward_kwargs or {})
        for what, given in (("reward_weights", reward_weights), ("reward_kwargs", reward_kwargs)):
            stray = sorted(set(given) - set(self.rewards))
            if stray:
                raise ValueError(f"{what} names {stray}, which are not among the rewards "
                                 f"{self.rewards}")
        self.weights = {name: check_weight(name, reward_weights.get(name, 1.0))
                        for name in self.rewards}
        self._accompaniments = load_accompaniments()
        self.writer = SixteenthWriter(self.template.encoding, self._accompaniments,
                                      self.template.events_table, self.template.steps, num_envs)
        self._build_rewards(reward_kwargs)
        steps = np.arange(self.template.steps)
        self._timing = {"bar": steps // STEPS_PER_BAR, "beat": steps % STEPS_PER_BAR //
                        STEPS_PER_BEAT, "sixteenth": steps % STEPS_PER_BEAT}
        self._names = np.array([a.name for a in self._accompaniments] + [None], dtype=object)
        self._generators = [seeding.np_random(None)[0] for _ in range(num_envs)]
        # Each env's next uniform draws, drawn ahead in blocks (the same numbers as one at a
        # time): row i has used _drawn[i] of its block.
        self._ahead = np.zeros((num_envs, UNIFORMS_AHEAD))
        self._drawn = np.full(num_envs, UNIFORMS_AHEAD, dtype=np.int64)

    # ----- construction -----

    def _build_rewards(self, reward_kwargs: dict[str, Mapping[str, Any]]) -> None:
        self._theory = None
        self._note_rnn = None
        if "theory" in self.rewards:
            from rewards.theory.wrapper import theory_engine

            self._theory = theory_engine(self.template, batch=self.num_envs,
                                         **reward_kwargs.get("theory", {}))
        if "note_rnn" in self.rewards:
            from rewards.note_rnn_reward import BatchedNoteRNN

            self._note_rnn = BatchedNoteRNN(self.template.lowest, self.template.highest,
                                            self.num_envs, **reward_kwargs.get("note_rnn", {}))

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
        return self.observations.copy(), {"accompaniment": names,
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
        if self._theory is not None:
            self._theory.reset(rows)
        if self._note_rnn is not None:
            self._note_rnn.restart(rows)
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
        """Writes one 16th in every env (see the module docstring for autoreset)."""
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":
            raise ValueError(f"actions must be {self.num_envs} integers, got {actions!r}")
        step = self.current_step.copy()
        try:
            events, observations = self.writer.write(actions)
        except ValueError as error:
            raise ValueError(f"actions must lie in 0..{self.single_action_space.n - 1}, got "
                             f"{actions.tolist()}") from error
        terms: dict[str, np.ndarray] = {}
        infos: dict[str, Any] = {"step": step}
        for key, table in self._timing.items():
            infos[key] = table.take(step)
        infos["pitch"] = events
        infos["reward_terms"] = terms
        if self._theory is not None:
            totals, infos["theory_rules"] = self._theory.weighted_rules(events)
            terms["theory"] = totals if self.weights["theory"] == 1 else \
                self.weights["theory"] * totals
        if self._note_rnn is not None:
            terms["note_rnn"] = self.weights["note_rnn"] * self._note_rnn.score(events)
        rewards = np.zeros(self.num_envs)
        for name in self.rewards:  # in the order of the stack, as the wrappers add them
            rewards += terms[name]
        terminated = self.current_step >= self.template.steps
        truncated = np.zeros(self.num_envs, dtype=bool)
        if terminated.any():
            done = np.flatnonzero(terminated)
            final_observations = np.empty(self.num_envs, dtype=object)
            final_observations[done] = np.fromiter(observations[done], object, len(done))
            final_infos = np.empty(self.num_envs, dtype=object)
            final_infos[done] = np.fromiter(self._single_infos(infos, done), object, len(done))
            infos["final_observation"], infos["_final_observation"] = final_observations, terminated
            infos["final_info"], infos["_final_info"] = final_infos, terminated
            accompaniment = np.empty(self.num_envs, dtype=object)
            accompaniment[done] = self._reset_rows(done)
            np.copyto(observations, self.observations, where=terminated[:, None])
            infos["accompaniment"], infos["_accompaniment"] = accompaniment, terminated.copy()
        return observations, rewards, terminated, truncated, infos

    def _single_infos(self, infos: dict[str, Any], rows: np.ndarray) -> list[dict[str, Any]]:
        """The given envs' infos, as the scalar env (and its reward wrappers) would give them."""
        pick = slice(None) if len(rows) == self.num_envs else rows
        terms = tuple(infos["reward_terms"])
        rules = tuple(infos.get("theory_rules", ()))
        columns = [infos[key][pick].tolist() for key in ("step", "bar", "beat", "sixteenth",
                                                          "pitch")]
        term_columns = [infos["reward_terms"][name][pick].tolist() for name in terms]
        rule_columns = [infos["theory_rules"][name][pick].tolist() for name in rules]
        # Plain lists, tuples and dicts of numbers: the quickest Python objects to build.
        count = len(columns[0])
        term_dicts = (map(dict, map(zip, repeat(terms), zip(*term_columns, strict=True)))
                      if terms else ({} for _ in range(count)))
        if not rules:
            return [{"step": step, "bar": bar, "beat": beat, "sixteenth": sixteenth,
                     "pitch": pitch, "reward_terms": term_dict}
                    for step, bar, beat, sixteenth, pitch, term_dict
                    in zip(*columns, term_dicts, strict=True)]
        rule_dicts = map(dict, map(zip, repeat(rules), zip(*rule_columns, strict=True)))
        return [{"step": step, "bar": bar, "beat": beat, "sixteenth": sixteenth,
                 "pitch": pitch, "reward_terms": term_dict, "theory_rules": rule_dict}
                for step, bar, beat, sixteenth, pitch, term_dict, rule_dict
                in zip(*columns, term_dicts, rule_dicts, strict=True)]

    def action_masks(self) -> np.ndarray:
        """``(num_envs, n)`` legal actions (the same for every env)."""
        return np.tile(self.template.action_masks(), (self.num_envs, 1))

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to close."""


def _vector_entry_point(encoding: str | None):
    def make(num_envs: int = 1, max_episode_steps: int | None = None,
             **kwargs: Any) -> MelodyVectorEnv:
        if max_episode_steps is not None:
            raise ValueError("MelodyVectorEnv episodes end with the melody; pass steps= instead "
                             "of max_episode_steps")
        if encoding is not None:
            kwargs.setdefault("encoding", encoding)
        return MelodyVectorEnv(num_envs, **kwargs)

    make.__doc__ = (f"``gym.make_vec(id, num_envs, vectorization_mode='custom', vector_kwargs="
                    f"{{...}})`` for the {encoding or 'any'} encoding: a MelodyVectorEnv.")
    return make


make_binary_vector_env = _vector_entry_point("binary")
make_count_vector_env = _vector_entry_point("count")
make_decay_vector_env = _vector_entry_point("decay")
make_vector_env = _vector_entry_point(None)
