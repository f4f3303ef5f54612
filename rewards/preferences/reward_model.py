"""The learned preference reward: melody (and accompaniment) in, one score out.

:class:`MelodyRewardNet` reads a melody as the Note-RNN's tokens, together with what the
accompaniment sounds at each 16th (its pitch classes and whether a note starts there, see
:func:`context_features`), and gives one scalar after the last event: two melodies over the
same accompaniment are ranked by it, and the accompaniment being part of the input lets one
model serve every accompaniment (as MusicRL's reward model sees the prompt).

:class:`RewardEnsemble` holds several such nets trained on bootstrap samples of the labels: its
score is their mean, and their disagreement on a pair (:meth:`RewardEnsemble.disagreement`) says
which pairs the model is least sure of, for the labelling scheduler. Both save tensors and plain
values only (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mammad_envs.data import load_accompaniments
from rewards.note_rnn.tokens import INPUT_VOCABULARY, START_TOKEN, melody_to_tokens
from rewards.weights import load_weights

NET_FORMAT = "mammad-envs/melody-reward-net"
ENSEMBLE_FORMAT = "mammad-envs/melody-reward-ensemble"
CONTEXT_FEATURES = 13
"""Per 16th: the 12 pitch classes the accompaniment sounds, and whether a note of it starts."""


MAX_MODEL_BYTES: int = 256 * 2**20
"""The largest preference-model file read (an ensemble of five members is about 2 MB)."""


@cache
def _loop_features(name: str) -> np.ndarray:
    known = {a.name: a for a in load_accompaniments()}
    if name not in known:
        raise ValueError(f"unknown accompaniment {name!r}: the bundled ones are {sorted(known)} "
                         f"(or None for a melody alone)")
    loop = known[name]
    features = np.zeros((loop.steps, CONTEXT_FEATURES), dtype=np.float32)
    pitch_classes = np.arange(loop.sounding.shape[1]) % 12
    for pitch_class in range(12):
        features[:, pitch_class] = loop.sounding[:, pitch_classes == pitch_class].any(axis=1)
    features[:, 12] = loop.onsets.any(axis=1)
    features.flags.writeable = False
    return features


def accepts_accompaniments(function: Any) -> bool:
    """Whether a scoring function takes ``accompaniments=`` (a model's ``score``, a scorer)."""
    try:
        return "accompaniments" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def context_features(accompaniment: str | None, steps: int) -> np.ndarray:
    """``(steps, 13)`` float32: what the accompaniment sounds at each 16th (zeros for None).

    Raises:
        ValueError: On an accompaniment that is not bundled.
    """
    if accompaniment is None:
        return np.zeros((steps, CONTEXT_FEATURES), dtype=np.float32)
    loop = _loop_features(str(accompaniment))
    return loop[np.arange(steps) % len(loop)]


def melody_tokens(melodies: Sequence[np.ndarray],
                  accompaniments: Sequence[str | None] | None = None
                  ) -> tuple[list[list[int]], list[str | None]]:
    """Each melody's Note-RNN tokens, with its accompaniment (``None`` for all when not given).

    Raises:
        ValueError: On an empty batch, an empty melody, a melody outside the Note-RNN's tokens,
            or accompaniments of another length than the melodies.
    """
    tokens = [melody_to_tokens(melody) for melody in melodies]
    if not tokens or any(len(t) == 0 for t in tokens):
        raise ValueError("scoring needs at least one melody, each of at least one event")
    accompaniments = [None] * len(tokens) if accompaniments is None else list(accompaniments)
    if len(accompaniments) != len(tokens):
        raise ValueError(f"got {len(accompaniments)} accompaniments for {len(tokens)} melodies")
    return tokens, accompaniments


def padded_tokens(tokens: Sequence[Sequence[int]]) -> torch.Tensor:
    """``(B, T+1)`` long: START, then each token sequence, padded with START to the longest."""
    batch = torch.full((len(tokens), max(len(t) for t in tokens) + 1), START_TOKEN,
                       dtype=torch.long)
    for row, sequence in enumerate(tokens):
        batch[row, 1:len(sequence) + 1] = torch.as_tensor(sequence)
    return batch


def encode_batch(melodies: Sequence[np.ndarray], accompaniments: Sequence[str | None] | None
                 = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tokens (START first), context features and lengths of melodies, padded to the longest.

    Returns:
        ``(tokens (B, T+1) long, context (B, T+1, 13) float, lengths (B,) long)``; position
        ``t`` of the context is the accompaniment at the 16th of token ``t`` (START: the first).

    Raises:
        ValueError: On an empty batch, an empty melody, a melody outside the Note-RNN's tokens,
            or accompaniments of another length than the melodies.
    """
    tokens, accompaniments = melody_tokens(melodies, accompaniments)
    batch = padded_tokens(tokens)
    context = torch.zeros((*batch.shape, CONTEXT_FEATURES))
    for row, (sequence, accompaniment) in enumerate(zip(tokens, accompaniments, strict=True)):
        features = torch.from_numpy(context_features(accompaniment, len(sequence)).copy())
        context[row, 1:len(sequence) + 1] = features
        context[row, 0] = features[0]
    lengths = torch.as_tensor([len(t) + 1 for t in tokens])
    return batch, context, lengths


class MelodyRewardNet(nn.Module):
    """Embedding (+ accompaniment features) -> LSTM -> linear: one scalar per melody.

    Args:
        embedding_dim: Size of the token embedding.
        hidden_size: LSTM cells.
        context_size: Accompaniment features per 16th (:data:`CONTEXT_FEATURES`; 0 for a
            model that sees the melody alone, as files of earlier versions).
    """

    def __init__(self, embedding_dim: int = 32, hidden_size: int = 64,
                 context_size: int = CONTEXT_FEATURES) -> None:
        super().__init__()
        if int(context_size) not in (0, CONTEXT_FEATURES):
            raise ValueError(f"context_size must be 0 or {CONTEXT_FEATURES}, got {context_size}")
        self.hyperparameters = {"embedding_dim": int(embedding_dim),
                                "hidden_size": int(hidden_size),
                                "context_size": int(context_size)}
        self.embedding = nn.Embedding(INPUT_VOCABULARY, int(embedding_dim))
        self.lstm = nn.LSTM(int(embedding_dim) + int(context_size), int(hidden_size),
                            batch_first=True)
        self.head = nn.Linear(int(hidden_size), 1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor,
                context: torch.Tensor | None = None) -> torch.Tensor:
        """Scores ``(batch, steps)`` token tensors (START first) of the given lengths."""
        inputs = self.embedding(tokens)
        if self.hyperparameters["context_size"]:
            if context is None:
                context = torch.zeros((*tokens.shape, CONTEXT_FEATURES))
            inputs = torch.cat([inputs, context], dim=-1)
        outputs, _ = self.lstm(inputs)
        last = outputs[torch.arange(len(tokens)), lengths - 1]
        return self.head(last)[:, 0]

    @torch.no_grad()
    def score(self, melodies: Sequence[np.ndarray],
              accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """One score per melody, a higher one more preferred.

        Args:
            melodies: Melody arrays of any lengths (pitches 21..108, HOLD, REST).
            accompaniments: The accompaniment each melody was written over (a bundled name,
                or None for a melody alone); default: None for all.
        """
        tokens, context, lengths = encode_batch(melodies, accompaniments)
        return self.forward(tokens, lengths, context).numpy().astype(np.float64)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes hyperparameters and weights, loadable with ``torch.load(weights_only=True)``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": NET_FORMAT, "hyperparameters": self.hyperparameters,
                    "state_dict": self.state_dict()}, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> MelodyRewardNet:
        """Loads a file written by :meth:`save` (never unpickling anything but tensors).

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If it is not a reward-model file.
        """
        checkpoint = _read(path, NET_FORMAT)
        try:
            model = cls(**{"context_size": 0, **checkpoint["hyperparameters"]})
            model.load_state_dict(checkpoint["state_dict"])
        except Exception as error:  # noqa: BLE001 (torch raises many kinds on bad files)
            raise ValueError(f"{path} is not a preference model written by "
                             f"MelodyRewardNet.save: {error}") from error
        return model.eval()


class RewardEnsemble(nn.Module):
    """Several :class:`MelodyRewardNet` of one shape; the score is their mean.

    Args:
        members: How many nets.
        card: Plain values describing the training (labels, labelers, accuracy), saved with
            the weights.
        **hyperparameters: For each :class:`MelodyRewardNet`.
    """

    def __init__(self, members: int = 3, card: dict[str, Any] | None = None,
                 **hyperparameters: Any) -> None:
        super().__init__()
        if int(members) < 1:
            raise ValueError(f"an ensemble needs at least one member, got {members}")
        self.members = nn.ModuleList(MelodyRewardNet(**hyperparameters)
                                     for _ in range(int(members)))
        self.hyperparameters = dict(self.members[0].hyperparameters)
        self.card = dict(card or {})

    def forward_members(self, tokens: torch.Tensor, lengths: torch.Tensor,
                        context: torch.Tensor | None = None) -> torch.Tensor:
        """``(members, batch)``: every member's score."""
        return torch.stack([member(tokens, lengths, context) for member in self.members])

    @torch.no_grad()
    def member_scores(self, melodies: Sequence[np.ndarray],
                      accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """``(members, len(melodies))``: every member's score of every melody."""
        tokens, context, lengths = encode_batch(melodies, accompaniments)
        return self.forward_members(tokens, lengths, context).numpy().astype(np.float64)

    def score(self, melodies: Sequence[np.ndarray],
              accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """The members' mean score per melody (see :meth:`MelodyRewardNet.score`)."""
        return self.member_scores(melodies, accompaniments).mean(axis=0)

    def disagreement(self, melodies_a: Sequence[np.ndarray], melodies_b: Sequence[np.ndarray],
                     accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """Per pair, the standard deviation over members of P(a preferred to b).

        Pairs share their accompaniment. A single-member ensemble disagrees with nobody: it
        gives how close P(a preferred) is to 1/2 instead (1/2 - |P - 1/2|), so the least sure
        pairs still come first.
        """
        return pair_disagreement(self, melodies_a, melodies_b, accompaniments)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the members' weights and the card (``torch.load(weights_only=True)``)."""
        return save_checkpoint(path, {"format": ENSEMBLE_FORMAT,
                                      "hyperparameters": self.hyperparameters,
                                      "members": [member.state_dict() for member in self.members],
                                      "card": self.card})

    @classmethod
    def load(cls, path: str | os.PathLike) -> RewardEnsemble:
        """Loads a file written by :meth:`save`.

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If it is not an ensemble file.
        """
        checkpoint = _read(path, ENSEMBLE_FORMAT)
        try:
            states = checkpoint["members"]
            model = cls(len(states), card=checkpoint.get("card"),
                        **checkpoint["hyperparameters"])
            for member, state in zip(model.members, states, strict=True):
                member.load_state_dict(state)
        except Exception as error:  # noqa: BLE001
            raise ValueError(f"{path} is not a reward ensemble written by RewardEnsemble.save: "
                             f"{error}") from error
        return model.eval()


def save_checkpoint(path: str | os.PathLike, checkpoint: dict[str, Any]) -> Path:
    """Writes a model file (tensors and plain values) through a scratch file renamed into place.

    Readable with ``torch.load(weights_only=True)``; the folder is made if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    torch.save(checkpoint, partial)
    os.replace(partial, path)
    return path


def pair_disagreement(ensemble: Any, melodies_a: Sequence[np.ndarray],
                      melodies_b: Sequence[np.ndarray],
                      accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
    """Per pair, the spread over an ensemble's members of P(a preferred to b).

    Args:
        ensemble: Has ``member_scores(melodies, accompaniments)`` -> ``(members, melodies)``.
        melodies_a: The pairs' first melodies.
        melodies_b: Their second melodies (each pair shares its accompaniment).
        accompaniments: Each pair's accompaniment.

    Returns:
        The standard deviation of the members' P(a preferred); for a single member, how close
        its P(a preferred) is to 1/2 instead (``1/2 - |P - 1/2|``), so that the least sure
        pairs still come first.
    """
    scores = ensemble.member_scores([*melodies_a, *melodies_b],
                                    None if accompaniments is None else [*accompaniments,
                                                                         *accompaniments])
    count = len(melodies_a)
    probabilities = 1.0 / (1.0 + np.exp(-(scores[:, :count] - scores[:, count:])))
    if len(scores) == 1:
        return 0.5 - np.abs(probabilities[0] - 0.5)
    return probabilities.std(axis=0)


def _checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A preference-model file's contents, read with ``torch.load(weights_only=True)``.

    At most :data:`MAX_MODEL_BYTES` are read, checked before the file is opened.
    """
    checkpoint = load_weights(path, MAX_MODEL_BYTES, "preference model file",
                              "rewards.preferences.reward_model.MAX_MODEL_BYTES",
                              "a preference model of this project is a few MB: check the path",
                              "is not a preference model file")
    return checkpoint if isinstance(checkpoint, dict) else {}


def _read(path: str | os.PathLike, expected: str) -> dict[str, Any]:
    checkpoint = _checkpoint(path)
    if checkpoint.get("format") != expected:
        raise ValueError(f"{path} is not a preference model written by mammad-envs: its format "
                         f"is {checkpoint.get('format')!r}, not {expected!r}")
    return checkpoint


def load_reward_model(path: str | os.PathLike) -> Any:
    """A reward-model file, whichever kind it is.

    :class:`MelodyRewardNet`, :class:`RewardEnsemble` or
    :class:`~rewards.preferences.prior_reward_model.PriorRewardEnsemble`.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If it is none of them.
    """
    # Here, not at the top: prior_reward_model builds on this module (context_features, _read).
    from rewards.preferences.prior_reward_model import (
        PRIOR_ENSEMBLE_FORMAT,
        PriorRewardEnsemble,
    )

    checkpoint = _checkpoint(path)
    kind = checkpoint.get("format")
    if kind == PRIOR_ENSEMBLE_FORMAT:
        return PriorRewardEnsemble.from_checkpoint(checkpoint, path)
    if kind == ENSEMBLE_FORMAT:
        return RewardEnsemble.load(path)
    if kind == NET_FORMAT:
        return MelodyRewardNet.load(path)
    raise ValueError(f"{path} is not a preference model written by mammad-envs (format "
                     f"{kind!r}; expected {NET_FORMAT!r}, {ENSEMBLE_FORMAT!r} or "
                     f"{PRIOR_ENSEMBLE_FORMAT!r})")
