"""Builds the bundled demonstration melodies from music21's public-domain folk corpus.

Rebuild (from the repository root)::

    python scripts/build_demonstrations.py

This is a developer-only script: ``pip install -e .[dataset]`` provides music21, which is
imported here and never by the ``mammad_envs`` package itself. It writes ten small MIDI files
(melody track only, 120 bpm, via :func:`mammad_envs.midi.write_midi`) and ``manifest.json`` to
``mammad_envs/data/melodies/`` (or ``--out``).

Sources are only the public-domain collections shipped in music21's corpus: O'Neill's Music of
Ireland (1850, ``oneills1850``), Ryan's Mammoth Collection (1883, ``ryansMammoth``) and
``miscFolk`` (American fife tunes; Bruce & Stokoe's Northumbrian Minstrelsy, 1882). The Essen
collection is never used (its licence only permits non-commercial use).

Conversion rules (each tune is checked; a tune that breaks a rule is an error, never guessed):

* **Grid**: one step is a 16th note (quarterLength 0.25). Every onset and duration must fall
  exactly on that grid, so tunes with triplets or 32nd notes are rejected, not snapped.
* **Monophony**: a tune with a chord or double stop, or with more than one part, is rejected.
  Grace notes are dropped (they take no time in the score).
* **Ties** merge into one note (the tied-to 16ths are ``HOLD``). Rests become ``REST`` then
  ``HOLD`` s.
* **Metre**: only 4/4 (``C``), 2/2 (``C|``) and 2/4, with no change of time signature or key. A
  4/4 or 2/2 bar is 16 steps, a 2/4 bar 8 steps.
* **Pickup**: an incomplete first bar (anacrusis) is right-aligned in one 16-step bar of silence,
  so the first full bar of the tune starts on a 4/4 downbeat (step 16; step 0 if there is no
  pickup). Every later full bar must then start on a multiple of its own length (16 steps, or 8
  in 2/4), which is checked; the end is padded with silence to a multiple of 16 steps.
* **Repeats** are not expanded: the tune is one pass through the score as written (the
  ``.flatten()`` of the part). The selected tunes have no first/second-time endings, so a single
  pass is continuous music.
* **Key**: each tune is transposed by the nearest interval (-6..+5 semitones) so that its tonic,
  taken from the ABC key field, becomes C (major, mixolydian, lydian: "C major") or A (minor,
  dorian, phrygian, aeolian: "A minor"). The selected tunes are all plain major or minor. The
  whole tune is then shifted by octaves so that every pitch lies in MIDI 48..83, choosing the
  shift that centres the tune's range closest to the middle of that span.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mammad_envs.melody import (  # noqa: E402
    HOLD,
    REST,
    STEPS_PER_BAR,
    canonical_melody,
)
from mammad_envs.midi import load_midi, write_midi  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "mammad_envs" / "data" / "melodies"
BPM = 120.0
LOW_PITCH = 48
HIGH_PITCH = 83
MIN_STEPS = 64
STEPS_PER_QUARTER = 4

COLLECTIONS = {
    "oneills1850": "O'Neill's Music of Ireland (1850)",
    "ryansMammoth": "Ryan's Mammoth Collection (1883)",
    "miscFolk/americanfifeopus.abc": "Colonial and Civil War American Fife Music (miscFolk)",
    "miscFolk/northumbrianminstrelsyopus.abc": "Northumbrian Minstrelsy (1882) (miscFolk)",
}
"""Human names of the source collections, by corpus path prefix."""

# Time signatures on the 4/4 grid, by their ratio string: steps per bar.
BAR_STEPS = {"4/4": 16, "2/2": 16, "2/4": 8}

MAJOR_LIKE = {"major", "mixolydian", "lydian", "ionian"}
MINOR_LIKE = {"minor", "dorian", "phrygian", "aeolian"}

# Parse as ABC 2.1 so that accidentals carry to the end of the bar (see load_score).
ABC_PREAMBLE = "%abc-2.1\n%%propagate-accidentals octave\n"


@dataclass(frozen=True)
class TuneSpec:
    """One tune of the selection.

    Attributes:
        title: Title used in the manifest and the file name.
        corpus_path: Path of the ABC file in music21's corpus.
        number: The tune's ``X:`` reference number in that file.
        corpus_title: The title music21 reads for the tune (checked, to catch a wrong number).
    """

    title: str
    corpus_path: str
    number: int
    corpus_title: str


# The selection, chosen by hand after scanning every 4/4, 2/2 and 2/4 tune of the three
# public-domain collections (about 760 tunes) with the rules of this script, then reading the ABC
# of the candidates. Criteria: well-known tunes (so that the demonstrations sound like real folk
# music); a mix of collections (5 O'Neill's, 3 Ryan's, 2 miscFolk) and of tune types (reels,
# hornpipes, a polka, a slow air, a set dance, a fife march, a song); both modes (3 minor tunes);
# no chords, double stops, grace notes, triplets or 32nd notes (nothing is dropped or snapped);
# no first/second-time endings, D.C. or D.S. (one pass as written is continuous music); no
# non-standard "B>-c" ties, which music21 reads without the dotted rhythm (this ruled out
# Rodney's Glory); and a range that fits MIDI 48..83 after an octave shift. (The Minstrel Boy
# in O'Neill's has 32nd notes; Yankee Doodle is taken from the tidied fife versions X:1..31, not
# the raw copies X:101..131.) Numbers are the X: reference numbers in the ABC files: for
# O'Neill's the book's numbers, except O'Carolan's Farewell (book No. 700, stored as X:800);
# Ryan's Mammoth stores one tune per file.
SELECTION: tuple[TuneSpec, ...] = (
    TuneSpec("The Boys of Bluehill", "oneills1850/1625-1700.abc", 1700, "The Boys of Bluehill"),
    TuneSpec("Drowsy Maggie", "oneills1850/1376-1475.abc", 1425, "Drowsy Maggie"),
    TuneSpec("The Rakes of Mallow", "oneills1850/1801-1850.abc", 1814, "The Rakes Of Mallow"),
    TuneSpec("O'Carolan's Farewell to Music", "oneills1850/0626-0700.abc", 800,
             "O'Carolan's Farewell to Music"),
    TuneSpec("The Job of Journey Work", "oneills1850/1781-1800.abc", 1792,
             "The Job of Journey Work"),
    TuneSpec("Fisher's Hornpipe", "ryansMammoth/FishersHornpipe.abc", 1,
             "FISHER'S -- HORNPIPE"),
    TuneSpec("Devil's Dream", "ryansMammoth/DevilsDreamReel.abc", 10, "DEVIL'S DREAM -- REEL."),
    TuneSpec("Paddy on the Turnpike", "ryansMammoth/PaddyOnTheTurnpikeReel.abc", 1,
             "Paddy on the Turnpike -- Reel"),
    TuneSpec("Yankee Doodle", "miscFolk/americanfifeopus.abc", 30, "Yankee Doodle"),
    TuneSpec("The Keel Row", "miscFolk/northumbrianminstrelsyopus.abc", 57, "The Keel Row"),
)


@dataclass(frozen=True)
class Event:
    """A note or rest of a tune on the 16th grid (before transposition).

    Attributes:
        start: First 16th, including the pickup padding.
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


