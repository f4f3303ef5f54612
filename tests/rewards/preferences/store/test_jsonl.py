"""Tests of the preference store's JSON-lines export and import."""

import json
import sys

import pytest

from rewards.preferences import FORMAT, PreferenceStore, PreferenceStoreError
from rewards.preferences.store import MAX_IMPORT_BYTES, MAX_LINE_BYTES
from tests.rewards.preferences.store.helpers import (
    MELODY_1,
    MELODY_2,
    MELODY_3,
    content,
    dump,
    fill,
    snapshot,
)

# ------------------------------------------------------------------------ export and import


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




# ------------------------------------------------------------------------ import limits


def exported_lines(tmp_path, store):
    fill(store)
    exported = tmp_path / "prefs.jsonl"
    store.export_jsonl(exported)
    return exported.read_text().splitlines()


def refused(tmp_path, lines, match, **arguments):
    """Imports ``lines`` as bad.jsonl into a new store: refused with ``match``, nothing in."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with PreferenceStore(tmp_path / "other.db") as other:
        other.add_melody(MELODY_1, "seed")
        before = snapshot(other)
        with pytest.raises(PreferenceStoreError, match=match):
            other.import_jsonl(bad, **arguments)
        assert snapshot(other) == before


@pytest.mark.parametrize(("number", "change", "field", "limit"), [
    (3, lambda e: {**e, "events": [60] * (2**16 + 1)}, "events", 2**16),
    (3, lambda e: {**e, "ref": "r" * 4097}, "ref", 4096),
    (3, lambda e: {**e, "accompaniment": "a" * 129}, "accompaniment", 128),
    (3, lambda e: {**e, "key": "A" + " " * 40 + "minor"}, "key", 32),
    (11, lambda e: {**e, "token": "t" * 129}, "token", 128),
    (11, lambda e: {**e, "label": {**e["label"], "labeler": "h" * 129}}, "labeler", 128),
])
def test_a_field_over_its_limit_is_refused_naming_file_line_field_and_limit(
        tmp_path, store, number, change, field, limit):
    lines = edit(exported_lines(tmp_path, store), number, change)
    refused(tmp_path, lines, rf"bad\.jsonl, line {number}: {field} (is|has) \d+ \w+.*over the "
                             rf"limit of {limit} \(MAX_")


DEEP = "[" * 900 + "]" * 900
"""Nested within Python's recursion limit for its JSON parser, not for much else."""


@pytest.mark.parametrize(("number", "change", "message"), [
    (3, lambda e: '{"type": "melody", "id": 2, "events": ' + "[" * 10**5 + "]" * 10**5 + "}",
     "nested too deeply to read"),
    (3, lambda e: json.dumps(e)[:-1] + ', "ref": ' + DEEP + "}", "ref must be a string"),
    (3, lambda e: json.dumps(e).replace('"events": [', '"events": [' + DEEP + ", "),
     "setting an array element with a sequence"),
    (11, lambda e: json.dumps({**e, "label": None})[:-1].replace("null", DEEP) + "}",
     "label must be null or an object"),
])
def test_deeply_nested_json_is_refused_with_its_line(tmp_path, store, number, change, message):
    lines = edit(exported_lines(tmp_path, store), number, change)
    refused(tmp_path, lines, rf"bad\.jsonl, line {number}: {message}")


def test_deep_nesting_is_refused_even_with_little_stack_left(tmp_path, store):
    lines = exported_lines(tmp_path, store)
    lines[2] = '{"type": "melody", "id": 2, "events": ' + "[" * 5000 + "]" * 5000 + "}"

    def deep(levels):
        if levels:
            return deep(levels - 1)
        refused(tmp_path, lines, r"bad\.jsonl, line 3: nested too deeply")

    deep(sys.getrecursionlimit() - 200)


def test_a_huge_integer_is_refused_as_not_json(tmp_path, store):
    lines = exported_lines(tmp_path, store)
    lines[2] = lines[2].replace('"id": 2', '"id": 2' + "0" * 5000)
    refused(tmp_path, lines, r"bad\.jsonl, line 3: not JSON \(Exceeds the limit")


def test_a_line_over_the_line_limit_is_refused_before_parsing(tmp_path, store):
    lines = exported_lines(tmp_path, store)
    lines[2] = lines[2][:-1] + ', "ref": "' + "r" * MAX_LINE_BYTES + '"}'
    refused(tmp_path, lines, rf"bad\.jsonl, line 3: longer than the limit of "
                             rf"{MAX_LINE_BYTES:,} bytes a line \(MAX_LINE_BYTES\)")


def test_a_file_over_max_bytes_is_refused_naming_size_limit_and_argument(tmp_path, store):
    lines = exported_lines(tmp_path, store)
    size = len("\n".join(lines) + "\n")
    refused(tmp_path, lines, rf"bad\.jsonl is {size:,} bytes, over the import limit of 1,000 "
                             rf"bytes \(MAX_IMPORT_BYTES\): pass import_jsonl\(\.\.\., "
                             rf"max_bytes=\.\.\.\)", max_bytes=1000)
    with PreferenceStore(tmp_path / "roomy.db") as roomy:
        assert roomy.import_jsonl(tmp_path / "bad.jsonl", max_bytes=size)["pairs"] == 4
        assert roomy.import_jsonl(tmp_path / "bad.jsonl", max_bytes=None)["pairs"] == 0
        for wrong in (0, -1, 2.5, "1 MB", True):
            with pytest.raises(PreferenceStoreError, match="max_bytes must be a positive"):
                roomy.import_jsonl(tmp_path / "bad.jsonl", max_bytes=wrong)


def test_the_default_size_limit_is_checked_before_reading(tmp_path, store):
    huge = tmp_path / "huge.jsonl"
    with huge.open("wb") as handle:  # sparse: no disk used, and never read
        handle.truncate(MAX_IMPORT_BYTES + 1)
    with pytest.raises(PreferenceStoreError, match=rf"huge\.jsonl is {MAX_IMPORT_BYTES + 1:,} "
                                                   rf"bytes, over the import limit of "
                                                   rf"{MAX_IMPORT_BYTES:,}"):
        store.import_jsonl(huge)
    assert MAX_IMPORT_BYTES == 32 * 2**20
