"""MIDI round trips, files from elsewhere, and bad files."""

import struct
import time
import tracemalloc

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mammad_envs.melody import HOLD, REST, canonical_melody
from mammad_envs.midi import (
    MidiFileError,
    Note,
    load_midi,
    read_midi_tracks,
    skyline,
    write_midi,
)

MELODIES = st.lists(st.one_of(st.integers(0, 127), st.sampled_from([HOLD, REST])),
                    min_size=1, max_size=64)


@settings(max_examples=60, deadline=None)
@given(melody=MELODIES)
def test_round_trip_gives_the_canonical_melody(tmp_path_factory, melody):
    path = tmp_path_factory.mktemp("midi") / "m.mid"
    write_midi(path, melody, [Note(40, 0, 8), Note(43, 4, 12)])
    np.testing.assert_array_equal(load_midi(path), canonical_melody(melody))


def test_round_trip_is_identical_for_canonical_melodies(tmp_path):
    melody = [REST, HOLD, 60, HOLD, 60, 62, REST, 64, HOLD, HOLD, REST, HOLD]
    write_midi(tmp_path / "m.mid", melody)
    np.testing.assert_array_equal(load_midi(tmp_path / "m.mid"), melody)


def test_written_file_layout(tmp_path):
    path = write_midi(tmp_path / "m.mid", [60, HOLD, 62], [Note(48, 0, 3)], bpm=80)
    midi = mido.MidiFile(path)
    assert midi.type == 1 and [t.name for t in midi.tracks] == ["conductor", "melody",
                                                                 "accompaniment"]
    tempo = next(m.tempo for m in midi.tracks[0] if m.type == "set_tempo")
    assert mido.tempo2bpm(tempo) == pytest.approx(80)
    assert midi.length == pytest.approx(3 * 60 / 80 / 4)


def foreign_file(path):
    """A multi-track file as another program would write it: 96 ticks per beat, a piano
    track with chords and legato overlaps, a drum track, tempo and time-signature changes."""
    midi = mido.MidiFile(type=1, ticks_per_beat=96)
    meta = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=500000, time=0),
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
        mido.MetaMessage("set_tempo", tempo=300000, time=192),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=96),
    ])
    drums = mido.MidiTrack([mido.MetaMessage("track_name", name="Drums")] + [
        mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
        mido.Message("note_off", channel=9, note=36, velocity=0, time=24),
    ] * 8)
    events = [  # (tick, type, note): 24 ticks per 16th
        (0, "note_on", 60), (0, "note_on", 64),   # chord: 64 is the top
        (48, "note_off", 64),                     # 64 ends, 60 still sounds -> 60 appears
        (96, "note_off", 60),
        (96, "note_on", 67), (142, "note_on", 69),  # legato overlap, 69 starts near 16th 6
        (150, "note_off", 67), (192, "note_off", 69),
        (240, "note_on", 72), (250, "note_on", 72, 0),  # very short note, velocity-0 off
    ]
    piano = mido.MidiTrack([mido.MetaMessage("track_name", name="Piano")])
    now = 0
    for tick, kind, note, *velocity in events:
        piano.append(mido.Message(kind, note=note, velocity=velocity[0] if velocity else 80,
                                  time=tick - now))
        now = tick
    midi.tracks.extend([meta, drums, piano])
    midi.save(path)
    return path


def test_foreign_multitrack_file_loads_with_the_skyline_policy(tmp_path):
    path = foreign_file(tmp_path / "foreign.mid")
    melody = load_midi(path)  # no "melody" track: the first track with (non-drum) notes
    expected = [64, HOLD, 60, HOLD, 67, HOLD, 69, HOLD, REST, HOLD, 72]
    np.testing.assert_array_equal(melody, expected)
    np.testing.assert_array_equal(load_midi(path, track="Piano"), expected)
    np.testing.assert_array_equal(load_midi(path, track=2, steps=4), expected[:4])
    padded = load_midi(path, steps=14)
    np.testing.assert_array_equal(padded, expected + [REST, HOLD, HOLD])


def test_track_names_and_drums(tmp_path):
    tracks = read_midi_tracks(foreign_file(tmp_path / "f.mid"))
    assert [t.name for t in tracks] == ["", "Drums", "Piano"]
    assert tracks[1].notes == ()


def test_skyline_strikes_repeated_top_notes():
    notes = [Note(60, 0, 4), Note(60, 2, 4), Note(55, 0, 6)]
    np.testing.assert_array_equal(skyline(notes, 7), [60, HOLD, 60, HOLD, 55, HOLD, REST])


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nowhere.mid' does not exist"):
        load_midi("nowhere.mid")


def test_empty_file(tmp_path):
    (tmp_path / "empty.mid").write_bytes(b"")
    with pytest.raises(MidiFileError, match="empty.mid' is empty"):
        load_midi(tmp_path / "empty.mid")


def test_truncated_file(tmp_path):
    path = write_midi(tmp_path / "whole.mid", [60, 62, 64, 65] * 8)
    (tmp_path / "cut.mid").write_bytes(path.read_bytes()[:60])
    with pytest.raises(MidiFileError, match="cut.mid. is truncated: it ends in the middle"):
        load_midi(tmp_path / "cut.mid")


def test_not_a_midi_file(tmp_path):
    (tmp_path / "notes.txt").write_text("C D E F G\n")
    with pytest.raises(MidiFileError, match="notes.txt' is not a valid MIDI file"):
        load_midi(tmp_path / "notes.txt")


