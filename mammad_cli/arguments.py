"""What the subcommands share: argument types, the help formatter, and usage errors."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from typing import Any

from agents.hyperparams import MAX_N_ENVS
from mammad_envs.errors import MammadError
from mammad_envs.midi import MAX_MIDI_STEPS

MAX_STEPS = 10**10
"""The most env steps a run trains for (``train --steps``, ``--checkpoint-every``): ten
billion, days of training on a large machine (the bundled benchmarks train a few million)."""
MAX_EPISODES = 1_000_000
"""The most episodes played at once (``evaluate -n``, ``train --eval-episodes``, ``label
--count``): every melody is kept in memory for the statistics."""
MAX_SAMPLES = 10_000
"""The most melodies written as files (``sample -n``, ``train --samples``)."""
MAX_MELODY_STEPS = MAX_MIDI_STEPS
"""The longest melody asked for (``label --steps``), in 16ths: the longest track read from a
MIDI file (:data:`mammad_envs.midi.MAX_MIDI_STEPS`, 65,536)."""
MAX_PAIRS = 10_000
"""The most pairs made at once for the labelling page (``label --pairs``)."""
MAX_SEED = 2**32 - 1 - MAX_EPISODES
"""The largest ``--seed``: episode ``k`` is seeded ``seed + k``, and numpy's seeds stop at
``2**32 - 1``."""
THREADS_PER_CPU = 4
"""``--threads`` is at most this many per CPU of the machine (``os.cpu_count()``)."""
BPM_RANGE = (1.0, 1000.0)
"""The tempi ``--bpm`` accepts (a slower tempo makes WAV files of hours per melody)."""


class UsageError(MammadError, ValueError):
    """A wrong use of a command's arguments: ``mammad`` prints the command's usage with it."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every default that is a value (not None or an unset flag) after its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or "(default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


def add_command(subparsers: Any, name: str, summary: str,
                description: str) -> argparse.ArgumentParser:
    """A subcommand's parser: ``summary`` in ``mammad --help``, ``description`` in its own."""
    return subparsers.add_parser(name, help=summary, description=description,
                                 formatter_class=HelpFormatter)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _bounded_int(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return _bounded_int(text, 0)


def int_up_to(high: int, name: str, low: int = 1) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``, the maximum called ``name``."""
    def parse(text: str) -> int:
        return _bounded_int(text, low, high, name)

    parse.__name__ = f"integer up to {name}"  # argparse names the type in some messages
    return parse


def threads(text: str) -> int:
    """An argparse type: torch threads, from 1 to ``os.cpu_count()`` x :data:`THREADS_PER_CPU`."""
    return _bounded_int(text, 1, (os.cpu_count() or 1) * THREADS_PER_CPU,
                        f"{THREADS_PER_CPU} per CPU (THREADS_PER_CPU) on {os.cpu_count() or 1} "
                        f"CPUs")


def n_envs(text: str) -> int:
    """An argparse type: vectorised envs, from 1 to :data:`agents.hyperparams.MAX_N_ENVS`."""
    return _bounded_int(text, 1, MAX_N_ENVS, "agents.hyperparams.MAX_N_ENVS")


def seed(text: str) -> int:
    """An argparse type: a seed, from 0 to :data:`MAX_SEED`."""
    return _bounded_int(text, 0, MAX_SEED, "MAX_SEED")


def bpm(text: str) -> float:
    """An argparse type: a tempo within :data:`BPM_RANGE`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    low, high = BPM_RANGE
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is not a tempo from {low:g} to {high:g} bpm "
                                         f"(BPM_RANGE)")
    return value


def _bounded_int(text: str, low: int, high: int | None = None, name: str = "") -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is too small: it must be at least {low}")
    if high is not None and value > high:
        raise argparse.ArgumentTypeError(f"{value:,} is too large: at most {high:,} ({name})")
    return value


def add_seed_and_threads(parser: argparse.ArgumentParser, *, seed_help: str = "seed (default 0)",
                         threads_help: str = "torch threads (default 1)",
                         progress: str | None = None) -> None:
    """Adds the run controls most commands share.

    ``--seed`` (default 0), ``--threads`` (default 1) and, if ``progress`` names the bars it
    hides, ``--no-progress``.
    """
    parser.add_argument("--seed", type=seed, default=0, help=seed_help)
    parser.add_argument("--threads", type=threads, default=1, help=threads_help)
    if progress is not None:
        parser.add_argument("--no-progress", action="store_true", help=f"no {progress}")


def set_torch_threads(threads: int) -> None:
    """Sets torch's threads: called once the arguments are checked, as it imports torch."""
    import torch  # heavy (about 2 s): only once every cheap check has passed

    torch.set_num_threads(threads)
