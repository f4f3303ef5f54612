"""The synthetic tastes of ``benchmarks.tastes``: their rankings, edge cases and calibration."""

import doctest

import numpy as np
import pytest

from benchmarks import tastes
from benchmarks.tastes import (
    KINDS,
    TASTES,
    calibrate_temperature,
    consonant_with_accompaniment,
    high_register,
    long_notes,
    narrow_range,
    on_the_beat,
    prior_pairs,
    rising,
    stepwise,
    taste_spec,
)
from feedback.labelers import make_labeler
from mammad_envs.data import load_accompaniments
from mammad_envs.melody import HOLD, REST

H, R = HOLD, REST
ALL = [getattr(tastes, name) for name in KINDS]


@pytest.fixture(scope="module")
def samples():
    """200 Note-RNN melodies of 32 16ths, with accompaniments (a random one or none each)."""
    a, b, accompaniments = prior_pairs(100, steps=32, seed=0)
    return [*a, *b], [*accompaniments, *accompaniments]


def ranks(values):
    """Ranks with ties averaged (for Spearman's correlation)."""
    order = np.argsort(values, kind="stable")
    result = np.empty(len(values))
    result[order] = np.arange(len(values))
    for value in np.unique(values):
        tied = values == value
        result[tied] = result[tied].mean()
    return result


def prefers(taste, better, worse, accompaniment=None):
    """Whether ``taste`` scores ``better`` above ``worse`` (both over ``accompaniment``)."""
    scores = taste([np.array(better), np.array(worse)], accompaniments=[accompaniment] * 2)
    return scores[0] > scores[1]


def test_the_family_has_every_kind_and_defaults_one_of_each():
    assert set(KINDS.values()) == {"register", "rhythm", "contour", "harmony"}
    assert len(KINDS) >= 6
    assert {KINDS[name] for name in TASTES} == set(KINDS.values())
    assert all(TASTES[name] is getattr(tastes, name) for name in TASTES)
    assert taste_spec("stepwise") == "benchmarks.tastes:stepwise"
    with pytest.raises(ValueError, match="unknown taste 'loud'.*stepwise"):
        taste_spec("loud")


def test_the_rlhf_benchmark_still_names_high_register():
    from benchmarks import rlhf

    assert rlhf.high_register is high_register
    assert make_labeler("benchmarks.rlhf:high_register").scorer is high_register


def test_register_tastes():
    assert prefers(high_register, [72, H, 74, 76], [60, H, 62, 64])
    assert high_register([np.array([60, H, H, 64])])[0] == 62  # each note once
    assert prefers(narrow_range, [60, 62, 64, 62], [60, 72, 64, 55])
    assert narrow_range([np.array([60, 67, R, 64])])[0] == -7


def test_rhythm_tastes():
    on_beat = [60, H, H, H, 62, H, H, H, 64, H, H, H, 65, H, H, H]
    off_beat = [R, 60, H, H, H, 62, H, H, H, 64, H, H, H, 65, H, H]
    assert prefers(on_the_beat, on_beat, off_beat)
    assert on_the_beat([np.array(on_beat), np.array(off_beat)]).tolist() == [1.0, 0.0]
    sixteenths = [60, 62, 64, 65, 67, 65, 64, 62]
    halves = [60, H, H, H, H, H, H, H]
    assert prefers(long_notes, halves, sixteenths)
    assert long_notes([np.array([60, H, R, 62, H, H, 64])])[0] == 2  # a REST ends a note


def test_contour_tastes():
    steps = [60, 62, 64, 65, 64, 62]
    leaps = [60, 67, 59, 72, 64, 55]
    assert prefers(stepwise, steps, leaps)
    assert stepwise([np.array([60, R, 62, 62, 69])])[0] == pytest.approx(1 / 3)
    climbing, falling = [60, 62, 64, H, 67], [67, 64, H, 62, 60]
    assert prefers(rising, climbing, falling)
    assert rising([np.array(climbing), np.array(falling)]).tolist() == pytest.approx([1, -1],
                                                                                   abs=0.05)


def harmony(name, step):
    """The pitch classes ``name`` sounds in the half bar of ``step`` (read from the loop)."""
    loop = next(a for a in load_accompaniments() if a.name == name)
    start = step // 8 * 8
    return set(np.flatnonzero(loop.sounding[start:start + 8].any(axis=0)) % 12)


@pytest.mark.parametrize("name", [a.name for a in load_accompaniments()])
def test_consonance_prefers_the_accompaniments_chord_tones(name):
    steps = 16
    consonant, dissonant = [], []
    for step in range(steps):
        chord = harmony(name, step)
        consonant.append(60 + min(chord))
        dissonant.append(60 + min(set(range(12)) - chord))
    assert prefers(consonant_with_accompaniment, consonant, dissonant, name)
    scores = consonant_with_accompaniment([np.array(consonant), np.array(dissonant)],
                                          accompaniments=[name, name])
    assert scores.tolist() == [1.0, 0.0]


def test_consonance_alone_prefers_a_diatonic_melody():
    diatonic = [62, 64, 66, 67, 69, 71, 73, 74]  # D major
    chromatic = [60, 61, 62, 63, 64, 65, 66, 67]
    assert prefers(consonant_with_accompaniment, diatonic, chromatic)
    assert consonant_with_accompaniment([np.array(diatonic)])[0] == 1.0


