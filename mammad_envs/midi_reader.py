"""Reading a Standard MIDI File's notes, bounded in bytes, events and length.

:mod:`mammad_envs.midi` loads melodies with this reader rather than with mido's parser, which
builds a ``Message`` object per event: about 35 microseconds and 200 bytes of memory per byte of
file here, so a 50 MB file of note events took 291 s and 6.4 GB. This reader walks the bytes
once and keeps only what a melody needs (the note-ons and note-offs as three integer arrays per
track, the track's name and its length), in time and memory linear in the file. It decodes
meta messages with mido (so they are checked as before) and checks every other message as mido
does: a status byte it defines, data bytes below 128, sysex data without a byte of 128 or more.

Limits, each with a module constant as its default and an argument to raise it:

* **Bytes**: a file over ``max_bytes`` (default :data:`MAX_MIDI_BYTES`, 16 MiB; real tunes are
  a few kB) is refused before it is opened, from its size on disk.
* **Events**: a track stops being read at its ``max_events``-th message past the limit
  (default :data:`MAX_MIDI_EVENTS` = 2**22 = 4,194,304 messages in all the file's tracks), and
  the file is refused.
* **Length**: a track is refused as soon as a message's time passes ``max_steps`` 16ths.

A path that names a folder, a FIFO, a device, a socket or a loop of symbolic links is refused by
name, before anything is read from it.
"""

from __future__ import annotations

import math
import os
import re
from array import array
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mido.midifiles.meta import build_meta_message

from mammad_envs.errors import MammadError
from mammad_envs.file_limits import check_limit, read_bounded, regular_file_size
from mammad_envs.melody import STEPS_PER_BEAT

DRUM_CHANNEL = 9
"""MIDI channel 10, counted from 0: drums, whose notes are not read."""
MAX_MIDI_BYTES = 16 * 2**20
"""Default limit on a MIDI file's size in bytes (``max_bytes``): 16 MiB."""
MAX_MIDI_EVENTS = 2**22
"""Default limit on a MIDI file's number of messages, all tracks together (``max_events``)."""
MAX_MESSAGE_BYTES = 1_000_000
"""The longest meta or sysex message, as mido's ``MAX_MESSAGE_LENGTH``."""
_LARGEST_TICK = 2**62
"""Ticks are kept as int64: a track past this is too long whatever ``max_steps`` says."""
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
"""Data bytes of each channel message, by the status byte's high nibble."""
_SYSTEM_DATA_BYTES = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0,
                      0xFE: 0}
"""Data bytes of the system common and real-time messages mido defines (not 0xF4, 0xF5, 0xF9,
0xFD)."""


class MidiFileError(MammadError, ValueError):
    """A file that is unreadable, empty, truncated, not MIDI, too large, or has no usable notes."""


class _Invalid(Exception):
    """A malformed message; :func:`read_tracks` turns it into a MidiFileError naming the file."""


@dataclass(frozen=True)
class TrackNotes:
    """The notes of one track as arrays, in 16ths, sorted by start then pitch.

    Attributes:
        index: Position of the track in the file.
        name: The track's name ("" if it has none).
        pitches: MIDI pitches (int64).
        starts: First 16ths (int64).
        ends: Last 16ths, exclusive (int64); each at least its start + 1.
        length: 16ths up to the track's end-of-track marker (rounded up).
    """

    index: int
    name: str
    pitches: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    length: int

    @property
    def count(self) -> int:
        """The number of notes."""
        return len(self.pitches)


def read_file(path: str | os.PathLike, max_bytes: int = MAX_MIDI_BYTES) -> bytes:
    """The bytes of a MIDI file, refused before it is opened if it is too large or no file.

    Raises:
        FileNotFoundError: If there is no such file (or a symbolic link to nothing).
        MidiFileError: If the path is a folder, a FIFO, a device, a socket or a loop of
            symbolic links, is empty, or is over ``max_bytes``.
        ValueError: If ``max_bytes`` is not a positive integer.
    """
    check_limit("max_bytes", max_bytes)
    if regular_file_size(path, "MIDI file", MidiFileError) == 0:
        raise MidiFileError(f"MIDI file {str(path)!r} is empty (0 bytes)")
    return read_bounded(path, max_bytes, "MIDI file",
                        "max_bytes, default mammad_envs.midi.MAX_MIDI_BYTES",
                        "pass a larger max_bytes= to load it", MidiFileError)


