"""Tests of the preference store: round trips, validation, double clicks, concurrent and killed
writers, and JSON-lines export and import."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import numpy as np
import pytest

from mammad_envs.melody import HOLD, MELODY_DTYPE, REST
from rewards.preferences import (
    CHOICES,
    FORMAT,
    SCHEMA_VERSION,
    SOURCES,
    AlreadyLabelledError,
    Context,
    PreferenceStore,
    PreferenceStoreError,
)

MELODY_1 = [60, HOLD, 62, HOLD, 64, REST, HOLD, 67]
MELODY_2 = [67, HOLD, 65, HOLD, 64, HOLD, 62, 60]
MELODY_3 = [72, 71, 69, 67, REST, HOLD, HOLD, 60]


def dump(path):
    """Everything in a database, as SQL, read through a connection of its own."""
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def snapshot(store):
    return store.counts(), dump(store.path)


@pytest.fixture
def store(tmp_path):
    with PreferenceStore(tmp_path / "prefs.db") as opened:
        yield opened


def melodies_in(store, count, *, steps=16, accompaniment="march", key="A minor", seed=0):
    rng = np.random.default_rng(seed)
    arrays = [np.where(rng.random(steps) < 0.3, HOLD, rng.integers(55, 80, steps))
              for _ in range(count)]
    return store.add_melodies(arrays, "sampler", accompaniment=accompaniment, key=key,
                              ref=f"seed {seed}")


# ------------------------------------------------------------------------ opening


def test_new_store_is_wal_with_schema_version_and_foreign_keys(tmp_path):
    path = tmp_path / "deep" / "folder" / "prefs.db"
    with PreferenceStore(path) as store:
        assert path.exists()
        conn = store._connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    with PreferenceStore(path, timeout=2) as again:
        assert again.counts()["melodies"] == 0
        assert again._connection().execute("PRAGMA busy_timeout").fetchone()[0] == 2000


def test_a_file_that_is_not_sqlite_is_refused_naming_it(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    with pytest.raises(PreferenceStoreError, match=r"notes\.db.*not a SQLite database"):
        PreferenceStore(path)
    assert path.read_text().startswith("these are my notes")


def test_another_sqlite_database_or_schema_version_is_refused(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(PreferenceStoreError, match=r"other\.db.*something else.*songs"):
        PreferenceStore(other)

    newer = tmp_path / "newer.db"
    PreferenceStore(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(PreferenceStoreError, match=rf"newer\.db.*schema version "
                                                   rf"{SCHEMA_VERSION + 1}.*reads version"):
        PreferenceStore(newer)


def test_a_closed_store_says_so(tmp_path):
    store = PreferenceStore(tmp_path / "prefs.db")
    store.close()
    store.close()
    with pytest.raises(PreferenceStoreError, match="closed"):
        store.counts()


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


def test_threads_can_share_one_store(store):
    tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed)) for seed in range(40)])
    results = []

    def label(offset):
        results.extend(store.record(token, "a", "human:alice") for token in tokens[offset::2])
        results.extend(store.record(token, "a", "human:alice") for token in tokens)

    threads = [threading.Thread(target=label, args=(offset,)) for offset in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 40 and len(results) == 120
    assert store.counts()["labelled"] == 40


def test_a_store_opened_in_another_process_is_not_used_after_fork(store):
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            store.counts()
            message = b"used"
        except PreferenceStoreError as error:
            message = str(error).encode()
        os.write(write, message)
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert b"open a new one in each process" in os.read(read, 1000)
    os.close(read)
    assert store.counts()["melodies"] == 0


# ------------------------------------------------------------------------ export and import


def fill(store):
    tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed)) for seed in range(3)])
    tokens += store.new_pairs([tuple(melodies_in(store, 2, seed=7, accompaniment=None,
                                                 key=None, steps=8))])
    store.add_melody(MELODY_1, "midi", key="C major", ref="fiddle/tune.mid")
    store.record(tokens[0], "a", "human:alice")
    store.record(tokens[1], "skip", "human:bob")
    store.record(tokens[3], "tie", "synthetic:theory")
    return tokens


def content(store):
    """The store's contents, independent of its row ids."""
    melodies = sorted((m.events.tobytes(), m.accompaniment, m.key, m.source, m.ref, m.created)
                      for m in store.melodies())
    pairs = sorted((p.token, p.a.events.tobytes(), p.b.events.tobytes(), p.created,
                    p.label) for p in store.unlabelled_pairs() + store.comparisons(CHOICES))
    return melodies, pairs


