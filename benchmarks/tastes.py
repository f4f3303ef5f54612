"""Synthetic tastes: what a simulated listener prefers, for the RLHF tests and benchmark.

::

    python -m benchmarks.tastes          # each taste's temperature, spread and correlations

A taste is a ``module:function`` scorer (see :mod:`feedback.labelers`): from a list of melody
arrays (16ths; MIDI pitch 0..127 starts a note, ``HOLD`` (-2) lets the previous note or silence
go on, ``REST`` (-1) starts a silence) to one finite float per melody, higher is preferred. Every
taste here also takes ``accompaniments=`` (one bundled accompaniment name or ``None`` per
melody); only the harmony taste listens to it. Four kinds:

* register: :func:`high_register`, :func:`narrow_range`;
* rhythm: :func:`on_the_beat`, :func:`long_notes`;
* contour and intervals: :func:`stepwise`, :func:`rising`;
* harmony with the accompaniment: :func:`consonant_with_accompaniment`.

A melody without a note gets each taste's lowest score (a melody of a single note, whose
intervals and contour are undefined, gets the documented neutral value). :data:`TASTES` holds
the ones the benchmark uses by default, one per kind; :func:`taste_spec` gives the labeler spec
of one. :func:`calibrate_temperature` finds the Bradley-Terry noise at which labels agree with
the noiseless taste as often as asked, on pairs such as those of :func:`prior_pairs`.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from mammad_envs.data import load_accompaniments
from mammad_envs.melody import HOLD, SILENT, as_melody, sounding_pitches
from mammad_envs.music import SCALE_STEPS

Taste = Callable[..., np.ndarray]

HALF_BAR = 8
"""16ths over which an accompaniment's pitch classes make the harmony a melody note meets."""


# -- reading melodies ----------------------------------------------------------------------


