"""The arguments ``mammad sample`` and ``mammad evaluate`` share, and the model they name."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agents.runs import read_config, run_of_model
from agents.training import load_run_model
from mammad_cli.arguments import add_seed_and_threads, int_up_to, set_torch_threads


def add_model_arguments(parser: argparse.ArgumentParser, what: str, count: int,
                        most: int, most_name: str) -> None:
    """The model, how many melodies (``what``, ``count`` by default), and how to play it.

    The count is at most ``most``, a constant called ``most_name`` in the messages.
    """
    parser.add_argument("model", type=Path, nargs="+",
                        help="a model.zip of a run (or the run folder)")
    parser.add_argument("-n", type=int_up_to(most, most_name), default=count, help=what)
    parser.add_argument("--deterministic", action="store_true",
                        help="the policy's most likely action at each step (default: sampled; "
                             "DQN and QR-DQN sample the softmax of their Q-values)")
    add_seed_and_threads(parser, seed_help="episode k is played with seed + k",
                         threads_help="torch threads (1: the Note-RNN reward then steps on "
                                      "the other core)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="load a model file even if it holds pickled objects (which run "
                             "code when loaded)")


def load_model(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """(model, run config) of ``args.model``; torch set to ``args.threads`` threads.

    The run and its configuration are checked before torch is imported.

    Raises:
        ValueError: If not one model is given, or it is not in a run folder.
        FileNotFoundError: If the model file is missing.
        ModelFileError: If it is damaged, or holds pickles and is not trusted.
    """
    paths = args.model
    if len(paths) != 1:
        raise ValueError(f"give one model, got {len(paths)}: {[str(p) for p in paths]} (did a "
                         f"wildcard match several runs? name one run folder)")
    run, model_file = run_of_model(paths[0])
    config = read_config(run)
    set_torch_threads(args.threads)
    return load_run_model(run, model_file, config, args.trust_pickle), config
