"""PreferenceReward: a learned model of which melodies people prefer, as a reward.

The wrapper calls any object with a ``score(melodies) -> array`` method (the
:class:`PreferenceModel` protocol). :class:`MelodyRewardNet` is the project's model of that
kind: an LSTM over the Note-RNN's tokens with a scalar head, the shape of reward model a
Bradley-Terry loss on pairwise preferences trains (as in MusicRL). Its training, the preference
data and the labelling tools are a separate piece of work; the wrapper and the model interface
are here so rewards can be composed today.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from mammad_envs.step_batch import StepBatch
from rewards.base import RewardTerm, RewardWrapper
from rewards.note_rnn.tokens import INPUT_VOCABULARY, START_TOKEN, melody_to_tokens

FORMAT = "mammad-envs/melody-reward-net"
MODES = ("final", "delta")


@runtime_checkable
class PreferenceModel(Protocol):
    """Anything that scores melodies; a higher score means more preferred."""

    def score(self, melodies: Sequence[np.ndarray]) -> np.ndarray:
        """One float per melody (melody arrays of any lengths, at least one event each)."""


class MelodyRewardNet(nn.Module):
    """Embedding -> LSTM -> linear: one scalar per melody, read after its last event.

    Args:
        embedding_dim: Size of the token embedding.
        hidden_size: LSTM cells.
    """

    def __init__(self, embedding_dim: int = 32, hidden_size: int = 64) -> None:
        super().__init__()
        self.hyperparameters = {"embedding_dim": int(embedding_dim),
                                "hidden_size": int(hidden_size)}
        self.embedding = nn.Embedding(INPUT_VOCABULARY, int(embedding_dim))
        self.lstm = nn.LSTM(int(embedding_dim), int(hidden_size), batch_first=True)
        self.head = nn.Linear(int(hidden_size), 1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores ``(batch, steps)`` token tensors (START first) of the given lengths."""
        outputs, _ = self.lstm(self.embedding(tokens))
        last = outputs[torch.arange(len(tokens)), lengths - 1]
        return self.head(last)[:, 0]

    @torch.no_grad()
    def score(self, melodies: Sequence[np.ndarray]) -> np.ndarray:
        """One score per melody (see :class:`PreferenceModel`)."""
        tokens = [melody_to_tokens(melody) for melody in melodies]
        if not tokens or any(len(t) == 0 for t in tokens):
            raise ValueError("score needs melodies of at least one event")
        longest = max(len(t) for t in tokens)
        batch = torch.full((len(tokens), longest + 1), START_TOKEN, dtype=torch.long)
        for row, sequence in enumerate(tokens):
            batch[row, 1:len(sequence) + 1] = torch.as_tensor(sequence)
        lengths = torch.as_tensor([len(t) + 1 for t in tokens])
        return self.forward(batch, lengths).numpy().astype(np.float64)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes hyperparameters and weights, loadable with ``torch.load(weights_only=True)``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": FORMAT, "hyperparameters": self.hyperparameters,
                    "state_dict": self.state_dict()}, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> MelodyRewardNet:
        """Loads a file written by :meth:`save` (never unpickling anything but tensors).

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If it is not a reward-model file.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"preference model file not found: {path}")
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            if checkpoint.get("format") != FORMAT:
                raise ValueError(f"format is {checkpoint.get('format')!r}, not {FORMAT!r}")
            model = cls(**checkpoint["hyperparameters"])
            model.load_state_dict(checkpoint["state_dict"])
        except Exception as error:  # noqa: BLE001 (torch raises many kinds on bad files)
            raise ValueError(f"{path} is not a preference model written by "
                             f"MelodyRewardNet.save: {error}") from error
        return model.eval()


def load_preference_model(model: str | os.PathLike | PreferenceModel | None) -> PreferenceModel:
    """A preference model from a path (a :class:`MelodyRewardNet` file) or an object as is.

    Raises:
        ValueError: If there is no model, or the object has no ``score`` method.
    """
    if model is None:
        raise ValueError("the preference reward needs a model: the path of a file written by "
                         "MelodyRewardNet.save, or an object with a score(melodies) method; pass "
                         "it as reward_kwargs={'preference': {'model': ...}}")
    if isinstance(model, str | os.PathLike):
        return MelodyRewardNet.load(model)
    if not isinstance(model, PreferenceModel):
        raise ValueError(f"{model!r} has no score(melodies) method")
    return model


class PreferenceTerm(RewardTerm):
    """A learned preference model's score of the melody.

    Args:
        env: A MammadMelody env.
        batch: Envs scored at once (the model scores their melodies in one call).
        weight: Multiplies the score.
        model: Path of a :class:`MelodyRewardNet` file, or any :class:`PreferenceModel`.
        mode: ``"final"`` (default): the score of the complete melody, on the last step only;
            ``"delta"``: at every step, how much the step changed the score (the terms of an
            episode add up to the final score; each step re-scores the melody so far).
    """

    name = "preference"
    wrapper = "rewards.preference:PreferenceReward"

    def __init__(self, env: gym.Env, batch: int = 1, weight: float = 1.0,
                 model: str | PreferenceModel | None = None, mode: str = "final") -> None:
        super().__init__(env, batch, weight)
        if mode not in MODES:
            raise ValueError(f"unknown preference reward mode {mode!r}: choose one of {MODES}")
        self.mode = mode
        self.model = load_preference_model(model)
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
        scores = np.asarray(self.model.score([step.melody(row) for row in rows]),
                            dtype=np.float64)
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
        model: Path of a :class:`MelodyRewardNet` file, or any :class:`PreferenceModel`.
        **kwargs: :class:`PreferenceTerm`'s other arguments: ``weight``, ``mode``.
    """

    term_class = PreferenceTerm

    def __init__(self, env: gym.Env, model: str | PreferenceModel | None = None,
                 **kwargs: Any) -> None:
        super().__init__(env, model=model, **kwargs)

    @property
    def model(self) -> PreferenceModel:
        """The preference model."""
        return self.term.model