def _melodies(melodies: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validated melody arrays (a clear error naming the bad melody and value)."""
    return [as_melody(melody, name=f"melodies[{index}]") for index, melody in enumerate(melodies)]


def _onsets(melody: np.ndarray) -> np.ndarray:
    """The 16ths at which notes start."""
    return np.flatnonzero(melody >= 0)


def _pitches(melody: np.ndarray) -> np.ndarray:
    """The pitch of each note, in order (each note once, however long)."""
    return melody[melody >= 0].astype(np.float64)


def _durations(melody: np.ndarray) -> np.ndarray:
    """How many 16ths each note lasts (its start and the ``HOLD`` s after it)."""
    onsets = _onsets(melody)
    stops = np.append(np.flatnonzero(melody != HOLD), melody.size)
    return stops[np.searchsorted(stops, onsets, side="right")] - onsets


def melody_taste(score: Callable[[np.ndarray], float]) -> Taste:
    """Makes a taste of a score of one melody alone (the accompaniment is not listened to).

    The taste takes ``(melodies, accompaniments=None)`` as every taste does, validates each
    melody (a clear error naming the bad one) and returns one score per melody. It keeps the
    score's name and docstring, and its own signature, so ``inspect.signature`` shows the
    ``accompaniments`` it ignores.

    Args:
        score: From one melody array to a finite float, higher is preferred.

    Returns:
        The taste.
    """

    def taste(melodies: Sequence[np.ndarray],
              accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        del accompaniments
        return np.array([score(melody) for melody in _melodies(melodies)], dtype=np.float64)

    taste.__name__ = taste.__qualname__ = score.__name__
    taste.__module__, taste.__doc__ = score.__module__, score.__doc__
    return taste


# -- register -----------------------------------------------------------------------------


@melody_taste
def high_register(melody: np.ndarray) -> float:
    """Prefers melodies that sit high: the mean pitch of their notes.

    A taste (:func:`melody_taste`: melodies in, one score per melody out; the accompaniment is
    ignored). Each note counts once, however long it lasts. Range 0..127 (MIDI pitch; 60 is
    middle C); a melody without a note scores 0.
    """
    pitches = _pitches(melody)
    return float(pitches.mean()) if pitches.size else 0.0


@melody_taste
def narrow_range(melody: np.ndarray) -> float:
    """Prefers melodies of a small compass: minus the ambitus (highest minus lowest note).

    A taste (:func:`melody_taste`). Range -127..0 in semitones: 0 for a melody on one pitch,
    -12 for one spanning an octave; a melody without a note scores -127.
    """
    pitches = _pitches(melody)
    return 0.0 - float(np.ptp(pitches)) if pitches.size else -127.0


# -- rhythm -------------------------------------------------------------------------------


@melody_taste
def on_the_beat(melody: np.ndarray) -> float:
    """Prefers notes that start on the beat: the fraction of note onsets on a quarter note.

    A taste (:func:`melody_taste`). The beats are the 16ths 0, 4, 8 and 12 of each bar. Range
    0..1; a melody without a note scores 0.
    """
    onsets = _onsets(melody)
    return float(np.mean(onsets % 4 == 0)) if onsets.size else 0.0


@melody_taste
def long_notes(melody: np.ndarray) -> float:
    """Prefers long, sustained notes: the mean duration of the notes, in 16ths.

    A taste (:func:`melody_taste`). A note lasts from its start through the ``HOLD`` s after
    it (a ``REST`` or the next note ends it). Range 0..len(melody): 1 for running 16ths, 4 for
    quarter notes; a melody without a note scores 0.
    """
    durations = _durations(melody)
    return float(durations.mean()) if durations.size else 0.0


# -- contour and intervals ------------------------------------------------------------------


@melody_taste
def stepwise(melody: np.ndarray) -> float:
    """Prefers conjunct motion: the fraction of intervals between successive notes that are steps.

    A taste (:func:`melody_taste`). A step is 1 or 2 semitones up or down; repeated notes and
    leaps are not steps (rests between two notes are ignored). Range 0..1; a melody of fewer
    than two notes scores 0.
    """
    intervals = np.abs(np.diff(_pitches(melody)))
    return float(np.mean((intervals >= 1) & (intervals <= 2))) if intervals.size else 0.0


@melody_taste
def rising(melody: np.ndarray) -> float:
    """Prefers an ascending contour: the correlation of the notes' pitches with their onsets.

    A taste (:func:`melody_taste`). Pearson correlation between each note's pitch and the 16th
    it starts on. Range -1..1: 1 for a melody that only climbs, -1 for one that only falls; 0
    for a single note or a melody on one pitch; -1 for a melody without a note.
    """
    pitches, onsets = _pitches(melody), _onsets(melody).astype(np.float64)
    if not pitches.size:
        return -1.0
    pitches, onsets = pitches - pitches.mean(), onsets - onsets.mean()
    spread = np.sqrt((pitches ** 2).sum() * (onsets ** 2).sum())
    return float(np.clip((pitches * onsets).sum() / spread, -1, 1)) if spread > 0 else 0.0


# -- harmony with the accompaniment ----------------------------------------------------------


@cache
def _harmonies() -> dict[str, np.ndarray]:
    """Per bundled accompaniment, ``(steps, 12)`` bool: each 16th's half bar's pitch classes."""
    # heavy: the rewards.preferences package loads torch (a taste alone does not need it)
    from rewards.preferences.harmony_features import window_pitch_classes

    harmonies = {}
    for loop in load_accompaniments():
        classes = window_pitch_classes(loop.sounding, HALF_BAR)
        classes.flags.writeable = False
        harmonies[loop.name] = classes
    return harmonies


def _scales() -> np.ndarray:
    """``(12, 12)`` bool: row t marks the pitch classes of the major scale on tonic t."""
    major = np.zeros(12, dtype=bool)
    major[list(SCALE_STEPS["major"])] = True
    return np.stack([np.roll(major, tonic) for tonic in range(12)])


def _accompaniment_names(accompaniments: Sequence[str | None] | None, count: int
                         ) -> list[str | None]:
    if accompaniments is None:
        return [None] * count
    names = list(accompaniments)
    if len(names) != count:
        raise ValueError(f"got {len(names)} accompaniments for {count} melodies")
    known = _harmonies()
    for name in names:
        if name is not None and name not in known:
            raise ValueError(f"unknown accompaniment {name!r}: the bundled ones are "
                             f"{sorted(known)} (or None for a melody alone)")
    return names


def consonant_with_accompaniment(melodies: Sequence[np.ndarray],
                                 accompaniments: Sequence[str | None] | None = None
                                 ) -> np.ndarray:
    """Prefers chord tones: the fraction of sounding 16ths whose pitch belongs to the harmony.

    Over an accompaniment, the harmony of a 16th is the set of pitch classes the accompaniment
    sounds in its half bar (8 16ths; an Alberti bass or a bass-and-chord pattern spells its
    chord over the half bar). Without one (``None``), a 16th counts when its pitch class is in
    the diatonic scale that holds most of the melody's sounding 16ths (so a melody alone is
    judged by how diatonic it is, which scores higher than chord tones usually do). Each 16th a
    note sounds counts, so long notes weigh more. Range 0..1; a melody that never sounds scores
    0.

    Args:
        melodies: Melody arrays.
        accompaniments: One bundled accompaniment name or ``None`` per melody (``None``: all
            melodies alone).

    Returns:
        One score per melody.

    Raises:
        ValueError: If the accompaniments are not one per melody, or one is not bundled.
    """
    melodies = _melodies(melodies)
    names = _accompaniment_names(accompaniments, len(melodies))
    scores = np.zeros(len(melodies), dtype=np.float64)
    for row, (melody, name) in enumerate(zip(melodies, names, strict=True)):
        sounding = sounding_pitches(melody)
        steps = np.flatnonzero(sounding != SILENT)
        if not steps.size:
            continue
        classes = sounding[steps] % 12
        if name is None:
            scores[row] = _scales()[:, classes].mean(axis=1).max()
        else:
            harmony = _harmonies()[name]
            scores[row] = harmony[steps % len(harmony), classes].mean()
    return scores


# -- the family ------------------------------------------------------------------------------

KINDS: dict[str, str] = {
    "high_register": "register",
    "narrow_range": "register",
    "on_the_beat": "rhythm",
    "long_notes": "rhythm",
    "stepwise": "contour",
    "rising": "contour",
    "consonant_with_accompaniment": "harmony",
}
"""The kind of every taste of this module."""

TASTES: dict[str, Taste] = {
    "high_register": high_register,
    "on_the_beat": on_the_beat,
    "stepwise": stepwise,
    "consonant_with_accompaniment": consonant_with_accompaniment,
}
"""The tastes the benchmark uses by default: one of each kind."""


def taste_spec(name: str) -> str:
    """The labeler spec of a taste of this module, e.g. ``"benchmarks.tastes:stepwise"``.

    Raises:
        ValueError: If ``name`` is not a taste of this module.
    """
    if name not in KINDS:
        raise ValueError(f"unknown taste {name!r}: choose one of {', '.join(KINDS)}")
    return f"benchmarks.tastes:{name}"


# -- calibration ---------------------------------------------------------------------------


def _scores(scorer: Taste, melodies: Sequence[np.ndarray],
            accompaniments: Sequence[str | None] | None) -> np.ndarray:
    """The scorer's scores, given the accompaniments if it takes them; one finite each."""
    try:
        listens = "accompaniments" in inspect.signature(scorer).parameters
    except (TypeError, ValueError):
        listens = False
    if accompaniments is not None and listens:
        values = scorer(list(melodies), accompaniments=list(accompaniments))
    else:
        values = scorer(list(melodies))
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(melodies),) or not np.isfinite(values).all():
        raise ValueError(f"the scorer must return one finite number per melody "
                         f"({len(melodies)}), got an array of shape {values.shape}")
    return values