def test_file_without_notes(tmp_path):
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
    midi.save(tmp_path / "silent.mid")
    with pytest.raises(MidiFileError, match="silent.mid' has no notes"):
        load_midi(tmp_path / "silent.mid")


def test_bad_track_choice(tmp_path):
    path = foreign_file(tmp_path / "f.mid")
    with pytest.raises(ValueError, match="has no track 'Lead'; its tracks: 0 .*2 \\(Piano"):
        load_midi(path, track="Lead")
    with pytest.raises(MidiFileError, match="track 1 of .* has no notes"):
        load_midi(path, track=1)


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"melody\[1\] = 128"):
        write_midi(tmp_path / "x.mid", [60, 128])
    with pytest.raises(ValueError, match="bpm must be a positive number"):
        write_midi(tmp_path / "x.mid", [60], bpm=0)
    assert not (tmp_path / "x.mid").exists()


def test_directory_is_not_a_midi_file(tmp_path):
    with pytest.raises(MidiFileError, match="is a directory, not a MIDI file"):
        load_midi(tmp_path)


# Hostile files: a few bytes each, crafted by hand.

def vlq(value):
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def smf(events, division=96):
    """A type-0 file with one track of raw ``events`` (the end-of-track meta is added)."""
    events += b"\x00\xff\x2f\x00"
    return (b"MThd" + struct.pack(">LhhH", 6, 0, 1, division & 0xFFFF)
            + b"MTrk" + struct.pack(">L", len(events)) + events)


NOTE_ON, NOTE_OFF = b"\x90\x3c\x40", b"\x80\x3c\x00"  # middle C on channel 1
ONE_NOTE = b"\x00" + NOTE_ON + vlq(24) + NOTE_OFF
HUGE = 0x0FFFFFFF  # the largest delta-time of the standard (4-byte VLQ)


def load_bounded(path, **kwargs):
    """load_midi, asserting it was quick and allocated little (the files are tiny)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        return load_midi(path, **kwargs)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert seconds < 1 and peak < 2**20, (seconds, peak)


HOSTILE = [
    ("zero.mid", smf(ONE_NOTE, division=0), "has 0 ticks per beat"),
    ("smpte.mid", smf(ONE_NOTE + vlq(4000) + NOTE_ON + vlq(4000) + NOTE_OFF,
                      division=(0xE7 << 8) | 40),  # 25 frames per second, 40 ticks per frame
     "uses SMPTE time code .25 frames per second, 40 ticks per frame., which has no beats"),
    ("huge.mid", smf(b"\x00" + NOTE_ON + vlq(HUGE) + NOTE_OFF, division=24),
     "is too long: track 0 goes past 65,536 16ths .4,096 bars of 4/4., the cap"),
    ("sum.mid", smf(b"\x00" + NOTE_ON + (vlq(HUGE) + b"\xff\x01\x00") * 4 + b"\x00" + NOTE_OFF,
                    division=1), "is too long: track 0 goes past"),
    ("bits.mid", smf(b"\x00" + NOTE_ON + b"\xff" * 200 + b"\x7f" + NOTE_OFF), "is too long"),
    ("key.mid", smf(b"\x00\xff\x59\x02\x50\x00" + ONE_NOTE),  # a key with 80 sharps
     "is not a valid MIDI file: Could not decode key"),
    ("byte.mid", smf(b"\x00\x90\x3c\xc0" + ONE_NOTE), "is not a valid MIDI file: data byte"),
    ("status.mid", smf(b"\x00\xf4" + ONE_NOTE), "is not a valid MIDI file: undefined status"),
    ("vlq.mid", smf(b"\x00" + NOTE_ON + b"\xff" * 100_000 + b"\x7f" + NOTE_OFF),  # slow in mido
     "is not a valid MIDI file: it has over 4,096 bytes in a row with the top bit set"),
]


@pytest.mark.parametrize("name, data, message", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_files_are_refused_quickly(tmp_path, name, data, message):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(MidiFileError, match=f"'.*{name}' {message}"):
        load_bounded(tmp_path / name)


def test_length_cap(tmp_path):
    path = tmp_path / "long.mid"
    path.write_bytes(smf(b"\x00" + NOTE_ON + vlq(100 * 24) + NOTE_OFF))  # 100 16ths
    assert load_bounded(path, max_steps=100).size == 100
    assert [t.length for t in read_midi_tracks(path, max_steps=100)] == [100]
    with pytest.raises(MidiFileError, match="long.mid' is too long: track 0 goes past 99 16ths"):
        load_bounded(path, max_steps=99)
    with pytest.raises(MidiFileError, match="goes past 99 16ths"):
        read_midi_tracks(path, max_steps=99)
    assert load_bounded(path, steps=8, max_steps=100).size == 8
    with pytest.raises(ValueError, match="steps=101 is more than max_steps=100"):
        load_midi(path, steps=101, max_steps=100)
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="max_steps must be a positive integer"):
            load_midi(path, max_steps=bad)


def test_length_cap_counts_a_last_note_too_short_to_round(tmp_path):
    path = tmp_path / "edge.mid"  # a 1-tick note at the very end: it still lasts one 16th
    path.write_bytes(smf(vlq(4 * 24) + NOTE_ON + b"\x01" + NOTE_OFF))
    assert load_bounded(path, max_steps=5).size == 5
    with pytest.raises(MidiFileError, match="goes past 4 16ths"):
        load_bounded(path, max_steps=4)

