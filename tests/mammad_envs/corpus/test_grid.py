"""Tests of mammad_envs.corpus.grid (no music21 needed)."""

from fractions import Fraction

import numpy as np
import pytest

from mammad_envs.corpus.grid import (
    Event,
    RawEvent,
    TuneError,
    downbeats,
    events_to_melody,
    snap_events,
    snap_to_grid,
    to_steps,
)
from mammad_envs.melody import HOLD, REST


def test_snap_to_grid():
    assert snap_to_grid(0) == 0
    assert snap_to_grid(Fraction(1, 3)) == 1      # triplet eighth: 1.33 16ths
    assert snap_to_grid(Fraction(2, 3)) == 3      # 2.67 16ths
    assert snap_to_grid(0.125) == 1               # a half 16th rounds up
    assert snap_to_grid(1.75) == 7
    assert snap_to_grid(Fraction(7, 6)) == 5      # 4.67


def test_snap_events_keeps_eighth_triplets():
    third = Fraction(1, 3)
    raw = [RawEvent(0, third, 72), RawEvent(third, third, 71), RawEvent(2 * third, third, 69),
           RawEvent(1, 1, 67)]
    events = snap_events(raw)
    assert [(e.start, e.length, e.midi) for e in events] == [
        (0, 1, 72), (1, 2, 71), (3, 1, 69), (4, 4, 67)]


def test_snap_events_drops_collapsing_notes():
    sixth = Fraction(1, 6)  # 16th-note triplets: three notes in two 16ths
    raw = [RawEvent(0, sixth, 72), RawEvent(sixth, sixth, 71), RawEvent(2 * sixth, sixth, 69)]
    with pytest.raises(TuneError, match="collapses"):
        snap_events(raw)
    with pytest.raises(TuneError, match="collapses"):  # a 32nd note after a dotted 16th
        snap_events([RawEvent(0, 0.375, 60), RawEvent(0.375, 0.125, 62)])


def test_snap_events_rejects_overlaps():
    with pytest.raises(TuneError, match="overlapping"):
        snap_events([RawEvent(0, 1, 60), RawEvent(0.5, 1, 64)])


def test_to_steps_is_strict():
    assert to_steps(1.5, "x") == 6
    with pytest.raises(TuneError, match="off the 16th grid"):
        to_steps(Fraction(1, 3), "onset")


def test_events_to_melody_rests_ties_and_gaps():
    events = [
        Event(0, 2, 60, ("C", 4)),
        Event(2, 2, 60, ("C", 4), tied=True),   # tie: continues
        Event(4, 1),                            # rest
        Event(5, 1, 62, ("D", 4)),
        Event(6, 1, 62, ("D", 4), tied=True),
        Event(8, 2, 64, ("E", 4)),              # after a gap at step 7
    ]
    melody = events_to_melody(events, shift=12, total=12)
    assert melody.tolist() == [72, HOLD, HOLD, HOLD, REST, 74, HOLD, REST, 76, HOLD, REST, HOLD]


def test_events_to_melody_tie_to_other_spelling_strikes_again():
    events = [Event(0, 2, 61, ("C", 4)), Event(2, 2, 61, ("D", 4), tied=True)]
    assert events_to_melody(events, 0, 4).tolist() == [61, HOLD, 61, HOLD]


def test_events_to_melody_leading_silence():
    assert events_to_melody([Event(2, 2, 60, ("C", 4))], 0, 4).tolist() == [REST, HOLD, 60, HOLD]


def test_events_to_melody_is_canonical():
    melody = events_to_melody([Event(0, 1), Event(1, 1), Event(2, 2, 60, ("C", 4))], 0, 4)
    assert melody.tolist() == [REST, HOLD, 60, HOLD]
    assert melody.dtype == np.int16


def test_downbeats_only_full_bars():
    bars = [(0, 4, 16), (4, 20, 16), (20, 32, 16), (32, 36, 16), (36, 48, 12), (48, 60, None)]
    assert downbeats(bars).tolist() == [4, 36]
