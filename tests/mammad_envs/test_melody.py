"""The melody representation helpers."""

import numpy as np
import pytest

from mammad_envs.melody import (
    HOLD,
    REST,
    SILENT,
    as_melody,
    canonical_melody,
    event_name,
    note_events,
    sounding_pitches,
)

MELODY = [HOLD, 60, HOLD, REST, REST, HOLD, 62, 62, HOLD]


def test_sounding_pitches():
    np.testing.assert_array_equal(sounding_pitches(MELODY),
                                  [SILENT, 60, 60, SILENT, SILENT, SILENT, 62, 62, 62])


def test_canonical_melody():
    np.testing.assert_array_equal(canonical_melody(MELODY),
                                  [REST, 60, HOLD, REST, HOLD, HOLD, 62, 62, HOLD])


def test_note_events():
    assert note_events(MELODY) == [(60, 1, 3), (62, 6, 7), (62, 7, 9)]


def test_event_names():
    assert [event_name(e) for e in (60, 69, HOLD, REST, 21)] == ["C4", "A4", "HOLD", "REST",
                                                                 "A0"]


@pytest.mark.parametrize("bad, message", [
    ([60, -3], r"melody\[1\] = -3 is not a MIDI pitch"),
    ([[60]], "one-dimensional"),
    ([60.5], "must hold integers"),
])
def test_as_melody_rejects(bad, message):
    with pytest.raises(ValueError, match=message):
        as_melody(bad)


def test_a_bundled_tune_instead_of_its_notes_is_named():
    from mammad_envs.data import load_melodies
    from rewards import metrics

    tune = load_melodies()[0]
    with pytest.raises(ValueError, match=r"melodies\[0\] must be a one-dimensional array of "
                                         r"events .*got a DemoMelody \(pass its \.notes\)"):
        metrics.evaluate([tune])
    assert metrics.evaluate([tune.notes])
