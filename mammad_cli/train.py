"""``mammad train``: train an agent into a new run folder, or go on with a run (``--resume``)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from agents.hyperparams import parse_overrides
from agents.run_lifecycle import (
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_ENV,
    DEFAULT_EVAL_EPISODES,
    DEFAULT_REWARD,
    DEFAULT_SAMPLES,
    DEFAULT_STEPS,
    check_resume,
    env_arguments,
    new_run_config,
    resume_run,
    start_run,
)
from agents.runs import CHECKPOINTS, STATS, check_runs_dir
from agents.training import RunResult
from mammad_cli.arguments import (
    MAX_EPISODES,
    MAX_SAMPLES,
    MAX_STEPS,
    UsageError,
    add_command,
    int_up_to,
    n_envs,
    seed,
    set_torch_threads,
    threads,
)

RUN_OPTIONS = {"agent": "--agent", "env": "--env", "reward": "--reward",
               "reward_weight": "--reward-weight", "env_kwargs": "--env-kwargs",
               "seed": "--seed", "n_envs": "--n-envs", "hyperparams": "--hyperparams",
               "hyperparams_file": "--hyperparams-file", "scalar_envs": "--scalar-envs"}
"""Options that define a run: ``--resume`` takes them from the run's ``config.yml``."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``train`` to ``mammad``'s subcommands."""
    parser = add_command(subparsers, "train", "train an agent; writes a run folder",
                         "Train an agent into a new run folder, or go on with a run "
                         "(--resume).")
    add = parser.add_argument
    add("--agent", help="a registered agent (see `mammad agents`); required for a new run")
    add("--env", help=f"a MammadMelody env id (default: {DEFAULT_ENV})")
    add("--reward", help=f"rewards joined by '+', or 'none' (default: {DEFAULT_REWARD})")
    add("--reward-weight", action="append", default=[], metavar="NAME=W",
        help="weight of one reward, e.g. theory=2.0 (repeatable; default 1 each)")
    add("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
        help="env arguments as YAML values, e.g. steps=32 'pitch_range=[48, 83]' (default: "
             "the id's own)")
    add("--steps", type=int_up_to(MAX_STEPS, "MAX_STEPS"),
        help=f"env steps to train for in all (default: {DEFAULT_STEPS:,}; with --resume: "
             f"train on to this total)")
    add("--seed", type=seed, help="seed (default: 0)")
    add("--n-envs", type=n_envs, help="vectorised envs (default: the YAML's n_envs)")
    add("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
        help="override YAML hyperparameters, e.g. learning_rate=1e-3 (default: the bundled "
             "YAML's)")
    add("--hyperparams-file",
        help="a YAML file instead of the bundled one (default: agents/hyperparams/<agent>.yml)")
    add("--checkpoint-every", type=int_up_to(MAX_STEPS, "MAX_STEPS"),
        help=f"steps between checkpoints (default: {DEFAULT_CHECKPOINT_EVERY:,}; with "
             f"--resume: the run's)")
    add("--runs-dir", type=Path, default=Path("runs"), help="where new run folders go")
    add("--eval-episodes", type=int_up_to(MAX_EPISODES, "MAX_EPISODES"),
        help=f"episodes whose melodies give stats.json (default: {DEFAULT_EVAL_EPISODES}; "
             f"with --resume: the run's, and a new value rewrites a finished run's statistics)")
    add("--samples", type=int_up_to(MAX_SAMPLES, "MAX_SAMPLES", low=0),
        help=f"sample melodies to write into samples/ (default: {DEFAULT_SAMPLES}; with "
             f"--resume: the run's, and a new value rewrites a finished run's samples)")
    add("--threads", type=threads, default=1,
        help="torch threads (1 is fastest for small policies on 2 cores)")
    add("--resume", type=Path, metavar="RUN",
        help="go on with a run: from its last checkpoint to its steps (or --steps), or finish "
             "its statistics and samples")
    add("--scalar-envs", action="store_true",
        help="train on a DummyVecEnv of scalar envs instead of the batched env")
    add("--trust-pickle", action="store_true",
        help="with --resume: load a checkpoint or replay buffer even if it holds pickled "
             "objects (which run code when loaded)")
    add("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run, command_parser=parser)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """A new run, or ``--resume`` of a stopped or killed one; prints how it ended."""
    if args.resume is not None:
        return report(resume(args, argv))
    if args.trust_pickle:
        raise UsageError("--trust-pickle applies to --resume (a new run loads no file)")
    if not args.agent:
        raise UsageError("train needs --agent (or --resume RUN)")
    return report(start(args, argv))


def reward_weights(pairs: list[str]) -> dict[str, float]:
    """``--reward-weight`` values (``NAME=W``) as a dict.

    Raises:
        ValueError: On a value that is not NAME=NUMBER.
    """
    weights = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ValueError(f"--reward-weight {pair!r} is not NAME=NUMBER") from None
    return weights


def _or(value: Any, default: Any) -> Any:
    """``value``, or ``default`` where the option was not given."""
    return default if value is None else value


def start(args: argparse.Namespace, argv: list[str]) -> RunResult:
    """Checks every argument (before torch is imported), then makes, trains and finishes a run."""
    check_runs_dir(args.runs_dir)
    env_kwargs = env_arguments(parse_overrides(args.env_kwargs, what="--env-kwargs entry"),
                               args.reward or DEFAULT_REWARD, reward_weights(args.reward_weight))
    config = new_run_config(
        args.agent, args.env or DEFAULT_ENV, env_kwargs, seed=_or(args.seed, 0),
        steps=_or(args.steps, DEFAULT_STEPS), hyperparams=parse_overrides(args.hyperparams),
        hyperparams_file=args.hyperparams_file, n_envs=args.n_envs,
        checkpoint_every=_or(args.checkpoint_every, DEFAULT_CHECKPOINT_EVERY),
        eval_episodes=_or(args.eval_episodes, DEFAULT_EVAL_EPISODES),
        samples=_or(args.samples, DEFAULT_SAMPLES), scalar_envs=args.scalar_envs)
    set_torch_threads(args.threads)
    return start_run(args.runs_dir, config, argv, progress=not args.no_progress)


def resume(args: argparse.Namespace, argv: list[str]) -> RunResult:
    """Checks the run and the options (before torch is imported), then goes on with it."""
    changed = [flag for name, flag in RUN_OPTIONS.items()
               if name != "agent" and getattr(args, name) not in (None, [], False)]
    check_resume(args.resume, agent=args.agent, changed=changed, steps=args.steps)
    set_torch_threads(args.threads)
    return resume_run(args.resume, argv, steps=args.steps,
                      checkpoint_every=args.checkpoint_every,
                      eval_episodes=args.eval_episodes, samples=args.samples,
                      trust_pickle=args.trust_pickle, progress=not args.no_progress)


def report(result: RunResult) -> int:
    """Prints how a run ended and what to do next; returns the exit code."""
    run = result.run
    quoted = shlex.quote(str(run))
    if result.status == "stopped":
        print(f"stopped at step {result.steps:,} of {result.total:,}; checkpoint saved in "
              f"{run / CHECKPOINTS}\nrun folder: {run}\ngo on with: mammad train --resume "
              f"{quoted}")
    elif result.status == "interrupted":
        print(f"\ninterrupted after training, before the run was finished\nrun folder: {run}\n"
              f"finish it with: mammad train --resume {quoted}", file=sys.stderr)
    elif result.status == "complete":
        print(f"{run} is complete: {result.steps:,} of {result.total:,} steps (pass --steps "
              f"to train it further)")
    else:
        if result.status == "finished":
            print(f"finished {run}: its statistics and samples")
        print("\n".join(next_steps(result)))
    return result.exit_code


def next_steps(result: RunResult) -> list[str]:
    """The run folder, its mean episode return, and the commands that look at it."""
    run, quoted = result.run, shlex.quote(str(result.run))
    lines = [f"run folder: {run}"]
    stats = result.stats or {}
    if "mean episode return" in stats:
        lines.append(f"mean episode return: {stats['mean episode return']:.3f} over "
                     f"{int(stats.get('compositions', 0)):,} episodes ({run / STATS})")
    lines += [f"evaluate it: mammad evaluate {quoted}",
              f"listen to it: mammad sample {quoted} --out samples"]
    if result.tensorboard is not None:
        lines.append(f"its curves: tensorboard --logdir {shlex.quote(str(result.tensorboard))}")
    return lines
