"""``mammad agents``: the registered agents (built-in, registered, plugins)."""

from __future__ import annotations

import argparse
from typing import Any

from agents.registry import list_agents
from mammad_cli.arguments import add_command


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``agents`` to ``mammad``'s subcommands."""
    parser = add_command(subparsers, "agents", "list the registered agents",
                         "List the registered agents (built-in, registered, plugins).")
    parser.set_defaults(handler=run, command_parser=parser)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Prints one line per agent: name, description, class, source, and a missing extra."""
    specs = list_agents()
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        target = spec.entry_point if isinstance(spec.entry_point, str) else \
            f"{spec.entry_point.__module__}:{spec.entry_point.__name__}"
        needs = "" if spec.available else f"  (needs the {spec.extra} extra: {spec.install_hint})"
        print(f"{spec.name:<{width}}  {spec.description or '-'}  [{target}, {spec.source}]"
              f"{needs}")
    return 0
