"""Piano-roll pictures of a melody over its accompaniment: text, RGB arrays and PNG files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from mammad_envs.melody import STEPS_PER_BAR, note_events, sounding_pitches
from mammad_envs.midi import Note
from mammad_envs.music import pitch_name

MELODY_ONSET = (214, 39, 40)
MELODY_HELD = (240, 140, 120)
ACCOMPANIMENT = (110, 150, 200)
BACKGROUND = (250, 250, 250)
BLACK_KEY_ROW = (232, 232, 236)
BAR_LINE = (150, 150, 150)
BLACK_KEYS = frozenset({1, 3, 6, 8, 10})


def _grids(melody: np.ndarray, accompaniment: Iterable[Note], steps: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(melody sounding, melody onsets, accompaniment sounding), each ``(128, steps)`` bool."""
    melody_on = np.zeros((128, steps), dtype=bool)
    melody_onset = np.zeros((128, steps), dtype=bool)
    played = sounding_pitches(melody)[:steps]
    columns = np.flatnonzero(played >= 0)
    melody_on[played[columns], columns] = True
    onsets = np.flatnonzero(melody[:steps] >= 0)
    melody_onset[melody[onsets], onsets] = True
    accompaniment_on = np.zeros((128, steps), dtype=bool)
    for note in accompaniment:
        accompaniment_on[note.pitch, note.start:min(note.end, steps)] = True
    return melody_on, melody_onset, accompaniment_on