def test_export_import_round_trip_and_idempotence(tmp_path, store):
    fill(store)
    exported = tmp_path / "out" / "prefs.jsonl"
    assert store.export_jsonl(exported) == {"melodies": 9, "pairs": 4, "labels": 3}
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["format"] == FORMAT
    assert [line["type"] for line in lines[1:]] == ["melody"] * 9 + ["pair"] * 4
    assert all(isinstance(event, int) for event in lines[1]["events"])
    assert list(exported.parent.iterdir()) == [exported]  # no scratch file left

    with PreferenceStore(tmp_path / "copy.db") as copy:
        assert copy.import_jsonl(exported) == {"melodies": 9, "pairs": 4, "labels": 3}
        assert content(copy) == content(store)
        before = dump(copy.path)
        assert copy.import_jsonl(exported) == {"melodies": 0, "pairs": 0, "labels": 0}
        assert dump(copy.path) == before
        again = tmp_path / "again.jsonl"
        copy.export_jsonl(again)
        assert again.read_text().splitlines()[1:] == exported.read_text().splitlines()[1:]


def test_import_merges_into_a_store_with_content(tmp_path, store):
    tokens = fill(store)
    exported = tmp_path / "prefs.jsonl"
    store.export_jsonl(exported)
    with PreferenceStore(tmp_path / "other.db") as other:
        mine = other.add_melody(MELODY_2, "seed")
        other.new_pair(mine, other.add_melody(MELODY_3, "seed"))
        other.import_jsonl(exported)
        assert other.counts()["pairs"] == 5 and other.counts()["labelled"] == 3
        other.record(tokens[2], "b", "human:carol")  # labelled here after the export
    store.record(tokens[2], "b", "human:carol")
    store.export_jsonl(exported)
    with PreferenceStore(tmp_path / "other.db") as other:
        assert other.import_jsonl(exported) == {"melodies": 0, "pairs": 0, "labels": 0}


def test_import_refuses_a_conflicting_label_or_token(tmp_path, store):
    tokens = fill(store)
    exported = tmp_path / "prefs.jsonl"
    store.export_jsonl(exported)
    with PreferenceStore(tmp_path / "other.db") as other:
        other.import_jsonl(exported)
        other_lines = exported.read_text().splitlines()
        pair_line = 1 + next(index for index, line in enumerate(other_lines)
                             if tokens[0] in line)
        changed = exported.read_text().replace('"choice": "a"', '"choice": "b"')
        conflict = tmp_path / "conflict.jsonl"
        conflict.write_text(changed)
        before = snapshot(other)
        with pytest.raises(PreferenceStoreError, match=rf"line {pair_line}: pair .* is already "
                                                       rf"labelled 'a'"):
            other.import_jsonl(conflict)
        swapped = [json.loads(line) for line in other_lines]
        swapped[pair_line - 1]["a"], swapped[pair_line - 1]["b"] = (
            swapped[pair_line - 1]["b"], swapped[pair_line - 1]["a"])
        conflict.write_text("".join(json.dumps(line) + "\n" for line in swapped))
        with pytest.raises(PreferenceStoreError, match=rf"line {pair_line}: pair .* already in "
                                                       rf"the store with other melodies"):
            other.import_jsonl(conflict)
        assert snapshot(other) == before


def edit(lines, number, change):
    """Line ``number`` (1-based) of an export replaced by ``change(entry)`` (a dict or text)."""
    lines = list(lines)
    entry = json.loads(lines[number - 1])
    result = change(entry)
    lines[number - 1] = result if isinstance(result, str) else json.dumps(result)
    return lines