class TuneError(ValueError):
    """A tune that does not fit the rules of this script (see the module docstring)."""


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


def slugify(text: str) -> str:
    """A lower-case file-name slug: ``"Fisher's Hornpipe"`` -> ``"fishers_hornpipe"``.

    Args:
        text: Any title.

    Returns:
        The slug.
    """
    text = text.lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def to_steps(quarter_length: float, what: str) -> int:
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


def octave_shift(low: int, high: int) -> int:
    """The octave shift that puts a pitch range inside LOW_PITCH..HIGH_PITCH.

    Args:
        low: Lowest pitch of the tune.
        high: Highest pitch of the tune.

    Returns:
        A multiple of 12; among those that fit, the one that centres the range best.

    Raises:
        TuneError: If the range is too wide to fit at any octave.
    """
    fits = [12 * k for k in range(-10, 11)
            if low + 12 * k >= LOW_PITCH and high + 12 * k <= HIGH_PITCH]
    if not fits:
        raise TuneError(f"range {low}..{high} does not fit {LOW_PITCH}..{HIGH_PITCH}")
    middle = (LOW_PITCH + HIGH_PITCH) / 2
    return min(fits, key=lambda shift: (abs((low + high) / 2 + shift - middle), shift))


def load_score(spec: TuneSpec):  # noqa: ANN201 (music21 is imported lazily)
    """Parses one tune from music21's corpus, with ABC 2.1 accidental rules.

    music21 reads ABC files without a ``%abc-2.x`` line (all of these) as ABC 1.x and then does
    not carry an accidental through the rest of its bar, which puts wrong notes into tunes such
    as ``^f2 fg``. So the tune's text is taken from the corpus file and parsed as ABC 2.1 with
    ``%%propagate-accidentals octave``: an accidental holds for the same note (same octave) until
    the bar line, as in the printed sources.

    Args:
        spec: The tune.

    Returns:
        The music21 score.

    Raises:
        TuneError: If the parsed title is not the expected one.
    """
    from music21 import abcFormat, converter, corpus

    path = Path(corpus.getWork(spec.corpus_path))
    text = path.read_text(encoding="utf-8", errors="replace")
    tune = abcFormat.ABCFile().extractReferenceNumber(text, spec.number)
    score = converter.parse(ABC_PREAMBLE + tune, format="abc")
    title = score.metadata.title if score.metadata else None
    if title != spec.corpus_title:
        raise TuneError(f"{spec.corpus_path} X:{spec.number} is {title!r}, "
                        f"expected {spec.corpus_title!r}")
    return score


