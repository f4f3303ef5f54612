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
  loading needs about 160 bytes per 16th of the melody (10 MB at the default cap), plus what
  mido needs to parse the file (about 100 bytes per byte of file).
* **Bad files**: a file that is empty, truncated, not MIDI, malformed in any way mido notices,
  timed in SMPTE frames (no beats) or at 0 ticks per beat, longer than the cap, or without
  notes raises :class:`MidiFileError` naming the file and the reason.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from mammad_envs.melody import (
    HOLD,
    MELODY_DTYPE,
    NUM_PITCHES,
    REST,
    STEPS_PER_BEAT,
    as_melody,
    note_events,
)

TICKS_PER_BEAT = 480
TICKS_PER_STEP = TICKS_PER_BEAT // STEPS_PER_BEAT
DRUM_CHANNEL = 9
MELODY_TRACK = "melody"
ACCOMPANIMENT_TRACK = "accompaniment"
MAX_MIDI_STEPS = 2**16
"""Default cap on the length of a track read from a file, in 16ths (see the module docstring)."""
_HIGH_BYTE_RUN = re.compile(rb"[\x80-\xff]{4097}")
"""More bytes in a row with the top bit set than any real file has. The standard's numbers
(delta-times, lengths) have at most 4 bytes, but mido reads one of any length, in time
quadratic in it (100 kB of 0xFF take 1.7 s), so such a file is refused before mido sees it."""


class MidiFileError(ValueError):
    """A file that is unreadable, empty, truncated, not MIDI, too long, or has no usable notes."""


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