@pytest.mark.parametrize(("number", "change", "message"), [
    (3, lambda e: '{"type": "melody", "id": 2,', "not JSON"),
    (3, lambda e: "[1, 2, 3]", "expected an object with a type among header, melody, pair"),
    (3, lambda e: {**e, "type": "song"}, "expected an object with a type"),
    (3, lambda e: {k: v for k, v in e.items() if k != "events"}, "missing events"),
    (3, lambda e: {**e, "colour": "red"}, "unknown colour"),
    (3, lambda e: {**e, "events": [60, 200]}, r"events\[1\] = 200 is not a MIDI pitch"),
    (3, lambda e: {**e, "events": "C D E"}, "events must"),
    (3, lambda e: {**e, "id": 1}, "melody id 1 appears twice"),
    (3, lambda e: {**e, "source": "radio"}, "unknown melody source 'radio'"),
    (3, lambda e: {**e, "key": "Q minor"}, "unknown key 'Q minor'"),
    (3, lambda e: {**e, "created": "soon"}, "'soon' is not an ISO 8601 time"),
    (11, lambda e: {**e, "a": 42}, "a = 42 is not the id of a melody of an earlier line"),
    (11, lambda e: {**e, "b": e["a"]}, "paired with itself"),
    (11, lambda e: {**e, "b": 7}, "do not share their context"),
    (11, lambda e: {**e, "label": {**e["label"], "choice": "c"}}, "unknown choice 'c'"),
    (11, lambda e: {**e, "label": {**e["label"], "labeler": ""}}, "labeler must be non-empty"),
    (11, lambda e: {**e, "label": "a"}, "label must be null or an object"),
    (11, lambda e: {**e, "token": 7}, "a pair token is a non-empty string"),
    (1, lambda e: {**e, "version": 99}, "version 99; this version of mammad-envs reads"),
    (1, lambda e: {**e, "type": "melody"}, "missing"),
    (1, lambda e: {"type": "pair", "token": "t", "a": 1, "b": 2}, "the first line, and only"),
    (5, lambda e: {"type": "header", "format": FORMAT, "version": 1}, "the first line, and only"),
])
def test_a_malformed_line_is_refused_with_its_number_and_nothing_imported(
        tmp_path, store, number, change, message):
    fill(store)
    exported = tmp_path / "prefs.jsonl"
    store.export_jsonl(exported)
    lines = exported.read_text().splitlines()
    assert json.loads(lines[10])["type"] == "pair" and json.loads(lines[10])["label"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(edit(lines, number, change)) + "\n")
    with PreferenceStore(tmp_path / "other.db") as other:
        other.add_melody(MELODY_1, "seed")
        before = snapshot(other)
        with pytest.raises(PreferenceStoreError,
                           match=rf"bad\.jsonl, line {number}: .*{message.replace(' ', '.*')}"):
            other.import_jsonl(bad)
        assert snapshot(other) == before


def test_import_of_an_empty_or_missing_file(tmp_path, store):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(PreferenceStoreError, match=r"empty\.jsonl is empty"):
        store.import_jsonl(empty)
    with pytest.raises(PreferenceStoreError, match=r"cannot read .*missing\.jsonl"):
        store.import_jsonl(tmp_path / "missing.jsonl")


# ------------------------------------------------------------------------ several processes

WORKER = """
import json, sys, time
from pathlib import Path
from rewards.preferences import AlreadyLabelledError, PreferenceStore

database, tasks, go = sys.argv[1:]
with PreferenceStore(database) as store:
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.005)
    for token, choice, labeler in json.loads(Path(tasks).read_text()):
        try:
            result = "new" if store.record(token, choice, labeler) else "again"
        except AlreadyLabelledError:
            result = "refused"
        print(json.dumps([token, result]), flush=True)
"""

KILLED_WORKER = """
import json, sys
from pathlib import Path
from rewards.preferences import PreferenceStore

database, tasks, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
labels = json.loads(Path(tasks).read_text())
with PreferenceStore(database) as store:
    for start in range(0, len(labels), batch):
        store.record_many(labels[start:start + batch])
        print(start + batch, flush=True)
"""

OPENER = """
import sys, time
from pathlib import Path
from rewards.preferences import PreferenceStore

database, go, pitch = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.002)
with PreferenceStore(database) as store:
    print(store.add_melody([pitch, -2, -1, pitch], "sampler", key="C major"), flush=True)
"""


