"""Looping rhythmic accompaniments that play under the melody."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mammad_envs.melody import NUM_PITCHES
from mammad_envs.midi import Note


@dataclass(frozen=True, eq=False)
class Accompaniment:
    """A loop of bass and chords, repeated for as long as the melody lasts.

    Attributes:
        name: Short name, e.g. ``"march"``.
        key: The key it is in, e.g. ``"A minor"``.
        description: One line describing its rhythm.
        notes: The notes of one loop, on the 16th grid.
        steps: Length of the loop in 16ths.
        sounding: ``(steps, 128)`` bool array: the pitches sounding at each 16th of the loop.
        onsets: ``(steps, 128)`` uint8 array: 1 where a note starts at that 16th.
    """

    name: str
    key: str
    description: str
    notes: tuple[Note, ...]
    steps: int
    sounding: np.ndarray = field(init=False, repr=False)
    onsets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise ValueError(f"accompaniment {self.name!r}: steps must be positive")
        sounding = np.zeros((self.steps, NUM_PITCHES), dtype=bool)
        onsets = np.zeros((self.steps, NUM_PITCHES), dtype=np.uint8)
        for note in self.notes:
            if not 0 <= note.start < note.end <= self.steps:
                raise ValueError(f"accompaniment {self.name!r}: {note} lies outside the loop "
                                 f"of {self.steps} steps")
            sounding[note.start:note.end, note.pitch] = True
            onsets[note.start, note.pitch] = 1
        sounding.flags.writeable = False
        onsets.flags.writeable = False
        object.__setattr__(self, "sounding", sounding)
        object.__setattr__(self, "onsets", onsets)

    def notes_until(self, steps: int) -> list[Note]:
        """The looped notes of the first ``steps`` 16ths (notes running past the end are cut).

        Args:
            steps: How many 16ths.

        Returns:
            The notes, sorted by start.
        """
        notes = []
        for offset in range(0, steps, self.steps):
            for note in self.notes:
                start = offset + note.start
                if start < steps:
                    notes.append(Note(note.pitch, start, min(offset + note.end, steps)))
        return sorted(notes, key=lambda note: (note.start, note.pitch))


def find_accompaniment(choice: int | str, accompaniments: Sequence[Accompaniment]
                       ) -> Accompaniment:
    """Looks an accompaniment up by name or index.

    Args:
        choice: A name or an index into ``accompaniments``.
        accompaniments: The available accompaniments.

    Returns:
        The accompaniment.

    Raises:
        ValueError: If there is no such accompaniment.
    """
    names = [accompaniment.name for accompaniment in accompaniments]
    if isinstance(choice, int | np.integer) and not isinstance(choice, bool):
        if 0 <= choice < len(accompaniments):
            return accompaniments[int(choice)]
    elif isinstance(choice, str) and choice in names:
        return accompaniments[names.index(choice)]
    raise ValueError(
        f"unknown accompaniment {choice!r}: use one of {names}, an index 0..{len(names) - 1}, "
        f"'random' or None"
    )


def pick_random(uniforms: float | np.ndarray, count: int) -> int | np.ndarray:
    """The accompaniment index an env draws at a reset with ``accompaniment="random"``.

    Both envs draw ``np_random.random()`` and call this, so a vector env, which draws many
    uniforms at once, picks what the same-seeded scalar envs pick.

    Args:
        uniforms: Uniform draws in ``[0, 1)``, one or an array.
        count: Number of accompaniments.

    Returns:
        Indices in ``0..count - 1`` (an int for one draw).
    """
    indices = np.minimum((np.asarray(uniforms) * count).astype(np.int64), count - 1)
    return int(indices) if indices.ndim == 0 else indices
