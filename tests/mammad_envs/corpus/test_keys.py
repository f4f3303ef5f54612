"""Tests of mammad_envs.corpus.keys (no music21 needed)."""

import pytest

from mammad_envs.corpus.grid import TuneError
from mammad_envs.corpus.keys import key_target, octave_shift, transposition_for_keys


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
