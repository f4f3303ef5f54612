"""Hand-computed cases for every music-theory rule, from the definitions."""

import numpy as np
import pytest

from mammad_envs.melody import HOLD, REST
from mammad_envs.music import parse_key
from rewards.theory import rules as R
from rewards.theory.rules import RuleContext

C = RuleContext(parse_key("C major"), steps=32, lowest=48)


def run(rule, composition, event, context=C):
    return rule(np.array(composition, dtype=np.int64), event, context)


def test_key():
    assert run(R.key_rule, [], 61) == -1.0
    assert run(R.key_rule, [], 62) == 0.0
    assert run(R.key_rule, [], HOLD) == run(R.key_rule, [], REST) == 0.0
    g_major = RuleContext(parse_key("G major"), 32, 48)
    assert run(R.key_rule, [], 66, g_major) == 0.0 and run(R.key_rule, [], 65, g_major) == -1.0


def test_tonic():
    assert run(R.tonic_rule, [], 60) == 3.0
    assert run(R.tonic_rule, [], 72) == 0.0  # only middle C counts
    assert run(R.tonic_rule, [62] * 10, 60) == 0.0
    assert run(R.tonic_rule, [62] * 28, 60) == 3.0  # step 28 = steps - 4
    assert run(R.tonic_rule, [62] * 29, HOLD) == 3.0
    assert run(R.tonic_rule, [62] * 29, REST) == 0.0
    assert run(R.tonic_rule, [62] * 30, REST) == 3.0 and run(R.tonic_rule, [62] * 31, HOLD) == 3.0
    a_minor = RuleContext(parse_key("A minor"), 32, 48)
    assert run(R.tonic_rule, [], 69, a_minor) == 3.0
    assert run(R.tonic_rule, [], 57, RuleContext(parse_key("A minor"), 32, 48, tonic=57)) == 3.0


def test_repeating_a_sixth_repeated_note_is_penalised():
    assert run(R.repeating_rule, [60] * 4, 60) == 0.0  # the fifth 60
    assert run(R.repeating_rule, [60] * 5, 60) == -100.0  # the sixth 60
    assert run(R.repeating_rule, [62, 60, 60, 60, 60, 60], 62) == 0.0


def test_repeating_allows_more_with_holds_or_rests():
    assert run(R.repeating_rule, [60, HOLD, 60, 60, 60, 60, 60], 60) == 0.0  # 7th, with a hold
    assert run(R.repeating_rule, [60, HOLD] + [60] * 6, 60) == -100.0  # 8th: 7 before it
    assert run(R.repeating_rule, [60, REST] + [60] * 6, 60) == -100.0
    assert run(R.repeating_rule, [REST, 60, 60, 60, 60, 60], 60) == 0.0  # rest before counts


def test_repeating_rests_and_holds():
    assert run(R.repeating_rule, [60, REST], REST) == 0.0
    assert run(R.repeating_rule, [60, REST, REST], REST) == -100.0  # a third REST
    assert run(R.repeating_rule, [60, HOLD, HOLD, HOLD, HOLD], HOLD) == 0.0
    assert run(R.repeating_rule, [60] + [HOLD] * 5, HOLD) == -100.0  # a sixth HOLD
    assert run(R.repeating_rule, [60, REST] + [HOLD] * 5, HOLD) == 0.0
    assert run(R.repeating_rule, [60, REST] + [HOLD] * 7, HOLD) == -100.0


def test_autocorrelation_above_threshold_is_penalised():
    # A strictly alternating line: lag-1 coefficient -1, lag-2 about +1.
    melody = [60, 64] * 4
    series = R.action_indices(np.array(melody), 48)
    np.testing.assert_array_equal(series[:2], [14, 18])
    coefficients = [R.autocorrelation(series, lag) for lag in (1, 2, 3)]
    expected = []
    x = series - series.mean()
    for lag in (1, 2, 3):
        expected.append((x[lag:] * x[:-lag]).sum() / len(x) / series.var())
    np.testing.assert_allclose(coefficients, expected)
    penalty = run(R.autocorrelation_rule, melody[:-1], melody[-1])
    assert penalty == pytest.approx(-3 * sum(abs(c) for c in coefficients if abs(c) > 0.15))
    assert penalty < -5


def test_autocorrelation_undefined_or_small_gives_nothing():
    assert run(R.autocorrelation_rule, [], 60) == 0.0  # one value: variance 0
    assert run(R.autocorrelation_rule, [60, 60, 60], 60) == 0.0
    assert np.isnan(R.autocorrelation(np.array([5, 5, 5]), 1))


def test_autocorrelation_threshold_is_exact():
    # series 0, 0, 1, 0 ... pick one whose lag coefficient is exactly 0.15 = 3/20 and check it
    # is not penalised, with integer arithmetic.
    numerator, denominator = 3, 20
    assert R.autocorrelation_penalty([numerator], denominator) == 0.0
    assert R.autocorrelation_penalty([numerator + 1], denominator) == pytest.approx(-0.6)