def convert(score) -> dict:  # noqa: ANN001
    """Converts a parsed monophonic tune to a canonical melody on the 16th grid.

    Args:
        score: A music21 score with one part.

    Returns:
        A dict with ``melody`` (canonical melody array, C major / A minor, MIDI 48..83),
        ``original_key``, ``key``, ``time_signature``, ``transposition``.

    Raises:
        TuneError: If the tune breaks one of the rules in the module docstring.
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
    melody = np.full(total, HOLD, dtype=np.int64)
    melody[0] = REST
    position = 0
    sounding: tuple[str, int] | None = None  # letter and octave of the sounding note
    for event in events:
        if event.start < position:
            raise TuneError(f"overlapping notes at step {event.start}")
        if event.start > position:  # a gap in the score (never expected): silence
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
    melody = canonical_melody(melody)
    if melody.size < MIN_STEPS:
        raise TuneError(f"only {melody.size} steps (at least {MIN_STEPS} are needed)")
    return {
        "melody": melody,
        "original_key": original_key,
        "key": target_key,
        "time_signature": time_signature,
        "transposition": int(shift),
    }


def build(out: Path) -> list[dict]:
    """Builds every tune of :data:`SELECTION` and writes the MIDI files and manifest.

    Args:
        out: Output folder (created if needed).

    Returns:
        The manifest entries.

    Raises:
        TuneError: If a tune breaks the rules or a MIDI round trip does not match.
    """
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for index, spec in enumerate(SELECTION, start=1):
        try:
            tune = convert(load_score(spec))
        except TuneError as error:
            raise TuneError(f"{spec.title} ({spec.corpus_path} X:{spec.number}): {error}") from None
        melody = tune["melody"]
        file_name = f"{index:02d}_{slugify(spec.title)}.mid"
        path = write_midi(out / file_name, melody, bpm=BPM)
        loaded = load_midi(path)
        if not np.array_equal(loaded, canonical_melody(melody)):
            raise TuneError(f"{file_name}: load_midi does not return the melody written")
        steps = int(melody.size)
        manifest.append({
            "file": file_name,
            "title": spec.title,
            "collection": collection_name(spec.corpus_path),
            "corpus_path": f"{spec.corpus_path}, X:{spec.number}",
            "original_key": tune["original_key"],
            "key": tune["key"],
            "time_signature": tune["time_signature"],
            "transposition": tune["transposition"],
            "steps": steps,
            "bars": steps // STEPS_PER_BAR,
        })
        notes = int((melody >= 0).sum())
        print(f"{file_name:34s} {tune['time_signature']:>4s} {tune['original_key']:>9s} -> "
              f"{tune['key']} ({tune['transposition']:+d}) {steps:4d} steps, {notes} notes, "
              f"pitches {int(melody[melody >= 0].min())}..{int(melody.max())}")
    manifest_path = out / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    print(f"wrote {len(manifest)} melodies and {manifest_path}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    build(args.out)
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