def read_midi_tracks(path: str | os.PathLike, *,
                     max_steps: int = MAX_MIDI_STEPS) -> list[MidiTrack]:
    """Reads every track of a MIDI file as notes on the 16th grid (see the module docstring).

    Args:
        path: A standard MIDI file.
        max_steps: The longest track accepted, in 16ths (its end-of-track marker and the end
            of its last note); the file is refused as soon as a message passes it.

    Returns:
        One :class:`MidiTrack` per track of the file, including tracks without notes.

    Raises:
        FileNotFoundError: If there is no such file.
        MidiFileError: If the file cannot be read, is empty, truncated, not a MIDI file, not
            timed in beats, or has a track longer than ``max_steps``.
        ValueError: If ``max_steps`` is not a positive integer.
    """
    _check_max_steps(max_steps)
    path = Path(path)
    if path.is_dir():
        raise MidiFileError(f"{str(path)!r} is a directory, not a MIDI file")
    if not path.is_file():
        raise FileNotFoundError(f"MIDI file {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise MidiFileError(f"MIDI file {str(path)!r} is empty (0 bytes)")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MidiFileError(f"MIDI file {str(path)!r} cannot be read: {error}") from error
    if _HIGH_BYTE_RUN.search(data):
        raise MidiFileError(f"{str(path)!r} is not a valid MIDI file: it has over 4,096 bytes "
                            f"in a row with the top bit set (a variable-length number)")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except EOFError as error:
        raise MidiFileError(f"MIDI file {str(path)!r} is truncated: it ends in the middle of "
                            f"a track") from error
    except MemoryError:
        raise
    except Exception as error:  # mido raises OSError, ValueError, KeyError, IndexError,
        # KeySignatureError... on malformed bytes: all mean "not a valid MIDI file"
        raise MidiFileError(f"{str(path)!r} is not a valid MIDI file: "
                            f"{error or type(error).__name__}") from error
    if midi.type == 2 and not midi.tracks:
        raise MidiFileError(f"MIDI file {str(path)!r} has no tracks")
    if midi.ticks_per_beat < 0:  # the header's division field, read as a signed number
        frames, ticks = -(midi.ticks_per_beat >> 8), midi.ticks_per_beat & 0xFF
        raise MidiFileError(f"MIDI file {str(path)!r} uses SMPTE time code ({frames} frames "
                            f"per second, {ticks} ticks per frame), which has no beats")
    if midi.ticks_per_beat == 0:
        raise MidiFileError(f"MIDI file {str(path)!r} has 0 ticks per beat")
    return [_read_track(index, track, midi.ticks_per_beat, max_steps, path)
            for index, track in enumerate(midi.tracks)]


def _check_max_steps(max_steps: int) -> None:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")


def _too_long(path: Path, index: int, max_steps: int) -> MidiFileError:
    return MidiFileError(
        f"MIDI file {str(path)!r} is too long: track {index} goes past {max_steps:,} 16ths "
        f"({max_steps / (4 * STEPS_PER_BEAT):,g} bars of 4/4), the cap on a melody's length "
        f"(max_steps)")


def _read_track(index: int, track: mido.MidiTrack, ticks_per_beat: int, max_steps: int,
                path: Path) -> MidiTrack:
    ticks_per_step = ticks_per_beat / STEPS_PER_BEAT
    max_ticks = max_steps * ticks_per_beat  # compared with tick * STEPS_PER_BEAT: exact ints
    name = ""
    tick = 0
    open_notes: dict[tuple[int, int], deque[int]] = defaultdict(deque)
    raw: list[tuple[int, int, int]] = []  # (pitch, start tick, end tick)
    for message in track:
        tick += message.time
        if tick * STEPS_PER_BEAT > max_ticks:
            raise _too_long(path, index, max_steps)
        if message.type == "track_name" and not name:
            name = message.name
        if message.type not in ("note_on", "note_off") or message.channel == DRUM_CHANNEL:
            continue
        key = (message.channel, message.note)
        if message.type == "note_on" and message.velocity > 0:
            open_notes[key].append(tick)
        elif open_notes[key]:
            raw.append((message.note, open_notes[key].popleft(), tick))
    for (_, pitch), starts in open_notes.items():  # notes never switched off end with the track
        raw.extend((pitch, start, tick) for start in starts)
    notes = []
    for pitch, start_tick, end_tick in raw:
        start = round(start_tick / ticks_per_step)
        end = max(round(end_tick / ticks_per_step), start + 1)
        notes.append(Note(pitch, start, end))
    notes.sort(key=lambda note: (note.start, note.pitch))
    length = math.ceil(tick / ticks_per_step - 1e-9)
    if max([length] + [note.end for note in notes]) > max_steps:  # a last note made one 16th
        raise _too_long(path, index, max_steps)
    return MidiTrack(index, name, tuple(notes), length)


def skyline(notes: Iterable[Note], length: int) -> np.ndarray:
    """The highest sounding note at each 16th, as a canonical melody array.

    Args:
        notes: Notes on the 16th grid, possibly overlapping.
        length: Length of the melody in 16ths; notes beyond it are cut.

    Returns:
        A melody array of ``length`` entries.
    """
    top = np.full(length, -1, dtype=np.int64)
    struck = np.zeros((length, NUM_PITCHES), dtype=bool)
    for note in notes:
        if note.start >= length:
            continue
        span = slice(note.start, min(note.end, length))
        top[span] = np.maximum(top[span], note.pitch)
        struck[note.start, note.pitch] = True
    steps = np.arange(length)
    previous = np.concatenate(([-1], top[:-1]))
    onset = (top >= 0) & (struck[steps, np.maximum(top, 0)] | (top != previous))
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

    Returns:
        The melody (see the module docstring for how chords and overlaps are resolved).

    Raises:
        FileNotFoundError: If there is no such file.
        MidiFileError: If the file is not a readable MIDI file timed in beats, a track is longer
            than ``max_steps``, or the track has no notes.
        ValueError: If ``track`` names no track of the file, ``steps`` is not positive or is
            more than ``max_steps``, or ``max_steps`` is not a positive integer.
    """
    _check_max_steps(max_steps)
    if steps is not None and (not isinstance(steps, int) or steps <= 0):
        raise ValueError(f"steps must be a positive integer or None, got {steps!r}")
    if steps is not None and steps > max_steps:
        raise ValueError(f"steps={steps} is more than max_steps={max_steps}")
    tracks = read_midi_tracks(path, max_steps=max_steps)
    chosen = _choose_track(tracks, track, path)
    length = steps if steps is not None else max(
        [chosen.length] + [note.end for note in chosen.notes]
    )
    return skyline(chosen.notes, length)


def _choose_track(tracks: list[MidiTrack], track: int | str | None,
                  path: str | os.PathLike) -> MidiTrack:
    """The track to read; a track named "melody" may be silent, any other needs notes."""
    choices = ", ".join(f"{t.index} ({t.name or 'unnamed'}, {len(t.notes)} notes)"
                        for t in tracks)
    if track is None:
        named = [t for t in tracks if t.name.strip().lower() == MELODY_TRACK and t.length]
        with_notes = [t for t in tracks if t.notes]
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
    if not chosen.notes and not (chosen.name == MELODY_TRACK and chosen.length):
        raise MidiFileError(f"track {track!r} of MIDI file {str(path)!r} has no notes; "
                            f"its tracks: {choices}")
    return chosen
