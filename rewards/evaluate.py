"""Prints the RL Tuner statistics of a set of melodies (and, with ``--json``, writes them).

Melodies come from a folder of MIDI files, from the Note-RNN sampler, or from the bundled
demonstration melodies::

    python -m rewards.evaluate --midi samples/ --json stats.json
    python -m rewards.evaluate --note-rnn 100000 --steps 32 --seed 0
    python -m rewards.evaluate --bundled --steps 64
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from rewards import metrics


def midi_melodies(folder: Path, steps: int | None) -> list[np.ndarray]:
    """The melodies of every ``*.mid`` / ``*.midi`` file in a folder (sorted by name).

    Raises:
        ValueError: If the folder has no MIDI files.
    """
    from mammad_envs.midi import load_midi

    if not folder.is_dir():
        raise ValueError(f"{str(folder)!r} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise ValueError(f"no MIDI files (*.mid, *.midi) in {str(folder)!r}")
    return [load_midi(path, steps=steps) for path in files]


def bundled_melodies(steps: int | None) -> list[np.ndarray]:
    """The bundled melodies, cut into windows of ``steps`` (whole tunes if None)."""
    from mammad_envs.data import load_melodies
    from mammad_envs.data.demonstrations import melody_windows

    tunes = [melody.notes for melody in load_melodies()]
    if steps is None:
        return tunes
    return [window for tune in tunes for window in melody_windows(tune, steps)]


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Command line entry point; returns the statistics."""
    parser = argparse.ArgumentParser(prog="python -m rewards.evaluate",
                                     description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--midi", type=Path, help="a folder of MIDI files")
    source.add_argument("--note-rnn", type=int, metavar="N",
                        help="sample N melodies from the shipped Note-RNN")
    source.add_argument("--bundled", action="store_true", help="the 10 bundled melodies")
    parser.add_argument("--steps", type=int, default=None,
                        help="16ths per melody (cut or padded; default: each file's length, "
                             "32 for --note-rnn)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--key", default="C major")
    parser.add_argument("--lowest", type=int, default=48,
                        help="pitch with action index 2 for the autocorrelation (RL Tuner: 48)")
    parser.add_argument("--json", type=Path, help="also write the statistics here")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps <= 0:
        parser.error(f"--steps must be positive, got {args.steps}")
    started = time.perf_counter()
    try:
        if args.midi is not None:
            melodies, what = midi_melodies(args.midi, args.steps), f"MIDI files in {args.midi}"
        elif args.bundled:
            melodies, what = bundled_melodies(args.steps), "the bundled melodies"
        else:
            from rewards.note_rnn import NoteRNN

            if args.note_rnn <= 0:
                raise ValueError(f"--note-rnn needs a positive number, got {args.note_rnn}")
            melodies = NoteRNN.pretrained().sample(args.note_rnn, args.steps or 32,
                                                   temperature=args.temperature, seed=args.seed)
            what = f"Note-RNN samples (temperature {args.temperature}, seed {args.seed})"
        table = metrics.evaluate(melodies, key=args.key, lowest=args.lowest)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    seconds = time.perf_counter() - started
    print(metrics.format_table(table, title=f"statistic ({what})"))
    print(f"\n{int(table['compositions']):,} compositions in {seconds:.1f} s")
    if args.json is not None:
        print(f"wrote {metrics.save_json(table, args.json)}")
    return table


if __name__ == "__main__":
    main(sys.argv[1:])
