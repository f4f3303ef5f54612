"""The Note RNN's training data: tunes split by tune, and batches of random windows.

Octave-shift augmentation (:func:`octave_shifts`, ``keep_octave`` of :func:`sample_batch`): the
training tunes all lie in MIDI 48..83, so without it the model has never seen a tune an octave
higher or lower and scores one much worse than the same tune in range. With it, a window keeps
its written octave with probability ``keep_octave`` and is otherwise moved by a multiple of 12
semitones among those that keep every pitch of the window in 21..108, a shift of ``k`` octaves
drawn with weight ``octave_decay ** (|k| - 1)`` (1: uniformly; below 1, nearer octaves more often).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import torch

from mammad_envs import corpus
from mammad_envs.data import load_melodies
from rewards.note_rnn.tokens import HOLD_TOKEN, START_TOKEN, melody_to_tokens

__all__ = ["Tune", "load_data", "octave_shifts", "sample_batch", "split_by_tune"]

OCTAVE: int = 12
"""Semitones of an octave: the step of the augmentation's shifts."""


@dataclass(frozen=True, eq=False)
class Tune:
    """One tune prepared for training.

    Attributes:
        title: Title.
        collection: Source collection.
        melody: Melody array.
        tokens: Its tokens (int64).
        starts: Steps a training window may start at: bar lines and step 0.
    """

    title: str
    collection: str
    melody: np.ndarray
    tokens: np.ndarray
    starts: np.ndarray


