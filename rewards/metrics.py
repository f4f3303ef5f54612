"""The RL Tuner evaluation statistics, computed over a batch of melodies with numpy.

``evaluate(melodies)`` returns a table (a dict) keyed by statistic: the rows of RL Tuner's
published Table 1 plus interval counts. Per-step statistics are fractions of all steps of all
compositions; per-composition ones are fractions of compositions. The rule-based rows use the
same engine as :class:`~rewards.theory.TheoryReward`, so a statistic and its rule cannot drift
apart.

Example:
    >>> from rewards import metrics
    >>> from rewards.note_rnn import NoteRNN
    >>> table = metrics.evaluate(NoteRNN.pretrained().sample(1000, 32, seed=0))
    >>> print(metrics.format_table(table))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from mammad_envs.melody import REST, as_melody
from mammad_envs.music import parse_key
from rewards.theory import rules as R
from rewards.theory.engine import TheoryEngine

CHUNK = 16384
"""Melodies scored at once (bounds memory: about 1 KB per melody of 32 steps)."""

TABLE_1 = (
    "notes excessively repeated",
    "mean autocorrelation lag 1",
    "mean autocorrelation lag 2",
    "mean autocorrelation lag 3",
    "notes not in key",
    "compositions starting with tonic",
    "leaps resolved",
    "compositions with unique max note",
    "compositions with unique min note",
    "notes in motif",
    "notes in repeated motif",
)
"""The rows of RL Tuner's Table 1, in its order."""

INTERVALS = {
    "intervals: more than an octave": lambda i: i > 12,
    "intervals: sevenths": lambda i: i == 11,
    "intervals: sixths": lambda i: i == 9,
    "intervals: fifths": lambda i: i == 7,
    "intervals: fourths": lambda i: i == 5,
    "intervals: thirds": lambda i: i == 4,
    "intervals: seconds": lambda i: i == 2,
}
"""Interval classes counted (semitones between consecutive pitches; RL Tuner's names)."""

PERCENT_ROWS = frozenset(TABLE_1) - {f"mean autocorrelation lag {lag}" for lag in (1, 2, 3)}


def evaluate(melodies: Iterable[Sequence[int] | np.ndarray] | np.ndarray,
             key: str = "C major", lowest: int = 48, tonic: int | None = None
             ) -> dict[str, float]:
    """Computes the RL Tuner statistics of a batch of melodies.

    Args:
        melodies: Melody arrays (any lengths; a 2-D array is one melody per row).
        key: The key the rules expect.
        lowest: The pitch with action index 2 for the autocorrelation (48 in RL Tuner).
        tonic: The tonic pitch (default: the key's tonic in octave 4, 60 for C major).

    Returns:
        ``{statistic: value}``: the Table 1 rows (fractions, not percentages; autocorrelations
        as coefficients), the interval counts as fractions of steps, ``"rests"`` (steps that
        start a rest after a pitch), and the totals ``"compositions"`` and ``"steps"``.

    Raises:
        ValueError: If a melody is not a melody array, or there are none.
    """
    groups: dict[int, list[np.ndarray]] = {}
    for index, melody in enumerate(melodies):
        melody = as_melody(melody, name=f"melodies[{index}]")
        if melody.size:
            groups.setdefault(melody.size, []).append(melody)
    if not groups:
        raise ValueError("evaluate needs at least one non-empty melody")
    totals: dict[str, float] = {}
    autocorrelations: list[np.ndarray] = []
    for length, group in sorted(groups.items()):
        batch = np.stack(group)
        for start in range(0, len(batch), CHUNK):
            chunk = batch[start:start + CHUNK]
            context = R.RuleContext(parse_key(key), length, lowest, tonic)
            for name, value in _counts(chunk, context).items():
                totals[name] = totals.get(name, 0.0) + value
            autocorrelations.append(_autocorrelations(chunk, lowest))
    return _table(totals, np.concatenate(autocorrelations))


