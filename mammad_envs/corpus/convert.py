"""The strict and lenient rules that convert a music21 score to a melody array.

See the :mod:`mammad_envs.corpus` docstring for the two sets of rules. music21 is imported
inside the functions only: this module imports without it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from mammad_envs.corpus.grid import (
    STEPS_PER_QUARTER,
    Event,
    RawEvent,
    TuneError,
    downbeats,
    events_to_melody,
    snap_events,
    snap_to_grid,
    to_steps,
)
from mammad_envs.corpus.keys import key_target, octave_shift, transposition_for_keys
from mammad_envs.melody import STEPS_PER_BAR

__all__ = [
    "BAR_STEPS",
    "MIN_STEPS",
    "MIN_STEPS_LENIENT",
    "convert_lenient",
    "convert_strict",
]

MIN_STEPS: int = 64
"""Shortest bundled demonstration melody (strict rules), in 16ths."""
MIN_STEPS_LENIENT: int = 32
"""Shortest training tune (lenient rules), in 16ths."""

BAR_STEPS = {"4/4": 16, "2/2": 16, "2/4": 8}
"""Time signatures allowed by the strict rules, by ratio string: 16ths per bar."""


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
    # optional: the dataset extra (music21)
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
    # optional: the dataset extra (music21)
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
