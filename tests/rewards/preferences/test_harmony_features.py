"""Whether the melody's note is a chord tone of the accompaniment, per 16th."""

import numpy as np
import pytest

from mammad_envs.data import load_accompaniments
from mammad_envs.melody import HOLD, REST, sounding_pitches
from rewards.preferences.harmony_features import HARMONY_FEATURES, WINDOWS, harmony_features


def test_a_note_against_the_march():
    # The march's first half bar: A (45) for a beat, then A C E for two 16ths, then silence.
    melody = np.array([60, HOLD, HOLD, HOLD, 62, REST, 64, 57] * 2)
    features = harmony_features(sounding_pitches(melody), "march")
    assert features.shape == (16, HARMONY_FEATURES) and WINDOWS == (4, 8, 16)
    # C over the bass A: not the first beat's pitch class, but the half bar's and the bar's.
    assert features[0].tolist() == [0, 1, 1]
    assert features[4].tolist() == [0, 0, 0]  # D against A C E
    assert features[5].tolist() == [0, 0, 0]  # a rest
    assert features[6].tolist() == [1, 1, 1]  # E, in the second beat's chord
    assert features[7].tolist() == [1, 1, 1]  # A, though the march is silent at that 16th
    np.testing.assert_array_equal(features[8:], features[:8])  # the next half bar: the same


def test_a_melody_alone_gets_zeros():
    assert harmony_features(sounding_pitches([60, 62, HOLD, 64]), None).sum() == 0


def test_the_windows_follow_the_loop_past_its_end():
    loop = next(loop for loop in load_accompaniments() if loop.name == "bossa")
    steps = 3 * loop.steps  # the loop repeats under a longer melody
    melody = np.arange(steps) % 24 + 48
    features = harmony_features(melody, "bossa")
    for t in range(loop.steps, steps):
        if melody[t] % 12 == melody[t % loop.steps] % 12:
            np.testing.assert_array_equal(features[t], features[t % loop.steps])


@pytest.mark.parametrize("name", [loop.name for loop in load_accompaniments()])
def test_a_wider_window_holds_every_chord_tone_of_a_narrower_one(name):
    loop = next(loop for loop in load_accompaniments() if loop.name == name)
    melody = np.random.default_rng(0).integers(48, 84, size=32)
    features = harmony_features(melody, name)
    assert np.all(features[:, 1] >= features[:, 0]) and np.all(features[:, 2] >= features[:, 1])
    for t in range(32):  # the half bar's column, straight from the loop's notes
        start = t % loop.steps - t % 8
        chord = np.flatnonzero(loop.sounding[start:start + 8].any(axis=0)) % 12
        assert features[t, 1] == (melody[t] % 12 in chord)


def test_an_unknown_accompaniment_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown accompaniment 'polka': the bundled ones"):
        harmony_features(np.array([60]), "polka")
