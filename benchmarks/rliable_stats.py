"""rliable's aggregate statistics (Agarwal et al., 2021), computed with numpy.

The interquartile mean, the probability of improvement and their stratified-bootstrap
intervals, as :mod:`benchmarks.report` uses them (and as ``rliable.metrics`` defines them).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


def iqm(scores: np.ndarray, axis: int | None = None) -> np.ndarray:
    """The interquartile mean: the mean of the middle half of the scores.

    ``scipy.stats.trim_mean(scores, 0.25)``, as ``rliable.metrics.aggregate_iqm``; ``axis=None``
    flattens.
    """
    scores = np.asarray(scores, dtype=float)
    if axis is None:
        scores, axis = scores.reshape(-1), 0
    ordered = np.sort(scores, axis=axis)
    count = ordered.shape[axis]
    cut = int(0.25 * count)
    return np.take(ordered, np.arange(cut, count - cut), axis=axis).mean(axis=axis)


def probability_of_improvement(x: Sequence[np.ndarray], y: Sequence[np.ndarray]) -> float:
    """The probability of improvement P(X > Y), as ``rliable.metrics.probability_of_improvement``.

    Per task, the Mann-Whitney U of X's runs over Y's divided by the number of pairs (the
    probability that a run of X scores above a run of Y, a tie counting half); averaged over
    tasks.

    Args:
        x: Per task, the scores of X's runs.
        y: Per task (the same tasks), the scores of Y's runs.
    """
    return float(np.mean([_pairwise_wins(np.asarray(a, float)[None], np.asarray(b, float)[None])
                          for a, b in zip(x, y, strict=True)]))


def _pairwise_wins(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, the fraction of pairs (a_i, b_j) with a_i > b_j, a tie counting half."""
    difference = a[:, :, None] - b[:, None, :]
    return ((difference > 0) + 0.5 * (difference == 0)).mean(axis=(1, 2))


def _resample(tasks: Sequence[np.ndarray], reps: int, rng: np.random.Generator) -> list:
    """Per task, ``reps`` resamples of its runs with replacement: the stratified bootstrap."""
    return [np.asarray(t, float)[rng.integers(0, len(t), (reps, len(t)))] for t in tasks]


def _percentile_interval(values: np.ndarray, size: float) -> tuple[float, float]:
    alpha = (1 - size) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def iqm_interval(tasks: Sequence[np.ndarray], reps: int = 50_000, size: float = 0.95,
                 rng: np.random.Generator | None = None) -> tuple[float, float, float]:
    """(IQM, low, high): the IQM over every run of every task, and its 95% interval.

    The percentile interval of the stratified bootstrap (runs resampled within each task), as
    rliable's ``get_interval_estimates(..., method="percentile")``; tasks may have different
    numbers of runs.
    """
    rng = rng or np.random.default_rng(0)
    point = float(iqm(np.concatenate([np.asarray(t, float) for t in tasks])))
    samples = np.concatenate(_resample(tasks, reps, rng), axis=1)
    return (point, *_percentile_interval(iqm(samples, axis=1), size))


def improvement_interval(x: Sequence[np.ndarray], y: Sequence[np.ndarray], reps: int = 50_000,
                         size: float = 0.95, rng: np.random.Generator | None = None
                         ) -> tuple[float, float, float]:
    """(P(X > Y), low, high), X's and Y's runs resampled independently within each task."""
    rng = rng or np.random.default_rng(0)
    point = probability_of_improvement(x, y)
    wins = [_pairwise_wins(a, b) for a, b in zip(_resample(x, reps, rng), _resample(y, reps, rng),
                                                 strict=True)]
    return (point, *_percentile_interval(np.mean(wins, axis=0), size))


def seeded_rng(seed: int, label: str) -> np.random.Generator:
    """A generator of its own per estimate: adding a method leaves the others' intervals."""
    return np.random.default_rng([seed, zlib.crc32(label.encode())])
