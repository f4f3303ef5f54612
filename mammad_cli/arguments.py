"""What the subcommands share: argument types, the help formatter, and usage errors."""

from __future__ import annotations

import argparse
from typing import Any

from mammad_envs.errors import MammadError


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


def _bounded_int(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is too small: it must be at least {low}")
    return value


def set_torch_threads(threads: int) -> None:
    """Sets torch's threads: called once the arguments are checked, as it imports torch."""
    import torch  # heavy (about 2 s): only once every cheap check has passed

    torch.set_num_threads(threads)
