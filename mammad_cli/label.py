"""``mammad label``: the labelling page, where people pick the better of two melodies."""

from __future__ import annotations

import argparse
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from mammad_cli.arguments import (
    MAX_EPISODES,
    MAX_MELODY_STEPS,
    MAX_PAIRS,
    UsageError,
    add_command,
    int_up_to,
    non_negative_int,
    seed,
)
from mammad_envs.compat import MissingExtraError
from mammad_envs.data import load_accompaniments

DEFAULT_PORT = 8765
NOTE_RNN_POOL = "note_rnn"
DEPRECATED_LABELER = ("mammad label: --labeler is deprecated, use --name (in `mammad rlhf`, "
                      "--labeler names a scoring function)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``label`` to ``mammad``'s subcommands."""
    parser = add_command(subparsers, "label", "serve the labelling page (pairs of melodies)",
                         "Serve a local page that shows pairs of melodies over the same "
                         "accompaniment and records which one you prefer (keys A, B, T for "
                         "tie, S to skip, space to play) in a preference store. Needs the "
                         "label extra: pip install -e \".[label]\".")
    parser.add_argument("--db", type=Path, required=True,
                        help="the preference store (SQLite; made if missing)")
    parser.add_argument("--pool", help="where melodies come from: a folder of MIDI files, a run "
                                       "folder or its model.zip, or note_rnn (default: the "
                                       "store's own melodies)")
    parser.add_argument("--model", type=Path,
                        help="a reward model (pref_model/model.pt): its least sure pairs first")
    parser.add_argument("--name", help="your name in the store: alice is recorded as "
                                       "human:alice (default: human:<your login name>)")
    parser.add_argument("--labeler", dest="deprecated_labeler", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (another host lets others reach the page)")
    parser.add_argument("--port", type=non_negative_int, default=DEFAULT_PORT,
                        help="port to listen on; the page is http://<host>:<port>/")
    parser.add_argument("--pairs", type=int_up_to(MAX_PAIRS, "MAX_PAIRS"), default=20,
                        help="pairs made each time none is left to label")
    parser.add_argument("--count", type=int_up_to(MAX_EPISODES, "MAX_EPISODES"),
                        help="melodies drawn from the pool (default: 32 episodes or samples, "
                             "every MIDI file)")
    parser.add_argument("--steps", type=int_up_to(MAX_MELODY_STEPS, "MAX_MELODY_STEPS"),
                        help="melody length in 16ths for MIDI files or the Note-RNN (default: "
                             "each file's own; 32 for the Note-RNN)")
    parser.add_argument("--accompaniment",
                        help="note_rnn pool: a bundled accompaniment to put the melodies over")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="note_rnn pool: sampling temperature")
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--shuffle", action="store_true",
                        help="show a random unlabelled pair (several people labelling at once)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="run pool: load a model file even if it holds pickled objects")
    parser.set_defaults(handler=run, command_parser=parser)
    return parser


def labeller_name(args: argparse.Namespace) -> str | None:
    """``--name``, or the deprecated ``--labeler`` (with a note on stderr); None: the default.

    Raises:
        UsageError: If both are given, with different names.
    """
    if args.deprecated_labeler is None:
        return args.name
    print(DEPRECATED_LABELER, file=sys.stderr)
    if args.name is not None and args.name != args.deprecated_labeler:
        raise UsageError(f"--name {args.name!r} and --labeler {args.deprecated_labeler!r} "
                         f"differ: give --name only")
    return args.deprecated_labeler


def check_extra(command: str = "mammad label") -> None:
    """Raises a MissingExtraError unless the label extra (Starlette, uvicorn) is installed."""
    missing = [name for name in ("starlette", "uvicorn") if find_spec(name) is None]
    if missing:
        raise MissingExtraError(f"{command} needs {' and '.join(missing)} (the label "
                                f"extra): pip install -e \".[label]\"")


def check_pool(pool: str | None, accompaniment: str | None) -> None:
    """Checks ``--pool`` and ``--accompaniment`` before the store is made.

    Raises:
        PoolError: If the pool is not a MIDI folder, a run, its model file or ``note_rnn``.
        ValueError: On an accompaniment that is not bundled or with a pool other than the
            Note-RNN.
    """
    if pool is None:
        return
    # torch: the preferences package imports it (about 2 s); label needs it in any case
    from feedback.pool import pool_kind

    kind = pool_kind(pool)
    if accompaniment is None:
        return
    if kind != NOTE_RNN_POOL:
        raise ValueError(f"--accompaniment is for the {NOTE_RNN_POOL!r} pool only (a run's "
                         f"melodies keep the accompaniment their episode drew)")
    names = sorted(loop.name for loop in load_accompaniments())
    if accompaniment not in names:
        raise ValueError(f"unknown accompaniment {accompaniment!r}: the bundled ones are "
                         f"{names}")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Checks the arguments, then fills the store and serves the page until Ctrl-C."""
    name = labeller_name(args)
    check_extra()
    check_pool(args.pool, args.accompaniment)
    # Starlette, uvicorn and torch: checked above, heavy to import
    from feedback.labelling import serve

    return serve(args.db, args.pool, host=args.host, port=args.port, model=args.model,
                 labeler=name, pairs=args.pairs, count=args.count, steps=args.steps,
                 seed=args.seed, temperature=args.temperature,
                 accompaniment=args.accompaniment, trust_pickle=args.trust_pickle,
                 shuffle=args.shuffle)
