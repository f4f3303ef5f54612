"""Converting tunes from music21's public-domain ABC folk corpus to melody arrays.

Two sets of rules share the code of this module:

* **strict** (:func:`convert_strict`), for the 10 bundled demonstration melodies
  (``scripts/build_demonstrations.py``): a tune that breaks a rule is an error, never guessed;
  only 4/4, 2/2 and 2/4 on the 16th grid, pickups aligned to a bar of 16 steps.
* **lenient** (:func:`convert_lenient`), for the Note-RNN's training data
  (:func:`load_folk_corpus`): any metre, off-grid onsets (triplets) snapped to the nearest 16th,
  and tunes that cannot be converted without guessing are *dropped*, not fixed.

Both transpose each tune by the nearest interval (-6..+5 semitones) so that its tonic, taken
from the ABC key field, becomes C ("C major": major, mixolydian, lydian, ionian) or A
("A minor": minor, dorian, phrygian, aeolian), then shift it by octaves into MIDI 48..83,
centring its range. Ties merge into one note, rests become ``REST`` then ``HOLD`` s, grace notes
are dropped and repeats are not expanded (one pass through the score as written).

Only the public-domain collections are used: O'Neill's Music of Ireland (1850,
``oneills1850``), Ryan's Mammoth Collection (1883, ``ryansMammoth``) and ``miscFolk`` (American
fife tunes; Bruce & Stokoe's Northumbrian Minstrelsy, 1882). The Essen collection is never used
(its licence only permits non-commercial use).

music21 (``pip install -e .[dataset]``) is imported inside the functions that parse scores
only: this module, its constants and its pure-Python helpers import without it.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mammad_envs.melody import HOLD, MELODY_DTYPE, REST, STEPS_PER_BAR, canonical_melody

__all__ = [
    "ABC_PREAMBLE",
    "COLLECTIONS",
    "CorpusTune",
    "DEFAULT_COLLECTIONS",
    "Event",
    "FolkTune",
    "RULES_VERSION",
    "TuneError",
    "collection_name",
    "convert_lenient",
    "convert_strict",
    "downbeats",
    "events_to_melody",
    "folk_corpus_drops",
    "key_target",
    "load_folk_corpus",
    "octave_shift",
    "parse_tune",
    "snap_events",
    "snap_to_grid",
    "split_tunes",
    "to_steps",
    "transposition_for_keys",
]

LOW_PITCH: int = 48
"""Lowest pitch of a converted tune (C3), as in RL Tuner."""
HIGH_PITCH: int = 83
"""Highest pitch of a converted tune (B5)."""
MIN_STEPS: int = 64
"""Shortest bundled demonstration melody (strict rules), in 16ths."""
MIN_STEPS_LENIENT: int = 32
"""Shortest training tune (lenient rules), in 16ths."""
STEPS_PER_QUARTER: int = 4
"""16ths per quarter note (music21's quarterLength 1.0)."""

RULES_VERSION: int = 1
"""Version of the lenient rules; part of the cache key of :func:`load_folk_corpus`."""

DEFAULT_COLLECTIONS: tuple[str, ...] = ("oneills1850", "ryansMammoth", "miscFolk")
"""The public-domain collections of music21's corpus used for training data."""

COLLECTIONS = {
    "oneills1850": "O'Neill's Music of Ireland (1850)",
    "ryansMammoth": "Ryan's Mammoth Collection (1883)",
    "miscFolk/americanfifeopus.abc": "Colonial and Civil War American Fife Music (miscFolk)",
    "miscFolk/northumbrianminstrelsyopus.abc": "Northumbrian Minstrelsy (1882) (miscFolk)",
}
"""Human names of the source collections, by corpus path prefix."""

BAR_STEPS = {"4/4": 16, "2/2": 16, "2/4": 8}
"""Time signatures allowed by the strict rules, by ratio string: 16ths per bar."""

MAJOR_LIKE = frozenset({"major", "mixolydian", "lydian", "ionian"})
"""Modes transposed to C."""
MINOR_LIKE = frozenset({"minor", "dorian", "phrygian", "aeolian"})
"""Modes transposed to A."""

ABC_PREAMBLE = "%abc-2.1\n%%propagate-accidentals octave\n"
"""Prepended to each tune so music21 parses it as ABC 2.1 (see :func:`parse_tune`)."""


class TuneError(ValueError):
    """A tune that does not fit the conversion rules (see the module docstring)."""


@dataclass(frozen=True)
class Event:
    """A note or rest of a tune on the 16th grid (before transposition).

    Attributes:
        start: First 16th (including any pickup padding).
        length: Length in 16ths.
        midi: MIDI pitch, or ``None`` for a rest.
        spelling: Letter and octave of the note (``("F", 5)``), ``None`` for a rest.
        tied: Whether the note is the end or middle of a tie.
    """

    start: int
    length: int
    midi: int | None = None
    spelling: tuple[str, int] | None = None
    tied: bool = False


class RawEvent(NamedTuple):
    """A note or rest as parsed, in quarter notes (possibly off the 16th grid).

    Attributes:
        offset: Onset in quarter notes.
        duration: Duration in quarter notes (> 0).
        midi: MIDI pitch, or ``None`` for a rest.
        spelling: Letter and octave of the note, ``None`` for a rest.
        tied: Whether the note is the end or middle of a tie.
    """

    offset: Fraction | float
    duration: Fraction | float
    midi: int | None = None
    spelling: tuple[str, int] | None = None
    tied: bool = False


class FolkTune(NamedTuple):
    """One converted training tune: ``(title, collection, melody)``.

    Attributes:
        title: The tune's title (``T:`` field).
        collection: The collection it comes from (``"oneills1850"``, ...).
        melody: The melody array (C major / A minor, MIDI 48..83).
    """

    title: str
    collection: str
    melody: np.ndarray


@dataclass(frozen=True, eq=False)
class CorpusTune:
    """One converted training tune with its details.

    Attributes:
        title: The tune's title.
        collection: The collection it comes from.
        melody: The melody array.
        downbeats: Steps where a full bar starts (sorted).
        corpus_path: Path of its ABC file in music21's corpus.
        number: Its ``X:`` reference number.
        transposition: Semitones it was shifted by (key and octave).
    """

    title: str
    collection: str
    melody: np.ndarray = field(repr=False)
    downbeats: np.ndarray = field(repr=False)
    corpus_path: str
    number: int
    transposition: int


# ----------------------------------------------------------------------------------------------
# Pure-Python helpers (no music21)


def collection_name(corpus_path: str) -> str:
    """The human name of the collection a corpus path belongs to.

    Args:
        corpus_path: Path of an ABC file in music21's corpus.

    Returns:
        The collection's name.

    Raises:
        KeyError: If the path is not in one of the public-domain collections.
    """
    for prefix, name in COLLECTIONS.items():
        if corpus_path.startswith(prefix):
            return name
    raise KeyError(f"{corpus_path!r} is not in a public-domain collection")


def to_steps(quarter_length: float | Fraction, what: str) -> int:
    """Converts a music21 quarterLength to 16th steps, requiring an exact fit.

    Args:
        quarter_length: An offset or duration in quarter notes.
        what: What the value is, for the error message.

    Returns:
        The number of 16ths.

    Raises:
        TuneError: If the value is not a whole number of 16ths (e.g. a triplet).
    """
    steps = float(quarter_length) * STEPS_PER_QUARTER
    if abs(steps - round(steps)) > 1e-9:
        raise TuneError(f"{what} ({quarter_length} quarters) is off the 16th grid")
    return int(round(steps))


def snap_to_grid(quarter_length: float | Fraction) -> int:
    """The nearest 16th to a time in quarter notes (exact halves round up).

    Args:
        quarter_length: An offset in quarter notes (music21 gives a Fraction for triplets).

    Returns:
        The nearest whole number of 16ths: ``snap_to_grid(Fraction(1, 3)) == 1``.
    """
    return math.floor(Fraction(quarter_length) * STEPS_PER_QUARTER + Fraction(1, 2))


def snap_events(raw_events: Iterable[RawEvent]) -> list[Event]:
    """Puts notes and rests on the 16th grid, snapping each onset and end to the nearest 16th.

    Args:
        raw_events: Notes and rests in score order, times in quarter notes.

    Returns:
        The events on the grid (an event's end is the snapped end of its unsnapped span).

    Raises:
        TuneError: If snapping collapses an event to zero length (e.g. 16th-note triplets) or
            events overlap (more than one voice).
    """
    events = []
    position = 0
    for raw in raw_events:
        start = snap_to_grid(raw.offset)
        end = snap_to_grid(Fraction(raw.offset) + Fraction(raw.duration))
        if end <= start:
            raise TuneError(f"snapping collapses the event at {raw.offset} quarters "
                            f"(length {raw.duration})")
        if start < position:
            raise TuneError(f"overlapping events at {raw.offset} quarters")
        events.append(Event(start, end - start, raw.midi, raw.spelling, raw.tied))
        position = end
    return events


def key_target(tonic_pitch_class: int, mode: str) -> tuple[int, str]:
    """The nearest transposition that takes a tonic to C (major-like) or A (minor-like).

    Args:
        tonic_pitch_class: Pitch class 0..11 of the tune's tonic.
        mode: Mode from the ABC key field (``"major"``, ``"dorian"``, ...).

    Returns:
        ``(semitones, key name)`` with semitones in -6..+5.

    Raises:
        TuneError: If the mode is unknown.
    """
    if mode in MAJOR_LIKE:
        target, name = 0, "C major"
    elif mode in MINOR_LIKE:
        target, name = 9, "A minor"
    else:
        raise TuneError(f"unsupported mode {mode!r}")
    return (target - tonic_pitch_class + 6) % 12 - 6, name


def transposition_for_keys(keys: Sequence[tuple[int, str]]) -> tuple[int, str]:
    """The one transposition that suits every key of a tune (lenient rules).

    A change between relative keys (G major and E minor both move by +5) is accepted; any
    other change of key is an error: the tune would not stay in C major / A minor.

    Args:
        keys: ``(tonic pitch class, mode)`` of each key field, in order.

    Returns:
        ``(semitones, key name of the first key)``.

    Raises:
        TuneError: If there is no key, a mode is unknown, or the keys need different shifts.
    """
    if not keys:
        raise TuneError("no key")
    targets = [key_target(tonic, mode) for tonic, mode in keys]
    if len({semitones for semitones, _ in targets}) > 1:
        raise TuneError(f"change of key {keys}")
    return targets[0]


def octave_shift(low: int, high: int, low_pitch: int = LOW_PITCH,
                 high_pitch: int = HIGH_PITCH) -> int:
    """The octave shift that puts a pitch range inside ``low_pitch..high_pitch``.

    Args:
        low: Lowest pitch of the tune.
        high: Highest pitch of the tune.
        low_pitch: Lowest allowed pitch.
        high_pitch: Highest allowed pitch.

    Returns:
        A multiple of 12; among those that fit, the one that centres the range best (the lower
        one on a tie).

    Raises:
        TuneError: If the range is too wide to fit at any octave.
    """
    fits = [12 * k for k in range(-10, 11)
            if low + 12 * k >= low_pitch and high + 12 * k <= high_pitch]
    if not fits:
        raise TuneError(f"range {low}..{high} does not fit {low_pitch}..{high_pitch}")
    middle = (low_pitch + high_pitch) / 2
    return min(fits, key=lambda shift: (abs((low + high) / 2 + shift - middle), shift))


def events_to_melody(events: Sequence[Event], shift: int, total: int) -> np.ndarray:
    """Renders grid events as a canonical melody array.

    Silence before the first event, in gaps and after the last event is ``REST`` then
    ``HOLD`` s. A tied note continues (``HOLD``) only if it follows the previous note directly
    with the same letter and octave; otherwise it is struck again.

    Args:
        events: Notes and rests on the grid, in order, not overlapping.
        shift: Semitones added to every pitch.
        total: Length of the melody (at least the end of the last event).

    Returns:
        The canonical melody (dtype :data:`~mammad_envs.melody.MELODY_DTYPE`).

    Raises:
        TuneError: If events overlap.
    """
    melody = np.full(total, HOLD, dtype=np.int64)
    if total:
        melody[0] = REST
    position = 0
    sounding: tuple[str, int] | None = None  # letter and octave of the sounding note
    for event in events:
        if event.start < position:
            raise TuneError(f"overlapping notes at step {event.start}")
        if event.start > position:  # a gap in the score: silence
            melody[position] = REST
            sounding = None
        if event.midi is None:
            melody[event.start] = REST
            sounding = None
        elif event.tied and event.start == position and event.spelling == sounding:
            pass  # a tie: the previous note continues (HOLD), with its accidental
        else:
            melody[event.start] = event.midi + shift
            sounding = event.spelling
        position = event.start + event.length
    if position < total:
        melody[position] = REST
    return canonical_melody(melody)


def downbeats(bars: Iterable[tuple[int, int, int | None]]) -> np.ndarray:
    """The steps where full bars start.

    Args:
        bars: ``(start, end, bar length)`` of each measure in 16ths; the bar length is that of
            the measure's time signature (``None`` if unknown or off the grid).

    Returns:
        Sorted unique starts of the measures as long as their time signature's bar (int32).
        Incomplete bars (a pickup, or the half bars around a repeat sign) do not count.
    """
    starts = {start for start, end, length in bars if length and end - start == length}
    return np.array(sorted(starts), dtype=np.int32)


def split_tunes(text: str) -> list[tuple[int, str]]:
    """Splits the text of an ABC file into tunes at its ``X:`` lines.

    Like music21's ``ABCFile.extractReferenceNumber``, the file header (before the first
    ``X:``) is not included.

    Args:
        text: The whole file.

    Returns:
        ``(reference number, tune text)`` pairs in file order; a non-numeric ``X:`` field
        gives -1.
    """
    tunes: list[tuple[int, str]] = []
    current: list[str] | None = None
    number = -1
    for line in text.split("\n"):
        if line.strip().startswith("X:"):
            if current is not None:
                tunes.append((number, "\n".join(current)))
            digits = re.match(r"\s*X:\s*(\d+)", line)
            number = int(digits.group(1)) if digits else -1
            current = [line]
        elif current is not None:
            current.append(line)
    if current is not None:
        tunes.append((number, "\n".join(current)))
    return tunes


# ----------------------------------------------------------------------------------------------
# music21 parts


def _require_music21() -> str:
    """The installed music21 version, or a clear ImportError."""
    from importlib import metadata

    try:
        return metadata.version("music21")
    except metadata.PackageNotFoundError:
        raise ImportError("the folk corpus needs music21: pip install -e '.[dataset]'") from None


def parse_tune(corpus_path: str, number: int):  # noqa: ANN201 (music21 is imported lazily)
    """Parses one tune from music21's corpus, with ABC 2.1 accidental rules.

    music21 reads ABC files without a ``%abc-2.x`` line (all of these) as ABC 1.x and then does
    not carry an accidental through the rest of its bar, which puts wrong notes into tunes such
    as ``^f2 fg``. So the tune's text is taken from the corpus file and parsed as ABC 2.1 with
    ``%%propagate-accidentals octave``: an accidental holds for the same note (same octave) until
    the bar line, as in the printed sources.

    Args:
        corpus_path: Path of the ABC file in music21's corpus (``"oneills1850/0001-0050.abc"``).
        number: The tune's ``X:`` reference number.

    Returns:
        The music21 score.
    """
    _require_music21()
    from music21 import abcFormat, corpus

    path = Path(corpus.getWork(corpus_path))
    text = path.read_text(encoding="utf-8", errors="replace")
    return parse_abc(abcFormat.ABCFile().extractReferenceNumber(text, number))


def parse_abc(tune_text: str):  # noqa: ANN201
    """Parses the ABC text of one tune as ABC 2.1 (see :func:`parse_tune`).

    Args:
        tune_text: One tune, from its ``X:`` line.

    Returns:
        The music21 score.
    """
    from music21 import converter

    return converter.parse(ABC_PREAMBLE + tune_text, format="abc")


def convert_strict(score) -> dict[str, Any]:  # noqa: ANN001
    """Converts a tune with the strict rules of the bundled demonstration melodies.

    * Grid: every onset and duration falls exactly on the 16th grid (no triplets, no 32nds).
    * Monophony: one part, no chords or double stops. Grace notes are dropped.
    * Metre: only 4/4, 2/2 and 2/4, with no change of time signature or key, and no
      first/second-time endings.
    * Pickup: an incomplete first bar is right-aligned in one 16-step bar of silence, so the
      first full bar starts on a 4/4 downbeat; every later full bar must start on a multiple of
      its own length; the end is padded with silence to a multiple of 16 steps.
    * At least :data:`MIN_STEPS` steps.

    Args:
        score: A music21 score with one part.

    Returns:
        A dict with ``melody`` (canonical melody array, C major / A minor, MIDI 48..83),
        ``original_key``, ``key``, ``time_signature``, ``transposition``.

    Raises:
        TuneError: If the tune breaks one of the rules.
    """
    from music21 import chord, key, meter, note, spanner, stream

    parts = list(score.parts)
    if len(parts) != 1:
        raise TuneError(f"{len(parts)} parts (only monophonic single-part tunes are used)")
    part = parts[0]
    flat = part.flatten()

    signatures = {ts.ratioString for ts in flat.getElementsByClass(meter.TimeSignature)}
    if len(signatures) != 1:
        raise TuneError(f"time signatures {sorted(signatures)} (exactly one is needed)")
    time_signature = signatures.pop()
    if time_signature not in BAR_STEPS:
        raise TuneError(f"time signature {time_signature} is not on the 4/4 grid")
    bar_steps = BAR_STEPS[time_signature]

    keys = list(flat.getElementsByClass(key.KeySignature))
    if not keys or any(str(k) != str(keys[0]) for k in keys):
        raise TuneError(f"key signatures {[str(k) for k in keys]} (exactly one is needed)")
    tune_key = keys[0]
    if not isinstance(tune_key, key.Key):
        raise TuneError(f"key signature {tune_key} has no tonic")
    mode = tune_key.mode
    semitones, target_key = key_target(tune_key.tonic.pitchClass, mode)
    original_key = f"{tune_key.tonic.name.replace('-', 'b')} {mode}"

    if any(isinstance(s, spanner.RepeatBracket) for s in part.spannerBundle):
        raise TuneError("first/second-time endings (a single pass would play both)")

    measures = list(part.getElementsByClass(stream.Measure))
    starts = [to_steps(m.offset, f"bar {m.number}") for m in measures]
    ends = starts[1:] + [to_steps(part.highestTime, "end")]
    pickup = ends[0] - starts[0] if ends[0] - starts[0] < bar_steps else 0
    pad = (STEPS_PER_BAR - pickup) % STEPS_PER_BAR if pickup else 0
    for measure, start, end in zip(measures, starts, ends, strict=True):
        if end - start == bar_steps and (start + pad) % bar_steps:
            raise TuneError(f"full bar {measure.number} starts off the bar grid")
        if end - start > bar_steps:
            raise TuneError(f"bar {measure.number} is longer than a {time_signature} bar")

    events: list[Event] = []
    for element in flat.notesAndRests:
        if element.duration.isGrace or element.duration.quarterLength == 0:
            continue  # grace notes are dropped
        if isinstance(element, chord.Chord):
            raise TuneError(f"chord at offset {element.offset} (double stops are not used)")
        if element.duration.tuplets:
            raise TuneError(f"tuplet at offset {element.offset}")
        start = to_steps(element.offset, f"onset at {element.offset}") + pad
        length = to_steps(element.duration.quarterLength, f"duration at {element.offset}")
        if isinstance(element, note.Note):
            tied = element.tie is not None and element.tie.type in ("stop", "continue")
            events.append(Event(start, length, element.pitch.midi,
                                (element.pitch.step, element.pitch.octave), tied))
        else:
            events.append(Event(start, length))

    pitches = [event.midi for event in events if event.midi is not None]
    if not pitches:
        raise TuneError("no notes")
    shift = semitones + octave_shift(min(pitches) + semitones, max(pitches) + semitones)

    total = max(event.start + event.length for event in events)
    total = max(-(-total // STEPS_PER_BAR) * STEPS_PER_BAR, STEPS_PER_BAR)
    melody = events_to_melody(events, shift, total)
    if melody.size < MIN_STEPS:
        raise TuneError(f"only {melody.size} steps (at least {MIN_STEPS} are needed)")
    return {
        "melody": melody,
        "original_key": original_key,
        "key": target_key,
        "time_signature": time_signature,
        "transposition": int(shift),
    }


def convert_lenient(score) -> dict[str, Any]:  # noqa: ANN001
    """Converts a tune with the lenient rules of the training data.

    * Monophony: one part, no chords or double stops (dropped, never guessed); grace notes
      are dropped.
    * Grid: onsets and ends snapped to the nearest 16th (triplets); a tune where snapping
      collapses a note (16th-note triplets, 32nds) is dropped.
    * Any metre and changes of metre; bars need not align to 16 steps. No pickup padding: the
      melody starts at the tune's first event and ends at its last.
    * Key: the first key field sets the transposition; a change of key that needs another
      transposition (anything but the relative major/minor) drops the tune.
    * Range: octave shift into MIDI 48..83, or dropped.
    * At least :data:`MIN_STEPS_LENIENT` steps.

    Args:
        score: A music21 score.

    Returns:
        A dict with ``melody``, ``downbeats`` (steps where full bars start), ``key`` and
        ``transposition``.

    Raises:
        TuneError: If the tune is dropped; the message starts with the reason.
    """
    from music21 import chord, key, note, stream

    parts = list(score.parts) if hasattr(score, "parts") else []
    if len(parts) != 1:
        raise TuneError(f"{len(parts)} parts")
    part = parts[0]
    flat = part.flatten()

    keys = []
    for signature in flat.getElementsByClass(key.KeySignature):
        if not isinstance(signature, key.Key):
            raise TuneError(f"key signature {signature} has no tonic")
        keys.append((signature.tonic.pitchClass, signature.mode))
    semitones, target_key = transposition_for_keys(keys)

    raw_events = []
    for element in flat.notesAndRests:
        if element.duration.isGrace or element.duration.quarterLength == 0:
            continue
        if isinstance(element, chord.Chord):
            raise TuneError(f"chord at offset {element.offset}")
        if isinstance(element, note.Note):
            tied = element.tie is not None and element.tie.type in ("stop", "continue")
            raw_events.append(RawEvent(element.offset, element.duration.quarterLength,
                                       element.pitch.midi,
                                       (element.pitch.step, element.pitch.octave), tied))
        else:
            raw_events.append(RawEvent(element.offset, element.duration.quarterLength))
    if not raw_events:
        raise TuneError("no notes")
    first = snap_to_grid(raw_events[0].offset)
    events = [Event(e.start - first, e.length, e.midi, e.spelling, e.tied)
              for e in snap_events(raw_events)]
    pitches = [event.midi for event in events if event.midi is not None]
    if not pitches:
        raise TuneError("no notes")
    shift = semitones + octave_shift(min(pitches) + semitones, max(pitches) + semitones)
    total = events[-1].start + events[-1].length
    melody = events_to_melody(events, shift, total)
    if melody.size < MIN_STEPS_LENIENT:
        raise TuneError(f"too short: {melody.size} steps")

    measures = list(part.getElementsByClass(stream.Measure))
    bars = []
    for index, measure in enumerate(measures):
        start = snap_to_grid(measure.offset)
        end = snap_to_grid(measures[index + 1].offset if index + 1 < len(measures)
                           else part.highestTime)
        try:
            bar_quarters = Fraction(measure.barDuration.quarterLength)
        except Exception:  # noqa: BLE001 (no time signature in context)
            bar_quarters = None
        length = None
        if bar_quarters is not None and (bar_quarters * STEPS_PER_QUARTER).denominator == 1:
            length = int(bar_quarters * STEPS_PER_QUARTER)
        bars.append((start - first, end - first, length))
    beats = downbeats(bars)
    beats = beats[(beats >= 0) & (beats < melody.size)]
    return {"melody": melody, "downbeats": beats, "key": target_key,
            "transposition": int(shift)}


def _drop_reason(error: Exception) -> str:
    """A short category for a dropped tune, for the summary."""
    if not isinstance(error, TuneError):
        return "parse error"
    message = str(error)
    for prefix, reason in (("chord", "chord or double stop"), ("snapping", "collapsed by snapping"),
                           ("overlapping", "overlapping voices"), ("range", "range too wide"),
                           ("change of key", "change of key"), ("unsupported mode", "mode"),
                           ("key signature", "no key"), ("no key", "no key"),
                           ("too short", "too short"), ("no notes", "no notes")):
        if message.startswith(prefix):
            return reason
    if message.endswith("parts"):
        return "several parts"
    return "other"


def _corpus_files(collection: str) -> list[str]:
    """Corpus paths (relative, with ``/``) of a collection's ABC files, sorted."""
    from music21 import corpus

    if collection == "essenFolksong" or collection not in DEFAULT_COLLECTIONS:
        raise ValueError(f"unknown or excluded collection {collection!r}: choose from "
                         f"{DEFAULT_COLLECTIONS}")
    paths = []
    for path in corpus.getComposer(collection, fileExtensions=("abc",)):
        parts = Path(str(path)).parts
        paths.append("/".join(parts[parts.index(collection):]))
    return sorted(paths)


def _convert_collection(collection: str, progress: bool) -> dict[str, np.ndarray]:
    """Parses and converts every tune of a collection; the arrays stored in the cache."""
    from music21 import corpus
    from tqdm import tqdm

    files = _corpus_files(collection)
    jobs: list[tuple[str, int, str]] = []
    for corpus_path in files:
        text = Path(corpus.getWork(corpus_path)).read_text(encoding="utf-8", errors="replace")
        jobs.extend((corpus_path, number, tune) for number, tune in split_tunes(text))
    titles, paths, numbers, shifts, melodies, beats = [], [], [], [], [], []
    drops: Counter[str] = Counter()
    for corpus_path, number, tune in tqdm(jobs, desc=f"converting {collection}", unit="tune",
                                          disable=not progress):
        try:
            score = parse_abc(tune)
            converted = convert_lenient(score)
        except Exception as error:  # noqa: BLE001 (music21 raises many kinds on bad ABC)
            drops[_drop_reason(error)] += 1
            continue
        title = score.metadata.title if score.metadata and score.metadata.title else ""
        titles.append(title or f"{corpus_path} X:{number}")
        paths.append(corpus_path)
        numbers.append(number)
        shifts.append(converted["transposition"])
        melodies.append(converted["melody"])
        beats.append(converted["downbeats"])
    return {
        "titles": np.array(titles, dtype=str),
        "paths": np.array(paths, dtype=str),
        "numbers": np.array(numbers, dtype=np.int32),
        "transpositions": np.array(shifts, dtype=np.int32),
        "melodies": np.concatenate(melodies).astype(MELODY_DTYPE) if melodies
        else np.zeros(0, MELODY_DTYPE),
        "melody_lengths": np.array([m.size for m in melodies], dtype=np.int64),
        "downbeats": np.concatenate(beats).astype(np.int32) if beats else np.zeros(0, np.int32),
        "downbeat_counts": np.array([b.size for b in beats], dtype=np.int64),
        "drop_reasons": np.array(sorted(drops), dtype=str),
        "drop_counts": np.array([drops[r] for r in sorted(drops)], dtype=np.int64),
        "tunes_seen": np.array(len(jobs), dtype=np.int64),
    }


def default_cache_dir() -> Path:
    """``$MAMMAD_ENVS_CACHE`` or ``~/.cache/mammad_envs``."""
    return Path(os.environ.get("MAMMAD_ENVS_CACHE", Path.home() / ".cache" / "mammad_envs"))


def cache_path(collection: str, cache_dir: str | Path | None = None,
               music21_version: str | None = None) -> Path:
    """The cache file of one converted collection.

    Args:
        collection: Collection name.
        cache_dir: Cache folder (default :func:`default_cache_dir`).
        music21_version: Key of the cache (default: the installed version).

    Returns:
        ``<cache_dir>/folk_<collection>_music21-<version>_rules-<RULES_VERSION>.npz``.
    """
    version = music21_version or _require_music21()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return folder / f"folk_{collection}_music21-{version}_rules-{RULES_VERSION}.npz"


def _load_collection(collection: str, cache_dir: str | Path | None, progress: bool,
                     refresh: bool) -> dict[str, np.ndarray]:
    """The cached arrays of one collection, converting and caching it first if needed."""
    path = cache_path(collection, cache_dir)
    if path.exists() and not refresh:
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, KeyError):
            pass  # a corrupt cache is rebuilt
    started = time.perf_counter()
    arrays = _convert_collection(collection, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    os.replace(temporary, path)
    if progress:
        print(f"{collection}: {len(arrays['titles'])} of {int(arrays['tunes_seen'])} tunes kept "
              f"in {time.perf_counter() - started:.0f} s, cached in {path}")
    return arrays


def _iter_collection(collection: str, arrays: dict[str, np.ndarray]) -> Iterator[CorpusTune]:
    melody_ends = np.cumsum(arrays["melody_lengths"])
    beat_ends = np.cumsum(arrays["downbeat_counts"])
    for index, title in enumerate(arrays["titles"]):
        melody = arrays["melodies"][melody_ends[index] - arrays["melody_lengths"][index]:
                                    melody_ends[index]].copy()
        beats = arrays["downbeats"][beat_ends[index] - arrays["downbeat_counts"][index]:
                                    beat_ends[index]].copy()
        yield CorpusTune(str(title), collection, melody, beats, str(arrays["paths"][index]),
                         int(arrays["numbers"][index]), int(arrays["transpositions"][index]))


def load_folk_corpus(collections: Sequence[str] = DEFAULT_COLLECTIONS,
                     cache_dir: str | Path | None = None, *, details: bool = False,
                     progress: bool = True, refresh: bool = False
                     ) -> list[FolkTune] | list[CorpusTune]:
    """Every tune of the public-domain collections that converts with the lenient rules.

    The first call parses the ABC files with music21 (a few minutes for all three
    collections, with a progress bar) and caches the converted arrays, one ``.npz`` per
    collection keyed by music21's version and :data:`RULES_VERSION`; later calls read the
    cache in well under a second.

    Args:
        collections: Collection names among :data:`DEFAULT_COLLECTIONS` (never Essen).
        cache_dir: Cache folder (default ``$MAMMAD_ENVS_CACHE`` or ``~/.cache/mammad_envs``).
        details: Return :class:`CorpusTune` records (with downbeats, source and
            transposition) instead of ``(title, collection, melody)`` tuples.
        progress: Show a progress bar while converting and print a summary.
        refresh: Convert again even if a cache exists.

    Returns:
        The tunes in collection and file order.

    Raises:
        ImportError: If music21 is not installed.
        ValueError: If a collection is unknown or excluded.
    """
    _require_music21()
    tunes: list[CorpusTune] = []
    for collection in collections:
        if collection not in DEFAULT_COLLECTIONS:
            raise ValueError(f"unknown or excluded collection {collection!r}: choose from "
                             f"{DEFAULT_COLLECTIONS}")
        arrays = _load_collection(collection, cache_dir, progress, refresh)
        tunes.extend(_iter_collection(collection, arrays))
    if details:
        return tunes
    return [FolkTune(tune.title, tune.collection, tune.melody) for tune in tunes]


def folk_corpus_drops(collections: Sequence[str] = DEFAULT_COLLECTIONS,
                      cache_dir: str | Path | None = None) -> dict[str, dict[str, int]]:
    """How many tunes of each collection the lenient rules dropped, and why.

    Args:
        collections: Collection names.
        cache_dir: Cache folder (converted first if needed, as :func:`load_folk_corpus`).

    Returns:
        ``{collection: {"seen": n, "kept": k, reason: count, ...}}``.
    """
    _require_music21()
    result = {}
    for collection in collections:
        arrays = _load_collection(collection, cache_dir, progress=True, refresh=False)
        counts = {"seen": int(arrays["tunes_seen"]), "kept": len(arrays["titles"])}
        counts.update({str(reason): int(count) for reason, count
                       in zip(arrays["drop_reasons"], arrays["drop_counts"], strict=True)})
        result[collection] = counts
    return result
