"""The state of RL Tuner's leap rule for a batch of melodies, as features a policy's head sees.

The rule (:func:`rewards.theory.rules.leap_outcomes`) remembers, after a leap of a fifth or
more, its direction and the pitch it started from: the leap is resolved by a later move back
to or past that pitch, doubled by a second leap the same way, and a leap back within six
steps only clears it. The frozen Note-RNN's LSTM state carries this only implicitly, so a
Note-RNN policy can be shown it directly (``leap_features=True`` of
:class:`~agents.prior.ppo.NoteRNNPPO`). :class:`LeapTracker` replays the rule's state machine
over the actions a batch of envs takes (vectorised, the kernel's order of updates) and gives,
per env:

- the previous pitch, one-hot over the env's pitches;
- the pitch the pending leap started from, one-hot, once for a leap up and once for a leap
  down (all zero when none is pending);
- the previous pitch again, once while a leap up is pending and once while a leap down is (so a
  linear layer can tell which next pitches would double the leap);
- whether a leap up or a leap down is pending, whether more than six steps passed since the
  last leap, and those steps (capped at 8) / 8.

Every entry is 0 or 1 except the last, in [0, 1].
"""

from __future__ import annotations

import numpy as np

from rewards.theory.rules import LEAP, STEPS_BETWEEN_LEAPS

__all__ = ["LeapTracker"]

PREVIOUS, DIRECTION, LEAPT_FROM, SINCE_LEAP, STEP = range(5)
"""Columns of a leap state (``(batch, 5)`` int64); PREVIOUS is -1 before the first pitch."""
SINCE_CAP = 8
"""Steps since the last leap are shown capped at this, scaled to [0, 1]."""


class LeapTracker:
    """Replays the leap rule over the actions of a batch of melody envs.

    Args:
        pitches: The number of pitches the env plays (its actions ``0..pitches-1``; the
            actions after them, HOLD and REST, play no pitch).
    """

    def __init__(self, pitches: int) -> None:
        if pitches < 1:
            raise ValueError(f"pitches must be >= 1, got {pitches}")
        self.pitches = int(pitches)

    @property
    def size(self) -> int:
        """The number of features per env."""
        return 5 * self.pitches + 4

    def start(self, batch: int) -> np.ndarray:
        """The state of ``batch`` melodies before their first event."""
        state = np.zeros((batch, 5), dtype=np.int64)
        state[:, PREVIOUS] = -1
        return state

    def restart(self, state: np.ndarray, rows: np.ndarray) -> None:
        """Starts new melodies in the given rows (in place)."""
        state[rows] = self.start(1)[0]

    def advance(self, state: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Reads one action per env (in place).

        Returns:
            ``(batch,)`` the rule's outcome of each action: +1 a leap resolved, -1 a leap
            doubled, 0 neither (as :func:`~rewards.theory.rules.leap_outcomes`).
        """
        actions = np.asarray(actions, dtype=np.int64).reshape(len(state))
        is_pitch = actions < self.pitches
        previous, direction = state[:, PREVIOUS], state[:, DIRECTION]
        outcomes = np.zeros(len(state), dtype=np.int64)
        counted = state[:, STEP] > 0
        leap = counted & is_pitch & (previous >= 0) & (np.abs(actions - previous) >= LEAP)
        heading = np.where(actions > previous, 1, -1)
        opens = leap & (direction == 0)
        back = leap & (direction != 0) & (direction != heading)
        doubled = leap & (direction != 0) & (direction == heading)
        outcomes[back & (state[:, SINCE_LEAP] > STEPS_BETWEEN_LEAPS)] = 1
        outcomes[doubled] = -1
        moved = counted & ~leap
        returned = moved & is_pitch & (((direction == 1) & (actions <= state[:, LEAPT_FROM]))
                                       | ((direction == -1) & (actions >= state[:, LEAPT_FROM])))
        outcomes[returned] = 1
        state[opens, LEAPT_FROM] = previous[opens]
        state[:, DIRECTION] = np.where(opens, heading, np.where(back | returned, 0, direction))
        state[:, SINCE_LEAP] = np.where(leap, 0, state[:, SINCE_LEAP] + moved)
        state[:, PREVIOUS] = np.where(is_pitch, actions, previous)
        state[:, STEP] += 1
        return outcomes

    def features(self, state: np.ndarray) -> np.ndarray:
        """``(batch, size)`` the features of each melody's state (see the module docstring)."""
        batch, pitches = len(state), self.pitches
        rows = np.arange(batch)
        previous = np.zeros((batch, pitches), dtype=np.float32)
        played = state[:, PREVIOUS] >= 0
        previous[rows[played], state[played, PREVIOUS]] = 1.0
        up, down = state[:, DIRECTION] == 1, state[:, DIRECTION] == -1
        start = np.zeros((batch, 2, pitches), dtype=np.float32)
        start[rows[up], 0, state[up, LEAPT_FROM]] = 1.0
        start[rows[down], 1, state[down, LEAPT_FROM]] = 1.0
        since = state[:, SINCE_LEAP]
        flags = np.stack([up, down, since > STEPS_BETWEEN_LEAPS,
                          np.minimum(since, SINCE_CAP) / SINCE_CAP], axis=1).astype(np.float32)
        return np.concatenate([previous, start.reshape(batch, -1), previous * up[:, None],
                               previous * down[:, None], flags], axis=1)
