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

# Each submodule's __all__ is re-exported whole: the package's names are theirs.
from mammad_envs.corpus import abc_notation, convert, folk, grid, keys
from mammad_envs.corpus.abc_notation import *  # noqa: F403
from mammad_envs.corpus.convert import *  # noqa: F403
from mammad_envs.corpus.folk import *  # noqa: F403
from mammad_envs.corpus.grid import *  # noqa: F403
from mammad_envs.corpus.keys import *  # noqa: F403

__all__ = sorted({*abc_notation.__all__, *convert.__all__, *folk.__all__, *grid.__all__,
                  *keys.__all__})
