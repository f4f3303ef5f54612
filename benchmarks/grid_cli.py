"""The command-line pieces every grid benchmark shares (encodings, rl_tuner_table, imitation).

:func:`add_run_options` adds where and how the cells run (``--backend``, ``--address``,
``--workers``) and ``--quick``, ``--dry-run`` and ``--no-progress``; :func:`positive_int` and
:func:`positive_float` are argparse types for counts and weights, and :func:`add_theory_weight`
the RL Tuner benchmarks' ``--theory-weight``; :func:`sigterm_as_interrupt` makes SIGTERM stop a
grid as Ctrl-C does, so its runs are stopped and its finished cells kept.
:func:`command_errors` turns a bad setting into argparse's exit 2 and an interruption into exit
130, the same for every grid.
:func:`parse_grid_command` parses a grid's arguments and builds its cells (a
:class:`GridCommand`, which counts the finished cells and runs the grid).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.grid import BACKENDS, Cell, read_cell, run_grid


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (``100_000`` and ``100,000`` are read too)."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: it must be at least 1")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{value} must be a finite number > 0")
    return value


def add_theory_weight(parser: argparse.ArgumentParser, default: float, note: str = "") -> None:
    """``--theory-weight``: the theory reward's weight, RL Tuner's ``1/c`` (a number > 0).

    Args:
        parser: The benchmark's parser.
        default: Its default weight.
        note: What the default stands for, added to the help after it.
    """
    parser.add_argument("--theory-weight", type=positive_float, default=default,
                        help=f"weight of the theory reward, RL Tuner's 1/c (default "
                             f"{default:g}{', ' + note if note else ''})")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def add_run_options(parser: argparse.ArgumentParser, quick: str,
                    backend: str = "a local pool of processes, or Ray tasks") -> None:
    """Adds the options of where and how cells run, and of a smoke run or a listing.

    They are ``--backend``, ``--address``, ``--workers``, ``--quick``, ``--dry-run`` and
    ``--no-progress``.

    Args:
        parser: The benchmark's parser.
        quick: What ``--quick`` runs (its help).
        backend: What ``--backend`` chooses between (its help, before the default).
    """
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help=f"{backend} (default local)")
    parser.add_argument("--address", help="with --backend ray: the cluster, as ray.init takes "
                                          "it (auto, ray://host:10001; default: a local Ray)")
    parser.add_argument("--workers", type=positive_int, default=available_cores(),
                        help=f"training runs at once (local), or CPUs of the local Ray "
                             f"(default: the cores this process may use, {available_cores()} "
                             f"here; each run trains on one core)")
    parser.add_argument("--quick", action="store_true", help=f"{quick} (for tests)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the cells (and which are done) without running any")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` inside the block (the previous handler after it)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def command_errors(parser: argparse.ArgumentParser, root: Path | None = None,
                   kept: str = "the finished cells are kept") -> Iterator[None]:
    """A grid command's errors, the same for every grid benchmark.

    Inside the block, SIGTERM stops the runs as Ctrl-C does. A ``ValueError`` or
    ``ImportError`` (a bad setting, a missing extra) exits with argparse's status 2 and the
    message; Ctrl-C or SIGTERM exits with 130, saying what was kept and how to go on.

    Args:
        parser: The command's parser (its ``prog`` starts the error message).
        root: The grid's folder, named after an interruption (None: not yet chosen).
        kept: What an interruption keeps.

    Raises:
        SystemExit: 2 for a bad setting, 130 for an interruption.
    """
    try:
        with sigterm_as_interrupt():
            yield
    except (ValueError, ImportError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    except KeyboardInterrupt:
        where = f"\nruns: {root}" if root is not None else ""
        print(f"\ninterrupted: {kept}; run the same command again to do the rest{where}",
              file=sys.stderr)
        raise SystemExit(130) from None


@dataclass
class GridCommand:
    """A grid benchmark's parsed command line: its arguments, settings and cells."""

    argv: list[str]
    parser: argparse.ArgumentParser
    args: argparse.Namespace
    chosen: dict[str, Any]
    cells: list[Cell]

    @property
    def root(self) -> Path:
        """The grid's folder."""
        return self.chosen["root"]

    def done(self, cells: list[Cell] | None = None) -> int:
        """How many of ``cells`` (default: all) have finished."""
        return sum(read_cell(self.root / cell.name) is not None
                   for cell in (self.cells if cells is None else cells))

    def run(self, command: str, cells: list[Cell] | None = None) -> list[dict[str, Any]]:
        """Runs the missing cells as the options say (:func:`benchmarks.grid.run_grid`)."""
        args = self.args
        return run_grid(self.cells if cells is None else cells, self.root, backend=args.backend,
                        workers=args.workers, address=args.address, command=command,
                        progress=not args.no_progress)


def parse_grid_command(argv: list[str] | None, build_parser: Callable[[], argparse.ArgumentParser],
                       settings: Callable[[argparse.Namespace], dict[str, Any]],
                       build_cells: Callable[[dict[str, Any], argparse.Namespace], list[Cell]],
                       ) -> GridCommand:
    """Parses a grid benchmark's arguments (``sys.argv`` if None) and builds its cells.

    Args:
        argv: The arguments.
        build_parser: The benchmark's parser.
        settings: The settings the arguments choose (a dict with the grid's ``"root"``).
        build_cells: The cells of the settings and arguments.

    Raises:
        SystemExit: 2 for a bad setting (:func:`command_errors`).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    with command_errors(parser):
        chosen = settings(args)
        cells = build_cells(chosen, args)
    return GridCommand(argv, parser, args, chosen, cells)
