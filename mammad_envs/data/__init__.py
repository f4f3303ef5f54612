"""The bundled data: 10 real folk melodies and 5 rhythmic accompaniments.

* ``melodies/``: ten public-domain tunes from the collections that ship in music21's corpus
  (O'Neill's Music of Ireland, Ryan's Mammoth Collection, miscFolk), transposed to C major or
  A minor and put on the 16th grid. ``scripts/build_demonstrations.py`` rebuilds them.
* ``accompaniments/``: five 4/4 loops of bass and chords with distinct rhythms, written by
  ``scripts/build_accompaniments.py``.

Both folders hold MIDI files and a ``manifest.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mammad_envs.accompaniment import Accompaniment
from mammad_envs.data.demonstrations import expert_trajectories
from mammad_envs.midi import ACCOMPANIMENT_TRACK, load_midi, read_midi_tracks

__all__ = [
    "DemoMelody",
    "expert_trajectories",
    "load_accompaniments",
    "load_melodies",
    "load_midi",
]

DATA_DIR = Path(str(resources.files(__package__)))


@dataclass(frozen=True, eq=False)
class DemoMelody:
    """One bundled demonstration melody.

    Attributes:
        title: The tune's title.
        collection: The printed collection it comes from.
        key: Its key after transposition (``"C major"`` or ``"A minor"``).
        original_key: Its key as printed.
        notes: The melody array (read-only).
        path: The MIDI file.
        info: The whole manifest entry.
    """

    title: str
    collection: str
    key: str
    original_key: str
    notes: np.ndarray = field(repr=False)
    path: Path
    info: dict[str, Any] = field(repr=False)

    def __len__(self) -> int:
        return len(self.notes)


def _manifest(folder: str) -> list[dict[str, Any]]:
    return json.loads((DATA_DIR / folder / "manifest.json").read_text())


@lru_cache(maxsize=1)
def _melodies() -> tuple[DemoMelody, ...]:
    melodies = []
    for entry in _manifest("melodies"):
        path = DATA_DIR / "melodies" / entry["file"]
        notes = load_midi(path)
        notes.flags.writeable = False
        melodies.append(DemoMelody(entry["title"], entry["collection"], entry["key"],
                                   entry["original_key"], notes, path, entry))
    return tuple(melodies)


def load_melodies() -> list[DemoMelody]:
    """The 10 bundled demonstration melodies, in manifest order.

    Returns:
        A new list of :class:`DemoMelody` (the melody arrays are read-only and shared).
    """
    return list(_melodies())


@lru_cache(maxsize=1)
def _accompaniments() -> tuple[Accompaniment, ...]:
    accompaniments = []
    for entry in _manifest("accompaniments"):
        tracks = read_midi_tracks(DATA_DIR / "accompaniments" / entry["file"])
        notes = next(track.notes for track in tracks if track.name == ACCOMPANIMENT_TRACK)
        accompaniments.append(Accompaniment(entry["name"], entry["key"], entry["description"],
                                            notes, entry["steps"]))
    return tuple(accompaniments)


def load_accompaniments() -> list[Accompaniment]:
    """The 5 bundled accompaniments, in manifest order.

    Returns:
        A new list of :class:`~mammad_envs.accompaniment.Accompaniment` (shared, immutable).
    """
    return list(_accompaniments())