def _agreement(gaps: np.ndarray, temperature: float) -> float:
    """Mean P(the label agrees with the noiseless taste) over pairs with these score gaps."""
    return float(np.mean(1.0 / (1.0 + np.exp(-np.minimum(gaps / temperature, 500.0)))))


def calibrate_temperature(scorer: Taste, melodies_a: Sequence[np.ndarray],
                          melodies_b: Sequence[np.ndarray],
                          accompaniments: Sequence[str | None] | None = None,
                          target: float = 0.85) -> float:
    """The Bradley-Terry temperature at which noisy labels agree with the taste ``target`` often.

    A labeler at temperature ``T`` chooses ``a`` with probability
    ``sigmoid((s_a - s_b) / T)``; it agrees with the noiseless taste on a pair with
    probability ``sigmoid(|s_a - s_b| / T)``. The expected agreement is the mean of that over
    the pairs whose scores differ (ties are left out: no label agrees or disagrees with a tie).
    It falls from 1 (``T`` near 0) to 1/2 (``T`` large); the temperature that makes it
    ``target`` is found by bisection in ``log T``.

    Example:
        >>> import numpy as np
        >>> a = [np.array([72, -2, 74, -2]), np.array([60, 62, 64, 65])]
        >>> b = [np.array([60, -2, 62, -2]), np.array([67, 69, 71, 72])]
        >>> round(calibrate_temperature(high_register, a, b, target=0.85), 2)
        5.24

    Args:
        scorer: A taste (any ``module:function`` scorer).
        melodies_a: First melodies of the pairs.
        melodies_b: Second melodies, one per first.
        accompaniments: One accompaniment name or ``None`` per pair, or ``None``.
        target: The expected agreement wanted, strictly between 0.5 and 1.

    Returns:
        The temperature, > 0.

    Raises:
        ValueError: If ``target`` is not strictly between 0.5 and 1, the pairs do not match,
            or every pair ties (no temperature changes anything).
    """
    if not 0.5 < target < 1:
        raise ValueError(f"target agreement must lie strictly between 0.5 and 1, got {target!r}")
    if len(melodies_a) != len(melodies_b):
        raise ValueError(f"{len(melodies_a)} melodies a for {len(melodies_b)} melodies b")
    both = None if accompaniments is None else [*accompaniments, *accompaniments]
    scores = _scores(scorer, [*melodies_a, *melodies_b], both)
    gaps = np.abs(scores[: len(melodies_a)] - scores[len(melodies_a):])
    gaps = gaps[gaps > 0]
    if not gaps.size:
        raise ValueError(f"all {len(melodies_a)} pairs tie under the scorer: no temperature "
                         f"gives an agreement of {target!r}")
    low, high = np.log(gaps.min()) - 10.0, np.log(gaps.max()) + 10.0
    while _agreement(gaps, np.exp(low)) < target:
        low -= 10.0
    while _agreement(gaps, np.exp(high)) > target:
        high += 10.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if _agreement(gaps, np.exp(middle)) > target:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return float(np.exp(0.5 * (low + high)))


