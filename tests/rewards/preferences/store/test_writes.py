"""Tests of the preference store's writes: melodies, pairs and labels, and what they refuse."""

import sqlite3
from datetime import datetime, timezone

import numpy as np
import pytest

from mammad_envs.melody import MELODY_DTYPE
from rewards.preferences import AlreadyLabelledError, Context, PreferenceStoreError
from tests.rewards.preferences.store.helpers import (
    MELODY_1,
    MELODY_2,
    MELODY_3,
    melodies_in,
    snapshot,
)

# ------------------------------------------------------------------------ melodies


def test_melody_round_trip_with_context(store):
    melody_id = store.add_melody(np.array(MELODY_1), "seed", accompaniment="march",
                                 key="a minor", ref="tune 7")
    stored = store.melody(melody_id)
    assert stored.events.dtype == MELODY_DTYPE
    np.testing.assert_array_equal(stored.events, MELODY_1)
    assert (stored.accompaniment, stored.key, stored.source, stored.ref) == (
        "march", "A minor", "seed", "tune 7")
    assert stored.context == Context("march", "A minor", 8) and stored.steps == 8
    datetime.fromisoformat(stored.created)


def test_the_same_melody_in_the_same_context_has_one_id(store):
    first = store.add_melody(MELODY_1, "seed", key="C major")
    assert store.add_melody(np.array(MELODY_1, dtype=np.int64), "policy", key="C major",
                            ref="later") == first
    assert store.melody(first).source == "seed"  # the first source and ref stay
    assert store.add_melody(MELODY_1, "seed", key="G major") != first
    assert store.add_melody(MELODY_1, "seed", key="C major", accompaniment="rock") != first
    assert store.add_melody(MELODY_1, "seed") != first
    assert store.counts()["melodies"] == 4


def test_add_melodies_is_one_transaction(store):
    ids = store.add_melodies([MELODY_1, MELODY_2, MELODY_1], "run", ref="runs/x")
    assert ids[0] == ids[2] != ids[1]
    before = snapshot(store)
    with pytest.raises(PreferenceStoreError, match=r"melodies\[2\]\[1\] = 300"):
        store.add_melodies([MELODY_3, MELODY_2, [60, 300]], "run")
    assert snapshot(store) == before
    assert [m.id for m in store.melodies(source="run")] == sorted(set(ids))
    assert store.melodies(source="seed") == []


@pytest.mark.parametrize(("melody", "arguments", "message"), [
    ([60, 128], {}, r"melody\[1\] = 128 is not a MIDI pitch"),
    ([[60, 62]], {}, "one-dimensional"),
    ([60.5, 62.0], {}, "integers"),
    ([], {}, "empty"),
    (MELODY_1, {"source": "radio"}, r"unknown melody source 'radio': use one of seed, midi"),
    (MELODY_1, {"key": "H major"}, "unknown key 'H major'"),
    (MELODY_1, {"accompaniment": ""}, "accompaniment must be a non-empty name"),
    (MELODY_1, {"ref": None}, "ref must be a string"),
])
def test_bad_melodies_are_refused_with_the_database_unchanged(store, melody, arguments,
                                                              message):
    store.add_melody(MELODY_2, "seed")
    before = snapshot(store)
    arguments = {"source": "seed", **arguments}
    with pytest.raises(PreferenceStoreError, match=message) as error:
        store.add_melody(melody, **arguments)
    assert isinstance(error.value, ValueError)
    assert snapshot(store) == before


def test_unknown_melody_id(store):
    with pytest.raises(PreferenceStoreError, match="no melody has id 5"):
        store.melody(5)
    with pytest.raises(PreferenceStoreError, match="melody id"):
        store.melody("5")


# ------------------------------------------------------------------------ pairs


def test_pair_round_trip(store):
    a, b = melodies_in(store, 2)
    token = store.new_pair(a, b)
    assert isinstance(token, str) and len(token) >= 16
    pair = store.pair(token)
    assert (pair.token, pair.a.id, pair.b.id, pair.label) == (token, a, b, None)
    np.testing.assert_array_equal(pair.b.events, store.melody(b).events)
    assert pair.context == Context("march", "A minor", 16)
    again = store.new_pair(a, b)  # the same melodies, asked again: a new pair
    assert again != token
    assert [p.token for p in store.unlabelled_pairs()] == [token, again]
    assert [p.token for p in store.unlabelled_pairs(limit=1)] == [token]
    assert store.next_pair().token == token
    assert store.next_pair(shuffle=True).token in {token, again}
    store.record(token, "a", "human:alice")
    store.record(again, "skip", "human:alice")
    assert store.next_pair() is None and store.unlabelled_pairs() == []


@pytest.mark.parametrize(("context", "shown"), [
    ({"accompaniment": "rock"}, r"accompaniment 'march', key 'A minor', 16 steps\) and "
                                r"melody 3 has \(accompaniment 'rock', key 'A minor', 16 steps"),
    ({"key": "C major"}, r"melody 3 has \(accompaniment 'march', key 'C major', 16 steps"),
    ({"steps": 32}, r"melody 3 has \(accompaniment 'march', key 'A minor', 32 steps"),
    ({"accompaniment": None, "key": None}, r"melody 3 has \(accompaniment None, key None"),
])
def test_pairs_of_different_contexts_are_refused(store, context, shown):
    a, b = melodies_in(store, 2)
    arguments = {"accompaniment": "march", "key": "A minor", "steps": 16, **context}
    (other,) = melodies_in(store, 1, seed=1, **arguments)
    before = snapshot(store)
    with pytest.raises(PreferenceStoreError, match=rf"melodies 1 and 3 do not share their "
                                                   rf"context: melody 1 has \(.*{shown}"):
        store.new_pair(a, other)
    with pytest.raises(PreferenceStoreError):
        store.new_pairs([(a, b), (a, other)])  # the good pair is not made either
    assert snapshot(store) == before


