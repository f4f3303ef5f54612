"""Scoring on held-out tunes: the Note RNN's per-step NLL and accuracy, and n-gram baselines."""

from __future__ import annotations

import numpy as np

from rewards.note_rnn.model import NoteRNN
from rewards.note_rnn.tokens import HIGHEST_PITCH, LOWEST_PITCH, NUM_CLASSES, START_TOKEN

__all__ = ["evaluate", "ngram_baselines", "shift_melody", "shifted_nll"]


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


def shift_melody(melody: np.ndarray, semitones: int) -> np.ndarray | None:
    """A melody transposed by some semitones, or None if a pitch would leave 21..108.

    Args:
        melody: Melody array (HOLD and REST stay as they are).
        semitones: The shift.

    Returns:
        The shifted copy (same dtype), or None when it does not fit the token range.
    """
    melody = np.asarray(melody)
    pitches = melody >= 0
    moved = melody.astype(np.int64) + semitones * pitches
    if pitches.any() and (moved[pitches].min() < LOWEST_PITCH
                          or moved[pitches].max() > HIGHEST_PITCH):
        return None
    return moved.astype(melody.dtype)


def shifted_nll(model: NoteRNN, melodies: list[np.ndarray], shifts: tuple[int, ...] = (-12, 12)
                ) -> list[dict[str, float]]:
    """The model's NLL on melodies shifted by some semitones, beside the same melodies unshifted.

    For each shift only the melodies whose every pitch stays in 21..108 are scored, whole from
    START, both shifted and as written; the ratio is shifted over unshifted NLL (1: the model
    does not mind the register).

    Args:
        model: The model.
        melodies: Melody arrays (e.g. the held-out tunes).
        shifts: Shifts in semitones.

    Returns:
        One dict per shift: ``shift``, ``tunes`` and ``steps`` (the melodies that fit),
        ``nll_shifted``, ``nll_unshifted`` (nats per step) and ``ratio``.
    """
    results = []
    for shift in shifts:
        pairs = [(melody, moved) for melody in melodies
                 if (moved := shift_melody(melody, shift)) is not None]
        if not pairs:
            results.append({"shift": shift, "tunes": 0, "steps": 0, "nll_shifted": float("nan"),
                            "nll_unshifted": float("nan"), "ratio": float("nan")})
            continue
        unshifted = evaluate(model, [melody for melody, _ in pairs])["nll"]
        shifted = evaluate(model, [moved for _, moved in pairs])["nll"]
        results.append({"shift": shift, "tunes": len(pairs),
                        "steps": int(sum(np.asarray(m).size for m, _ in pairs)),
                        "nll_shifted": shifted, "nll_unshifted": unshifted,
                        "ratio": shifted / unshifted})
    return results
