"""Tests of the preference store's reads of labelled pairs and counts."""

import numpy as np
import pytest

from rewards.preferences import CHOICES, Context, PreferenceStoreError
from tests.rewards.preferences.store.helpers import MELODY_1, melodies_in


def test_comparisons_hold_what_a_trainer_needs(store):
    tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed)) for seed in range(5)])
    store.new_pair(*melodies_in(store, 2, seed=9, accompaniment=None, key=None, steps=8))
    for token, choice in zip(tokens, ["b", "skip", "a", "tie"], strict=False):
        store.record(token, choice, "human:alice")
    comparisons = store.comparisons()
    assert [(p.token, p.label.choice, p.label.target) for p in comparisons] == [
        (tokens[0], "b", 0.0), (tokens[2], "a", 1.0), (tokens[3], "tie", 0.5)]
    first = comparisons[0]
    np.testing.assert_array_equal(first.a.events, store.melody(first.a.id).events)
    assert first.context == first.b.context == Context("march", "A minor", 16)
    assert [p.label.choice for p in store.comparisons(include=CHOICES)] == ["b", "skip", "a",
                                                                          "tie"]
    assert [p.token for p in store.comparisons(include="skip")] == [tokens[1]]
    with pytest.raises(PreferenceStoreError, match="unknown choice 'maybe'"):
        store.comparisons(include=("a", "maybe"))


def test_counts(store):
    tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed)) for seed in range(3)])
    store.add_melody(MELODY_1, "midi", ref="tune.mid")
    store.record(tokens[0], "a", "human:alice")
    store.record(tokens[1], "a", "synthetic:theory")
    assert store.counts() == {
        "melodies": 7, "pairs": 3, "labelled": 2, "unlabelled": 1,
        "choices": {"a": 2, "b": 0, "tie": 0, "skip": 0},
        "labelers": {"human:alice": 1, "synthetic:theory": 1},
        "sources": {"midi": 1, "sampler": 6},
    }


