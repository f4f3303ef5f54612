"""The Note RNN's training data: tunes split by tune, and batches of random windows."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rewards.note_rnn.tokens import START_TOKEN, melody_to_tokens

__all__ = ["Tune", "load_data", "sample_batch", "split_by_tune"]


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
        from mammad_envs.data import load_melodies

        tunes = [_make_tune(m.title, m.collection, np.asarray(m.notes),
                            np.arange(0, len(m.notes), 16)) for m in load_melodies()]
        info["collections"] = ["bundled demonstration melodies (mammad_envs.data)"]
    else:
        from mammad_envs import corpus

        try:
            loaded = corpus.load_folk_corpus(tuple(args.collections), args.cache_dir,
                                             details=True, progress=not args.no_progress)
            drops = corpus.folk_corpus_drops(tuple(args.collections), args.cache_dir)
        except ImportError as error:
            raise SystemExit(f"error: --data folk needs music21 ({error}); install it with "
                             f"pip install -e '.[dataset]', or use --data bundled") from None
        from importlib import metadata

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


def sample_batch(tunes: list[Tune], batch_size: int, window: int, rng: np.random.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of training windows.

    A tune is picked with probability proportional to its length, then a start among its bar
    lines (and step 0). The input is START followed by the window's events but the last; the
    targets are the events. Windows that run past the end of the tune are padded and masked.

    Args:
        tunes: Training tunes.
        batch_size: Windows per batch.
        window: Steps per window.
        rng: Random generator.

    Returns:
        ``(inputs, targets, mask)``, each ``(batch_size, window)``.
    """
    lengths = np.array([t.tokens.size for t in tunes], dtype=np.float64)
    picks = rng.choice(len(tunes), size=batch_size, p=lengths / lengths.sum())
    targets = np.zeros((batch_size, window), dtype=np.int64)
    mask = np.zeros((batch_size, window), dtype=bool)
    for row, index in enumerate(picks):
        tune = tunes[index]
        start = int(rng.choice(tune.starts))
        piece = tune.tokens[start:start + window]
        targets[row, :piece.size] = piece
        mask[row, :piece.size] = True
    inputs = np.concatenate([np.full((batch_size, 1), START_TOKEN), targets[:, :-1]], axis=1)
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask)
