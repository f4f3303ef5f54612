"""The melody so far, as the pretrained Note-RNN reads it: the features a prior policy sees.

A :class:`NoteRNNTracker` steps a frozen Note-RNN over the events a batch of melody envs
writes (one token per env and step, the env's own action-to-event table) and keeps each env's
LSTM output: the state from which the Note-RNN predicts the next event. A policy whose head is
the Note-RNN's output layer on that state starts as the Note-RNN itself
(:class:`~agents.prior.policy.NoteRNNPolicy`).

Two ways in, one tracker:

- :class:`NoteRNNFeatures`, an SB3 ``VecEnvWrapper``, appends the state to every observation
  while an agent trains (the rollout buffer then holds it, and PPO's epochs reuse it);
- an agent's ``predict`` on the env's own observations keeps the tracker's state in the
  recurrent ``state`` that :func:`~agents.rollouts.play_episodes` hands back each step
  (:meth:`~agents.prior.ppo.NoteRNNPPO.predict`), so evaluation and sampling need no wrapper.

Why features, not a recurrent policy: the frozen LSTM runs once per env step (forward only),
so PPO trains a feed-forward head at a feed-forward policy's speed, while sb3-contrib's
RecurrentPPO back-propagates through the LSTM one time step at a time (about 4x slower here:
docs/benchmarks/index.md, "RecurrentPPO YAML").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from agents.prior.leaps import LeapTracker
from rewards.note_rnn.batched import FoldedStep, action_tokens, load_note_rnn
from rewards.note_rnn.model import NoteRNN
from rewards.note_rnn.tokens import START_TOKEN

__all__ = ["NoteRNNFeatures", "NoteRNNTracker", "TrackerState", "pitch_range_of"]


@dataclass
class TrackerState:
    """The Note-RNN's state for a batch of melodies.

    Attributes:
        hidden: ``(batch, hidden_size)`` LSTM outputs: the features.
        cell: ``(batch, hidden_size)`` LSTM cells.
        pending: ``(batch,)`` the action each env took and the tracker has not read yet
            (-1: none, at an episode's start); used by ``predict``, which learns the action
            only on the next call.
        leaps: ``(batch, 5)`` the leap rule's state (:mod:`agents.prior.leaps`), or None when
            the tracker shows no leap features.
    """

    hidden: torch.Tensor
    cell: torch.Tensor
    pending: np.ndarray
    leaps: np.ndarray | None = None


class NoteRNNTracker:
    """Steps a frozen Note-RNN over the actions of a batch of melody envs.

    Args:
        note_rnn: A :class:`~rewards.note_rnn.model.NoteRNN`, or what
            :func:`~rewards.note_rnn.batched.load_note_rnn` takes (a shipped name such as
            ``"default"`` or ``"rl_tuner"``, or a weights file).
        lowest: The env's lowest pitch (its first action).
        highest: The env's highest pitch.
        leap_features: Also show the leap rule's state (:mod:`agents.prior.leaps`), before
            the LSTM state.

    Raises:
        ValueError: If the env plays pitches the Note-RNN does not know.
    """

    def __init__(self, note_rnn: NoteRNN | str | None, lowest: int, highest: int,
                 leap_features: bool = False) -> None:
        model = note_rnn if isinstance(note_rnn, NoteRNN) else load_note_rnn(note_rnn)
        model.eval()
        self.note_rnn = note_rnn if isinstance(note_rnn, str) else None
        self.lowest, self.highest = int(lowest), int(highest)
        self.hidden_size = model.hidden_size
        self.tokens = torch.as_tensor(action_tokens(lowest, highest), dtype=torch.long)
        self._step = FoldedStep(model, classes=self.tokens)
        with torch.no_grad():
            zeros = torch.zeros(1, model.hidden_size)
            _, hidden, cell = self._step(torch.tensor([START_TOKEN]), zeros, zeros)
        self._start = (hidden[0], cell[0])
        self.leaps = LeapTracker(self.highest - self.lowest + 1) if leap_features else None

    @property
    def size(self) -> int:
        """The number of features per env (the leap features if any, the LSTM's hidden size)."""
        return self.hidden_size + (self.leaps.size if self.leaps is not None else 0)

    def start(self, batch: int) -> TrackerState:
        """The state of ``batch`` melodies before their first event (after START)."""
        hidden, cell = self._start
        return TrackerState(hidden.expand(batch, -1).clone(), cell.expand(batch, -1).clone(),
                            np.full(batch, -1, dtype=np.int64),
                            self.leaps.start(batch) if self.leaps is not None else None)

    def features(self, state: TrackerState, rows: slice | None = None) -> np.ndarray:
        """``(batch, size)`` the features: the leap features (if shown), then the LSTM state."""
        rows = slice(None) if rows is None else rows
        hidden = state.hidden[rows].numpy()
        if self.leaps is None:
            return hidden
        return np.concatenate([self.leaps.features(state.leaps[rows]), hidden], axis=1)

    def restart(self, state: TrackerState, rows: np.ndarray) -> None:
        """Starts new melodies in the given rows (in place)."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        if len(rows):
            index = torch.as_tensor(rows, dtype=torch.long)
            state.hidden[index] = self._start[0]
            state.cell[index] = self._start[1]
            state.pending[rows] = -1
            if self.leaps is not None:
                self.leaps.restart(state.leaps, rows)

    def advance(self, state: TrackerState, actions: np.ndarray) -> None:
        """Reads one action per env (in place): the state from which the next is predicted."""
        actions = np.asarray(actions, dtype=np.int64)
        tokens = self.tokens[torch.as_tensor(actions)]
        _, state.hidden, state.cell = self._step(tokens, state.hidden, state.cell)
        if self.leaps is not None:
            self.leaps.advance(state.leaps, actions)

    def read_pending(self, state: TrackerState) -> None:
        """Reads the pending action of every env that has one (``predict``'s way)."""
        rows = np.flatnonzero(state.pending >= 0)
        if len(rows) == len(state.pending):
            self.advance(state, state.pending)
        elif len(rows):
            index = torch.as_tensor(rows, dtype=torch.long)
            tokens = self.tokens[torch.as_tensor(state.pending[rows])]
            _, hidden, cell = self._step(tokens, state.hidden[index], state.cell[index])
            state.hidden[index], state.cell[index] = hidden, cell
            if self.leaps is not None:
                leaps = state.leaps[rows]
                self.leaps.advance(leaps, state.pending[rows])
                state.leaps[rows] = leaps
        state.pending[:] = -1


def pitch_range_of(venv: VecEnv) -> tuple[int, int]:
    """``(lowest, highest)`` pitch of the melody envs of a VecEnv.

    Raises:
        ValueError: If its envs are not MammadMelody envs.
    """
    try:
        lowest, highest = (int(venv.get_attr(name, [0])[0]) for name in ("lowest", "highest"))
    except AttributeError as error:
        raise ValueError(f"a Note-RNN policy needs MammadMelody envs (with a pitch range), got "
                         f"{venv!r}") from error
    return lowest, highest


def with_features(observations: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Observations with the tracker's features appended: ``(batch, obs + features)``."""
    return np.concatenate([np.asarray(observations, dtype=np.float32).reshape(
        len(features), -1), features], axis=1)


def features_space(space: spaces.Box, size: int) -> spaces.Box:
    """The observation space with ``size`` features in [-1, 1] (the tracker's) appended."""
    low = np.concatenate([np.broadcast_to(space.low, space.shape).ravel(), -np.ones(size)])
    high = np.concatenate([np.broadcast_to(space.high, space.shape).ravel(), np.ones(size)])
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


class NoteRNNFeatures(VecEnvWrapper):
    """Appends the Note-RNN's state of each env's melody to its observations (for training).

    Args:
        venv: A VecEnv of MammadMelody envs.
        tracker: The tracker (default: one of the shipped default Note-RNN).
    """

    def __init__(self, venv: VecEnv, tracker: NoteRNNTracker | None = None) -> None:
        self.tracker = tracker if tracker is not None else NoteRNNTracker(
            None, *pitch_range_of(venv))
        super().__init__(venv, observation_space=features_space(venv.observation_space,
                                                                self.tracker.size))
        self.state = self.tracker.start(venv.num_envs)
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        """Resets the envs and every melody's Note-RNN state."""
        observations = self.venv.reset()
        self.state = self.tracker.start(self.num_envs)
        return with_features(observations, self.tracker.features(self.state))

    def step_async(self, actions: np.ndarray) -> None:
        """Steps the envs (the tracker reads the actions when they have been taken)."""
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        """The envs' step, each observation with its melody's Note-RNN state appended.

        An env whose melody ended has been reset: its terminal observation (in its info) gets
        the state after the last event, the new first observation the start state.
        """
        observations, rewards, dones, infos = self.venv.step_wait()
        self.tracker.advance(self.state, self._actions)
        for row in np.flatnonzero(dones):
            terminal = infos[row].get("terminal_observation")
            if terminal is not None:
                infos[row]["terminal_observation"] = with_features(
                    terminal[None], self.tracker.features(self.state, slice(row, row + 1)))[0]
        self.tracker.restart(self.state, np.asarray(dones, dtype=bool))
        observations = with_features(observations, self.tracker.features(self.state))
        return observations, rewards, dones, infos
