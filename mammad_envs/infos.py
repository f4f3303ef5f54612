"""The one info layout of the MammadMelody envs, built here for both envs and the SB3 adapter.

A step's infos are built for a batch in Gymnasium's vector layout: every key holds one array
entry per env and a boolean mask ``_key`` saying which envs have it; a nested dict (such as
``reward_terms``) holds arrays and masks in the same way. The vector env returns that layout;
the scalar env (a batch of one) and the SB3 adapter return :func:`row_infos` of it, the
per-env dicts::

    {"step": 3, "bar": 0, "beat": 0, "sixteenth": 3, "pitch": 60,
     "reward_terms": {"theory": 5.0}, "theory_rules": {"key": 0.0, ...}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mammad_envs.melody import STEPS_PER_BAR, STEPS_PER_BEAT

TIMING = ("step", "bar", "beat", "sixteenth")
"""The timing keys of every step's info."""

_STEPS = np.arange(4096)
_BARS = _STEPS // STEPS_PER_BAR
_BEATS = _STEPS % STEPS_PER_BAR // STEPS_PER_BEAT
_SIXTEENTHS = _STEPS % STEPS_PER_BEAT
"""Bar, beat and sixteenth of steps 0..4095 (``take`` is quicker than the arithmetic)."""


def step_infos(steps: np.ndarray, events: np.ndarray) -> dict[str, Any]:
    """The infos of one step of a batch, before any reward.

    Timing, ``pitch`` and an empty ``reward_terms``.

    Args:
        steps: ``(N,)`` the index of the 16th each env just wrote.
        events: ``(N,)`` the melody entry each env wrote.

    Returns:
        A dict in the vector layout (every mask all True).
    """
    everyone = np.ones(len(steps), dtype=bool)
    if steps.max(initial=0) < len(_STEPS):
        bar, beat, sixteenth = _BARS.take(steps), _BEATS.take(steps), _SIXTEENTHS.take(steps)
    else:
        bar, beat = steps // STEPS_PER_BAR, steps % STEPS_PER_BAR // STEPS_PER_BEAT
        sixteenth = steps % STEPS_PER_BEAT
    infos: dict[str, Any] = {
        "step": steps, "bar": bar, "beat": beat, "sixteenth": sixteenth, "pitch": events,
        "reward_terms": {}, "_reward_terms": everyone,
    }
    for key in (*TIMING, "pitch"):
        infos[f"_{key}"] = everyone
    return infos


def single_info(step: int, event: int) -> dict[str, Any]:
    """One env's info of one step before any reward, built directly (the scalar env's hot path).

    Equal to :func:`row_infos` of :func:`step_infos` for a batch of one (tested).
    """
    beat = step % STEPS_PER_BAR
    return {"step": step, "bar": step // STEPS_PER_BAR, "beat": beat // STEPS_PER_BEAT,
            "sixteenth": step % STEPS_PER_BEAT, "pitch": event, "reward_terms": {}}


def add_term(infos: dict[str, Any], name: str, values: np.ndarray,
             extras: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> None:
    """Records a reward term's weighted values (and its extra infos) for every env.

    Args:
        infos: From :func:`step_infos`.
        name: The reward's name: ``infos["reward_terms"][name]``.
        values: ``(N,)`` the weighted term.
        extras: Further nested infos of the term, e.g. ``{"theory_rules": {rule: (N,)}}``.
    """
    everyone = infos["_reward_terms"]
    infos["reward_terms"][name] = values
    infos["reward_terms"][f"_{name}"] = everyone
    for key, columns in (extras or {}).items():
        nested = infos.setdefault(key, {})
        infos[f"_{key}"] = everyone
        for column, array in columns.items():
            nested[column] = array
            nested[f"_{column}"] = everyone


def restart_rows(infos: dict[str, Any], rows: np.ndarray) -> None:
    """Marks the step's keys absent for envs that restarted (their infos moved to final_info).

    Every mask of :func:`step_infos` and :func:`add_term` is one shared array, so clearing its
    rows clears them for every key, nested ones included.
    """
    infos["_reward_terms"][rows] = False


def row_infos(infos: Mapping[str, Any], rows: Sequence[int] | np.ndarray | None = None,
              skip: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The per-env info dicts of the given envs (Python numbers, masks dropped).

    Args:
        infos: Infos in the vector layout.
        rows: The envs, in the order wanted (default: every env, in order).
        skip: Keys to leave out.

    Returns:
        One dict per row, with the keys whose mask is True for that env.
    """
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        count = len(rows)
    else:
        count = next((len(value) for value in infos.values() if isinstance(value, np.ndarray)), 0)
    complete: dict[int, tuple[bool, list]] = {}  # masks are often one shared array: check once
    keys: list[str] = []
    columns: list[list] = []
    partial: list[tuple[str, list, list]] = []  # keys that some of the rows lack
    for key, value in infos.items():
        if key.startswith("_") or key in skip:
            continue
        if isinstance(value, Mapping):
            names = [name for name in value if not name.startswith("_")]
            picked = [_column(value[name], rows) for name in names]
            entries = _dicts(names, picked, count)
        else:
            entries = _column(value, rows)
        mask = infos.get(f"_{key}")
        if mask is None:
            keys.append(key)
            columns.append(entries)
            continue
        if id(mask) not in complete:
            present = mask if rows is None else mask[rows]
            complete[id(mask)] = (bool(present.all()), present.tolist())
        everyone, present = complete[id(mask)]
        if everyone:
            keys.append(key)
            columns.append(entries)
        else:
            partial.append((key, entries, present))
    result = _dicts(keys, columns, count)
    for key, entries, present in partial:
        for index, entry in enumerate(entries):
            if present[index]:
                result[index][key] = entry
    return result


def _dicts(keys: list[str], columns: list[list], count: int) -> list[dict[str, Any]]:
    """``count`` dicts, the i-th mapping each key to its column's i-th entry."""
    if not keys:
        return [{} for _ in range(count)]
    # No strict zips on this hot path: every column has ``count`` entries by construction.
    return [dict(zip(keys, entry)) for entry in zip(*columns)]  # noqa: B905


def _column(value: Any, rows: np.ndarray | None) -> list:
    """One entry per row of an info array (as Python values)."""
    if rows is None:
        return value.tolist() if isinstance(value, np.ndarray) else list(value)
    if isinstance(value, np.ndarray):
        return value[rows].tolist()
    return [value[row] for row in rows]