def piano_roll_text(melody: Sequence[int] | np.ndarray, accompaniment: Iterable[Note] = (),
                    steps: int | None = None) -> str:
    """A text piano roll: one row per pitch from the lowest to the highest note played.

    ``#`` marks a melody onset, ``=`` a held melody note, ``o`` an accompaniment note and ``|``
    a bar line.

    Args:
        melody: A melody array.
        accompaniment: Accompaniment notes.
        steps: Number of 16th columns (default: the melody's length).

    Returns:
        The piano roll, one line per pitch, highest first, and a header of bar numbers.
    """
    melody = np.asarray(melody)
    steps = len(melody) if steps is None else steps
    melody_on, melody_onset, accompaniment_on = _grids(melody, accompaniment, steps)
    used = np.flatnonzero((melody_on | accompaniment_on).any(axis=1))
    bars = -(-steps // STEPS_PER_BAR)
    header = "      " + "".join(f"|{bar + 1:<{STEPS_PER_BAR}}" for bar in range(bars))[
        : steps + bars
    ]
    if not used.size:
        return header + "\n(silence)"
    lines = [header]
    for pitch in range(used.max(), used.min() - 1, -1):
        cells = []
        for step in range(steps):
            if step % STEPS_PER_BAR == 0:
                cells.append("|")
            if melody_onset[pitch, step]:
                cells.append("#")
            elif melody_on[pitch, step]:
                cells.append("=")
            elif accompaniment_on[pitch, step]:
                cells.append("o")
            else:
                cells.append(".")
        lines.append(f"{pitch_name(pitch):>5} " + "".join(cells))
    return "\n".join(lines)


def piano_roll_rgb(melody: Sequence[int] | np.ndarray, accompaniment: Iterable[Note] = (),
                   steps: int | None = None, pitch_range: tuple[int, int] = (21, 108),
                   cell: tuple[int, int] = (3, 6)) -> np.ndarray:
    """A piano-roll image as an RGB array, highest pitch at the top.

    Args:
        melody: A melody array.
        accompaniment: Accompaniment notes.
        steps: Number of 16th columns (default: the melody's length).
        pitch_range: Lowest and highest pitch shown (inclusive).
        cell: Height and width in pixels of one pitch x 16th cell.

    Returns:
        A ``uint8`` array of shape ``(pitches * cell[0], steps * cell[1], 3)``.
    """
    melody = np.asarray(melody)
    steps = len(melody) if steps is None else steps
    lowest, highest = pitch_range
    melody_on, melody_onset, accompaniment_on = _grids(melody, accompaniment, steps)
    rows = slice(highest, lowest - 1 if lowest > 0 else None, -1)
    pitches = np.arange(highest, lowest - 1, -1)
    image = np.empty((len(pitches), steps, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    image[np.isin(pitches % 12, list(BLACK_KEYS))] = BLACK_KEY_ROW
    image[accompaniment_on[rows]] = ACCOMPANIMENT
    image[melody_on[rows]] = MELODY_HELD
    image[melody_onset[rows]] = MELODY_ONSET
    image = np.repeat(np.repeat(image, cell[0], axis=0), cell[1], axis=1)
    image[:, :: STEPS_PER_BAR * cell[1]] = BAR_LINE
    return image


def save_piano_roll(path: str | os.PathLike, melody: Sequence[int] | np.ndarray,
                    accompaniment: Iterable[Note] = (), *, title: str | None = None,
                    steps: int | None = None) -> Path:
    """Saves a piano roll of a melody and its accompaniment as a PNG file with matplotlib.

    The pitch axis spans the notes played (with a margin); bars are numbered along the bottom.

    Args:
        path: Where to write the PNG. Parent folders are created.
        melody: A melody array.
        accompaniment: Accompaniment notes.
        title: A title for the plot.
        steps: Number of 16ths to show (default: the melody's length).

    Returns:
        The path written.
    """
    # heavy: matplotlib loads slowly and only this path needs it
    import matplotlib

    matplotlib.use("Agg")
    # heavy: matplotlib loads slowly and only this path needs it
    import matplotlib.pyplot as plt

    # heavy: matplotlib loads slowly and only this path needs it
    from matplotlib.patches import Patch, Rectangle

    melody = np.asarray(melody)
    steps = len(melody) if steps is None else steps
    accompaniment = list(accompaniment)
    notes = note_events(melody)
    pitches = [pitch for pitch, _, _ in notes] + [note.pitch for note in accompaniment]
    low, high = (min(pitches) - 2, max(pitches) + 2) if pitches else (58, 62)
    width = max(6.0, min(steps / 6, 16.0))
    height = min(max(3.0, (high - low) / 8), 6.0)
    figure, axes = plt.subplots(figsize=(width, height))
    for note in accompaniment:
        axes.add_patch(Rectangle((note.start, note.pitch - 0.4), note.end - note.start - 0.1, 0.8,
                                 color=np.array(ACCOMPANIMENT) / 255, alpha=0.8))
    for pitch, start, end in notes:
        axes.add_patch(Rectangle((start, pitch - 0.45), min(end, steps) - start - 0.1, 0.9,
                                 facecolor=np.array(MELODY_HELD) / 255,
                                 edgecolor=np.array(MELODY_ONSET) / 255, linewidth=1.2))
    for bar in range(0, steps + 1, STEPS_PER_BAR):
        axes.axvline(bar, color=np.array(BAR_LINE) / 255, linewidth=0.8)
    axes.set_xlim(0, steps)
    axes.set_ylim(low, high)
    axes.set_xticks(range(0, steps, STEPS_PER_BAR), [str(b + 1) for b in
                                                     range(len(range(0, steps, STEPS_PER_BAR)))])
    ticks = [pitch for pitch in range(low, high + 1) if pitch % 12 in (0, 7)]
    axes.set_yticks(ticks, [pitch_name(pitch) for pitch in ticks])
    axes.set_xlabel("bar")
    axes.set_ylabel("pitch")
    handles = [Patch(color=np.array(MELODY_HELD) / 255, label="melody")]
    if accompaniment:
        handles.append(Patch(color=np.array(ACCOMPANIMENT) / 255, label="accompaniment"))
    axes.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2,
                frameon=False, fontsize="small")
    if title:
        axes.set_title(title, loc="left")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
