"""Fuzzing the MIDI loader with mutated real files: a melody within the cap or MidiFileError.

Each mutated file must load within the hypothesis deadline and with a traced memory peak
(tracemalloc sees numpy's allocations) below ``BYTES_PER_STEP * max_steps + BYTES_PER_FILE_BYTE
* len(file) + SLACK``: loading a melody of n 16ths takes about 40 bytes per 16th (a few int64
arrays), and parsing about 12 bytes per byte of file (measured; mido's parser, used before,
took about 100); the bounds leave a wide margin. A loader that allocated for a length past the
cap would blow the bound by orders of magnitude.
"""

import io
import struct
import tracemalloc
from pathlib import Path

import mido
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mammad_envs.melody import MELODY_DTYPE, canonical_melody
from mammad_envs.midi import MAX_MIDI_STEPS, MidiFileError, load_midi
from tests.mammad_envs.test_midi import vlq  # a MIDI variable-length quantity, any size

DATA = Path(__file__).resolve().parents[2] / "mammad_envs" / "data"
BYTES_PER_STEP = 250
BYTES_PER_FILE_BYTE = 250
SLACK = 2**18




SEEDS = [(DATA / name).read_bytes() for name in [  # real files, as write_midi writes them
    "melodies/09_yankee_doodle.mid", "melodies/10_the_keel_row.mid",
    "accompaniments/03_alberti.mid", "accompaniments/05_bossa.mid"]]


def flip(data, draw):
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]


def insert(data, draw):
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]


def delete(data, draw):
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + data[at + draw(st.integers(1, 8)):]


def truncate(data, draw):
    return data[:draw(st.integers(0, len(data)))]


# Delta-times: small, up to the standard's 4-byte maximum, and far past it (mido reads VLQs
# of any length).
DELTAS = st.one_of(st.integers(0, 2000), st.integers(0, 0x0FFFFFFF), st.integers(0, 2**64),
                   st.just(2**700))


def delta_time(data, draw):
    """A delta-time written over the bytes at a random place after the first track header."""
    at = draw(st.integers(min(22, len(data)), len(data)))
    return data[:at] + vlq(draw(DELTAS)) + data[at + draw(st.integers(0, 4)):]


def header_field(data, draw):
    """Any value for the format, track count or division (ticks per beat or SMPTE)."""
    at = draw(st.sampled_from([8, 10, 12]))  # format, number of tracks, division
    return data[:at] + struct.pack(">H", draw(st.integers(0, 0xFFFF))) + data[at + 2:]


def chunk_length(data, draw):
    """Any value for the length of the header or of a track."""
    starts = [at for at in range(len(data) - 8) if data[at:at + 4] in (b"MThd", b"MTrk")]
    if not starts:
        return data
    at = draw(st.sampled_from(starts)) + 4
    length = draw(st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1)))
    return data[:at] + struct.pack(">L", length) + data[at + 4:]


MUTATIONS = [flip, insert, delete, truncate, delta_time, header_field, chunk_length]


def restructure(data, draw):
    """Message-level mutations through mido, so the file stays well formed: any delta-time,
    any division (ticks per beat, 0, or SMPTE), deleted and repeated messages."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["time", "time", "division", "delete", "repeat"]))
        track = draw(st.sampled_from(midi.tracks))
        if kind == "division":
            midi.ticks_per_beat = draw(st.one_of(st.integers(-2**15, 2**15 - 1),
                                                 st.sampled_from([0, 1, -6360])))
        elif track:
            at = draw(st.integers(0, len(track) - 1))
            if kind == "time":
                track[at] = track[at].copy(time=draw(DELTAS))
            elif kind == "delete":
                del track[at]
            else:
                track.insert(draw(st.integers(0, len(track))), track[at])
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


@st.composite
def mutated(draw):
    """A real file, with message-level mutations (half the time), then byte-level ones."""
    data = draw(st.sampled_from(SEEDS))
    structured = draw(st.booleans())
    if structured:
        data = restructure(data, draw)
    for _ in range(draw(st.integers(0 if structured else 1, 4))):
        if not data:
            break
        data = draw(st.sampled_from(MUTATIONS))(data, draw)
    return data


@settings(max_examples=200, deadline=2000,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), max_steps=st.sampled_from([16, 300, MAX_MIDI_STEPS]))
def test_mutated_files_load_or_raise_midi_file_error(tmp_path, data, max_steps):
    content = data.draw(mutated())
    path = tmp_path / "fuzz.mid"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        melody = load_midi(path, max_steps=max_steps)
    except MidiFileError as error:
        assert "fuzz.mid" in str(error)
        melody = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < BYTES_PER_STEP * max_steps + BYTES_PER_FILE_BYTE * len(content) + SLACK
    if melody is not None:
        assert melody.dtype == MELODY_DTYPE and 1 <= melody.size <= max_steps
        np.testing.assert_array_equal(melody, canonical_melody(melody))
