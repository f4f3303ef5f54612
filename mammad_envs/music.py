"""Pitch names, keys and scales. Pure Python and numpy; no Gymnasium.

Keys are written as ``"<tonic> <mode>"``: ``"C major"``, ``"A minor"``, ``"F# minor"``,
``"Bb major"``. Minor keys use the natural minor scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mammad_envs.events import NUM_PITCHES
from mammad_envs.pitches import PITCH_CLASS_NAMES, pitch_name  # noqa: F401 (re-exported)

_TONICS = {
    "C": 0, "B#": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5,
    "F": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10,
    "B": 11, "Cb": 11,
}
SCALE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
"""Semitones above the tonic of each mode's scale degrees."""


@dataclass(frozen=True)
class Key:
    """A major or minor key.

    Attributes:
        tonic: Pitch class of the tonic, 0 (C) .. 11 (B).
        mode: ``"major"`` or ``"minor"``.
    """

    tonic: int
    mode: str

    @property
    def name(self) -> str:
        """The key's name, e.g. ``"G major"``."""
        return f"{PITCH_CLASS_NAMES[self.tonic]} {self.mode}"

    @property
    def pitch_classes(self) -> frozenset[int]:
        """The pitch classes of the key's scale."""
        return frozenset((self.tonic + step) % 12 for step in SCALE_STEPS[self.mode])

    def scale_mask(self) -> np.ndarray:
        """A boolean mask over the 128 MIDI pitches, True for pitches of the scale."""
        classes = np.zeros(12, dtype=bool)
        classes[list(self.pitch_classes)] = True
        return classes[np.arange(NUM_PITCHES) % 12]

    def tonic_pitch(self, octave: int = 4) -> int:
        """The MIDI pitch of the tonic in a given octave (octave 4 holds middle C, 60)."""
        return 12 * (octave + 1) + self.tonic


def parse_key(key: str | Key) -> Key:
    """Parses a key name such as ``"C major"`` or ``"f# minor"``.

    Args:
        key: A key name (tonic letter with optional ``#`` or ``b``, then ``major`` or ``minor``)
            or a :class:`Key`.

    Returns:
        The key.

    Raises:
        ValueError: If the name is not a key.
    """
    if isinstance(key, Key):
        return key
    if not isinstance(key, str):
        raise ValueError(f"key must be a string such as 'C major' or 'A minor', got {key!r}")
    parts = key.split()
    if len(parts) == 2:
        tonic = parts[0][:1].upper() + parts[0][1:]
        mode = parts[1].lower()
        if tonic in _TONICS and mode in SCALE_STEPS:
            return Key(_TONICS[tonic], mode)
    raise ValueError(
        f"unknown key {key!r}: use '<tonic> <mode>' with a tonic among "
        f"{', '.join(PITCH_CLASS_NAMES)} (or another spelling with # or b) and a mode among "
        f"{', '.join(SCALE_STEPS)}, e.g. 'C major' or 'A minor'"
    )