def start(script, *arguments):
    return subprocess.Popen([sys.executable, "-c", script, *map(str, arguments)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(processes):
    for process in processes:
        line = process.stdout.readline()
        assert line.strip() == "ready", process.stderr.read()


@pytest.mark.slow
def test_concurrent_writers_count_every_label_once(tmp_path):
    workers, own, shared, contested = 4, 20, 15, 5
    database = tmp_path / "prefs.db"
    with PreferenceStore(database) as store:
        tokens = store.new_pairs([tuple(melodies_in(store, 2, seed=seed))
                                  for seed in range(workers * own + shared + contested)])
    own_tokens = [tokens[w * own:(w + 1) * own] for w in range(workers)]
    shared_tokens = tokens[workers * own:workers * own + shared]
    contested_tokens = tokens[workers * own + shared:]
    go = tmp_path / "go"
    processes = []
    for w in range(workers):
        # The same label for a shared token from every worker (one click, counted once); a
        # contested token gets each worker's own label (the first wins, the rest are refused).
        tasks = [(token, "a", f"synthetic:w{w}") for token in own_tokens[w]]
        tasks += [(token, CHOICES[i % 3], "synthetic:shared")
                  for i, token in enumerate(shared_tokens)]
        tasks += [(token, "b", f"synthetic:w{w}") for token in contested_tokens]
        order = np.random.default_rng(w).permutation(len(tasks))
        path = tmp_path / f"tasks{w}.json"
        path.write_text(json.dumps([tasks[i] for i in order]))
        processes.append(start(WORKER, database, path, go))
    wait_ready(processes)
    go.touch()
    results = {}
    for w, process in enumerate(processes):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        for line in out.splitlines():
            token, result = json.loads(line)
            results.setdefault(token, []).append((w, result))

    for w in range(workers):
        assert all(results[token] == [(w, "new")] for token in own_tokens[w])
    for token in shared_tokens:
        assert sorted(result for _, result in results[token]) == ["again"] * 3 + ["new"]
    with PreferenceStore(database) as store:
        for token in contested_tokens:
            assert sorted(result for _, result in results[token]) == ["new"] + ["refused"] * 3
            (winner,) = [w for w, result in results[token] if result == "new"]
            assert store.pair(token).label.labeler == f"synthetic:w{winner}"
        counts = store.counts()
        assert counts["labelled"] == counts["pairs"] == len(tokens)
        assert counts["labelers"]["synthetic:shared"] == shared
        assert sum(counts["labelers"].get(f"synthetic:w{w}", 0)
                   for w in range(workers)) == workers * own + contested
        for w in range(workers):
            assert all(store.pair(token).label.labeler == f"synthetic:w{w}"
                       for token in own_tokens[w])
        conn = store._connection()
        assert conn.execute("SELECT count(DISTINCT token) FROM comparisons").fetchone()[0] == \
            len(tokens)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
def test_a_killed_writer_leaves_only_whole_labels(tmp_path):
    database, batch = tmp_path / "prefs.db", 7
    with PreferenceStore(database) as store:
        ids = melodies_in(store, 100)
        tokens = store.new_pairs([(ids[i % 100], ids[(i + 1 + i // 100) % 100])
                                  for i in range(3000)])
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([(token, "tie", "synthetic:killed") for token in tokens]))
    process = start(KILLED_WORKER, database, tasks, batch)
    committed = 0
    while committed < 10 * batch:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        committed = int(line)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    with PreferenceStore(database, timeout=5) as store:
        conn = store._connection()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        labelled = store.counts()["labelled"]
        assert labelled % batch == 0, "a batch was cut in half"
        assert committed <= labelled < len(tokens)
        assert {pair.token for pair in store.comparisons()} == set(tokens[:labelled])
        # Nothing is left locked: the next writer goes straight on.
        began = time.monotonic()
        assert store.record(tokens[-1], "a", "human:alice") is True
        assert time.monotonic() - began < 4


@pytest.mark.slow
def test_processes_may_create_the_store_at_once(tmp_path):
    database, go = tmp_path / "new" / "prefs.db", tmp_path / "go"
    processes = [start(OPENER, database, go, 60 + i) for i in range(4)]
    wait_ready(processes)
    go.touch()
    ids = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        ids.append(int(out))
    assert sorted(ids) == [1, 2, 3, 4]
    with PreferenceStore(database) as store:
        assert store.counts()["sources"] == {"sampler": 4}
        assert sorted(int(m.events[0]) for m in store.melodies()) == [60, 61, 62, 63]


def test_sources_are_documented():
    assert set(SOURCES) == {"seed", "midi", "run", "policy", "model", "sampler"}
    assert all(SOURCES.values())
