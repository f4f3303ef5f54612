"""The melody representation used everywhere in mammad-envs.

A melody is a one-dimensional integer array with one entry per 16th note:

* ``0..127``: a MIDI pitch, the onset of a note at that 16th;
* :data:`HOLD` (``-2``): the previous note keeps sounding, or the silence continues;
* :data:`REST` (``-1``): silence starts.

A melody can spell the same music in more than one way (``[REST, REST]`` and ``[REST, HOLD]``
are both two 16ths of silence, and a melody may start with ``HOLD``). :func:`canonical_melody`
picks one spelling: every run of silence is a ``REST`` followed by ``HOLD`` s. That is the form
:func:`mammad_envs.midi.load_midi` returns, so a canonical melody survives a MIDI round trip.

This module imports nothing but numpy (and the small :mod:`mammad_envs.events` and
:mod:`mammad_envs.pitches`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mammad_envs.events import HOLD, NUM_PITCHES, REST, SILENT  # noqa: F401 (re-exported)
from mammad_envs.pitches import pitch_name

STEPS_PER_BEAT: int = 4
"""One step is one 16th note."""
STEPS_PER_BAR: int = 16
"""Every melody is in 4/4: sixteen 16ths per bar."""
MELODY_DTYPE = np.int16
"""dtype of melody arrays."""

EVENT_NAMES = {HOLD: "HOLD", REST: "REST"}


def as_melody(values: Sequence[int] | np.ndarray, *, name: str = "melody") -> np.ndarray:
    """Checks and converts a sequence of events to a melody array.

    Args:
        values: Pitches 0..127, :data:`HOLD` or :data:`REST`, one per 16th.
        name: What to call the value in error messages.

    Returns:
        A one-dimensional array of dtype :data:`MELODY_DTYPE` (a new array).

    Raises:
        ValueError: If the values are not one-dimensional integers in -2..127.
    """
    array = np.asarray(values)
    if array.ndim == 0 and array.dtype == object:
        hint = " (pass its .notes)" if hasattr(values, "notes") else ""
        raise ValueError(f"{name} must be a one-dimensional array of events (pitches, HOLD, "
                         f"REST), got a {type(values).__name__}{hint}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers (pitches 0..127, HOLD=-2, REST=-1), "
                         f"got dtype {array.dtype}")
    bad = (array < HOLD) | (array >= NUM_PITCHES)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{index}] = {int(array[index])} is not a MIDI pitch 0..127, "
                         f"HOLD ({HOLD}) or REST ({REST})")
    return array.astype(MELODY_DTYPE, copy=True)


def sounding_pitches(melody: Sequence[int] | np.ndarray) -> np.ndarray:
    """The pitch that sounds at every 16th of a melody.

    Args:
        melody: A melody array.

    Returns:
        An int array of the melody's length: the sounding MIDI pitch, or :data:`SILENT` (-1).
        A leading ``HOLD`` is silence.
    """
    melody = np.asarray(melody)
    is_event = melody != HOLD
    # Index of the most recent non-HOLD event at or before each step (-1 if none).
    last_event = np.maximum.accumulate(np.where(is_event, np.arange(melody.size), -1))
    result = np.full(melody.size, SILENT, dtype=np.int64)
    has_event = last_event >= 0
    events = melody[last_event[has_event]]
    result[has_event] = np.where(events >= 0, events, SILENT)
    return result


def canonical_melody(melody: Sequence[int] | np.ndarray) -> np.ndarray:
    """The canonical spelling of a melody: each silence is one REST followed by HOLDs.

    Two melodies sound the same exactly when their canonical forms are equal.

    Args:
        melody: A melody array.

    Returns:
        A new melody array of the same length.
    """
    melody = as_melody(melody)
    sounding = sounding_pitches(melody)
    result = melody.copy()
    silent = sounding == SILENT
    silence_starts = silent & np.concatenate(([True], ~silent[:-1]))
    result[silent] = HOLD
    result[silence_starts] = REST
    return result


def note_events(melody: Sequence[int] | np.ndarray) -> list[tuple[int, int, int]]:
    """The notes of a melody as ``(pitch, start, end)`` in 16ths, end exclusive.

    Args:
        melody: A melody array.

    Returns:
        One tuple per note onset, in order.
    """
    melody = np.asarray(melody)
    onsets = np.flatnonzero(melody >= 0)
    stops = np.append(np.flatnonzero(melody != HOLD), melody.size)
    ends = stops[np.searchsorted(stops, onsets, side="right")]
    return [(int(melody[s]), int(s), int(e)) for s, e in zip(onsets, ends, strict=True)]


def complete_melody_error(row: int, steps: int) -> ValueError:
    """The error for a step on melody ``row`` of a batch when it already holds its ``steps``."""
    return ValueError(f"melody {row} is complete ({steps} steps): reset it")


def event_name(value: int) -> str:
    """A readable name for a melody entry: ``"C4"``, ``"HOLD"`` or ``"REST"``.

    Args:
        value: A melody entry.

    Returns:
        The name (MIDI 60 is ``"C4"``).
    """
    return EVENT_NAMES.get(int(value)) or pitch_name(int(value))
