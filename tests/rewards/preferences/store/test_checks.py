"""Tests of the preference store's field limits and checks."""

import pytest

from rewards.preferences import SOURCES, PreferenceStoreError
from tests.rewards.preferences.store.helpers import MELODY_1, melodies_in, snapshot


def test_sources_are_documented():
    assert set(SOURCES) == {"seed", "midi", "run", "policy", "model", "sampler"}
    assert all(SOURCES.values())


# ------------------------------------------------------------------------ field limits


def test_the_limits_are_one_table_exported_by_the_store():
    from mammad_envs.midi import MAX_MIDI_STEPS
    from rewards.preferences import store as package

    assert package.MAX_TOKEN_LENGTH == 128  # what the labelling server checks
    assert package.MAX_MELODY_STEPS == MAX_MIDI_STEPS  # any MIDI file's melody fits
    assert package.LIMITS == {"token": 128, "labeler": 128, "accompaniment": 128, "key": 32,
                              "ref": 4096, "events": 2**16}
    assert package.MAX_LINE_BYTES > 5 * package.MAX_MELODY_STEPS + 6 * package.MAX_REF_LENGTH


@pytest.mark.parametrize(("field", "melody", "arguments", "message"), [
    ("ref", MELODY_1, {"ref": "r" * 4097},
     r"ref is 4097 characters long, over the limit of 4096 \(MAX_REF_LENGTH\)"),
    ("accompaniment", MELODY_1, {"accompaniment": "a" * 129},
     r"accompaniment is 129 characters long, over the limit of 128 "
     r"\(MAX_ACCOMPANIMENT_LENGTH\)"),
    ("key", MELODY_1, {"key": "C" + " " * 31 + "major"},
     r"key is 37 characters long, over the limit of 32 \(MAX_KEY_LENGTH\)"),
    ("events", [60] * (2**16 + 1), {},
     r"melody has 65537 events, over the limit of 65536 \(MAX_MELODY_STEPS\)"),
])
def test_a_melody_field_over_its_limit_is_refused(store, field, melody, arguments, message):
    before = snapshot(store)
    with pytest.raises(PreferenceStoreError, match=message):
        store.add_melody(melody, "seed", **arguments)
    assert snapshot(store) == before


def test_a_melody_at_every_limit_is_stored(store):
    melody_id = store.add_melody([60] * 2**16, "midi", accompaniment="a" * 128,
                                 key="C#        minor", ref="r" * 4096)
    stored = store.melody(melody_id)
    assert (stored.steps, len(stored.accompaniment), stored.key, len(stored.ref)) == (
        2**16, 128, "C# minor", 4096)


def test_a_token_or_labeler_over_its_limit_is_refused(store):
    token = store.new_pair(*melodies_in(store, 2))
    before = snapshot(store)
    with pytest.raises(PreferenceStoreError, match=r"token is 129 characters long, over the "
                                                   r"limit of 128 \(MAX_TOKEN_LENGTH\)"):
        store.record("t" * 129, "a", "human:alice")
    with pytest.raises(PreferenceStoreError, match="token is 129 characters long"):
        store.pair("t" * 129)
    with pytest.raises(PreferenceStoreError, match=r"labeler is 135 characters long, over the "
                                                   r"limit of 128 \(MAX_LABELER_LENGTH\)"):
        store.record(token, "a", "human:" + "x" * 129)
    assert snapshot(store) == before
    assert store.record(token, "a", "human:" + "x" * 122)


def test_a_time_out_of_range_is_refused(store):
    token = store.new_pair(*melodies_in(store, 2))
    with pytest.raises(PreferenceStoreError, match=r"time 1e\+300 is not a Unix time"):
        store.record(token, "a", "human:alice", time=1e300)
    with pytest.raises(PreferenceStoreError, match=r"time '9{56}\.\.\. is not an ISO 8601"):
        store.record(token, "a", "human:alice", time="9" * 10_000)