def _counts(melodies: np.ndarray, context: R.RuleContext) -> dict[str, float]:
    """Counts of every event the statistics need, for melodies of one length."""
    count, length = melodies.shape
    engine = TheoryEngine(context, batch=count)
    counts = dict.fromkeys(("repeated", "not_in_key", "motif", "repeated_motif", "resolved",
                            "doubled", "rests", *INTERVALS), 0.0)
    previous = np.full(count, -1, dtype=np.int64)
    for step in range(length):
        events = melodies[:, step].astype(np.int64)
        out = engine.step(events)
        counts["repeated"] += out["_repeat"].sum()
        counts["not_in_key"] += (out["key"] < 0).sum()
        counts["motif"] += out["_motif"].sum()
        counts["repeated_motif"] += out["_repeated_motif"].sum()
        counts["resolved"] += out["_leap_resolved"].sum()
        counts["doubled"] += out["_leap_doubled"].sum()
        moves = (events >= 0) & (previous >= 0)
        interval = np.abs(events - previous)
        for name, test in INTERVALS.items():
            counts[name] += (moves & test(interval)).sum()
        counts["rests"] += ((events == REST) & (previous >= 0)).sum()
        previous = np.where(events >= 0, events, previous)
    pitches = np.where(melodies >= 0, melodies, -1)
    played = pitches >= 0
    highest = np.where(played, pitches, -1).max(axis=1)
    lowest = np.where(played, pitches, 128).min(axis=1)
    any_played = played.any(axis=1)
    counts["unique_max"] = ((pitches == highest[:, None]).sum(axis=1) == 1)[any_played].sum()
    counts["unique_min"] = ((pitches == lowest[:, None]).sum(axis=1) == 1)[any_played].sum()
    counts["starting_tonic"] = (melodies[:, 0] == context.tonic_pitch).sum()
    counts["compositions"] = count
    counts["steps"] = count * length
    return {name: float(value) for name, value in counts.items()}


def _autocorrelations(melodies: np.ndarray, lowest: int) -> np.ndarray:
    """Per composition, RL Tuner's autocorrelation at lags 1..3 (NaN where undefined)."""
    series = R.action_indices(melodies, lowest).astype(np.float64)
    length = series.shape[1]
    centred = series - series.mean(axis=1, keepdims=True)
    variance = series.var(axis=1)
    result = np.full((len(series), 3), np.nan)
    defined = variance > 0
    for column, lag in enumerate(R.AUTOCORRELATION_LAGS):
        if length > lag:
            products = (centred[:, lag:] * centred[:, :-lag]).sum(axis=1)
        else:
            products = np.zeros(len(series))
        result[defined, column] = products[defined] / length / variance[defined]
    return result


def _table(counts: dict[str, float], autocorrelations: np.ndarray) -> dict[str, float]:
    steps, compositions = counts["steps"], counts["compositions"]
    leaps = counts["resolved"] + counts["doubled"]
    with warnings.catch_warnings():  # an all-NaN column's mean is NaN, as it should be
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_autocorrelation = np.nanmean(autocorrelations, axis=0)
    table = {
        "notes excessively repeated": counts["repeated"] / steps,
        "mean autocorrelation lag 1": float(mean_autocorrelation[0]),
        "mean autocorrelation lag 2": float(mean_autocorrelation[1]),
        "mean autocorrelation lag 3": float(mean_autocorrelation[2]),
        "notes not in key": counts["not_in_key"] / steps,
        "compositions starting with tonic": counts["starting_tonic"] / compositions,
        "leaps resolved": counts["resolved"] / leaps if leaps else float("nan"),
        "compositions with unique max note": counts["unique_max"] / compositions,
        "compositions with unique min note": counts["unique_min"] / compositions,
        "notes in motif": counts["motif"] / steps,
        "notes in repeated motif": counts["repeated_motif"] / steps,
    }
    table.update({name: counts[name] / steps for name in INTERVALS})
    table["rests"] = counts["rests"] / steps
    table["compositions"] = compositions
    table["steps"] = steps
    return table


def format_table(table: dict[str, float], title: str = "statistic") -> str:
    """The statistics as a Markdown table (percentages where RL Tuner printed them)."""
    lines = [f"| {title} | value |", "|---|---|"]
    for name, value in table.items():
        if name in ("compositions", "steps"):
            text = f"{int(value):,}"
        elif name in PERCENT_ROWS or name.startswith("intervals") or name == "rests":
            text = f"{100 * value:.3g}%" if np.isfinite(value) else "n/a"
        else:
            text = f"{value:.3f}" if np.isfinite(value) else "n/a"
        lines.append(f"| {name} | {text} |")
    return "\n".join(lines)


def save_json(table: dict[str, float], path: str | os.PathLike) -> Path:
    """Writes the statistics as JSON (NaN as null)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {name: (None if isinstance(v, float) and np.isnan(v) else v)
             for name, v in table.items()}
    path.write_text(json.dumps(clean, indent=2) + "\n")
    return path


__all__ = ["INTERVALS", "TABLE_1", "evaluate", "format_table", "save_json"]
