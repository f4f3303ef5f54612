"""The RL Tuner statistics."""

import json

import numpy as np
import pytest

from mammad_envs.melody import HOLD, REST
from mammad_envs.music import parse_key
from rewards import metrics
from rewards.theory import rules as R


def reference_table(melodies, key="C major", lowest=48):
    """The statistics recomputed one step at a time with the plain rule functions."""
    steps = repeated = not_in_key = motif = repeated_motif = resolved = doubled = 0
    start_tonic = unique_max = unique_min = 0
    autocorrelations = []
    for melody in melodies:
        melody = np.asarray(melody)
        context = R.RuleContext(parse_key(key), len(melody), lowest)
        outcomes = R.leap_outcomes(melody)
        resolved += (outcomes == 1).sum()
        doubled += (outcomes == -1).sum()
        for t, event in enumerate(melody):
            composition, event = melody[:t], int(event)
            steps += 1
            repeated += R.is_excessive_repeat(composition, event)
            not_in_key += R.key_rule(composition, event, context) < 0
            motif += R.motif_rule(composition, event, context) > 0
            repeated_motif += R.is_repeated_motif(composition, event)
        start_tonic += melody[0] == 60
        pitches = melody[melody >= 0]
        if pitches.size:
            unique_max += (pitches == pitches.max()).sum() == 1
            unique_min += (pitches == pitches.min()).sum() == 1
        series = R.action_indices(melody, lowest)
        autocorrelations.append([R.autocorrelation(series, lag) for lag in (1, 2, 3)])
    mean = np.nanmean(np.array(autocorrelations, dtype=float), axis=0)
    n = len(melodies)
    return {
        "notes excessively repeated": repeated / steps,
        "mean autocorrelation lag 1": mean[0], "mean autocorrelation lag 2": mean[1],
        "mean autocorrelation lag 3": mean[2],
        "notes not in key": not_in_key / steps,
        "compositions starting with tonic": start_tonic / n,
        "leaps resolved": resolved / (resolved + doubled),
        "compositions with unique max note": unique_max / n,
        "compositions with unique min note": unique_min / n,
        "notes in motif": motif / steps,
        "notes in repeated motif": repeated_motif / steps,
    }


def test_statistics_agree_with_the_rules_on_random_melodies():
    rng = np.random.default_rng(1)
    melodies = list(rng.choice([60, 62, 64, 65, 67, 69, 71, 72, 61, 66, HOLD, REST],
                               size=(150, 32)))
    motifs = rng.choice([60, 62, 64, 67, HOLD], size=(50, 8))
    melodies += list(np.tile(motifs, 4))
    melodies += [rng.choice([55, 60, 64, 79, HOLD], size=20) for _ in range(30)]  # other length
    table = metrics.evaluate(melodies)
    expected = reference_table(melodies)
    for name in metrics.TABLE_1:
        assert table[name] == pytest.approx(expected[name], rel=1e-12), name
    assert table["compositions"] == 230 and table["steps"] == 200 * 32 + 30 * 20
    assert 0 < table["notes in repeated motif"] and 0 < table["leaps resolved"] < 1


def test_hand_computed_table():
    melody = [60, 64, 67, 64, 60, 71, HOLD, REST]
    table = metrics.evaluate([melody])
    assert table["compositions starting with tonic"] == 1.0
    assert table["notes not in key"] == 0.0
    assert table["intervals: thirds"] == pytest.approx(2 / 8)  # 60-64, 64-60 (4 semitones)
    assert table["intervals: fourths"] == 0.0
    assert table["intervals: sixths"] == 0.0
    assert table["intervals: sevenths"] == pytest.approx(1 / 8)  # 60-71
    assert table["intervals: fifths"] == 0.0
    assert table["intervals: more than an octave"] == 0.0
    assert table["intervals: seconds"] == 0.0
    assert table["rests"] == pytest.approx(1 / 8)
    assert table["compositions with unique max note"] == 1.0  # 71 once
    assert table["compositions with unique min note"] == 0.0  # 60 twice
    assert table["notes in motif"] == pytest.approx(1 / 8)  # only the 8th step has 8 events
    assert np.isnan(table["leaps resolved"])  # the leap 60 -> 71 is never resolved nor doubled
    resolved = metrics.evaluate([[60, 71, 69, 67, 65, 64, 62, 60]])
    assert resolved["leaps resolved"] == 1.0


def test_leaps_resolved_is_nan_without_leaps():
    table = metrics.evaluate([[60, 62, 64, 65]])
    assert np.isnan(table["leaps resolved"])
    assert "n/a" in metrics.format_table(table)


def test_large_batches_are_chunked(monkeypatch):
    monkeypatch.setattr(metrics, "CHUNK", 7)
    rng = np.random.default_rng(2)
    melodies = rng.choice([60, 62, 64, 67, 71, HOLD, REST], size=(30, 16))
    monkeypatch.setattr(metrics, "CHUNK", 7)
    chunked = metrics.evaluate(melodies)
    monkeypatch.setattr(metrics, "CHUNK", 1000)
    whole = metrics.evaluate(melodies)
    for name in metrics.TABLE_1:
        assert chunked[name] == pytest.approx(whole[name], nan_ok=True)


def test_format_and_json(tmp_path):
    table = metrics.evaluate([[60, 62, 64, 65, 67, 65, 64, 62]])
    text = metrics.format_table(table)
    assert "| notes not in key | 0% |" in text and "| compositions | 1 |" in text
    data = json.loads(metrics.save_json(table, tmp_path / "s" / "stats.json").read_text())
    assert data["compositions"] == 1 and data["leaps resolved"] is None


def test_bad_input():
    with pytest.raises(ValueError, match="at least one non-empty melody"):
        metrics.evaluate([])
    with pytest.raises(ValueError, match=r"melodies\[1\]\[0\] = 200|melodies\[1\]"):
        metrics.evaluate([[60], [200]])
    with pytest.raises(ValueError, match="unknown key"):
        metrics.evaluate([[60]], key="X major")
