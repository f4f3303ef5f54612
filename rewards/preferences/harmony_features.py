"""Whether the melody's note is a chord tone of the accompaniment, per 16th, for a reward model.

The accompaniment's pitch classes at one 16th are often a part of its chord only: an Alberti bass
or a march's bass-and-chord pattern sounds one or two notes at a time and spells the chord over a
beat or a half bar. A listener hears a melody note against that chord, not only against what
sounds at the same instant; a reward model shown only the latter has to learn the chord of every
accompaniment and place from a few hundred labels. :func:`harmony_features` says, at each 16th,
whether the melody's sounding pitch class is among the pitch classes the accompaniment sounds
over the 16th's beat, its half bar and its bar (a chord tone at three time scales; zeros where
the melody rests or without an accompaniment).

Windows are aligned to the accompaniment's loop (a melody starts with the loop), as
:func:`~rewards.preferences.reward_model.context_features` aligns the accompaniment.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from mammad_envs.data import load_accompaniments

WINDOWS = (4, 8, 16)
"""16ths per window over which a chord tone is judged: a beat, a half bar, a bar."""
HARMONY_FEATURES = len(WINDOWS)
"""Columns of :func:`harmony_features`: one per window."""


def window_pitch_classes(sounding: np.ndarray, width: int) -> np.ndarray:
    """``(steps, 12)`` bool: the pitch classes sounding anywhere in each 16th's window.

    Args:
        sounding: ``(steps, pitches)`` bool, an accompaniment's sounding pitches per 16th.
        width: 16ths per window; windows start at 0, ``width``, ``2 * width``...
    """
    steps = len(sounding)
    classes = np.zeros((steps, 12), dtype=bool)
    pitch_classes = np.arange(sounding.shape[1]) % 12
    for start in range(0, steps, width):
        window = sounding[start:start + width].any(axis=0)
        classes[start:start + width, pitch_classes[window]] = True
    return classes


@cache
def _loop_windows(name: str) -> tuple[np.ndarray, ...]:
    """The accompaniment's pitch classes per 16th over each of :data:`WINDOWS`."""
    known = {loop.name: loop for loop in load_accompaniments()}
    if name not in known:
        raise ValueError(f"unknown accompaniment {name!r}: the bundled ones are {sorted(known)} "
                         f"(or None for a melody alone)")
    windows = tuple(window_pitch_classes(known[name].sounding, width) for width in WINDOWS)
    for window in windows:
        window.flags.writeable = False
    return windows


def harmony_features(sounding: np.ndarray, accompaniment: str | None) -> np.ndarray:
    """``(len(sounding), HARMONY_FEATURES)`` float32: whether the melody sounds a chord tone.

    Column ``k`` is 1 where the melody's sounding pitch class is among those the accompaniment
    sounds over the 16th's window ``WINDOWS[k]`` (a beat, a half bar, a bar).

    Args:
        sounding: The melody's sounding pitch at each 16th (negative where it is silent).
        accompaniment: A bundled accompaniment's name, or None (a melody alone: zeros).

    Raises:
        ValueError: On an accompaniment that is not bundled.
    """
    sounding = np.asarray(sounding, dtype=np.int64)
    steps = len(sounding)
    out = np.zeros((steps, HARMONY_FEATURES), dtype=np.float32)
    if accompaniment is None:
        return out
    rows = np.flatnonzero(sounding >= 0)
    classes = sounding[rows] % 12
    for column, window in enumerate(_loop_windows(str(accompaniment))):
        out[rows, column] = window[rows % len(window), classes]
    return out
