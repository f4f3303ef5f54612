"""How close melodies come to others: pitch-class, interval and rhythm histograms, compared.

Three histograms describe a set of melodies, each pooled over all of its melodies (counts are
summed over the melodies, then normalised, so a longer melody weighs more):

=============  ======  ==========================================================================
name           bins    what is counted
=============  ======  ==========================================================================
pitch_class    12      each struck note (an onset, a pitch >= 0) by pitch class, C = bin 0
interval       25      each signed interval between consecutive struck notes of one melody, in
                       semitones, clipped to -12..+12 (larger leaps count in the end bins); bin
                       ``k`` is ``k - 12``. Notes held or rests between the two do not matter
rhythm         3       each 16th of the melody's canonical spelling
                       (:func:`~mammad_envs.melody.canonical_melody`, where a silence is one REST
                       then HOLDs) as onset, hold (HOLD) or rest (REST)
=============  ======  ==========================================================================

The distance between two sets is the total variation between their normalised histograms,
``0.5 * sum(|p - q|)``: 0 for the same distribution, 1 for disjoint ones. An empty histogram (a
set without two struck notes has no interval) is at distance 1 from a non-empty one and 0 from
another empty one.

The reference point is the distance between the two halves of the ten bundled demonstrations:
the first five tunes against the last five, whole tunes, pooled as above
(:func:`demo_baseline`): 0.130 pitch class, 0.166 interval, 0.026 rhythm.

Example (the cases of ``tests/rewards/test_similarity.py``)::

    from mammad_envs.melody import HOLD, REST
    from rewards.similarity import demo_baseline, histograms, similarity, total_variation

    counts = histograms([np.array([60, HOLD, 64, REST, 79, 72])])
    # intervals +4, +15 (clipped to +12), -7; rhythm 4 onsets, 1 hold, 1 rest
    total_variation([1, 0], [1, 1])           # 0.5
    similarity(generated_melodies)            # {"pitch_class": ..., "interval": ..., "rhythm": ...}
    demo_baseline()                           # the demo-vs-demo yardstick
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from mammad_envs.data import load_melodies
from mammad_envs.melody import HOLD, REST, canonical_melody

HISTOGRAMS = ("pitch_class", "interval", "rhythm")
"""The histograms, in the order the tables show them."""
INTERVAL_CLIP = 12
"""Intervals are clipped to ``-INTERVAL_CLIP..+INTERVAL_CLIP`` semitones."""
RHYTHM_LABELS = ("onset", "hold", "rest")
"""The bins of the rhythm histogram."""
BINS = {"pitch_class": 12, "interval": 2 * INTERVAL_CLIP + 1, "rhythm": len(RHYTHM_LABELS)}
"""Bins per histogram."""
DEMO_SPLIT = 5
"""The demonstrations' halves: tunes ``0..4`` and ``5..9`` of the bundled ten."""


def _melodies(melodies: Iterable[Sequence[int] | np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Canonical melody arrays from a list of melodies or a 2-D array (one per row)."""
    if isinstance(melodies, np.ndarray) and melodies.ndim == 1:
        raise ValueError("histograms take a collection of melodies (a list of arrays or a 2-D "
                         "array, one melody per row), got one 1-D array: wrap it in a list")
    return [canonical_melody(melody) for melody in melodies]


def histograms(melodies: Iterable[Sequence[int] | np.ndarray] | np.ndarray
               ) -> dict[str, np.ndarray]:
    """The three histograms of a set of melodies, as counts (not normalised).

    Args:
        melodies: Melody arrays (pitches 0..127, ``HOLD``, ``REST``), a list or a 2-D array.

    Returns:
        ``{"pitch_class": (12,), "interval": (25,), "rhythm": (3,)}`` float arrays of counts.

    Raises:
        ValueError: If a melody is not a valid melody array, or a single 1-D array is given.
    """
    counts = {name: np.zeros(size) for name, size in BINS.items()}
    for melody in _melodies(melodies):
        pitches = melody[melody >= 0].astype(np.int64)
        counts["pitch_class"] += np.bincount(pitches % 12, minlength=12)
        steps = np.clip(np.diff(pitches), -INTERVAL_CLIP, INTERVAL_CLIP) + INTERVAL_CLIP
        counts["interval"] += np.bincount(steps, minlength=BINS["interval"])
        counts["rhythm"] += [pitches.size, np.sum(melody == HOLD), np.sum(melody == REST)]
    return counts


def normalise(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    """Counts divided by their sum (all zeros stay zeros: an empty histogram).

    Raises:
        ValueError: If a count is negative or not finite.
    """
    counts = np.asarray(counts, dtype=float)
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError(f"histogram counts must be finite and >= 0, got {counts.tolist()}")
    total = counts.sum()
    return counts / total if total > 0 else counts.copy()


def total_variation(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """Total variation distance ``0.5 * sum(|p - q|)`` between two histograms.

    Both are normalised first, so counts may be given. An empty histogram is at distance 1
    from a non-empty one and 0 from another empty one.

    Raises:
        ValueError: If the histograms have different shapes or negative counts.
    """
    p, q = normalise(p), normalise(q)
    if p.shape != q.shape:
        raise ValueError(f"histograms of different shapes: {p.shape} and {q.shape}")
    empty_p, empty_q = not p.any(), not q.any()
    if empty_p or empty_q:
        return 0.0 if empty_p and empty_q else 1.0
    return float(0.5 * np.abs(p - q).sum())


def distances(counts: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray]
              ) -> dict[str, float]:
    """Total variation between two sets' histograms (as :func:`histograms` gives), per name."""
    missing = [name for name in HISTOGRAMS if name not in counts or name not in reference]
    if missing:
        raise ValueError(f"histograms {missing} missing: expected {list(HISTOGRAMS)}")
    return {name: total_variation(counts[name], reference[name]) for name in HISTOGRAMS}


def demo_melodies() -> list[np.ndarray]:
    """The ten bundled demonstration melodies (``mammad_envs.data.load_melodies``), in order."""
    return [np.asarray(tune.notes) for tune in load_melodies()]


def demo_halves() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The two halves of the demonstrations: the first :data:`DEMO_SPLIT` tunes, the rest."""
    melodies = demo_melodies()
    return melodies[:DEMO_SPLIT], melodies[DEMO_SPLIT:]


def demo_baseline() -> dict[str, float]:
    """The distance between the demonstrations' two halves, per histogram.

    The yardstick of the imitation benchmark: generated melodies are compared with all ten
    tunes, and their distance is read against this one (a ratio of 1 is as close as one half
    of the demonstrations comes to the other).
    """
    first, second = demo_halves()
    return distances(histograms(first), histograms(second))


def similarity(melodies: Iterable[Sequence[int] | np.ndarray] | np.ndarray,
               reference: Iterable[Sequence[int] | np.ndarray] | np.ndarray | None = None
               ) -> dict[str, float]:
    """Total variation between melodies' histograms and a reference set's (default: the demos).

    ``similarity(demo_melodies())`` is 0 for all three.
    """
    reference = demo_melodies() if reference is None else reference
    return distances(histograms(melodies), histograms(reference))