def read_tracks(path: Path, data: bytes, max_steps: int,
                max_events: int = MAX_MIDI_EVENTS) -> tuple[int, int, list[TrackNotes]]:
    """The format, the ticks per beat and the notes of every track of a file's bytes.

    Args:
        path: The file (for messages).
        data: Its bytes.
        max_steps: The longest track accepted, in 16ths.
        max_events: The most messages accepted, all tracks together.

    Raises:
        MidiFileError: If the bytes are not a complete MIDI file, a track is longer than
            ``max_steps``, or there are over ``max_events`` messages.
    """
    check_limit("max_events", max_events)
    name = str(path)
    if len(data) < 8:
        raise MidiFileError(f"MIDI file {name!r} is truncated: it ends in the middle of a track")
    if data[:4] != b"MThd":
        raise MidiFileError(f"{name!r} is not a valid MIDI file: MThd not found. Probably not a "
                            f"MIDI file")
    size = int.from_bytes(data[4:8], "big")
    if size < 6 or len(data) < 14:
        raise MidiFileError(f"MIDI file {name!r} is truncated: it ends in the middle of a track")
    midi_format, count, division = (int.from_bytes(data[at:at + 2], "big", signed=True)
                                    for at in (8, 10, 12))
    if division < 0:  # the header's division field, read as a signed number
        frames, ticks = -(division >> 8), division & 0xFF
        raise MidiFileError(f"MIDI file {name!r} uses SMPTE time code ({frames} frames per "
                            f"second, {ticks} ticks per frame), which has no beats")
    if division == 0:
        raise MidiFileError(f"MIDI file {name!r} has 0 ticks per beat")
    budget = _Budget(max_events)
    tracks, at = [], 8 + size
    for index in range(max(count, 0)):
        header = data[at:at + 8]
        if len(header) < 8:
            raise MidiFileError(f"MIDI file {name!r} is truncated: it ends in the middle of a "
                                f"track")
        if header[:4] != b"MTrk":
            raise MidiFileError(f"{name!r} is not a valid MIDI file: no MTrk header at start "
                                f"of track")
        length = int.from_bytes(header[4:], "big")
        chunk = data[at + 8:at + 8 + length]
        try:
            tracks.append(_read_track(index, chunk, length, division, max_steps, budget, name))
        except _Invalid as error:
            raise MidiFileError(f"{name!r} is not a valid MIDI file: {error}") from None
        at += 8 + length
    return midi_format, division, tracks


