"""PreferenceReward: a learned model of which melodies people prefer, as a reward.

The wrapper calls any object with a ``score(melodies) -> array`` method (the
:class:`PreferenceModel` protocol). The project's models of that kind, which ``mammad preference
train`` trains with a Bradley-Terry loss on pairwise preferences (as MusicRL does;
:mod:`rewards.preferences.training`), are :class:`PriorRewardEnsemble` (heads over the pretrained
Note-RNN's hidden states, :mod:`rewards.preferences.prior_reward_model`), and
:class:`RewardEnsemble` of :class:`MelodyRewardNet`, LSTMs of their own over the Note-RNN's
tokens and the accompaniment (:mod:`rewards.preferences.reward_model`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from mammad_envs.data import load_accompaniments
from mammad_envs.step_batch import StepBatch
from rewards.base import RewardTerm, RewardWrapper, term_attribute
from rewards.preferences.prior_reward_model import PriorRewardEnsemble
from rewards.preferences.reward_model import (
    MelodyRewardNet,
    RewardEnsemble,
    accepts_accompaniments,
    load_reward_model,
)
from rewards.preferences.taste import TasteModel, is_scorer_spec

__all__ = ["MODES", "MelodyRewardNet", "PreferenceModel", "PreferenceReward", "PreferenceTerm",
           "PriorRewardEnsemble", "RewardEnsemble", "load_preference_model",
           "takes_accompaniments"]

MODES = ("final", "delta")


@runtime_checkable
class PreferenceModel(Protocol):
    """Anything that scores melodies; a higher score means more preferred.

    A model may also take ``accompaniments=`` (the accompaniment each melody was written
    over, a bundled name or None), as :class:`MelodyRewardNet` does; the reward passes them
    when its ``score`` has that parameter.
    """

    def score(self, melodies: Sequence[np.ndarray]) -> np.ndarray:
        """One float per melody (melody arrays of any lengths, at least one event each)."""


def load_preference_model(model: str | os.PathLike | PreferenceModel | None) -> PreferenceModel:
    """A preference model from a path, a ``module:function`` spec or an object as is.

    A path names a :class:`PriorRewardEnsemble`, :class:`RewardEnsemble` or
    :class:`MelodyRewardNet` file (:func:`~rewards.preferences.load_reward_model`); a string of
    the shape ``package.module:function`` that is not a file names a scoring function (a taste,
    :class:`~rewards.preferences.taste.TasteModel`).

    Raises:
        ValueError: If there is no model, or the object has no ``score`` method.
        FileNotFoundError: If the file is missing.
    """
    if model is None:
        raise ValueError("the preference reward needs a model: the path of a file written by "
                         "`mammad preference train` (or MelodyRewardNet.save), or an object "
                         "with a score(melodies) method; pass it as "
                         "reward_kwargs={'preference': {'model': ...}}")
    if is_scorer_spec(model) and not Path(str(model)).exists():
        return TasteModel(str(model))
    if isinstance(model, str | os.PathLike):
        return load_reward_model(model)
    if not isinstance(model, PreferenceModel):
        raise ValueError(f"{model!r} has no score(melodies) method")
    return model


def takes_accompaniments(model: PreferenceModel) -> bool:
    """Whether a model's ``score`` takes ``accompaniments=``."""
    return accepts_accompaniments(model.score)


class PreferenceTerm(RewardTerm):
    """A learned preference model's score of the melody.

    Args:
        env: A MammadMelody env.
        batch: Envs scored at once (the model scores their melodies in one call).
        weight: Multiplies the score.
        model: Path of a reward-model file (see :func:`load_preference_model`), or any
            :class:`PreferenceModel`.
        mode: ``"final"`` (default): the score of the complete melody, on the last step only;
            ``"delta"``: at every step, how much the step changed the score (the terms of an
            episode add up to the final score; each step re-scores the melody so far).
    """

    name = "preference"
    wrapper = "rewards.preferences.term:PreferenceReward"

    def __init__(self, env: gym.Env, batch: int = 1, weight: float = 1.0,
                 model: str | PreferenceModel | None = None, mode: str = "final") -> None:
        super().__init__(env, batch, weight)
        if mode not in MODES:
            raise ValueError(f"unknown preference reward mode {mode!r}: choose one of {MODES}")
        self.mode = mode
        self.model = load_preference_model(model)
        self._with_accompaniments = takes_accompaniments(self.model)
        # StepBatch.accompaniments indexes the bundled list; one past its end means none.
        self._accompaniment_names = np.array(
            [a.name for a in load_accompaniments()] + [None], dtype=object)
        self._previous = np.zeros(self.batch)

    def reset(self, rows: np.ndarray) -> None:
        """Forgets the given melodies' previous scores."""
        self._previous[rows] = 0.0

    def compute(self, step: StepBatch) -> np.ndarray:
        """The final score, or the change of score, of each env's melody."""
        values = np.zeros(step.size)
        rows = np.flatnonzero(step.terminated) if self.mode == "final" else np.arange(step.size)
        if len(rows) == 0:
            return values
        melodies = [step.melody(row) for row in rows]
        if self._with_accompaniments:
            names = self._accompaniment_names[step.accompaniments[rows]]
            scores = self.model.score(melodies, accompaniments=list(names))
        else:
            scores = self.model.score(melodies)
        scores = np.asarray(scores, dtype=np.float64)
        if self.mode == "final":
            values[rows] = scores
            return values
        values[rows] = scores - self._previous[rows]
        self._previous[rows] = scores
        return values


class PreferenceReward(RewardWrapper):
    """Adds a learned preference model's score (a :class:`PreferenceTerm`) to a scalar env.

    Args:
        env: A MammadMelody env (possibly wrapped).
        model: Path of a reward-model file (see :func:`load_preference_model`), or any
            :class:`PreferenceModel`.
        **kwargs: :class:`PreferenceTerm`'s other arguments: ``weight``, ``mode``.
    """

    term_class = PreferenceTerm

    def __init__(self, env: gym.Env, model: str | PreferenceModel | None = None,
                 **kwargs: Any) -> None:
        super().__init__(env, model=model, **kwargs)

    model = term_attribute("model", "The preference model.")
