"""The MIDI loader's bounds: bytes, events, what a path names, and time linear in the file."""

import os
import re
import time
import tracemalloc

import mido
import numpy as np
import pytest

from mammad_envs import midi, midi_reader
from mammad_envs.midi import (
    MAX_MIDI_BYTES,
    MAX_MIDI_EVENTS,
    MidiFileError,
    load_midi,
    read_midi_tracks,
    write_midi,
)
from tests.mammad_envs.test_midi import NOTE_OFF, NOTE_ON, smf, vlq


def note_file(path, notes):
    """A file of ``notes`` notes of one tick each (480 a beat), written as raw bytes.

    Seven bytes a note, as a sequencer writes them: a note-on, then the note-off as a note-on of
    velocity 0 in running status. Twice as many messages as notes, plus the end of the track.
    """
    pitches = [60 + i % 24 for i in range(notes)]
    events = b"".join(bytes((0, 0x90, pitch, 90, 1, pitch, 0)) for pitch in pitches)
    path.write_bytes(smf(events, division=480))
    return path


def steps_of(notes):
    """The 16ths of :func:`note_file`'s melody: a note a tick, 120 ticks a 16th, the last note
    lasting one 16th from the 16th nearest its start."""
    return max(-(-notes // 120), round((notes - 1) / 120) + 1)


def never_parsed(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(midi, "read_tracks", parse)


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    huge = tmp_path / "huge.mid"
    with open(huge, "wb") as file:  # sparse: 16 MiB + 1 on disk, nothing written
        file.truncate(MAX_MIDI_BYTES + 1)
    never_parsed(monkeypatch)
    tracemalloc.start()
    try:
        with pytest.raises(MidiFileError) as error:
            load_midi(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**16  # not read
    assert str(error.value) == (
        f"MIDI file '{huge}' is 16,777,217 bytes, over the limit of 16,777,216 (max_bytes, "
        f"default mammad_envs.midi.MAX_MIDI_BYTES): pass a larger max_bytes= to load it")
    small = write_midi(tmp_path / "small.mid", [60, 62, 64, 65])
    size = small.stat().st_size
    with pytest.raises(MidiFileError, match=f"small.mid' is {size} bytes, over the limit of "
                                            f"{size - 1} .max_bytes"):
        read_midi_tracks(small, max_bytes=size - 1)
    monkeypatch.undo()
    assert load_midi(small, max_bytes=size).tolist() == [60, 62, 64, 65]


def test_a_file_over_the_event_limit_is_refused_with_how_to_raise_it(tmp_path):
    path = note_file(tmp_path / "notes.mid", 10)  # 20 note messages and an end of track
    assert load_midi(path, max_events=21).size > 0
    message = ("MIDI file '{}' has over 20 events (messages), the limit (max_events, default "
               "mammad_envs.midi.MAX_MIDI_EVENTS): pass a larger max_events= to load it")
    with pytest.raises(MidiFileError, match=re.escape(message.format(path))):
        load_midi(path, max_events=20)
    with pytest.raises(MidiFileError, match="has over 20 events"):
        read_midi_tracks(path, max_events=20)
    assert MAX_MIDI_EVENTS == 2**22


def test_the_event_limit_counts_every_track(tmp_path):
    tracks = [mido.MidiTrack([mido.Message("note_on", note=60, time=0),
                              mido.Message("note_off", note=60, time=24)]) for _ in range(3)]
    mido.MidiFile(type=1, tracks=tracks).save(tmp_path / "three.mid")  # 3 x 3 messages
    assert len(read_midi_tracks(tmp_path / "three.mid", max_events=9)) == 3
    with pytest.raises(MidiFileError, match="over 8 events"):
        read_midi_tracks(tmp_path / "three.mid", max_events=8)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_limits_must_be_positive_integers(tmp_path, bad):
    path = write_midi(tmp_path / "a.mid", [60])
    for name in ("max_bytes", "max_events"):
        with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
            load_midi(path, **{name: bad})


def test_paths_that_are_not_files_are_named(tmp_path, monkeypatch):
    never_parsed(monkeypatch)
    loop = tmp_path / "loop.mid"
    loop.symlink_to(tmp_path / "loop.mid")
    with pytest.raises(MidiFileError, match="MIDI file '.*loop.mid' cannot be read: Too many "
                                            "levels of symbolic links"):
        load_midi(loop)
    dangling = tmp_path / "dangling.mid"
    dangling.symlink_to(tmp_path / "gone.mid")
    with pytest.raises(FileNotFoundError, match="dangling.mid' does not exist .a symbolic link "
                                                "to a missing file"):
        load_midi(dangling)
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)  # opening it would wait for a writer: it is refused from its stat
    with pytest.raises(MidiFileError, match="pipe.mid' is a FIFO .named pipe., not a MIDI file: "
                                            "only regular files are read"):
        load_midi(fifo)
    (tmp_path / "folder.mid").mkdir()
    with pytest.raises(MidiFileError, match="folder.mid' is a directory, not a MIDI file"):
        read_midi_tracks(tmp_path / "folder.mid")
    with pytest.raises(MidiFileError, match="is a character device"):
        load_midi("/dev/null")


def test_loading_is_linear_in_the_file(tmp_path):
    """Memory (traced, so deterministic) per byte of file stays level as the file grows 8x."""
    per_byte = []
    for notes in (2_000, 16_000):
        path = note_file(tmp_path / f"{notes}.mid", notes)
        tracemalloc.start()
        try:
            melody = load_midi(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert melody.size == steps_of(notes)
        per_byte.append(peak / path.stat().st_size)
    assert per_byte[1] < 1.2 * per_byte[0] and per_byte[1] < 40, per_byte


def test_a_large_file_of_notes_loads_quickly(tmp_path):
    """A 1 MB file: mido's parser took about 4 s here, this reader under 1 s (a loose bound)."""
    path = note_file(tmp_path / "big.mid", 150_000)
    started = time.perf_counter()
    melody = load_midi(path)
    assert time.perf_counter() - started < 10
    assert melody.size == steps_of(150_000) == 1251
    assert np.count_nonzero(melody == 83) == 1251  # the top note of every 16th, struck again


def test_the_reader_keeps_mido_checks_of_meta_messages(tmp_path):
    path = tmp_path / "tempo.mid"
    path.write_bytes(smf(b"\x00\xff\x51\x02\x07\xa1" + b"\x00" + NOTE_ON + vlq(24) + NOTE_OFF))
    with pytest.raises(MidiFileError, match="tempo.mid' is not a valid MIDI file"):
        load_midi(path)  # a set_tempo of 2 bytes, not 3


def test_sysex_is_skipped_without_being_kept(tmp_path):
    sysex = b"\x00\xf0" + vlq(200_000) + b"\x7e" * 199_999 + b"\xf7"
    path = tmp_path / "sysex.mid"
    path.write_bytes(smf(sysex + b"\x00" + NOTE_ON + vlq(24) + NOTE_OFF))
    assert load_midi(path).tolist() == [60]
    bad = tmp_path / "bad_sysex.mid"
    bad.write_bytes(smf(b"\x00\xf0\x03\x7e\x80\xf7" + b"\x00" + NOTE_ON + vlq(24) + NOTE_OFF))
    with pytest.raises(MidiFileError, match="data byte must be in range 0..127"):
        load_midi(bad)


def test_the_reader_is_the_module_that_reads(tmp_path):
    assert midi.MidiFileError is midi_reader.MidiFileError
    assert midi.MAX_MIDI_BYTES == midi_reader.MAX_MIDI_BYTES == 16 * 2**20
