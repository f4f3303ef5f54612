"""Scoring on held-out tunes: the Note RNN's per-step NLL and accuracy, and n-gram baselines."""

from __future__ import annotations

import numpy as np

from rewards.note_rnn.model import NoteRNN
from rewards.note_rnn.tokens import NUM_CLASSES, START_TOKEN

__all__ = ["evaluate", "ngram_baselines"]


def ngram_baselines(train: list[np.ndarray], val: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """Per-step NLL and accuracy of add-one-smoothed unigram and bigram models.

    Both are fitted on the training token sequences and scored on the validation ones; the
    bigram's context of the first event is START, as for the Note RNN.

    Args:
        train: Training token arrays.
        val: Validation token arrays.

    Returns:
        ``{"unigram": {"nll": ..., "accuracy": ...}, "bigram": {...}}``.
    """
    unigram = np.ones(NUM_CLASSES)
    bigram = np.ones((START_TOKEN + 1, NUM_CLASSES))
    for tokens in train:
        unigram += np.bincount(tokens, minlength=NUM_CLASSES)
        previous = np.concatenate([[START_TOKEN], tokens[:-1]])
        np.add.at(bigram, (previous, tokens), 1)
    unigram_log = np.log(unigram / unigram.sum())
    bigram_log = np.log(bigram / bigram.sum(axis=1, keepdims=True))
    steps = sum(tokens.size for tokens in val)
    result = {}
    for name, log_table in (("unigram", None), ("bigram", bigram_log)):
        total, correct = 0.0, 0
        for tokens in val:
            if log_table is None:
                total += float(unigram_log[tokens].sum())
                correct += int((tokens == unigram_log.argmax()).sum())
            else:
                previous = np.concatenate([[START_TOKEN], tokens[:-1]])
                total += float(log_table[previous, tokens].sum())
                correct += int((log_table[previous].argmax(axis=1) == tokens).sum())
        result[name] = {"nll": -total / steps, "accuracy": correct / steps}
    return result


def evaluate(model: NoteRNN, melodies: list[np.ndarray]) -> dict[str, float]:
    """Per-step NLL (nats) and accuracy of the model on whole melodies, from START.

    Args:
        model: The model.
        melodies: Melody arrays.

    Returns:
        ``{"nll": ..., "accuracy": ...}``.
    """
    total, correct, steps = 0.0, 0, 0
    for _, log_probs, targets, mask in model.scored_batches(melodies, batch_size=128):
        chosen = log_probs.gather(-1, targets[..., None])[..., 0].double()
        total += float(chosen[mask].sum())
        correct += int((log_probs.argmax(-1) == targets)[mask].sum())
        steps += int(mask.sum())
    return {"nll": -total / steps, "accuracy": correct / steps}
