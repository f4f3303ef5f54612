"""Reading and writing MIDI files with mido.

Files written by :func:`write_midi` (and so by ``MelodyEnv.to_midi``) are type 1 with three
tracks: a conductor track (tempo, 4/4 time signature), a track named ``"melody"`` and, when
there is one, a track named ``"accompaniment"``. One 16th note is ``TICKS_PER_BEAT / 4`` ticks.

:func:`load_midi` reads any standard MIDI file back into a melody array. The policy for files
from elsewhere:

* **Which track**: the one named ``"melody"`` if there is one, else the first track with
  notes; ``track=`` picks another by index or name.
* **Grid**: note times are rounded to the nearest 16th of a beat, counted in ticks, so tempo
  changes do not move notes; time-signature changes are ignored (the grid is in beats). A note
  shorter than half a 16th still lasts one 16th.
* **Overlapping notes** (chords, double stops, legato overlaps): the highest sounding note wins
  (a "skyline"). When the top note ends and a lower one is still sounding, the lower one starts
  at that 16th. Drums (MIDI channel 10) are ignored.
* **Length**: up to the end of the last note, or the track's end-of-track marker if later
  (``write_midi`` puts it at the end of the melody, so trailing silence survives).
* **Length cap**: a track may run for at most ``max_steps`` 16ths (default
  :data:`MAX_MIDI_STEPS` = 2**16 = 65,536 16ths: 4,096 bars of 4/4, over two hours at 120 bpm,
  longer than any tune, while a melody at the cap still loads in a few milliseconds). A file
  with a longer track is refused as soon as a message's time passes the cap, before anything
  of that size is allocated, so a few bytes with a huge delta-time cannot ask for gigabytes:
  loading needs about 40 bytes per 16th of the melody (3 MB at the default cap), plus about 12
  bytes per byte of file to parse it.
* **Size and event caps**: a file over ``max_bytes`` (default :data:`MAX_MIDI_BYTES` = 16 MiB)
  is refused from its size on disk, before it is opened; one with over ``max_events`` messages
  (default :data:`MAX_MIDI_EVENTS` = 4,194,304) is refused at the first message past the cap.
  Within them a file loads in time and memory linear in its size (about 1-3 MB/s here:
  ``python -m benchmarks.midi_load``), read by :mod:`mammad_envs.midi_reader` rather than by
  mido, whose parser builds a Python object per message (about 200 bytes per byte of file).
* **Bad files**: a path that is a folder, a FIFO, a device or a loop of symbolic links, and a
  file that is empty, truncated, not MIDI, malformed in any way mido would notice, timed in
  SMPTE frames (no beats) or at 0 ticks per beat, over a cap, or without notes raises
  :class:`MidiFileError` naming the file and the reason.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from mammad_envs.melody import (
    HOLD,
    MELODY_DTYPE,
    REST,
    STEPS_PER_BEAT,
    as_melody,
    note_events,
)
from mammad_envs.midi_reader import DRUM_CHANNEL as DRUM_CHANNEL  # re-exported
from mammad_envs.midi_reader import (
    MAX_MIDI_BYTES,
    MAX_MIDI_EVENTS,
    MidiFileError,
    TrackNotes,
    read_file,
    read_tracks,
)

TICKS_PER_BEAT = 480
TICKS_PER_STEP = TICKS_PER_BEAT // STEPS_PER_BEAT
MELODY_TRACK = "melody"
ACCOMPANIMENT_TRACK = "accompaniment"
MAX_MIDI_STEPS = 2**16
"""Default cap on the length of a track read from a file, in 16ths (see the module docstring)."""
_HIGH_BYTE_RUN = re.compile(rb"[\x80-\xff]{4097}")
"""More bytes in a row with the top bit set than any real file has. The standard's numbers
(delta-times, lengths) have at most 4 bytes, but one of any length is read in time quadratic in
it (as big integers), so such a file is refused before it is parsed."""


@dataclass(frozen=True)
class Note:
    """A note on the 16th grid.

    Attributes:
        pitch: MIDI pitch 0..127.
        start: First 16th (inclusive).
        end: Last 16th (exclusive); ``end > start``.
    """

    pitch: int
    start: int
    end: int


@dataclass(frozen=True)
class MidiTrack:
    """The notes of one track of a MIDI file, on the 16th grid.

    Attributes:
        index: Position of the track in the file.
        name: The track's name ("" if it has none).
        notes: The notes, sorted by start then pitch.
        length: 16ths up to the track's end-of-track marker (rounded up).
    """

    index: int
    name: str
    notes: tuple[Note, ...]
    length: int


def write_midi(
    path: str | os.PathLike,
    melody: Sequence[int] | np.ndarray,
    accompaniment: Iterable[Note] = (),
    *,
    bpm: float = 120.0,
    melody_velocity: int = 90,
    accompaniment_velocity: int = 60,
) -> Path:
    """Writes a melody and an optional accompaniment as a type-1 MIDI file.

    Args:
        path: Where to write. Parent folders are created.
        melody: A melody array.
        accompaniment: Accompaniment notes (written to their own track).
        bpm: Tempo in quarter notes per minute.
        melody_velocity: MIDI velocity of melody notes.
        accompaniment_velocity: MIDI velocity of accompaniment notes.

    Returns:
        The path written.

    Raises:
        ValueError: If the melody is not a melody array or the tempo is not positive.
    """
    melody = as_melody(melody)
    if not (isinstance(bpm, int | float) and math.isfinite(bpm) and bpm > 0):
        raise ValueError(f"bpm must be a positive number, got {bpm!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name="conductor", time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        ]
    )
    midi.tracks.append(conductor)
    melody_notes = [Note(*event) for event in note_events(melody)]
    midi.tracks.append(_note_track(MELODY_TRACK, melody_notes, 0, melody_velocity, melody.size))
    accompaniment = list(accompaniment)
    if accompaniment:
        midi.tracks.append(
            _note_track(ACCOMPANIMENT_TRACK, accompaniment, 1, accompaniment_velocity, melody.size)
        )
    midi.save(path)
    return path


def _note_track(name: str, notes: Sequence[Note], channel: int, velocity: int,
                length: int) -> mido.MidiTrack:
    """A track with one note_on/note_off pair per note, ending at ``length`` 16ths."""
    events = []  # (tick, order, message); note_offs sort before note_ons at the same tick
    for note in notes:
        events.append((note.start * TICKS_PER_STEP, 1,
                       mido.Message("note_on", note=note.pitch, velocity=velocity,
                                    channel=channel)))
        events.append((note.end * TICKS_PER_STEP, 0,
                       mido.Message("note_off", note=note.pitch, velocity=0, channel=channel)))
    events.sort(key=lambda event: (event[0], event[1], event[2].note))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0),
                            mido.Message("program_change", program=0, channel=channel, time=0)])
    now = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    end = max(length * TICKS_PER_STEP, now)
    track.append(mido.MetaMessage("end_of_track", time=end - now))
    return track


def read_midi_tracks(path: str | os.PathLike, *, max_steps: int = MAX_MIDI_STEPS,
                     max_bytes: int = MAX_MIDI_BYTES,
                     max_events: int = MAX_MIDI_EVENTS) -> list[MidiTrack]:
    """Reads every track of a MIDI file as notes on the 16th grid (see the module docstring).

    Args:
        path: A standard MIDI file.
        max_steps: The longest track accepted, in 16ths (its end-of-track marker and the end
            of its last note); the file is refused as soon as a message passes it.
        max_bytes: The largest file accepted (default :data:`MAX_MIDI_BYTES`, 16 MiB),
            checked before the file is opened.
        max_events: The most messages accepted in all the tracks (default
            :data:`MAX_MIDI_EVENTS`).

    Returns:
        One :class:`MidiTrack` per track of the file, including tracks without notes.

    Raises:
        FileNotFoundError: If there is no such file.
        MidiFileError: If the path is not a regular file, or the file cannot be read, is empty,
            over ``max_bytes``, truncated, not a MIDI file, not timed in beats, has a track
            longer than ``max_steps`` or over ``max_events`` messages.
        ValueError: If a limit is not a positive integer.
    """
    return [MidiTrack(track.index, track.name,
                      tuple(map(Note, track.pitches.tolist(), track.starts.tolist(),
                                track.ends.tolist())), track.length)
            for track in _track_notes(path, max_steps, max_bytes, max_events)]


def _track_notes(path: str | os.PathLike, max_steps: int, max_bytes: int,
                 max_events: int) -> list[TrackNotes]:
    """Every track of a file as note arrays, all limits checked (see :func:`read_midi_tracks`)."""
    _check_max_steps(max_steps)
    path = Path(path)
    data = read_file(path, max_bytes)
    if _HIGH_BYTE_RUN.search(data):
        raise MidiFileError(f"{str(path)!r} is not a valid MIDI file: it has over 4,096 bytes "
                            f"in a row with the top bit set (a variable-length number)")
    midi_format, _, tracks = read_tracks(path, data, max_steps, max_events)
    if midi_format == 2 and not tracks:
        raise MidiFileError(f"MIDI file {str(path)!r} has no tracks")
    return tracks


def _check_max_steps(max_steps: int) -> None:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")


def skyline(notes: Iterable[Note], length: int) -> np.ndarray:
    """The highest sounding note at each 16th, as a canonical melody array.

    Args:
        notes: Notes on the 16th grid, possibly overlapping.
        length: Length of the melody in 16ths; notes beyond it are cut.

    Returns:
        A melody array of ``length`` entries.
    """
    columns = np.array([(n.pitch, n.start, n.end) for n in notes], dtype=np.int64).reshape(-1, 3)
    return _skyline(columns[:, 0], columns[:, 1], columns[:, 2], length)


def _skyline(pitches: np.ndarray, starts: np.ndarray, ends: np.ndarray,
             length: int) -> np.ndarray:
    """:func:`skyline` of notes given as arrays, in time linear in the notes and the length.

    The top note is found pitch by pitch, lowest first, each pitch's sounding 16ths counted
    with a running sum of its note starts less its note ends.
    """
    inside = starts < length
    pitches, starts, ends = pitches[inside], starts[inside], np.minimum(ends[inside], length)
    top = np.full(length, -1, dtype=np.int64)
    sounding = ends > starts
    order = np.argsort(pitches[sounding], kind="stable")
    by_pitch = [column[sounding][order] for column in (pitches, starts, ends)]
    bounds = np.flatnonzero(np.diff(by_pitch[0])) + 1
    for first, last in zip([0, *bounds.tolist()], [*bounds.tolist(), len(order)], strict=True):
        if first == last:
            continue
        count = (np.bincount(by_pitch[1][first:last], minlength=length + 1)
                 - np.bincount(by_pitch[2][first:last], minlength=length + 1))
        top[np.cumsum(count[:length]) > 0] = by_pitch[0][first]
    struck = np.zeros(length, dtype=bool)  # a note of the top pitch starts at that 16th
    struck[starts[top[starts] == pitches]] = True
    previous = np.concatenate(([-1], top[:-1]))
    onset = (top >= 0) & (struck | (top != previous))
    silence_starts = (top < 0) & (previous >= 0)
    melody = np.full(length, HOLD, dtype=MELODY_DTYPE)
    melody[onset] = top[onset]
    melody[silence_starts] = REST
    if length and top[0] < 0:
        melody[0] = REST
    return melody


def load_midi(
    path: str | os.PathLike,
    track: int | str | None = None,
    steps: int | None = None,
    *,
    max_steps: int = MAX_MIDI_STEPS,
    max_bytes: int = MAX_MIDI_BYTES,
    max_events: int = MAX_MIDI_EVENTS,
) -> np.ndarray:
    """Loads the melody of a MIDI file as a canonical melody array.

    Args:
        path: A standard MIDI file.
        track: Index or name of the track to read. By default the track named ``"melody"``
            (as written by :func:`write_midi`; it may be silent), else the first track with
            notes.
        steps: Length of the melody in 16ths (cut or padded with silence); by default the
            length of the track.
        max_steps: Cap on the length of the melody and of every track of the file, in 16ths
            (default :data:`MAX_MIDI_STEPS` = 65,536; see the module docstring). It bounds the
            memory a file can make this function allocate.
        max_bytes: The largest file accepted (default :data:`MAX_MIDI_BYTES`, 16 MiB), checked
            from its size before it is opened.
        max_events: The most messages accepted in all the file's tracks (default
            :data:`MAX_MIDI_EVENTS` = 4,194,304); the file is refused at the first one past it.

    Returns:
        The melody (see the module docstring for how chords and overlaps are resolved).

    Raises:
        FileNotFoundError: If there is no such file.
        MidiFileError: If the path is not a regular file (a folder, a FIFO, a loop of
            symbolic links...), the file is over ``max_bytes``, is not a readable MIDI file
            timed in beats, has a track longer than ``max_steps`` or over ``max_events``
            messages, or the track has no notes.
        ValueError: If ``track`` names no track of the file, ``steps`` is not positive or is
            more than ``max_steps``, or a limit is not a positive integer.
    """
    _check_max_steps(max_steps)
    if steps is not None and (not isinstance(steps, int) or steps <= 0):
        raise ValueError(f"steps must be a positive integer or None, got {steps!r}")
    if steps is not None and steps > max_steps:
        raise ValueError(f"steps={steps} is more than max_steps={max_steps}")
    tracks = _track_notes(path, max_steps, max_bytes, max_events)
    chosen = _choose_track(tracks, track, path)
    length = steps if steps is not None else max(chosen.length, int(chosen.ends.max(initial=0)))
    return _skyline(chosen.pitches, chosen.starts, chosen.ends, length)


def _choose_track(tracks: list[TrackNotes], track: int | str | None,
                  path: str | os.PathLike) -> TrackNotes:
    """The track to read; a track named "melody" may be silent, any other needs notes."""
    choices = ", ".join(f"{t.index} ({t.name or 'unnamed'}, {t.count} notes)" for t in tracks)
    if track is None:
        named = [t for t in tracks if t.name.strip().lower() == MELODY_TRACK and t.length]
        with_notes = [t for t in tracks if t.count]
        if not named and not with_notes:
            raise MidiFileError(f"MIDI file {str(path)!r} has no notes (outside the drum "
                                f"channel)")
        return (named or with_notes)[0]
    if isinstance(track, bool) or not isinstance(track, int | str):
        raise ValueError(f"track must be an index, a name or None, got {track!r}")
    key = "index" if isinstance(track, int) else "name"
    matches = [t for t in tracks if getattr(t, key) == track]
    if not matches:
        raise ValueError(f"MIDI file {str(path)!r} has no track {track!r}; its tracks: {choices}")
    chosen = matches[0]
    if not chosen.count and not (chosen.name == MELODY_TRACK and chosen.length):
        raise MidiFileError(f"track {track!r} of MIDI file {str(path)!r} has no notes; "
                            f"its tracks: {choices}")
    return chosen
