"""Piano-roll text, images and PNG files."""

import matplotlib.image
import numpy as np

from mammad_envs.melody import HOLD, REST
from mammad_envs.midi import Note
from mammad_envs.piano_roll import (
    ACCOMPANIMENT,
    MELODY_HELD,
    MELODY_ONSET,
    piano_roll_rgb,
    piano_roll_text,
    save_piano_roll,
)

MELODY = [60, HOLD, REST, 62]
CHORD = [Note(48, 0, 2)]


def test_text_rows_span_the_notes_played():
    lines = piano_roll_text(MELODY, CHORD).splitlines()
    assert lines[0].startswith("      |1")
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert list(rows) == [f"{n}{o}" for n, o in [("D", 4), ("C#", 4), ("C", 4), ("B", 3),
                                                  ("Bb", 3), ("A", 3), ("Ab", 3), ("G", 3),
                                                  ("F#", 3), ("F", 3), ("E", 3), ("Eb", 3),
                                                  ("D", 3), ("C#", 3), ("C", 3)]]
    assert rows["C4"] == "|#=.." and rows["D4"] == "|...#" and rows["C3"] == "|oo.."


def test_text_of_silence():
    assert piano_roll_text([REST, HOLD]).endswith("(silence)")


def test_rgb_colours_cells():
    image = piano_roll_rgb(MELODY, CHORD, pitch_range=(40, 70), cell=(2, 5))
    assert image.shape == (31 * 2, 4 * 5, 3)

    def cell(pitch, step):
        return tuple(image[(70 - pitch) * 2 + 1, step * 5 + 2])

    assert cell(60, 0) == MELODY_ONSET and cell(60, 1) == MELODY_HELD
    assert cell(48, 1) == ACCOMPANIMENT and cell(62, 3) == MELODY_ONSET
    assert cell(60, 2) not in (MELODY_ONSET, MELODY_HELD, ACCOMPANIMENT)


def test_save_png(tmp_path):
    path = save_piano_roll(tmp_path / "roll" / "m.png", MELODY * 8, CHORD, title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] >= 300 and pixels.shape[1] >= 600
    # the melody colour is in the picture
    red = np.isclose(pixels[..., :3], np.array(MELODY_ONSET) / 255, atol=0.02).all(axis=-1)
    assert red.any()