def test_motif():
    assert run(R.motif_rule, [60, 62, 64, HOLD, HOLD, HOLD, HOLD], HOLD) == 3.0
    assert run(R.motif_rule, [60, 62, 64, 65, 67, HOLD, HOLD], HOLD) == pytest.approx(3.6)
    assert run(R.motif_rule, [60, 62, HOLD, HOLD, HOLD, HOLD, REST], HOLD) == 0.0  # 2 pitches
    assert run(R.motif_rule, [60, 62, 64], 65) == 0.0  # shorter than 8
    # only the last 8 events count
    assert run(R.motif_rule, [60, 62, 64, 65, 65, 65, 65, 65, 65, 65], 65) == 0.0


def test_repeated_motif():
    motif = [60, 62, 64, 65, HOLD, 67, HOLD, REST]
    composition = motif + [72] + motif[:-1]
    assert run(R.repeated_motif_rule, composition, motif[-1]) == 4.0 + 2  # 5 pitches
    # the repeat must lie wholly before the current window: an overlapping one does not count
    assert not R.is_repeated_motif(np.array(motif[:-1] + motif[:4]), 65)
    # not a motif (two pitches): no reward even when repeated
    plain = [60, 62, HOLD, HOLD, HOLD, HOLD, HOLD, HOLD]
    assert run(R.repeated_motif_rule, plain + plain[:-1], HOLD) == 0.0
    assert run(R.motif_rule, composition, motif[-1]) == pytest.approx(3.6)


@pytest.mark.parametrize("previous, event, value", [
    ([], 60, 0.0),              # no previous pitch
    ([REST], 60, 0.0),
    ([62], REST, 0.05), ([62], HOLD, 0.075),
    ([60], REST, 0.15), ([67, HOLD], HOLD, 0.3),   # after C or G
    ([62], 73, -0.3),           # major seventh
    ([62], 75, -1.0),           # more than an octave
    ([60], 67, 0.1), ([67], 60, 0.1),   # fifth from C or G
    ([62], 69, 0.02),           # another fifth
    ([60], 64, 0.15), ([64], 68, 0.15), ([64], 60, 0.15),  # thirds from C or E, either way
    ([65], 69, 0.09),
    ([60], 62, 0.08), ([60], 65, 0.07), ([60], 69, 0.05),
    ([60], 61, 0.0), ([60], 63, 0.0), ([60], 66, 0.0), ([60], 72, 0.0), ([60], 60, 0.0),
    ([60, 62, REST, HOLD], 64, 0.08),   # measured from the last pitch, over rests
])
def test_preferred_intervals(previous, event, value):
    assert run(R.preferred_intervals_rule, previous, event) == pytest.approx(5 * value)


def test_preferred_intervals_in_a_minor_key():
    a_minor = RuleContext(parse_key("A minor"), 32, 48)
    assert run(R.preferred_intervals_rule, [69], 76, a_minor) == pytest.approx(0.5)  # A -> E
    assert run(R.preferred_intervals_rule, [72], 76, a_minor) == pytest.approx(0.75)  # C -> E
    assert run(R.preferred_intervals_rule, [69], REST, a_minor) == pytest.approx(0.75)


def test_leap_resolved_by_stepping_back():
    # leap up C4 -> A4 (9), then step back down to C4: resolved
    assert run(R.leap_rule, [60], 69) == 0.0
    assert run(R.leap_rule, [60, 69, 67, 65, 64, 62], 60) == 5.0
    assert run(R.leap_rule, [60, 69, 67, 65, 64], 62) == 0.0  # not back yet


def test_leap_doubled():
    assert run(R.leap_rule, [60, 67], 74) == -5.0  # two fifths up
    assert run(R.leap_rule, [60, 67, HOLD], 74) == -5.0


def test_leap_back_resolves_only_after_six_steps():
    assert run(R.leap_rule, [60, 67], 60) == 0.0  # leap back at once: cleared, no bonus
    assert R.leap_outcomes(np.array([60, 67, 60, 67]))[-1] == 0  # ... and forgotten
    waited = [60, 67] + [HOLD] * 7
    assert run(R.leap_rule, waited, 60) == 5.0
    assert run(R.leap_rule, [60, 67] + [HOLD] * 5, 60) == 0.0


def test_unique_extremes_on_the_final_step_only():
    context = RuleContext(parse_key("C major"), steps=6, lowest=48)
    assert run(R.unique_extremes_rule, [60, 64, 62, 62, 67], 64, context) == 6.0
    assert run(R.unique_extremes_rule, [60, 64, 62, 62, 67], 67, context) == 3.0  # top twice
    assert run(R.unique_extremes_rule, [60, 64, 62, 62, 60], 67, context) == 3.0  # bottom twice
    assert run(R.unique_extremes_rule, [60, 64, 62, 62], 67, context) == 0.0  # not final
    assert run(R.unique_extremes_rule, [REST] + [HOLD] * 4, HOLD, context) == 0.0


def test_register_rule():
    @R.register_rule("test_no_low_notes")
    def no_low(composition, event, context):
        return -1.0 if 0 <= event < 55 else 0.0

    try:
        assert R.RULES["test_no_low_notes"] is no_low
        with pytest.raises(ValueError, match="exists already"):
            R.register_rule("test_no_low_notes", no_low)
        with pytest.raises(ValueError, match="exists already"):
            R.register_rule("key", no_low, overwrite=True)
        with pytest.raises(ValueError, match="must be an identifier"):
            R.register_rule("no low", no_low)
        with pytest.raises(ValueError, match="must be a function"):
            R.register_rule("test_not_callable", 3)
    finally:
        R.RULES.pop("test_no_low_notes", None)
