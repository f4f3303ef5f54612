"""How fast and in how much memory ``mammad_envs.midi.load_midi`` reads a large MIDI file.

Run from the repository root::

    python -m benchmarks.midi_load                  # a 10 MB file of note events
    python -m benchmarks.midi_load --megabytes 2 --mido   # and mido's parser, for comparison

It writes a file of ordinary note events (a note-on, then its note-off as a note-on of velocity
0 in running status, one tick later: seven bytes a note, as sequencers write them) to a
temporary folder and loads it twice: once timed, once under ``tracemalloc`` for the peak of
memory allocated while loading (tracing slows Python down, so it is not timed).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import mido

from mammad_envs.midi import load_midi

BYTES_PER_NOTE = 7


def write_note_file(path: Path, megabytes: float) -> int:
    """Writes a type-0 file of about ``megabytes`` MB of note events; returns its notes."""
    notes = int(megabytes * 1e6 / BYTES_PER_NOTE)
    events = bytearray()
    for index in range(notes):
        pitch = 60 + index % 24
        events += bytes((0, 0x90, pitch, 90, 1, pitch, 0))
    events += b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + bytes((0, 0, 0, 1, 480 >> 8, 480 & 0xFF))
    path.write_bytes(header + b"MTrk" + len(events).to_bytes(4, "big") + events)
    return notes


def measure(path: Path) -> tuple[float, int, int]:
    """(seconds to load, peak traced bytes while loading, 16ths of the melody)."""
    started = time.perf_counter()
    melody = load_midi(path)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        load_midi(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak, melody.size


def mido_seconds(path: Path) -> float:
    """Seconds mido's own parser takes to read the file (what ``load_midi`` used before)."""
    started = time.perf_counter()
    mido.MidiFile(path)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Writes the file, loads it, prints the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.midi_load",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=10.0,
                        help="size of the file to write (default 10; the loader refuses files "
                             "over 16 MiB unless given max_bytes=)")
    parser.add_argument("--mido", action="store_true",
                        help="also time mido's parser on the same file (about 4 s a MB here)")
    args = parser.parse_args(argv)
    if not 0 < args.megabytes <= 16:
        parser.error(f"--megabytes must be in (0, 16], got {args.megabytes}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "notes.mid"
        notes = write_note_file(path, args.megabytes)
        size = path.stat().st_size
        seconds, peak, steps = measure(path)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"file: {size / 1e6:.1f} MB, {notes:,} notes ({2 * notes + 1:,} messages), "
              f"a melody of {steps:,} 16ths")
        print(f"load_midi: {seconds:.2f} s, {size / 1e6 / seconds:.2f} MB/s; peak memory "
              f"{peak / 1e6:.0f} MB traced ({peak / size:.1f} bytes per byte of file), "
              f"{rss:.0f} MB resident for the whole process")
        if args.mido:
            parsed = mido_seconds(path)
            print(f"mido.MidiFile: {parsed:.2f} s, {size / 1e6 / parsed:.2f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
