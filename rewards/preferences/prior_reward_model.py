"""A preference reward model that starts from the pretrained Note-RNN's representation.

:class:`PriorRewardNet` reads a melody through a Note-RNN (the pretrained one, frozen by
default): after every event, the LSTM's hidden state (256 values) says what the model trained on
folk tunes makes of the melody so far. Beside it, per 16th, the features a taste may need that
the Note-RNN cannot know or holds only implicitly (:func:`step_features`): the event (note, hold,
rest), the sounding pitch class and height, the position in the bar, what the accompaniment
sounds (:func:`~rewards.preferences.reward_model.context_features`) and whether the melody's
pitch class is among it, whether the melody's note is a chord tone of the accompaniment over
the beat, half bar and bar (:mod:`~rewards.preferences.harmony_features`), the interval from
the previous note, the melody's register and range so far. A small MLP gives one value per
16th; the melody's score is their **mean** over its 16ths: the two melodies of a pair share
their length, so mean and sum rank them alike, and the mean keeps one scale for melodies of any
length (the ``delta`` reward mode scores partial melodies).

:class:`PriorRewardEnsemble` holds several heads over one Note-RNN, with the interface of
:class:`~rewards.preferences.reward_model.RewardEnsemble` (``score``, ``member_scores``,
``disagreement``, ``card``, ``save``/``load`` weights-only). Its file names the Note-RNN: a
shipped one by name (its weights are not copied), another one by its path with its weights
inside, so that the file stands alone. With ``finetune=True`` every member carries its own copy
of the Note-RNN's embedding and LSTM, trained with a small learning rate, saved in the file.

Training the heads over a frozen Note-RNN is fast because the hidden states are computed once
per melody (:func:`encode_melodies`) and reused by every epoch and member.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mammad_envs.melody import HOLD, REST, sounding_pitches
from rewards.note_rnn.model import PRETRAINED, NoteRNN
from rewards.preferences.harmony_features import HARMONY_FEATURES, harmony_features
from rewards.preferences.reward_model import (
    CONTEXT_FEATURES,
    _read,
    context_features,
    melody_tokens,
    padded_tokens,
    pair_disagreement,
    save_checkpoint,
)

PRIOR_ENSEMBLE_FORMAT = "mammad-envs/prior-reward-ensemble"
BAR = 16
"""16ths per bar."""
MELODY_FEATURES = 3 + 12 + 1 + BAR + BAR + CONTEXT_FEATURES + 1 + 6 + 3 + 3 + 3
"""Per-16th features of the melody and accompaniment (see :func:`step_features`)."""
SUMMARIES = 8
"""Whole-melody averages each :class:`PriorRewardNet` feeds its melody-level MLP."""
STEP_FEATURES = MELODY_FEATURES + HARMONY_FEATURES + 1
"""Per-16th features beside the Note-RNN's hidden state: :func:`step_features`', whether the
melody's note is a chord tone of the accompaniment
(:func:`~rewards.preferences.harmony_features.harmony_features`) and the Note-RNN's
log-probability of the event (how expected it is after the events before). A model saved
without the harmony columns (before they existed) reads ``STEP_FEATURES - HARMONY_FEATURES``."""


def step_feature_count(harmony: bool) -> int:
    """Per-16th features beside the hidden state, with or without the harmony columns."""
    return STEP_FEATURES if harmony else STEP_FEATURES - HARMONY_FEATURES


@dataclass
class EncodedMelodies:
    """Melodies ready for :class:`PriorRewardNet`, padded to the longest.

    Attributes:
        tokens: ``(B, T+1)`` long, START first (for a member that fine-tunes the Note-RNN).
        hidden: ``(B, T, H)`` the frozen Note-RNN's hidden state after each event.
        features: ``(B, T, STEP_FEATURES)``: :func:`step_features`, the harmony columns (left
            out for a model saved before them) and the Note-RNN's log-probability.
        mask: ``(B, T)`` float, 1 on the melody's 16ths.
    """

    tokens: torch.Tensor
    hidden: torch.Tensor
    features: torch.Tensor
    mask: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The tensors in :meth:`PriorRewardNet.forward`'s order (rows index melodies)."""
        return self.tokens, self.hidden, self.features, self.mask


