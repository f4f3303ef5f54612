"""Notes and rests on the 16th grid, and their rendering as melody arrays.

The grid helpers shared by the strict and lenient rules of :mod:`mammad_envs.corpus` (see its
docstring for the rules). Pure Python and NumPy: no music21 needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from mammad_envs.errors import MammadError
from mammad_envs.melody import HOLD, REST, canonical_melody

__all__ = [
    "STEPS_PER_QUARTER",
    "Event",
    "RawEvent",
    "TuneError",
    "downbeats",
    "events_to_melody",
    "snap_events",
    "snap_to_grid",
    "to_steps",
]

STEPS_PER_QUARTER: int = 4
"""16ths per quarter note (music21's quarterLength 1.0)."""


class TuneError(MammadError, ValueError):
    """A tune that does not fit the conversion rules (see the module docstring)."""


@dataclass(frozen=True)
class Event:
    """A note or rest of a tune on the 16th grid (before transposition).

    Attributes:
        start: First 16th (including any pickup padding).
        length: Length in 16ths.
        midi: MIDI pitch, or ``None`` for a rest.
        spelling: Letter and octave of the note (``("F", 5)``), ``None`` for a rest.
        tied: Whether the note is the end or middle of a tie.
    """

    start: int
    length: int
    midi: int | None = None
    spelling: tuple[str, int] | None = None
    tied: bool = False


class RawEvent(NamedTuple):
    """A note or rest as parsed, in quarter notes (possibly off the 16th grid).

    Attributes:
        offset: Onset in quarter notes.
        duration: Duration in quarter notes (> 0).
        midi: MIDI pitch, or ``None`` for a rest.
        spelling: Letter and octave of the note, ``None`` for a rest.
        tied: Whether the note is the end or middle of a tie.
    """

    offset: Fraction | float
    duration: Fraction | float
    midi: int | None = None
    spelling: tuple[str, int] | None = None
    tied: bool = False


def to_steps(quarter_length: float | Fraction, what: str) -> int:
    """Converts a music21 quarterLength to 16th steps, requiring an exact fit.

    Args:
        quarter_length: An offset or duration in quarter notes.
        what: What the value is, for the error message.

    Returns:
        The number of 16ths.

    Raises:
        TuneError: If the value is not a whole number of 16ths (e.g. a triplet).
    """
    steps = float(quarter_length) * STEPS_PER_QUARTER
    if abs(steps - round(steps)) > 1e-9:
        raise TuneError(f"{what} ({quarter_length} quarters) is off the 16th grid")
    return int(round(steps))


def snap_to_grid(quarter_length: float | Fraction) -> int:
    """The nearest 16th to a time in quarter notes (exact halves round up).

    Args:
        quarter_length: An offset in quarter notes (music21 gives a Fraction for triplets).

    Returns:
        The nearest whole number of 16ths: ``snap_to_grid(Fraction(1, 3)) == 1``.
    """
    return math.floor(Fraction(quarter_length) * STEPS_PER_QUARTER + Fraction(1, 2))


def snap_events(raw_events: Iterable[RawEvent]) -> list[Event]:
    """Puts notes and rests on the 16th grid, snapping each onset and end to the nearest 16th.

    Args:
        raw_events: Notes and rests in score order, times in quarter notes.

    Returns:
        The events on the grid (an event's end is the snapped end of its unsnapped span).

    Raises:
        TuneError: If snapping collapses an event to zero length (e.g. 16th-note triplets) or
            events overlap (more than one voice).
    """
    events = []
    position = 0
    for raw in raw_events:
        start = snap_to_grid(raw.offset)
        end = snap_to_grid(Fraction(raw.offset) + Fraction(raw.duration))
        if end <= start:
            raise TuneError(f"snapping collapses the event at {raw.offset} quarters "
                            f"(length {raw.duration})")
        if start < position:
            raise TuneError(f"overlapping events at {raw.offset} quarters")
        events.append(Event(start, end - start, raw.midi, raw.spelling, raw.tied))
        position = end
    return events


def events_to_melody(events: Sequence[Event], shift: int, total: int) -> np.ndarray:
    """Renders grid events as a canonical melody array.

    Silence before the first event, in gaps and after the last event is ``REST`` then
    ``HOLD`` s. A tied note continues (``HOLD``) only if it follows the previous note directly
    with the same letter and octave; otherwise it is struck again.

    Args:
        events: Notes and rests on the grid, in order, not overlapping.
        shift: Semitones added to every pitch.
        total: Length of the melody (at least the end of the last event).

    Returns:
        The canonical melody (dtype :data:`~mammad_envs.melody.MELODY_DTYPE`).

    Raises:
        TuneError: If events overlap.
    """
    melody = np.full(total, HOLD, dtype=np.int64)
    if total:
        melody[0] = REST
    position = 0
    sounding: tuple[str, int] | None = None  # letter and octave of the sounding note
    for event in events:
        if event.start < position:
            raise TuneError(f"overlapping notes at step {event.start}")
        if event.start > position:  # a gap in the score: silence
            melody[position] = REST
            sounding = None
        if event.midi is None:
            melody[event.start] = REST
            sounding = None
        elif event.tied and event.start == position and event.spelling == sounding:
            pass  # a tie: the previous note continues (HOLD), with its accidental
        else:
            melody[event.start] = event.midi + shift
            sounding = event.spelling
        position = event.start + event.length
    if position < total:
        melody[position] = REST
    return canonical_melody(melody)


def downbeats(bars: Iterable[tuple[int, int, int | None]]) -> np.ndarray:
    """The steps where full bars start.

    Args:
        bars: ``(start, end, bar length)`` of each measure in 16ths; the bar length is that of
            the measure's time signature (``None`` if unknown or off the grid).

    Returns:
        Sorted unique starts of the measures as long as their time signature's bar (int32).
        Incomplete bars (a pickup, or the half bars around a repeat sign) do not count.
    """
    starts = {start for start, end, length in bars if length and end - start == length}
    return np.array(sorted(starts), dtype=np.int32)
