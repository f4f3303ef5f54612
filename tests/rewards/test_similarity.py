"""Pitch-class, interval and rhythm histograms and their total variation (rewards.similarity)."""

import numpy as np
import pytest

from mammad_envs.melody import HOLD, REST
from rewards.similarity import (
    BINS,
    HISTOGRAMS,
    INTERVAL_CLIP,
    demo_baseline,
    demo_halves,
    demo_melodies,
    distances,
    histograms,
    normalise,
    similarity,
    total_variation,
)


def test_pitch_classes_count_struck_notes_only():
    counts = histograms([np.array([60, HOLD, HOLD, 72, 61, REST, HOLD])])
    expected = np.zeros(12)
    expected[0], expected[1] = 2, 1  # C4 and C5 are pitch class 0; C#4 is 1; HOLDs count nothing
    assert counts["pitch_class"].tolist() == expected.tolist()


def test_intervals_are_signed_clipped_and_skip_holds_and_rests():
    counts = histograms([np.array([60, HOLD, 64, REST, HOLD, 79, 72, 40])])
    # 60 -> 64 = +4; 64 -> 79 = +15, clipped to +12; 79 -> 72 = -7; 72 -> 40 = -32 -> -12
    found = {int(k) - INTERVAL_CLIP: int(v) for k, v in enumerate(counts["interval"]) if v}
    assert found == {4: 1, 12: 1, -7: 1, -12: 1}


def test_intervals_do_not_cross_melodies():
    counts = histograms([np.array([60, 62]), np.array([90, 91])])
    assert counts["interval"].sum() == 2
    assert counts["interval"][INTERVAL_CLIP + 2] == 1 and counts["interval"][INTERVAL_CLIP + 1] == 1


def test_rhythm_counts_the_canonical_spelling():
    # REST REST sounds as REST HOLD; a leading HOLD is silence (a REST); HOLD after a note holds.
    counts = histograms([np.array([HOLD, 60, HOLD, REST, REST, 62])])
    assert counts["rhythm"].tolist() == [2, 1 + 1, 2]  # onsets, holds, rests


def test_histograms_take_a_2d_array_and_refuse_one_melody():
    batch = np.array([[60, HOLD, 62, REST], [64, 65, HOLD, HOLD]])
    assert histograms(batch)["rhythm"].tolist() == [4, 3, 1]
    with pytest.raises(ValueError, match="wrap it in a list"):
        histograms(np.array([60, 62]))
    with pytest.raises(ValueError, match="MIDI pitch"):
        histograms([np.array([60, 200])])


def test_total_variation_by_hand():
    assert total_variation([1, 0, 0], [0, 1, 0]) == 1.0
    assert total_variation([2, 2], [1, 1]) == 0.0  # counts are normalised first
    assert total_variation([3, 1], [1, 1]) == pytest.approx(0.25)  # |0.75-0.5| + |0.25-0.5| / 2
    assert total_variation([0, 0], [1, 0]) == 1.0  # empty against non-empty
    assert total_variation([0, 0], [0, 0]) == 0.0
    with pytest.raises(ValueError, match="different shapes"):
        total_variation([1, 0], [1, 0, 0])
    with pytest.raises(ValueError, match=">= 0"):
        normalise([1, -1])


def test_distances_by_hand():
    ours = histograms([np.array([60, HOLD, 67, HOLD])])  # C, G; +7; 2 onsets, 2 holds
    theirs = histograms([np.array([60, 62, 64, 65])])  # C, D, E, F; +2 +2 +1; 4 onsets
    found = distances(ours, theirs)
    assert found["pitch_class"] == pytest.approx(0.75)  # C 0.5 vs 0.25; G 0.5 vs 0
    assert found["interval"] == 1.0
    assert found["rhythm"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="missing"):
        distances({"rhythm": ours["rhythm"]}, theirs)


def test_bins_and_names():
    counts = histograms([np.array([60, 62])])
    assert tuple(counts) == HISTOGRAMS
    assert {name: counts[name].size for name in HISTOGRAMS} == BINS


def test_demo_baseline_is_the_issue_s_figures():
    first, second = demo_halves()
    assert len(first) == len(second) == 5
    baseline = demo_baseline()
    assert baseline == {name: pytest.approx(value, abs=0.005) for name, value in
                        {"pitch_class": 0.130, "interval": 0.166, "rhythm": 0.026}.items()}
    assert similarity(demo_melodies()) == {name: 0.0 for name in HISTOGRAMS}
    assert similarity(first, second) == baseline
