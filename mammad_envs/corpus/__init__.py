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

from mammad_envs.corpus.abc_notation import ABC_PREAMBLE, parse_abc, parse_tune, split_tunes
from mammad_envs.corpus.convert import (
    BAR_STEPS,
    MIN_STEPS,
    MIN_STEPS_LENIENT,
    convert_lenient,
    convert_strict,
)
from mammad_envs.corpus.folk import (
    COLLECTIONS,
    DEFAULT_COLLECTIONS,
    RULES_VERSION,
    CorpusTune,
    FolkTune,
    cache_path,
    collection_name,
    default_cache_dir,
    folk_corpus_drops,
    load_folk_corpus,
)
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
from mammad_envs.corpus.keys import (
    HIGH_PITCH,
    LOW_PITCH,
    MAJOR_LIKE,
    MINOR_LIKE,
    key_target,
    octave_shift,
    transposition_for_keys,
)

__all__ = [
    "ABC_PREAMBLE",
    "BAR_STEPS",
    "COLLECTIONS",
    "CorpusTune",
    "DEFAULT_COLLECTIONS",
    "Event",
    "FolkTune",
    "HIGH_PITCH",
    "LOW_PITCH",
    "MAJOR_LIKE",
    "MINOR_LIKE",
    "MIN_STEPS",
    "MIN_STEPS_LENIENT",
    "RULES_VERSION",
    "RawEvent",
    "STEPS_PER_QUARTER",
    "TuneError",
    "cache_path",
    "collection_name",
    "convert_lenient",
    "convert_strict",
    "default_cache_dir",
    "downbeats",
    "events_to_melody",
    "folk_corpus_drops",
    "key_target",
    "load_folk_corpus",
    "octave_shift",
    "parse_abc",
    "parse_tune",
    "snap_events",
    "snap_to_grid",
    "split_tunes",
    "to_steps",
    "transposition_for_keys",
]
