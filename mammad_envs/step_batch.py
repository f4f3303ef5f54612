"""StepBatch: what a batch of melody envs just did, as reward terms see it.

The scalar :class:`~mammad_envs.melody_env.MelodyEnv` is a batch of one and
:class:`~mammad_envs.vector_env.MelodyVectorEnv` a batch of N: both describe every step with a
:class:`StepBatch`, and reward terms (:mod:`rewards`) compute on it, so a reward gives the same
values on both. This module knows no reward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class StepBatch:
    """One step of ``N`` melody envs, before any env that finished is reset.

    The arrays belong to the env: read them during the step, copy what you keep.

    Attributes:
        events: ``(N,)`` the melody entry each env just wrote: a MIDI pitch, ``HOLD`` or
            ``REST``.
        actions: ``(N,)`` the actions taken.
        steps: ``(N,)`` the index of the 16th just written (0 for an episode's first step).
        melodies: ``(N, steps)`` each env's melody; entries ``0..steps[i]`` are written.
        observations: ``(N, 128)`` the observations after the step.
        previous_observations: ``(N, 128)`` the observations before it.
        terminated: ``(N,)`` whether each env's melody is now complete.
        accompaniments: ``(N,)`` each env's accompaniment index (``len(accompaniments)`` of
            the env for none).
    """

    events: np.ndarray
    actions: np.ndarray
    steps: np.ndarray
    melodies: np.ndarray
    observations: np.ndarray
    previous_observations: np.ndarray
    terminated: np.ndarray
    accompaniments: np.ndarray

    @property
    def size(self) -> int:
        """``N``, the number of envs."""
        return len(self.events)

    def melody(self, row: int) -> np.ndarray:
        """Env ``row``'s melody so far (a view: entries ``0..steps[row]``)."""
        return self.melodies[row, : int(self.steps[row]) + 1]
