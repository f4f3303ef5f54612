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
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from mammad_envs.data import load_accompaniments
from mammad_envs.melody import HOLD, NUM_PITCHES, REST, STEPS_PER_BAR, STEPS_PER_BEAT
from mammad_envs.melody_env import MelodyEnv

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
        self._build_tables()
        self._build_rewards(reward_kwargs)
        n = num_envs
        self.melodies = np.full((n, self.template.steps), HOLD, dtype=np.int16)
        self.current_step = np.zeros(n, dtype=np.int64)
        self.sounding = np.full(n, REST, dtype=np.int64)
        self.accompaniment_index = np.full(n, self._silent_row, dtype=np.int64)
        self.observations = self.template.encoding.initial((n,))
        self._generators = [seeding.np_random(None)[0] for _ in range(n)]

    # ----- construction -----

    def _build_tables(self) -> None:
        """Accompaniment frames, every loop tiled to one common length, plus a silent row."""
        accompaniments = load_accompaniments()
        length = int(np.lcm.reduce([a.steps for a in accompaniments]))
        self._loop = length
        self._silent_row = len(accompaniments)
        self._sounding_table = np.zeros((len(accompaniments) + 1, length, NUM_PITCHES), bool)
        self._onset_table = np.zeros((len(accompaniments) + 1, length, NUM_PITCHES), np.uint8)
        for row, accompaniment in enumerate(accompaniments):
            repeats = length // accompaniment.steps
            self._sounding_table[row] = np.tile(accompaniment.sounding, (repeats, 1))
            self._onset_table[row] = np.tile(accompaniment.onsets, (repeats, 1))
        self._accompaniments = accompaniments
        self._events = self.template._events.astype(np.int64)

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
            self._generators[i] = seeding.np_random(value)[0]
        rows = np.arange(self.num_envs)
        names = self._reset_rows(rows)
        return self.observations.copy(), {"accompaniment": names,
                                          "_accompaniment": np.ones(self.num_envs, dtype=bool)}

    def _reset_rows(self, rows: np.ndarray) -> np.ndarray:
        choice = self.template._accompaniment_choice
        names = np.empty(len(rows), dtype=object)
        for k, row in enumerate(rows):
            index = choice
            if choice == "random":
                index = int(self._generators[row].integers(len(self._accompaniments)))
            self.accompaniment_index[row] = self._silent_row if index is None else index
            names[k] = None if index is None else self._accompaniments[index].name
        self.melodies[rows] = HOLD
        self.current_step[rows] = 0
        self.sounding[rows] = REST
        self.observations[rows] = 0.0
        if self._theory is not None:
            self._theory.reset(rows)
        if self._note_rnn is not None:
            self._note_rnn.restart(rows)
        return names

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        """Writes one 16th in every env (see the module docstring for autoreset)."""
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be {self.num_envs} integers, got {actions!r}")
        if ((actions < 0) | (actions >= self.single_action_space.n)).any():
            raise ValueError(f"actions must lie in 0..{self.single_action_space.n - 1}, got "
                             f"{actions.tolist()}")
        rows = np.arange(self.num_envs)
        events = self._events[actions]
        step = self.current_step.copy()
        self.sounding = np.where(events != HOLD, events, self.sounding)
        frame = step % self._loop
        sounding = self._sounding_table[self.accompaniment_index, frame]
        onsets = self._onset_table[self.accompaniment_index, frame]
        playing = self.sounding >= 0
        sounding[rows[playing], self.sounding[playing]] = True
        struck = events >= 0
        onsets[rows[struck], events[struck]] += 1
        self.observations = self.template.encoding.encode(self.observations, sounding, onsets)
        self.melodies[rows, step] = events
        self.current_step += 1
        rewards = np.zeros(self.num_envs)
        terms: dict[str, np.ndarray] = {}
        theory_rules = None
        if self._theory is not None:
            theory_rules = self._theory.weighted_rules(events)
            terms["theory"] = self.weights["theory"] * sum(theory_rules.values())
        if self._note_rnn is not None:
            terms["note_rnn"] = self.weights["note_rnn"] * self._note_rnn.score(events)
        for name in self.rewards:  # in the order of the stack, as the wrappers add them
            rewards = rewards + terms[name]
        terminated = self.current_step >= self.template.steps
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos = {
            "step": step, "bar": step // STEPS_PER_BAR,
            "beat": step % STEPS_PER_BAR // STEPS_PER_BEAT, "sixteenth": step % STEPS_PER_BEAT,
            "pitch": events, "reward_terms": terms,
        }
        if theory_rules is not None:
            infos["theory_rules"] = theory_rules
        observations = self.observations.copy()
        if terminated.any():
            done = rows[terminated]
            final_observations = np.empty(self.num_envs, dtype=object)
            final_infos = np.empty(self.num_envs, dtype=object)
            for row in done:
                final_observations[row] = observations[row].copy()
                final_infos[row] = self._single_info(infos, row)
            names = self._reset_rows(done)
            observations[done] = self.observations[done]
            infos["final_observation"], infos["_final_observation"] = final_observations, terminated
            infos["final_info"], infos["_final_info"] = final_infos, terminated
            accompaniment = np.empty(self.num_envs, dtype=object)
            accompaniment[done] = names
            infos["accompaniment"], infos["_accompaniment"] = accompaniment, terminated.copy()
        return observations, rewards, terminated, truncated, infos

    @staticmethod
    def _single_info(infos: dict[str, Any], row: int) -> dict[str, Any]:
        """One env's info, as the scalar env (and its reward wrappers) would give it."""
        single = {key: int(infos[key][row]) for key in ("step", "bar", "beat", "sixteenth",
                                                          "pitch")}
        single["reward_terms"] = {name: float(v[row]) for name, v in
                                  infos["reward_terms"].items()}
        if "theory_rules" in infos:
            single["theory_rules"] = {name: float(v[row]) for name, v in
                                      infos["theory_rules"].items()}
        return single

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
