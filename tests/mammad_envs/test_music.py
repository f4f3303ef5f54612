"""Keys and scales."""

import numpy as np
import pytest

from mammad_envs.music import Key, parse_key, pitch_name


@pytest.mark.parametrize("name, key", [
    ("C major", Key(0, "major")), ("a minor", Key(9, "minor")), ("F# minor", Key(6, "minor")),
    ("Bb major", Key(10, "major")), ("eb MAJOR", Key(3, "major")),
])
def test_parse_key(name, key):
    assert parse_key(name) == key


def test_scales():
    assert sorted(parse_key("G major").pitch_classes) == [0, 2, 4, 6, 7, 9, 11]
    assert parse_key("A minor").pitch_classes == parse_key("C major").pitch_classes
    mask = parse_key("D major").scale_mask()
    assert mask.shape == (128,) and mask[62] and mask[66] and not mask[65]
    assert parse_key("C major").tonic_pitch() == 60
    assert parse_key("A minor").name == "A minor"


@pytest.mark.parametrize("bad", ["H major", "C lydian", "C", "", 5, None])
def test_bad_keys(bad):
    with pytest.raises(ValueError, match="key"):
        parse_key(bad)


def test_pitch_names():
    assert [pitch_name(p) for p in (0, 60, 61, 127)] == ["C-1", "C4", "C#4", "G9"]
    assert np.all([pitch_name(p) for p in range(128)])
