"""Transposing a tune to C major / A minor and shifting it by octaves into MIDI 48..83.

Pure Python: no music21 needed.
"""

from __future__ import annotations

from collections.abc import Sequence

from mammad_envs.corpus.grid import TuneError

__all__ = [
    "HIGH_PITCH",
    "LOW_PITCH",
    "MAJOR_LIKE",
    "MINOR_LIKE",
    "key_target",
    "octave_shift",
    "transposition_for_keys",
]

LOW_PITCH: int = 48
"""Lowest pitch of a converted tune (C3), as in RL Tuner."""
HIGH_PITCH: int = 83
"""Highest pitch of a converted tune (B5)."""

MAJOR_LIKE = frozenset({"major", "mixolydian", "lydian", "ionian"})
"""Modes transposed to C."""
MINOR_LIKE = frozenset({"minor", "dorian", "phrygian", "aeolian"})
"""Modes transposed to A."""


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
