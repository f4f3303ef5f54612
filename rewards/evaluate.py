"""Prints the RL Tuner statistics of a set of melodies (and, with ``--json``, writes them).

Melodies come from a folder of MIDI files, from the Note-RNN sampler, or from the bundled
demonstration melodies::

    python -m rewards.evaluate --midi samples/ --json stats.json
    python -m rewards.evaluate --note-rnn 100000 --steps 32 --seed 0
    python -m rewards.evaluate --bundled --steps 64

With ``--midi``, a file that cannot be loaded (not MIDI, truncated, without notes, longer than
``--max-steps`` 16ths, ...) is skipped: each one is reported on stderr with the reason, the
table's title counts them, and the rest of the folder is evaluated. If no file loads, it is an
error (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from mammad_envs.data import load_melodies
from mammad_envs.data.demonstrations import melody_windows
from mammad_envs.midi import MAX_MIDI_STEPS, MidiFileError, load_midi
from rewards import metrics


def midi_melodies(folder: Path, steps: int | None,
                  max_steps: int = MAX_MIDI_STEPS) -> tuple[list[np.ndarray], list[str]]:
    """The melodies of the ``*.mid`` / ``*.midi`` files in a folder (sorted by name).

    Args:
        folder: The folder.
        steps: 16ths per melody (cut or padded), or None for each file's length.
        max_steps: Files with a track longer than this many 16ths are skipped (see
            :func:`mammad_envs.midi.load_midi`).

    Returns:
        The melodies of the files that load, and one message per file that does not (naming
        the file and the reason); those files are skipped.

    Raises:
        ValueError: If the folder has no MIDI files or none of them loads.
    """
    if not folder.is_dir():
        raise ValueError(f"{str(folder)!r} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise ValueError(f"no MIDI files (*.mid, *.midi) in {str(folder)!r}")
    melodies, skipped = [], []
    for path in files:
        try:
            melodies.append(load_midi(path, steps=steps, max_steps=max_steps))
        except (MidiFileError, OSError) as error:
            skipped.append(str(error))
    if not melodies:
        raise ValueError(f"none of the {len(files)} MIDI files in {str(folder)!r} loads:\n  "
                         + "\n  ".join(skipped))
    return melodies, skipped


def bundled_melodies(steps: int | None) -> list[np.ndarray]:
    """The bundled melodies, cut into windows of ``steps`` (whole tunes if None)."""
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
    parser.add_argument("--max-steps", type=int, default=MAX_MIDI_STEPS,
                        help="with --midi, skip files with a track longer than this many 16ths "
                             "(default %(default)s)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--key", default="C major")
    parser.add_argument("--lowest", type=int, default=48,
                        help="pitch with action index 2 for the autocorrelation (RL Tuner: 48)")
    parser.add_argument("--json", type=Path, help="also write the statistics here")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps <= 0:
        parser.error(f"--steps must be positive, got {args.steps}")
    if args.max_steps <= 0:
        parser.error(f"--max-steps must be positive, got {args.max_steps}")
    if args.midi is not None and args.steps is not None and args.steps > args.max_steps:
        parser.error(f"--steps {args.steps} is more than --max-steps {args.max_steps}")
    started = time.perf_counter()
    try:
        if args.midi is not None:
            melodies, skipped = midi_melodies(args.midi, args.steps, args.max_steps)
            what = f"MIDI files in {args.midi}"
            if skipped:
                total = len(melodies) + len(skipped)
                what += f"; {len(skipped)} of {total} skipped"
                print(f"skipped {len(skipped)} of {total} MIDI files:", *skipped,
                      sep="\n  ", file=sys.stderr)
        elif args.bundled:
            melodies, what = bundled_melodies(args.steps), "the bundled melodies"
        else:
            # heavy: rewards.note_rnn loads torch
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
