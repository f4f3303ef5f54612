"""Melody events and their index maps: the one place that says how an event becomes a number.

An event is one entry of a melody array: a MIDI pitch ``0..127``, :data:`HOLD` or :data:`REST`.
Several parts of the project number events their own way (the env's actions, the Note-RNN's
tokens, RL Tuner's action indices for autocorrelation); :func:`event_index` builds each such map
as a lookup table, and :func:`playable_events` is the inverse map of an env's actions.

This module imports nothing but numpy.
"""

from __future__ import annotations

import numpy as np

HOLD: int = -2
"""The previous note keeps sounding (or the silence continues)."""
REST: int = -1
"""Silence starts."""
SILENT: int = -1
"""Where nothing sounds (in arrays of sounding pitches); the value of :data:`REST`."""
NUM_PITCHES: int = 128
"""Number of MIDI pitches."""
PIANO_RANGE: tuple[int, int] = (21, 108)
"""The 88 keys of the piano, A0..C8: the default env's pitches and the Note-RNN's."""
OFFSET: int = -HOLD
"""``table[event + OFFSET]`` reads an :func:`event_index` table (HOLD is the lowest event)."""


def playable_events(lowest: int, highest: int) -> np.ndarray:
    """The event each action writes: pitches ``lowest..highest``, then HOLD, then REST."""
    return np.concatenate([np.arange(lowest, highest + 1), [HOLD, REST]]).astype(np.int64)


def event_index(lowest: int, highest: int, first: int, hold: int, rest: int,
                missing: int = -1) -> np.ndarray:
    """A lookup table from events to indices: ``table[event + OFFSET]``.

    Args:
        lowest: Lowest pitch with an index.
        highest: Highest pitch with an index.
        first: The index of ``lowest`` (pitch ``p`` gets ``p - lowest + first``).
        hold: The index of HOLD.
        rest: The index of REST.
        missing: The value for pitches outside ``lowest..highest``.

    Returns:
        An int64 array of ``NUM_PITCHES + OFFSET`` entries.
    """
    table = np.full(NUM_PITCHES + OFFSET, missing, dtype=np.int64)
    table[np.arange(lowest, highest + 1) + OFFSET] = np.arange(highest - lowest + 1) + first
    table[HOLD + OFFSET], table[REST + OFFSET] = hold, rest
    return table


def indices_of(events: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The indices of events (any integer array) in a table of :func:`event_index`.

    Events that are not HOLD, REST or a MIDI pitch get the table's ``missing`` value (its
    entry for a pitch it lacks), or -1 where the table has none.
    """
    events = np.asarray(events, dtype=np.int64)
    valid = (events >= HOLD) & (events < NUM_PITCHES)
    return np.where(valid, table[np.where(valid, events + OFFSET, 0)], -1)
