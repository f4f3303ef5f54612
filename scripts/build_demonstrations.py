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

Conversion rules (the strict rules of :func:`mammad_envs.corpus.convert_strict`, where the
conversion code lives; each tune is checked; a tune that breaks a rule is an error, never guessed):

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

from mammad_envs.corpus import (  # noqa: E402
    TuneError,
    collection_name,
    parse_tune,
)
from mammad_envs.corpus import convert_strict as convert  # noqa: E402
from mammad_envs.melody import STEPS_PER_BAR, canonical_melody  # noqa: E402
from mammad_envs.midi import load_midi, write_midi  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "mammad_envs" / "data" / "melodies"
BPM = 120.0


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


def slugify(text: str) -> str:
    """A lower-case file-name slug: ``"Fisher's Hornpipe"`` -> ``"fishers_hornpipe"``.

    Args:
        text: Any title.

    Returns:
        The slug.
    """
    text = text.lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def load_score(spec: TuneSpec):  # noqa: ANN201 (music21 is imported lazily)
    """Parses one tune from music21's corpus as ABC 2.1 (see :func:`mammad_envs.corpus.parse_tune`).

    Args:
        spec: The tune.

    Returns:
        The music21 score.

    Raises:
        TuneError: If the parsed title is not the expected one.
    """
    score = parse_tune(spec.corpus_path, spec.number)
    title = score.metadata.title if score.metadata else None
    if title != spec.corpus_title:
        raise TuneError(f"{spec.corpus_path} X:{spec.number} is {title!r}, "
                        f"expected {spec.corpus_title!r}")
    return score


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
