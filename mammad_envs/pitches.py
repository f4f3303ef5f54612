"""Names of MIDI pitches (``60`` is ``"C4"``), shared by melodies and keys.

This module imports nothing.
"""

from __future__ import annotations

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
"""The name of each pitch class, 0 (C) .. 11 (B)."""


def pitch_name(pitch: int) -> str:
    """The scientific name of a MIDI pitch: 60 is ``"C4"``, 69 is ``"A4"``.

    Args:
        pitch: A MIDI pitch 0..127.

    Returns:
        The name.
    """
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"