def test_a_melody_is_not_paired_with_itself_or_a_missing_one(store):
    a, _ = melodies_in(store, 2)
    before = snapshot(store)
    with pytest.raises(PreferenceStoreError, match=rf"paired with itself \(id {a}\)"):
        store.new_pair(a, a)
    with pytest.raises(PreferenceStoreError, match="no melody has id 99"):
        store.new_pair(a, 99)
    assert snapshot(store) == before


def test_the_database_itself_refuses_a_pair_of_two_contexts(store):
    a, b = melodies_in(store, 2)
    (other,) = melodies_in(store, 1, key="C major")
    conn = store._connection()
    with pytest.raises(sqlite3.IntegrityError, match="share accompaniment, key and length"):
        conn.execute("INSERT INTO pairs (token, melody_a, melody_b, created) "
                     "VALUES ('t', ?, ?, 'now')", (a, other))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO comparisons (token, choice, labeler, time) "
                     "VALUES ('missing', 'a', 'x', 'now')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO melodies (digest, events, steps, source, created) "
                     "VALUES ('d', x'3c00', 1, 'radio', 'now')")


def test_unknown_pair_token(store):
    with pytest.raises(PreferenceStoreError, match="unknown pair token 'nope'"):
        store.pair("nope")


# ------------------------------------------------------------------------ labels


def test_record_and_read_a_label(store):
    token = store.new_pair(*melodies_in(store, 2))
    when = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert store.record(token, " A ", "human:alice", time=when) is True
    label = store.pair(token).label
    assert (label.choice, label.labeler, label.target) == ("a", "human:alice", 1.0)
    assert datetime.fromisoformat(label.time) == when


def test_a_double_click_counts_once(store):
    token = store.new_pair(*melodies_in(store, 2))
    assert store.record(token, "b", "human:alice") is True
    before = snapshot(store)
    assert store.record(token, "b", "human:alice") is False
    assert store.record(token, "B", "human:alice") is False
    assert snapshot(store) == before
    assert store.counts()["choices"] == {"a": 0, "b": 1, "tie": 0, "skip": 0}


@pytest.mark.parametrize(("choice", "labeler"), [("a", "human:alice"), ("b", "human:bob")])
def test_a_different_label_for_a_labelled_pair_is_refused(store, choice, labeler):
    token = store.new_pair(*melodies_in(store, 2))
    store.record(token, "b", "human:alice")
    before = snapshot(store)
    with pytest.raises(AlreadyLabelledError,
                       match="already labelled 'b' by 'human:alice'") as error:
        store.record(token, choice, labeler)
    assert error.value.token == token and error.value.label.choice == "b"
    assert snapshot(store) == before


@pytest.mark.parametrize(("token", "choice", "labeler", "message"), [
    ("no-such-token", "a", "human:alice", "unknown pair token 'no-such-token'"),
    (None, "a", "human:alice", "a pair token is a non-empty string, got None"),
    ("GOOD", "left", "human:alice", "unknown choice 'left': use one of 'a', 'b', 'tie', 'skip'"),
    ("GOOD", 1, "human:alice", "unknown choice 1: use one of 'a', 'b', 'tie', 'skip'"),
    ("GOOD", "a", "", "labeler must be a non-empty string"),
    ("GOOD", "a", "   ", "labeler must be a non-empty string"),
    ("GOOD", "a", None, "labeler must be a non-empty string"),
])
def test_invalid_labels_are_refused_with_the_database_unchanged(store, token, choice, labeler,
                                                                message):
    good = store.new_pair(*melodies_in(store, 2))
    other = store.new_pair(*melodies_in(store, 2, seed=1))
    store.record(other, "tie", "human:bob")
    before = snapshot(store)
    with pytest.raises(PreferenceStoreError, match=message):
        store.record(good if token == "GOOD" else token, choice, labeler)
    assert snapshot(store) == before
    assert store.pair(good).label is None


def test_a_bad_time_is_refused(store):
    token = store.new_pair(*melodies_in(store, 2))
    with pytest.raises(PreferenceStoreError, match="'yesterday' is not an ISO 8601 time"):
        store.record(token, "a", "human:alice", time="yesterday")
    assert store.pair(token).label is None
    store.record(token, "a", "human:alice", time="2025-05-01T12:00:00Z")
    assert store.pair(token).label.time == "2025-05-01T12:00:00.000000+00:00"


def test_record_many_is_all_or_nothing(store):
    tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed)) for seed in range(3)])
    before = snapshot(store)
    with pytest.raises(PreferenceStoreError, match="unknown pair token 'gone'"):
        store.record_many([(tokens[0], "a", "synthetic:theory"),
                           ("gone", "a", "synthetic:theory")])
    assert snapshot(store) == before
    labels = [(tokens[0], "a", "synthetic:theory"), (tokens[1], "tie", "synthetic:theory"),
              (tokens[0], "a", "synthetic:theory")]
    assert store.record_many(labels) == 2
    assert store.record_many(labels + [(tokens[2], "skip", "synthetic:theory")]) == 1