class _Budget:
    """The messages a file may still have (``max_events`` in all)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit


def _too_long(name: str, index: int, max_steps: int) -> MidiFileError:
    return MidiFileError(
        f"MIDI file {name!r} is too long: track {index} goes past {max_steps:,} 16ths "
        f"({max_steps / (4 * STEPS_PER_BEAT):,g} bars of 4/4), the cap on a melody's length "
        f"(max_steps)")


def _too_many(name: str, limit: int) -> MidiFileError:
    return MidiFileError(f"MIDI file {name!r} has over {limit:,} events (messages), the limit "
                         f"(max_events, default mammad_envs.midi.MAX_MIDI_EVENTS): pass a larger "
                         f"max_events= to load it")


def _read_track(index: int, chunk: bytes, size: int, ticks_per_beat: int, max_steps: int,
                budget: _Budget, name: str) -> TrackNotes:
    """One track chunk's notes; raises _Invalid on a malformed message."""
    try:
        max_tick = min(ticks_per_beat * max_steps // STEPS_PER_BEAT, _LARGEST_TICK)
        track_name, notes, tick = _scan(chunk, size, max_tick, budget)
    except IndexError:
        if len(chunk) < size:
            raise MidiFileError(f"MIDI file {name!r} is truncated: it ends in the middle of a "
                                f"track") from None
        raise _Invalid(f"a message of track {index} runs past the end of its chunk") from None
    except _TooLong:
        raise _too_long(name, index, max_steps) from None
    except _TooMany:
        raise _too_many(name, budget.limit) from None
    columns = (np.frombuffer(notes, dtype=np.int64) if len(notes) else np.zeros(0, np.int64))
    pitches, start_ticks, end_ticks = columns.reshape(-1, 3).T
    ticks_per_step = ticks_per_beat / STEPS_PER_BEAT
    starts = np.rint(start_ticks / ticks_per_step).astype(np.int64)
    stops = np.maximum(np.rint(end_ticks / ticks_per_step).astype(np.int64), starts + 1)
    order = np.lexsort((pitches, starts))
    length = math.ceil(tick / ticks_per_step - 1e-9)
    if max([length, int(stops.max(initial=0))]) > max_steps:  # a last note made one 16th
        raise _too_long(name, index, max_steps)
    return TrackNotes(index, track_name, pitches[order], starts[order], stops[order], length)


class _TooLong(Exception):
    """A message's time passed the track's cap."""


class _TooMany(Exception):
    """Over the file's number of messages."""


def _scan(chunk: bytes, size: int, max_tick: int, budget: _Budget
          ) -> tuple[str, array, int]:
    """Walks a track's messages once: its name, its notes' tick columns, its last tick.

    Returns ``(name, notes as (pitch, start tick, end tick) triples in one array, tick of the
    last message)``. Raises
    IndexError past the chunk's end, _Invalid, _TooLong or _TooMany.
    """
    notes = array("q")  # pitch, start tick, end tick: three entries a note
    add = notes.extend
    open_notes: dict[int, deque[int]] = {}
    track_name, tick, at, running, left = "", 0, 0, -1, budget.left
    while at != size:
        # The delta time's variable-length number, decoded inline (as _counted decodes a
        # length): a call per event would cost more than the rest of this loop's step.
        byte = chunk[at]
        at += 1
        delta = byte & 0x7F
        while byte & 0x80:
            byte = chunk[at]
            at += 1
            delta = (delta << 7) | (byte & 0x7F)
        tick += delta
        if tick > max_tick:
            raise _TooLong
        left -= 1
        if left < 0:
            raise _TooMany
        status = chunk[at]
        if status & 0x80:
            at += 1
            if status != 0xFF:
                running = status
        elif running < 0:
            raise _Invalid("running status without last_status")
        else:
            status = running
            if status in (0xF0, 0xF7):  # mido drops the byte and reads a sysex from the next
                at += 1
        high = status & 0xF0
        if high in (0x80, 0x90):
            note, velocity = chunk[at], chunk[at + 1]
            at += 2
            if note > 127 or velocity > 127:
                raise _Invalid("data byte must be in range 0..127")
            if status & 0x0F == DRUM_CHANNEL:
                continue
            key = ((status & 0x0F) << 7) | note
            waiting = open_notes.get(key)
            if high == 0x90 and velocity:
                if waiting is None:
                    open_notes[key] = deque((tick,))
                else:
                    waiting.append(tick)
            elif waiting:
                add((note, waiting.popleft(), tick))
        elif high < 0xF0:
            width = _DATA_BYTES[high]
            if at + width > len(chunk):
                raise IndexError
            if max(chunk[at:at + width]) > 127:
                raise _Invalid("data byte must be in range 0..127")
            at += width
        elif status == 0xFF:
            kind = chunk[at]
            data, at = _counted(chunk, at + 1)
            message = _meta(kind, data)
            if message.type == "track_name" and not track_name:
                track_name = message.name
        elif status in (0xF0, 0xF7):
            data, at = _counted(chunk, at)
            data = data[1:] if data[:1] == b"\xf0" else data
            data = data[:-1] if data[-1:] == b"\xf7" else data
            if _HIGH_BYTE.search(data):
                raise _Invalid("data byte must be in range 0..127")
        else:
            at = _system(chunk, at, status)
    budget.left = left
    for key, waiting in open_notes.items():  # notes never switched off end with the track
        for start in waiting:
            add((key & 0x7F, start, tick))
    return track_name, notes, tick


def _system(chunk: bytes, at: int, status: int) -> int:
    """Skips a system common or real-time message's data; returns where the next one starts."""
    width = _SYSTEM_DATA_BYTES.get(status)
    if width is None:
        raise _Invalid(f"undefined status byte 0x{status:02x}")
    if at + width > len(chunk):
        raise IndexError
    if width and max(chunk[at:at + width]) > 127:
        raise _Invalid("data byte must be in range 0..127")
    return at + width


def _counted(chunk: bytes, at: int) -> tuple[bytes, int]:
    """A variable-length count and that many bytes: (the bytes, where the next message starts)."""
    count, more = 0, True
    while more:  # seven bits a byte, most significant first; a clear top bit ends the number
        count = (count << 7) | (chunk[at] & 0x7F)
        more = chunk[at] > 0x7F
        at += 1
    if count > MAX_MESSAGE_BYTES:
        raise _Invalid(f"Message length {count} exceeds maximum length {MAX_MESSAGE_BYTES}")
    if at + count > len(chunk):
        raise IndexError
    return chunk[at:at + count], at + count


def _meta(kind: int, data: bytes) -> Any:
    """A meta message decoded by mido (which checks it), or _Invalid with mido's reason."""
    try:
        return build_meta_message(kind, list(data))
    except MemoryError:
        raise
    except Exception as error:  # mido raises KeySignatureError, IndexError, ValueError...
        raise _Invalid(str(error) or type(error).__name__) from None
