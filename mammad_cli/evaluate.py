"""``mammad evaluate``: the RL Tuner statistics of a trained model's compositions."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from agents.training import vector_env_maker
from mammad_cli.arguments import MAX_EPISODES, add_command
from mammad_cli.model_arguments import add_model_arguments, load_model


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``evaluate`` to ``mammad``'s subcommands."""
    parser = add_command(subparsers, "evaluate", "RL Tuner statistics of a trained model",
                         "Print the RL Tuner statistics of a trained model's compositions; "
                         "the last line is JSON.")
    add_model_arguments(parser, "compositions", 1000, MAX_EPISODES, "MAX_EPISODES")
    parser.add_argument("--json", type=Path, help="also write the statistics to this file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run, command_parser=parser)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Plays ``-n`` compositions and prints their statistics.

    Prints the table (with the KL to the reference per step and per melody for an agent under
    KL control), the time taken, and as its last line a JSON object (the mean episode return),
    for scripts; with ``--json``, writes the table there instead of that line.
    """
    # numba-compiled rollouts and statistics (about 0.4 s to import): once arguments parse
    from agents.rollouts import measure_kl, play_episodes, sampling_player

    # numba-compiled statistics: imported with the rollouts, once arguments parse
    from rewards import metrics

    if args.json is not None and args.json.is_dir():
        raise ValueError(f"--json {str(args.json)!r} is a folder: give a file name, e.g. "
                         f"{args.json / 'stats.json'}")
    model, config = load_model(args)
    started = time.perf_counter()
    meter = measure_kl(model)  # agents fine-tuned under KL control: their KL to the reference
    melodies, _, returns = play_episodes(sampling_player(model, args.seed),
                                         vector_env_maker(config), args.n, args.deterministic,
                                         progress=not args.no_progress, seed=args.seed)
    table = metrics.evaluate(melodies)
    table["mean episode return"] = float(sum(returns) / len(returns))
    if meter is not None:
        table.update(meter.statistics(len(melodies[0])))
    print(metrics.format_table(table, title=f"statistic ({config['agent']} on {config['env']})"))
    print(f"\n{args.n:,} compositions in {time.perf_counter() - started:.1f} s")
    if args.json:
        print(f"wrote {metrics.save_json(table, args.json)}")
    else:
        print(json.dumps({"mean episode return": table["mean episode return"]}))
    return 0