def step_features(melody: np.ndarray, accompaniment: str | None = None) -> np.ndarray:
    """``(len(melody), MELODY_FEATURES)`` float32: what a taste may need at each 16th.

    Columns: the event (note starts, hold, rest: 3); the sounding pitch class (12, zeros in a
    rest); the sounding pitch's height ((pitch - 60) / 12); the position in the bar (16), and
    again where a note starts (16: a rhythm's place in the bar, whatever the pitch); the
    accompaniment (13: its pitch classes and whether a note of it starts); whether the sounding
    pitch class is among the accompaniment's; at a note's start, the interval from the previous
    note (semitones / 12, its sign, and flags for a repeat, a step of 1-2 semitones, a leap of
    3+ and one of 8+: 6); the sounding pitch against the mean pitch of the melody's notes
    ((pitch - mean) / 12), and the pitch range so far and the 16ths since the last note's
    start, scaled (3); where the 16th lies in the melody (-1/2 at its start to 1/2 at its
    end), that times the pitch against the mean (averaged, the melody's rise or fall), and
    whether the melody's last note sounds (3); the melody's highest and lowest pitch and its
    range, scaled as the height (3: the same at every 16th).
    """
    melody = np.asarray(melody, dtype=np.int64)
    steps = len(melody)
    out = np.zeros((steps, MELODY_FEATURES), dtype=np.float32)
    starts = melody >= 0
    notes = np.flatnonzero(starts)
    sounding = np.full(steps, -1, dtype=np.int64)
    current = -1
    since = np.zeros(steps, dtype=np.float32)
    count = 0
    for t, event in enumerate(melody):
        if event >= 0:
            current, count = int(event), 0
        elif event == REST:
            current = -1
        count += 1
        sounding[t] = current
        since[t] = count
    out[:, 0] = starts
    out[:, 1] = melody == HOLD
    out[:, 2] = melody == REST
    sounds = sounding >= 0
    rows = np.flatnonzero(sounds)
    out[rows, 3 + sounding[rows] % 12] = 1.0
    out[:, 15] = np.where(sounds, (sounding - 60) / 12.0, 0.0)
    column = 16
    out[np.arange(steps), column + np.arange(steps) % BAR] = 1.0
    column += BAR
    out[notes, column + notes % BAR] = 1.0
    column += BAR
    context = context_features(accompaniment, steps)
    out[:, column:column + CONTEXT_FEATURES] = context
    column += CONTEXT_FEATURES
    out[rows, column] = context[rows, sounding[rows] % 12]
    column += 1
    if len(notes) > 1:
        interval = np.diff(melody[notes]).astype(np.float32)
        at = notes[1:]
        size = np.abs(interval)
        out[at, column] = interval / 12.0
        out[at, column + 1] = np.sign(interval)
        out[at, column + 2] = size == 0
        out[at, column + 3] = (size >= 1) & (size <= 2)
        out[at, column + 4] = size >= 3
        out[at, column + 5] = size >= 8
    column += 6
    if len(notes):
        pitches = melody[notes].astype(np.float32)
        out[:, column] = np.where(sounds, (sounding - pitches.mean()) / 12.0, 0.0)
        seen = np.maximum.accumulate(np.where(starts, melody, -10**6))
        low = -np.maximum.accumulate(np.where(starts, -melody, -10**6))
        started = seen > -10**6
        out[:, column + 1] = np.where(started, (seen - low) / 12.0, 0.0)
    out[:, column + 2] = np.minimum(since, BAR) / 4.0
    column += 3
    progress = (np.arange(steps) + 0.5) / steps - 0.5
    out[:, column] = progress
    out[:, column + 1] = progress * out[:, column - 3]
    if len(notes):
        out[notes[-1]:, column + 2] = sounds[notes[-1]:]
        highest, lowest = int(melody[notes].max()), int(melody[notes].min())
        out[:, column + 3:column + 6] = [(highest - 60) / 12, (lowest - 60) / 12,
                                         (highest - lowest) / 12]
    return out


