"""TensorBoard logs of a resumed run: no step logged twice.

A run killed between two checkpoints has logged steps past its last checkpoint; the resumed
run starts from the checkpoint and logs those steps again. :func:`drop_events_after` removes
the events after the checkpoint's step from the run's event files before training goes on.
"""

from __future__ import annotations

import os
from pathlib import Path

EVENT_FILES = "events.out.tfevents.*"


def drop_events_after(folder: Path, step: int) -> int:
    """Removes the events logged after ``step`` from every TensorBoard event file in ``folder``.

    Each file is rewritten under a temporary name and renamed into place. Events without a
    step (the file header) are kept.

    Args:
        folder: A run's ``tb/`` folder (searched recursively).
        step: The step training resumes from.

    Returns:
        How many events were removed (0 without TensorBoard installed: nothing was logged).
    """
    try:
        # optional: tensorboard (the test extra)
        from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader

        # optional: tensorboard (the test extra)
        from tensorboard.compat.proto import event_pb2

        # optional: tensorboard (the test extra)
        from tensorboard.summary.writer.record_writer import RecordWriter
    except ImportError:
        return 0
    removed = 0
    for path in sorted(folder.rglob(EVENT_FILES)) if folder.is_dir() else []:
        records = list(RawEventFileLoader(str(path)).Load())
        kept = [raw for raw in records
                if event_pb2.Event.FromString(raw).step <= step]
        if len(kept) == len(records):
            continue
        partial = path.with_name(f".{path.name}.partial")
        with partial.open("wb") as file:
            writer = RecordWriter(file)
            for raw in kept:
                writer.write(raw)
            writer.flush()
        os.replace(partial, path)
        removed += len(records) - len(kept)
    return removed