def prior_pairs(count: int, steps: int = 32, seed: int = 0, note_rnn: str = "default"
                ) -> tuple[list[np.ndarray], list[np.ndarray], list[str | None]]:
    """``count`` pairs of Note-RNN samples, each over a random bundled accompaniment or none.

    The melodies a policy starting from the prior writes, to calibrate a taste's temperature on
    (as :func:`benchmarks.rlhf.labelled_pairs` draws them).

    Args:
        count: How many pairs.
        steps: 16ths per melody.
        seed: Seed of the sampling and of the accompaniments.
        note_rnn: Which shipped Note-RNN (see ``NoteRNN.pretrained``).

    Returns:
        ``(melodies_a, melodies_b, accompaniments)``, ``count`` of each.

    Raises:
        ValueError: If ``count`` or ``steps`` is negative, or ``note_rnn`` is not shipped.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    # heavy: rewards.note_rnn loads torch
    from rewards.note_rnn import NoteRNN

    melodies = NoteRNN.pretrained(note_rnn).sample(2 * count, steps, seed=seed)
    names: list[str | None] = [None, *(loop.name for loop in load_accompaniments())]
    rng = np.random.default_rng(seed)
    accompaniments = [names[i] for i in rng.integers(0, len(names), count)]
    return list(melodies[:count]), list(melodies[count:]), accompaniments


# -- the figures of the benchmark page -------------------------------------------------------


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks, ties sharing their mean rank (for Spearman's correlation)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    _, groups = np.unique(values, return_inverse=True)
    return (np.bincount(groups, ranks) / np.bincount(groups))[groups]


def figures(pairs: int = 500, samples: int = 512, steps: int = 32, seed: int = 0,
            target: float = 0.85) -> list[str]:
    """Markdown: each taste's calibrated temperature and spread, and their rank correlations.

    Args:
        pairs: Prior pairs (:func:`prior_pairs`) the temperatures are calibrated on.
        samples: Prior melodies (half as many pairs, seed ``seed + 1``) for the spreads and the
            correlations.
        steps: 16ths per melody.
        seed: Seed of the calibration pairs.
        target: Agreement of the labels with the noiseless taste.

    Returns:
        The lines of two tables.
    """
    a, b, accompaniments = prior_pairs(pairs, steps, seed)
    first, second, names = prior_pairs(samples // 2, steps, seed + 1)
    melodies, over = [*first, *second], [*names, *names]
    rows = [f"| taste | kind | default | temperature at {target:.0%} agreement | std over "
            f"{len(melodies)} prior melodies |", "|---|---|---|---|---|"]
    scores = {}
    for name in KINDS:
        taste = globals()[name]
        temperature = calibrate_temperature(taste, a, b, accompaniments, target)
        scores[name] = taste(melodies, accompaniments=over)
        rows.append(f"| `{name}` | {KINDS[name]} | {'yes' if name in TASTES else ''} | "
                    f"{temperature:.4g} | {scores[name].std():.4g} |")
    rows += ["", "Spearman correlations over the same melodies:", "",
             "| | " + " | ".join(f"`{name}`" for name in KINDS) + " |",
             "|---" * (len(KINDS) + 1) + "|"]
    correlations = np.corrcoef([_ranks(values) for values in scores.values()])
    for name, row in zip(KINDS, correlations, strict=True):
        rows.append(f"| `{name}` | " + " | ".join(f"{value:+.2f}" for value in row) + " |")
    return rows


def main(argv: list[str] | None = None) -> None:
    """Prints :func:`figures`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=0.85)
    args = parser.parse_args(argv)
    print("\n".join(figures(args.pairs, args.samples, args.steps, args.seed, args.target)))


if __name__ == "__main__":
    main()