def split_by_tune(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Splits tune indices into training and validation sets.

    Args:
        count: Number of tunes.
        val_fraction: Fraction held out (at least one tune when ``count >= 2``).
        seed: Seed of the shuffle.

    Returns:
        ``(train indices, validation indices)``, each sorted.
    """
    if count < 2:
        raise ValueError(f"need at least 2 tunes to split, got {count}")
    held_out = min(max(1, round(count * val_fraction)), count - 1)
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[held_out:]), np.sort(order[:held_out])


def _make_tune(title: str, collection: str, melody: np.ndarray, downbeats: np.ndarray) -> Tune:
    starts = np.union1d(np.asarray(downbeats, dtype=np.int64), [0])
    starts = starts[starts < melody.size]
    return Tune(title, collection, melody, melody_to_tokens(melody), starts)


def load_data(args: argparse.Namespace) -> tuple[list[Tune], list[Tune], dict[str, Any]]:
    """Loads the tunes and splits them.

    Args:
        args: The options (``data``, ``collections``, ``cache_dir``, ``val_fraction``, ``seed``).

    Returns:
        ``(training tunes, validation tunes, description of the data for the model card)``.

    Raises:
        SystemExit: If ``--data folk`` is asked for without music21.
    """
    info: dict[str, Any] = {"source": args.data}
    if args.data == "bundled":
        tunes = [_make_tune(m.title, m.collection, np.asarray(m.notes),
                            np.arange(0, len(m.notes), 16)) for m in load_melodies()]
        info["collections"] = ["bundled demonstration melodies (mammad_envs.data)"]
    else:
        try:
            loaded = corpus.load_folk_corpus(tuple(args.collections), args.cache_dir,
                                             details=True, progress=not args.no_progress)
            drops = corpus.folk_corpus_drops(tuple(args.collections), args.cache_dir)
        except ImportError as error:
            raise SystemExit(f"error: --data folk needs music21 ({error}); install it with "
                             f"pip install -e '.[dataset]', or use --data bundled") from None
        tunes = [_make_tune(t.title, t.collection, t.melody, t.downbeats) for t in loaded]
        info["collections"] = list(args.collections)
        info["music21"] = metadata.version("music21")
        info["corpus_rules_version"] = corpus.RULES_VERSION
        info["drops"] = drops
    train_index, val_index = split_by_tune(len(tunes), args.val_fraction, args.seed)
    train = [tunes[i] for i in train_index]
    val = [tunes[i] for i in val_index]
    info.update({
        "train_tunes": len(train), "train_steps": int(sum(t.tokens.size for t in train)),
        "val_tunes": len(val), "val_steps": int(sum(t.tokens.size for t in val)),
        "val_fraction": args.val_fraction, "split_seed": args.seed,
    })
    return train, val, info


def octave_shifts(tokens: np.ndarray) -> np.ndarray:
    """The non-zero octave shifts (semitones) that keep every pitch of a token array in range.

    Args:
        tokens: Tokens 0..89 (HOLD and REST are not moved by a shift).

    Returns:
        The multiples of 12 other than 0, ascending, by which every pitch token (``< 88``) can
        move and stay in 0..87 (MIDI 21..108); empty when there is no pitch to move.
    """
    pitches = tokens[tokens < HOLD_TOKEN]
    if pitches.size == 0:
        return np.zeros(0, dtype=np.int64)
    low = -(int(pitches.min()) // OCTAVE)
    high = (HOLD_TOKEN - 1 - int(pitches.max())) // OCTAVE
    octaves = np.arange(low, high + 1, dtype=np.int64)
    return OCTAVE * octaves[octaves != 0]


def sample_batch(tunes: list[Tune], batch_size: int, window: int, rng: np.random.Generator,
                 keep_octave: float = 1.0, octave_decay: float = 1.0
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of training windows.

    A tune is picked with probability proportional to its length, then a start among its bar
    lines (and step 0). The input is START followed by the window's events but the last; the
    targets are the events. Windows that run past the end of the tune are padded and masked.

    With ``keep_octave < 1`` (octave-shift augmentation), each window then keeps its written
    octave with probability ``keep_octave`` and is otherwise shifted by one of
    :func:`octave_shifts` of its tokens (a window with no such shift stays), a shift of ``k``
    octaves drawn with weight ``octave_decay ** (|k| - 1)``: uniformly for 1, the nearer octaves
    more often below 1.
    With ``keep_octave = 1`` no extra random numbers are drawn: the batches are exactly those
    of a run without augmentation.

    Args:
        tunes: Training tunes.
        batch_size: Windows per batch.
        window: Steps per window.
        rng: Random generator.
        keep_octave: Probability that a window keeps its written octave (1: no augmentation).
        octave_decay: Weight of each further octave of shift, relative to the one before (> 0).

    Returns:
        ``(inputs, targets, mask)``, each ``(batch_size, window)``.

    Raises:
        ValueError: If ``keep_octave`` is not in 0..1 or ``octave_decay`` is not positive.
    """
    if not 0.0 <= keep_octave <= 1.0:
        raise ValueError(f"keep_octave must be in 0..1, got {keep_octave}")
    if not octave_decay > 0.0:
        raise ValueError(f"octave_decay must be positive, got {octave_decay}")
    lengths = np.array([t.tokens.size for t in tunes], dtype=np.float64)
    picks = rng.choice(len(tunes), size=batch_size, p=lengths / lengths.sum())
    targets = np.zeros((batch_size, window), dtype=np.int64)
    mask = np.zeros((batch_size, window), dtype=bool)
    for row, index in enumerate(picks):
        tune = tunes[index]
        start = int(rng.choice(tune.starts))
        piece = tune.tokens[start:start + window]
        if keep_octave < 1.0 and rng.random() >= keep_octave:
            shifts = octave_shifts(piece)
            if shifts.size:
                weights = octave_decay ** (np.abs(shifts) // OCTAVE - 1).astype(np.float64)
                shift = rng.choice(shifts, p=weights / weights.sum())
                piece = np.where(piece < HOLD_TOKEN, piece + shift, piece)
        targets[row, :piece.size] = piece
        mask[row, :piece.size] = True
    inputs = np.concatenate([np.full((batch_size, 1), START_TOKEN), targets[:, :-1]], axis=1)
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask)
