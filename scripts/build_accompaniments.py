"""Writes the five bundled rhythmic accompaniments as MIDI files plus a manifest.

Rebuild with::

    python scripts/build_accompaniments.py

Each accompaniment is a 4/4 loop of one or two bars with a bass line and chords in C major or
A minor, each with its own rhythm. They are written by hand here, as patterns of
``(offset in 16ths, duration in 16ths)`` per part, over a chord progression.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mammad_envs.midi import Note, write_midi  # noqa: E402

# Chords as MIDI pitches: bass note, then the chord tones (voiced around middle C).
CHORDS = {
    "C": (36, (55, 60, 64)),
    "F": (41, (57, 60, 65)),
    "G": (43, (55, 59, 62)),
    "G7": (43, (53, 59, 62)),
    "Am": (45, (57, 60, 64)),
    "Dm": (38, (57, 62, 65)),
    "E": (40, (56, 59, 64)),
}

# name: key, description, chords (one per bar), bass rhythm, chord rhythm, arpeggio?
ACCOMPANIMENTS = [
    {
        "name": "march",
        "key": "A minor",
        "description": "Oom-pah march: bass on beats 1 and 3, short chords on beats 2 and 4.",
        "chords": ["Am", "E"],
        "bass": [(0, 4), (8, 4)],
        "chord": [(4, 2), (12, 2)],
    },
    {
        "name": "rock",
        "key": "C major",
        "description": "Straight rock: bass in quarter notes, chords in driving eighth notes.",
        "chords": ["C", "F"],
        "bass": [(0, 4), (4, 4), (8, 4), (12, 4)],
        "chord": [(step, 2) for step in range(0, 16, 2)],
    },
    {
        "name": "alberti",
        "key": "C major",
        "description": "Classical Alberti bass: low-high-middle-high broken chords in 16ths.",
        "chords": ["C", "G7"],
        "bass": [(0, 16)],
        "arpeggio": [0, 2, 1, 2],
    },
    {
        "name": "habanera",
        "key": "A minor",
        "description": "Habanera: dotted-eighth, sixteenth, two eighths in the bass; "
        "chords on the off-beats.",
        "chords": ["Am", "Dm"],
        "bass": [(0, 3), (3, 1), (4, 2), (6, 2), (8, 3), (11, 1), (12, 2), (14, 2)],
        "chord": [(2, 2), (6, 2), (10, 2), (14, 2)],
    },
    {
        "name": "bossa",
        "key": "C major",
        "description": "Bossa nova: tresillo bass (3+3+2 eighths) under syncopated chords.",
        "chords": ["C"],
        "bass": [(0, 6), (6, 6), (12, 4)],
        "chord": [(0, 2), (3, 2), (6, 2), (10, 2), (13, 3)],
    },
]


def accompaniment_notes(spec: dict) -> list[Note]:
    """The notes of one accompaniment loop."""
    notes = []
    for bar, chord_name in enumerate(spec["chords"]):
        bass, chord = CHORDS[chord_name]
        offset = 16 * bar
        for start, duration in spec["bass"]:
            notes.append(Note(bass, offset + start, offset + start + duration))
        for start, duration in spec.get("chord", []):
            notes.extend(Note(pitch, offset + start, offset + start + duration) for pitch in chord)
        if "arpeggio" in spec:
            pattern = spec["arpeggio"]
            for step in range(16):
                pitch = chord[pattern[step % len(pattern)]]
                notes.append(Note(pitch, offset + step, offset + step + 1))
    return sorted(notes, key=lambda note: (note.start, note.pitch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "mammad_envs/data/accompaniments")
    args = parser.parse_args()
    manifest = []
    for index, spec in enumerate(ACCOMPANIMENTS):
        steps = 16 * len(spec["chords"])
        file = f"{index + 1:02d}_{spec['name']}.mid"
        # The accompaniment is written as the "accompaniment" track under an all-silent melody.
        write_midi(args.out / file, [-1] + [-2] * (steps - 1), accompaniment_notes(spec))
        manifest.append({
            "file": file,
            "name": spec["name"],
            "key": spec["key"],
            "description": spec["description"],
            "chords": spec["chords"],
            "steps": steps,
            "bars": len(spec["chords"]),
        })
        print(f"{file}: {spec['name']} ({spec['key']}, {len(spec['chords'])} bar loop)")
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
