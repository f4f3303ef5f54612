"""Tests of the pure-Python parts of mammad_envs.corpus (no music21 needed)."""

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from mammad_envs import corpus
from mammad_envs.corpus import (
    Event,
    RawEvent,
    TuneError,
    downbeats,
    events_to_melody,
    key_target,
    octave_shift,
    snap_events,
    snap_to_grid,
    split_tunes,
    to_steps,
    transposition_for_keys,
)
from mammad_envs.melody import HOLD, REST


def test_module_imports_without_music21():
    code = ("import sys; sys.modules['music21'] = None; import mammad_envs.corpus as c; "
            "assert c.key_target(2, 'major') == (-2, 'C major')")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_folk_corpus_never_takes_essen(tmp_path):
    with pytest.raises((ValueError, ImportError)):
        corpus.load_folk_corpus(("essenFolksong",), tmp_path)


@pytest.mark.parametrize(("tonic", "mode", "expected"), [
    (0, "major", (0, "C major")),
    (2, "major", (-2, "C major")),      # D -> C, down a tone
    (7, "mixolydian", (5, "C major")),  # G -> C, up a fourth (nearer than down a fifth)
    (6, "major", (-6, "C major")),      # F# -> C: the tritone goes down
    (4, "minor", (5, "A minor")),       # E -> A
    (2, "dorian", (-5, "A minor")),     # D -> A, down a fourth
    (9, "aeolian", (0, "A minor")),
])
def test_key_target_nearest_interval(tonic, mode, expected):
    assert key_target(tonic, mode) == expected


def test_key_target_rejects_unknown_mode():
    with pytest.raises(TuneError, match="locrian"):
        key_target(0, "locrian")


def test_transposition_for_keys():
    assert transposition_for_keys([(7, "major"), (4, "minor")]) == (5, "C major")  # relative keys
    with pytest.raises(TuneError, match="change of key"):
        transposition_for_keys([(7, "major"), (7, "minor")])
    with pytest.raises(TuneError, match="no key"):
        transposition_for_keys([])


def test_octave_shift_centres_the_range_inside_48_83():
    assert octave_shift(60, 72) == 0
    assert octave_shift(84, 96) == -24
    assert octave_shift(30, 40) == 36  # 66..76, centre 71, nearest to 65.5
    shift = octave_shift(50, 81)
    assert 48 <= 50 + shift and 81 + shift <= 83
    with pytest.raises(TuneError, match="does not fit"):
        octave_shift(40, 80)  # wider than three octaves


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


def test_downbeats_only_full_bars():
    bars = [(0, 4, 16), (4, 20, 16), (20, 32, 16), (32, 36, 16), (36, 48, 12), (48, 60, None)]
    assert downbeats(bars).tolist() == [4, 36]


def test_split_tunes():
    text = "% header\nX:1\nT:One\nK:G\nabc|\n\nX: 20\nT:Two\nK:D\ndef|\nX:x\nT:Three\n"
    tunes = split_tunes(text)
    assert [number for number, _ in tunes] == [1, 20, -1]
    assert tunes[0][1].startswith("X:1\nT:One") and "header" not in tunes[0][1]
    assert "T:Two" in tunes[1][1] and "T:One" not in tunes[1][1]


def test_cache_path_is_keyed_by_versions(tmp_path):
    path = corpus.cache_path("miscFolk", tmp_path, music21_version="9.9.9")
    assert path.parent == tmp_path
    assert "9.9.9" in path.name and f"rules-{corpus.RULES_VERSION}" in path.name


def test_collection_name():
    assert corpus.collection_name("oneills1850/0001-0050.abc").startswith("O'Neill")
    with pytest.raises(KeyError):
        corpus.collection_name("essenFolksong/han1.abc")


def test_events_to_melody_is_canonical():
    melody = events_to_melody([Event(0, 1), Event(1, 1), Event(2, 2, 60, ("C", 4))], 0, 4)
    assert melody.tolist() == [REST, HOLD, 60, HOLD]
    assert melody.dtype == np.int16