def test_consonance_refuses_unknown_or_miscounted_accompaniments():
    melody = np.array([60, 62])
    with pytest.raises(ValueError, match="unknown accompaniment 'polka'.*march"):
        consonant_with_accompaniment([melody], accompaniments=["polka"])
    with pytest.raises(ValueError, match="2 accompaniments for 1 melodies"):
        consonant_with_accompaniment([melody], accompaniments=["march", None])


EDGE_CASES = {
    "all rests": [R, R, R, R],
    "rest then holds": [R, H, H, H],
    "all holds": [H, H, H, H],
    "one step": [64],
    "one note": [R, 64, H, H],
    "one rest": [R],
    "one hold": [H],
    "one pitch repeated": [60, 60, 60, 60],
}


@pytest.mark.parametrize("taste", ALL, ids=list(KINDS))
@pytest.mark.parametrize("accompaniment", [None, "habanera"])
def test_edge_cases_give_finite_scores_and_no_note_scores_lowest(taste, accompaniment):
    melodies = [np.array(m) for m in EDGE_CASES.values()]
    scores = taste(melodies, accompaniments=[accompaniment] * len(melodies))
    assert scores.shape == (len(melodies),) and np.isfinite(scores).all()
    silent = scores[[0, 1, 2, 5, 6]]
    assert (silent == silent[0]).all()
    assert (scores >= silent[0]).all()


@pytest.mark.parametrize("taste", ALL, ids=list(KINDS))
def test_tastes_accept_melodies_of_any_length_and_reject_bad_values(taste):
    melodies = [np.array([60]), np.array([60, 62, H, 64, R, 67, 65, 64, 62, 60] * 10)]
    assert np.isfinite(taste(melodies)).all()
    with pytest.raises(ValueError, match=r"melodies\[1\]\[0\] = 200"):
        taste([np.array([60]), np.array([200])])


@pytest.mark.parametrize("name", list(KINDS))
def test_every_taste_labels_through_its_spec(name, samples):
    melodies, accompaniments = samples
    labeler = make_labeler(taste_spec(name), 1.0, 0)
    choices = labeler.label(melodies[:10], melodies[10:20], accompaniments[:10])
    assert len(choices) == 10 and set(choices) <= {"a", "b"}


def test_the_tastes_rank_note_rnn_samples_differently(samples):
    melodies, accompaniments = samples
    scores = {name: ranks(getattr(tastes, name)(melodies, accompaniments=accompaniments))
              for name in KINDS}
    for index, first in enumerate(KINDS):
        assert scores[first].std() > 0, f"{first} ranks every sample the same"
        for second in list(KINDS)[index + 1:]:
            correlation = np.corrcoef(scores[first], scores[second])[0, 1]
            assert abs(correlation) < 0.9, (first, second, correlation)


@pytest.mark.parametrize("name", list(TASTES))
@pytest.mark.parametrize("target", [0.7, 0.85, 0.95])
def test_calibrated_temperature_gives_the_target_agreement(name, target, samples):
    melodies, accompaniments = samples
    a, b, accompaniments = melodies[:100], melodies[100:], accompaniments[:100]
    temperature = calibrate_temperature(TASTES[name], a, b, accompaniments, target)
    labeler = make_labeler(taste_spec(name), temperature, 0)
    p = labeler.probabilities(a, b, accompaniments)
    decided = np.abs(p - 0.5) > 1e-12
    agreement = np.maximum(p, 1 - p)[decided].mean()
    assert agreement == pytest.approx(target, abs=0.01)


def test_calibration_leaves_ties_out_and_refuses_what_it_cannot_do():
    a = [np.array([72, 74]), np.array([60])]
    b = [np.array([60, 62]), np.array([60])]
    temperature = calibrate_temperature(high_register, a, b, target=0.85)
    assert 1 / (1 + np.exp(-12 / temperature)) == pytest.approx(0.85)
    for target in (0.5, 1.0, 0.3, float("nan")):
        with pytest.raises(ValueError, match=f"strictly between 0.5 and 1, got {target}"):
            calibrate_temperature(high_register, a, b, target=target)
    with pytest.raises(ValueError, match="all 1 pairs tie"):
        calibrate_temperature(high_register, a[1:], b[1:])


def test_prior_pairs_mix_accompaniments_and_none():
    a, b, accompaniments = prior_pairs(60, steps=16, seed=3)
    assert len(a) == len(b) == len(accompaniments) == 60
    assert all(m.shape == (16,) for m in [*a, *b])
    assert None in accompaniments and len(set(accompaniments)) >= 4
    again = prior_pairs(60, steps=16, seed=3)
    assert all((x == y).all() for x, y in zip(a, again[0], strict=True))


def test_the_modules_examples_hold():
    results = doctest.testmod(tastes)
    assert results.attempted > 0 and results.failed == 0


def test_figures_tabulate_every_taste():
    rows = tastes.figures(pairs=40, samples=40, steps=16)
    table = [row for row in rows if row.startswith("| `")]
    assert len(table) == 2 * len(KINDS)
    assert all(np.isfinite(float(row.split(" | ")[3])) for row in table[:len(KINDS)])
    assert tastes._ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [2.5, 0.0, 2.5, 1.0]