@torch.no_grad()
def note_rnn_hidden(note_rnn: NoteRNN, tokens: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The Note-RNN's reading of ``(B, T+1)`` tokens (START first).

    Returns:
        ``(hidden (B, T, H), log_probs (B, T))``: the LSTM output after each event, and the
        log-probability the Note-RNN gave each event before it came.
    """
    outputs, _ = note_rnn.lstm(note_rnn.embedding(tokens))
    log_probs = torch.log_softmax(note_rnn.output(outputs[:, :-1]), dim=-1)
    events = tokens[:, 1:].clamp_max(log_probs.shape[-1] - 1)  # padding (START) reads as 0
    chosen = log_probs.gather(-1, events[..., None])[..., 0]
    return outputs[:, 1:], chosen


def encode_melodies(note_rnn: NoteRNN, melodies: Sequence[np.ndarray],
                    accompaniments: Sequence[str | None] | None = None,
                    batch_size: int = 512, harmony: bool = True) -> EncodedMelodies:
    """Tokens, the frozen Note-RNN's hidden states, step features and mask of melodies.

    Computed once, this is all a frozen model's training needs: every epoch reuses it.
    ``harmony=False`` leaves out the harmony columns (a model saved before they existed).

    Raises:
        ValueError: On an empty batch or melody, a melody outside the Note-RNN's tokens, an
            unknown accompaniment, or accompaniments of another length than the melodies.
    """
    tokens, accompaniments = melody_tokens(melodies, accompaniments)
    batch = padded_tokens(tokens)
    longest = batch.shape[1] - 1
    width = step_feature_count(harmony)
    features = np.zeros((len(tokens), longest, width), dtype=np.float32)
    mask = torch.zeros((len(tokens), longest))
    for row, (sequence, melody, accompaniment) in enumerate(
            zip(tokens, melodies, accompaniments, strict=True)):
        features[row, :len(sequence), :MELODY_FEATURES] = step_features(melody, accompaniment)
        if harmony:
            features[row, :len(sequence), MELODY_FEATURES:width - 1] = harmony_features(
                sounding_pitches(melody), accompaniment)
        mask[row, :len(sequence)] = 1.0
    readings = [note_rnn_hidden(note_rnn, batch[start:start + batch_size])
                for start in range(0, len(batch), batch_size)]
    hidden = torch.cat([hidden for hidden, _ in readings])
    features = torch.from_numpy(features)
    log_probs = torch.cat([log_probs for _, log_probs in readings]).clamp_min(-20.0)
    features[..., width - 1] = log_probs * mask
    return EncodedMelodies(batch, hidden, features, mask)


class PriorRewardNet(nn.Module):
    """A per-16th MLP over the Note-RNN's hidden state and :func:`step_features`; mean score.

    The hidden state is first projected on its ``components`` principal components (fitted on
    the training melodies' 16ths by :meth:`standardise`): 400 noisy labels cannot fit 256 more
    inputs per 16th, and the leading components keep most of what the Note-RNN says. Every
    input is then centred and scaled; the per-16th value is a small MLP's plus a linear one's.
    Beside the mean of those values, a few linear summaries of the inputs are averaged over the
    melody and given to a second small MLP, whose output is added to the score: a taste that is
    a ratio (the fraction of notes on the beat, of steps among the intervals) or another
    nonlinear function of whole-melody averages is in reach of it, not of a mean of per-16th
    values.

    Args:
        hidden_size: The Note-RNN's LSTM cells (its hidden state's size).
        head_size: The MLP's hidden units.
        components: Principal components of the hidden state kept (0: none).
        encoder: A Note-RNN of its own to fine-tune (its embedding and LSTM are used), or None
            to read the frozen hidden states given to :meth:`forward`.
        step_features: Per-16th features beside the hidden state (:func:`step_feature_count`).
    """

    def __init__(self, hidden_size: int = 256, head_size: int = 64, components: int = 16,
                 encoder: NoteRNN | None = None, step_features: int = STEP_FEATURES) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("hidden_center", torch.zeros(int(hidden_size)))
        # A copy: a view would save all of eye's storage.
        self.register_buffer("projection",
                             torch.eye(int(hidden_size))[:, :int(components)].clone())
        inputs = int(components) + int(step_features)
        self.register_buffer("center", torch.zeros(inputs))
        self.register_buffer("scale", torch.ones(inputs))
        self.head = nn.Sequential(nn.Linear(inputs, int(head_size)), nn.Tanh(),
                                  nn.Linear(int(head_size), 1))
        self.linear = nn.Linear(inputs, 1, bias=False)
        self.summaries = nn.Linear(inputs, SUMMARIES)
        self.melody_head = nn.Sequential(nn.Linear(SUMMARIES, 2 * SUMMARIES), nn.Tanh(),
                                         nn.Linear(2 * SUMMARIES, 1))

    @torch.no_grad()
    def standardise(self, hidden: torch.Tensor, features: torch.Tensor, mask: torch.Tensor
                    ) -> None:
        """Fits the hidden state's projection and the inputs' centre and scale.

        On the given melodies' 16ths: the principal components of the hidden state, then the
        mean and spread of every input.
        """
        states = hidden[mask > 0]
        self.hidden_center.copy_(states.mean(dim=0))
        if self.projection.shape[1]:
            centred = (states - self.hidden_center).double()
            _, vectors = torch.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
            self.projection.copy_(vectors.flip(-1)[:, :self.projection.shape[1]].float())
        inputs = torch.cat([self._project(hidden), features], dim=-1)[mask > 0]
        self.center.copy_(inputs.mean(dim=0))
        self.scale.copy_(inputs.std(dim=0).clamp_min(1e-2))

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor, features: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """``(B,)`` scores: the mean over each melody's 16ths of the per-16th values."""
        if self.encoder is not None:
            outputs, _ = self.encoder.lstm(self.encoder.embedding(tokens))
            hidden = outputs[:, 1:]
        inputs = (torch.cat([self._project(hidden), features], dim=-1) - self.center) / self.scale
        values = (self.head(inputs) + self.linear(inputs))[..., 0]
        steps = mask.sum(dim=1)
        summaries = (self.summaries(inputs) * mask[..., None]).sum(dim=1) / steps[:, None]
        return (values * mask).sum(dim=1) / steps + self.melody_head(summaries)[:, 0]

    def _project(self, hidden: torch.Tensor) -> torch.Tensor:
        return (hidden - self.hidden_center) @ self.projection

    def parameter_groups(self, learning_rate: float, finetune_learning_rate: float
                         ) -> list[dict[str, Any]]:
        """Adam's parameter groups: the head at ``learning_rate``, the encoder at the other."""
        head = [parameter for name, parameter in self.named_parameters()
                if not name.startswith("encoder.")]
        groups: list[dict[str, Any]] = [{"params": head, "lr": learning_rate}]
        if self.encoder is not None:
            encoder = [*self.encoder.embedding.parameters(), *self.encoder.lstm.parameters()]
            groups.append({"params": encoder, "lr": finetune_learning_rate})
        return groups


def resolve_note_rnn(note_rnn: str | os.PathLike) -> NoteRNN:
    """A shipped Note-RNN by name (see :data:`PRETRAINED`), or one loaded from a file.

    Raises:
        ValueError: On a name that is neither shipped nor an existing file.
    """
    if str(note_rnn) in PRETRAINED:
        return NoteRNN.pretrained(str(note_rnn))
    if not Path(note_rnn).is_file():
        raise ValueError(f"note_rnn {str(note_rnn)!r} is neither a shipped Note-RNN (one of "
                         f"{sorted(PRETRAINED)}) nor a weights file")
    return _frozen(NoteRNN.load(note_rnn))


def _frozen(model: NoteRNN) -> NoteRNN:
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()


class PriorRewardEnsemble(nn.Module):
    """Several :class:`PriorRewardNet` heads over one Note-RNN; the score is their mean.

    Args:
        members: How many nets.
        note_rnn: A shipped Note-RNN's name (``"default"``, ``"rl_tuner"``) or a weights file.
        head_size: Each head's hidden units.
        components: Principal components of the Note-RNN's hidden state each head reads.
        finetune: Whether every member fine-tunes a copy of the Note-RNN's embedding and LSTM.
        card: Plain values describing the training, saved with the weights.
        note_rnn_model: The Note-RNN itself, if already loaded (``note_rnn`` still names it).
        harmony: Whether the heads read whether the melody's note is a chord tone of the
            accompaniment (:mod:`~rewards.preferences.harmony_features`); False only for files
            saved before those features existed.
    """

    def __init__(self, members: int = 3, note_rnn: str | os.PathLike = "default",
                 head_size: int = 64, components: int = 16, finetune: bool = False,
                 card: dict[str, Any] | None = None,
                 note_rnn_model: NoteRNN | None = None, harmony: bool = True) -> None:
        super().__init__()
        if int(members) < 1:
            raise ValueError(f"an ensemble needs at least one member, got {members}")
        prior = note_rnn_model if note_rnn_model is not None else resolve_note_rnn(note_rnn)
        # Not a submodule: shared and frozen, neither trained nor saved with the members.
        self.__dict__["note_rnn"] = prior
        self.note_rnn_name = str(note_rnn)
        self.hyperparameters = {"head_size": int(head_size), "components": int(components),
                                "finetune": bool(finetune), "hidden_size": prior.hidden_size,
                                "harmony": bool(harmony)}
        self.members = nn.ModuleList(
            PriorRewardNet(prior.hidden_size, int(head_size), int(components),
                           _trainable_copy(prior) if finetune else None,
                           step_feature_count(bool(harmony)))
            for _ in range(int(members)))
        self.card = dict(card or {})

    def encode(self, melodies: Sequence[np.ndarray],
               accompaniments: Sequence[str | None] | None = None) -> EncodedMelodies:
        """The melodies read by the frozen Note-RNN (see :func:`encode_melodies`)."""
        return encode_melodies(self.note_rnn, melodies, accompaniments,
                               harmony=self.hyperparameters["harmony"])

    def forward_members(self, tokens: torch.Tensor, hidden: torch.Tensor,
                        features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(members, batch)``: every member's score of encoded melodies."""
        return torch.stack([member(tokens, hidden, features, mask) for member in self.members])

    @torch.no_grad()
    def member_scores(self, melodies: Sequence[np.ndarray],
                      accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """``(members, len(melodies))``: every member's score of every melody."""
        encoded = self.encode(melodies, accompaniments)
        return self.forward_members(*encoded.tensors()).numpy().astype(np.float64)

    def score(self, melodies: Sequence[np.ndarray],
              accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """The members' mean score per melody, a higher one more preferred.

        It takes what :meth:`~rewards.preferences.reward_model.MelodyRewardNet.score` takes:
        melody arrays, and the accompaniment each was written over (a bundled name or None;
        default None for all).
        """
        return self.member_scores(melodies, accompaniments).mean(axis=0)

    def disagreement(self, melodies_a: Sequence[np.ndarray], melodies_b: Sequence[np.ndarray],
                     accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """Per pair, the members' spread of P(a preferred to b) (as RewardEnsemble's)."""
        return pair_disagreement(self, melodies_a, melodies_b, accompaniments)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the heads (and fine-tuned encoders), the card and which Note-RNN they read.

        A shipped Note-RNN is named only; another one's weights are written too.
        """
        note_rnn: dict[str, Any] = {"name": self.note_rnn_name}
        if self.note_rnn_name not in PRETRAINED:
            note_rnn.update(hyperparameters=self.note_rnn.hyperparameters,
                            state_dict=self.note_rnn.state_dict())
        return save_checkpoint(path, {"format": PRIOR_ENSEMBLE_FORMAT,
                                      "hyperparameters": self.hyperparameters,
                                      "note_rnn": note_rnn,
                                      "members": [member.state_dict() for member in self.members],
                                      "card": self.card})

    @classmethod
    def load(cls, path: str | os.PathLike) -> PriorRewardEnsemble:
        """Loads a file written by :meth:`save` (``torch.load(weights_only=True)``).

        Raises:
            FileNotFoundError: If the file (or the Note-RNN it names) is missing.
            ValueError: If it is not a prior ensemble's file.
        """
        return cls.from_checkpoint(_read(path, PRIOR_ENSEMBLE_FORMAT), path)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any], path: str | os.PathLike
                        ) -> PriorRewardEnsemble:
        """Rebuilds an ensemble from a file's contents (read by ``load_reward_model``).

        Raises:
            ValueError: If the contents are not a prior ensemble's.
        """
        try:
            reference = checkpoint["note_rnn"]
            prior = None
            if "state_dict" in reference:
                prior = NoteRNN(**reference["hyperparameters"])
                prior.load_state_dict(reference["state_dict"])
                prior = _frozen(prior)
            states = checkpoint["members"]
            settings = checkpoint["hyperparameters"]
            model = cls(len(states), reference["name"], settings["head_size"],
                        settings["components"], settings["finetune"], checkpoint.get("card"),
                        note_rnn_model=prior, harmony=settings.get("harmony", False))
            for member, state in zip(model.members, states, strict=True):
                member.load_state_dict(state)
        except Exception as error:  # noqa: BLE001 (torch raises many kinds on bad files)
            raise ValueError(f"{path} is not a reward ensemble written by "
                             f"PriorRewardEnsemble.save: {error}") from error
        return model.eval()


def _trainable_copy(note_rnn: NoteRNN) -> NoteRNN:
    model = copy.deepcopy(note_rnn)
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model
