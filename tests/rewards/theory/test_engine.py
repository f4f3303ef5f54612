"""The incremental batched engine gives exactly the plain rule functions' values."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mammad_envs.melody import HOLD, REST
from mammad_envs.music import parse_key
from rewards.theory import rules as R
from rewards.theory.engine import TheoryEngine

KEYS = st.sampled_from(["C major", "A minor", "G major", "Eb minor"])


@st.composite
def batches(draw):
    """A few melodies over a small alphabet, so repeats, motifs and leaps all happen."""
    steps = draw(st.integers(1, 40))
    pitches = draw(st.lists(st.integers(40, 90), min_size=1, max_size=5, unique=True))
    alphabet = st.sampled_from(pitches + [HOLD, REST])
    batch = draw(st.integers(1, 4))
    return np.array([[draw(alphabet) for _ in range(steps)] for _ in range(batch)])


@settings(max_examples=120, deadline=None)
@given(melodies=batches(), key=KEYS, lowest=st.sampled_from([21, 48]))
def test_engine_equals_the_rule_functions(melodies, key, lowest):
    batch, steps = melodies.shape
    context = R.RuleContext(parse_key(key), steps, lowest)
    engine = TheoryEngine(context, batch=batch)
    for t in range(steps):
        out = engine.step(melodies[:, t])
        for b in range(batch):
            composition, event = melodies[b, :t], int(melodies[b, t])
            for name, rule in R.BUILTIN_RULES.items():
                assert out[name][b] == rule(composition, event, context), (name, b, t)
            assert out["_repeat"][b] == R.is_excessive_repeat(composition, event)
            assert out["_repeated_motif"][b] == R.is_repeated_motif(composition, event)


def test_every_rule_fires_on_random_melodies():
    rng = np.random.default_rng(0)
    melodies = rng.choice([60, 62, 64, 67, 69, 72, 61, HOLD, REST], size=(200, 32))
    motifs = rng.choice([60, 62, 64, 65, 67, HOLD], size=(100, 8))
    melodies[100:] = np.tile(motifs, 4)  # half the melodies repeat a motif
    engine = TheoryEngine(R.RuleContext(steps=32), batch=200)
    fired = dict.fromkeys(R.BUILTIN_RULES, 0)
    for t in range(32):
        out = engine.step(melodies[:, t])
        for name in fired:
            fired[name] += int((out[name] != 0).sum())
    assert all(count > 0 for count in fired.values()), fired


@settings(max_examples=60, deadline=None)
@given(motif=st.lists(st.sampled_from([60, 62, 64, 67, HOLD, REST]), min_size=8, max_size=8),
       gap=st.lists(st.sampled_from([60, 71, HOLD]), max_size=6))
def test_engine_finds_repeated_motifs(motif, gap):
    melody = np.array(motif + gap + motif)
    context = R.RuleContext(steps=len(melody))
    engine = TheoryEngine(context, batch=1)
    for t, event in enumerate(melody):
        out = engine.step(np.array([event]))
        assert out["_repeated_motif"][0] == R.is_repeated_motif(melody[:t], int(event))
        assert out["repeated_motif"][0] == R.repeated_motif_rule(melody[:t], int(event), context)


def test_reset_rows_starts_those_melodies_afresh():
    context = R.RuleContext(steps=8)
    engine = TheoryEngine(context, batch=2)
    for event in (60, 67, 74):
        engine.step(np.array([event, event]))
    engine.reset(np.array([1]))
    out = engine.step(np.array([81, 60]))
    assert out["leap"][0] == -5.0  # melody 0 goes on: a third leap up
    assert out["tonic"][1] == 3.0  # melody 1 starts again: C4 on its first step


def test_user_rule_runs_on_the_melody_so_far():
    seen = []

    def count_rule(composition, event, context):
        seen.append(len(composition))
        return float(len(composition))

    R.register_rule("test_length", count_rule)
    try:
        engine = TheoryEngine(R.RuleContext(steps=4), rules=["key", "test_length"], batch=1)
        values = [engine.step(np.array([60]))["test_length"][0] for _ in range(4)]
        assert values == [0.0, 1.0, 2.0, 3.0]
    finally:
        R.RULES.pop("test_length")
