"""``mammad``: the parser built from the subcommand modules, and errors mapped to exit codes.

Exit codes: 0 done; 2 a bad argument or an expected error (a bad value, a missing file or
extra, a damaged or untrusted model file: one line ``mammad <command>: error: ...``); 130
Ctrl-C; 128 + the signal number when a signal stopped training. Any other exception is a
bug, and is shown with its traceback.
"""

from __future__ import annotations

import argparse
import sys

from mammad_cli import agents_list, evaluate, label, preference, rlhf, sample, train
from mammad_cli.arguments import HelpFormatter, UsageError
from mammad_cli.console import library_messages
from mammad_envs.compat import MissingExtraError

DESCRIPTION = ("mammad-envs: list agents, train them on the MammadMelody environments, "
               "sample and evaluate trained models, and train the preference reward.")

COMMANDS = (agents_list, train, sample, evaluate, preference, label, rlhf)
"""The subcommand modules, in the order ``mammad --help`` lists them. Each has
``add_parser(subparsers)``, which sets the parser's ``handler`` (``run(args, argv) -> int``)."""

EXPECTED_ERRORS = (ValueError, FileNotFoundError, MissingExtraError)
"""What a command raises for bad input; its subclasses included (ModelFileError, PoolError,
RunInUseError, AudioEngineError... are ValueErrors)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mammad``."""
    parser = argparse.ArgumentParser(prog="mammad", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mammad`` command: parses ``argv`` and runs the command.

    Returns:
        The exit code (0, or 128 + a signal number if a signal stopped training).

    Raises:
        SystemExit: On a bad argument or an expected error (code 2), or Ctrl-C (130).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with library_messages():
            return args.handler(args, argv)
    except UsageError as error:
        args.command_parser.error(str(error))
    except EXPECTED_ERRORS as error:
        parser.exit(2, f"mammad {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"\nmammad {args.command}: interrupted\n")
    return 0  # not reached: error() and exit() raise SystemExit
