"""The encodings benchmark: binary / count / decay / binary_stack x agents x rewards x seeds, +/- accompaniment.

Run from the repository root::

    python -m benchmarks.encodings --agents ppo dqn --rewards theory theory+note_rnn --seeds 5
    python -m benchmarks.encodings --backend ray --address auto      # the same grid on a Ray cluster
    python -m benchmarks.encodings --quick                           # 8 tiny cells (a smoke run)
    python -m benchmarks.report --root benchmarks/runs/encodings     # then docs/benchmarks/encodings.md

A ``--quick`` grid suggests a report under its own root (``benchmarks/runs/encodings-quick/
report.md``), not the committed page; :mod:`benchmarks.report` refuses to replace a page made
from more runs than it has anyway.

Every cell (agent, encoding, reward, accompaniment on or off, seed) is one ``mammad train`` run
in its own process and folder (:mod:`benchmarks.grid`). Two memory baselines: every agent on
``binary_stack``, the binary snapshots of the last four 16ths (frame stacking, among the
default encodings), and ``--memory-baseline``: RecurrentPPO (an LSTM policy) on ``binary``,
about 10 times slower to train. Finished cells are cached: a rerun, or a grid killed halfway and
started again, runs only the cells that are not done.
"""  # noqa: E501

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

from benchmarks.grid import Cell, GridError, read_cell
from benchmarks.grid_cli import (
    add_run_options,
    command_errors,
    parse_grid_command,
    positive_int,
)

ENCODINGS = ("binary", "count", "decay", "binary_stack")
ENV_ID = "MammadMelody-{}-v0"
STACKED = "binary_stack"
"""The frame-stacked binary encoding (:class:`~mammad_envs.encodings.StackedBinaryEncoding`):
it has no id of its own, so its cells are ``MammadMelody-binary-v0`` with ``encoding=...``."""
MEMORY_AGENT = "recurrent_ppo"
MEMORY_ENCODING = "binary"
DEFAULTS: dict[str, Any] = {
    "agents": ["ppo"], "rewards": ["theory"], "encodings": list(ENCODINGS), "seeds": 5,
    "steps": 100_000, "accompaniment": "both", "env_kwargs": [], "eval_episodes": 100,
    "root": Path("benchmarks/runs/encodings"), "memory_baseline": False,
}
"""The grid without flags."""
QUICK: dict[str, Any] = {
    "agents": ["ppo"], "rewards": ["theory"], "encodings": list(ENCODINGS), "seeds": 2,
    "steps": 256, "accompaniment": "off", "env_kwargs": ["steps=16"], "eval_episodes": 8,
    "root": Path("benchmarks/runs/encodings-quick"), "memory_baseline": False,
}
"""``--quick``: eight cells of 256 steps on melodies of 16 steps (a smoke run, not a result)."""
QUICK_HYPERPARAMS: dict[str, list[str]] = {
    "ppo": ["n_envs=4", "n_steps=32", "batch_size=64", "n_epochs=1"],
    "maskable_ppo": ["n_envs=4", "n_steps=32", "batch_size=64", "n_epochs=1"],
    "recurrent_ppo": ["n_envs=2", "n_steps=64", "batch_size=64", "n_epochs=1"],
    "a2c": ["n_envs=4", "n_steps=16"],
    "dqn": ["learning_starts=64", "buffer_size=1000"],
    "qrdqn": ["learning_starts=64", "buffer_size=1000"],
}
"""``--quick``: small rollouts and buffers per agent, so 256 steps see a few updates."""


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments (None where the default depends on ``--quick``)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.encodings", description=__doc__.splitlines()[0],
        epilog="Then: python -m benchmarks.report --root ROOT (writes "
               "docs/benchmarks/encodings.md; for a --quick grid give --out ROOT/report.md).")
    parser.add_argument("--agents", nargs="+", help=f"registered agents (default "
                        f"{' '.join(DEFAULTS['agents'])})")
    parser.add_argument("--rewards", nargs="+", help=f"rewards, each joined by '+' (default "
                        f"{' '.join(DEFAULTS['rewards'])})")
    parser.add_argument("--encodings", nargs="+", choices=ENCODINGS,
                        help=f"encodings (default: all four; {STACKED} is the binary "
                             f"snapshots of the last four 16ths)")
    parser.add_argument("--seeds", type=positive_int,
                        help=f"seeds 0..N-1 per cell (default {DEFAULTS['seeds']})")
    parser.add_argument("--steps", type=positive_int,
                        help=f"env steps per run (default {DEFAULTS['steps']:,})")
    parser.add_argument("--accompaniment", choices=["both", "on", "off"],
                        help="with a bundled accompaniment drawn at each reset, without, or "
                             "both (default both)")
    parser.add_argument("--memory-baseline", action=argparse.BooleanOptionalAction,
                        help=f"add {MEMORY_AGENT} (an LSTM policy) on the {MEMORY_ENCODING} "
                             f"encoding unless it is in --agents already; about 2.5 minutes a "
                             f"100,000-step run here (default: off; {STACKED} among the "
                             f"encodings is the frame-stacked memory baseline)")
    parser.add_argument("--env-kwargs", nargs="*", metavar="KEY=VALUE",
                        help="env arguments for every cell, e.g. steps=32 (default: the ids' "
                             "own)")
    parser.add_argument("--hyperparams", nargs="*", metavar="KEY=VALUE", default=[],
                        help="hyperparameter overrides for every agent (default: the YAMLs')")
    parser.add_argument("--eval-episodes", type=positive_int,
                        help="episodes whose melodies give each run's stats.json (default 100)")
    parser.add_argument("--root", type=Path,
                        help=f"the grid's folder (default {DEFAULTS['root']}; "
                             f"{QUICK['root']} with --quick)")
    add_run_options(parser, quick="a tiny grid: ppo, theory, 2 seeds, the four encodings, no "
                                   "accompaniment, 256 steps on melodies of 16")
    return parser


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The grid's settings: the flags given, else ``--quick``'s or the defaults."""
    base = {**DEFAULTS, **QUICK} if args.quick else dict(DEFAULTS)
    chosen = {name: getattr(args, name) if getattr(args, name) is not None else base.get(name)
              for name in ("agents", "rewards", "encodings", "seeds", "steps",
                           "accompaniment", "env_kwargs", "eval_episodes", "root",
                           "memory_baseline")}
    if MEMORY_AGENT in chosen["agents"]:
        chosen["memory_baseline"] = False  # recurrent_ppo runs on every encoding already
    if args.address is not None and args.backend != "ray":
        raise ValueError("--address is for --backend ray")
    if any(pair.partition("=")[0].strip() == "accompaniment" for pair in chosen["env_kwargs"]):
        raise ValueError("choose the accompaniment with --accompaniment on|off|both, not "
                         "--env-kwargs")
    if any(pair.partition("=")[0].strip() in ("encoding", "encoding_kwargs")
           for pair in chosen["env_kwargs"]):
        raise ValueError(f"choose the encodings with --encodings (from {', '.join(ENCODINGS)}), "
                         f"not --env-kwargs")
    for name in ("agents", "rewards", "encodings"):
        chosen[name] = list(dict.fromkeys(chosen[name]))  # once each, in the order given
    return chosen


def build_cells(chosen: dict[str, Any], hyperparams: list[str] | None = None,
                quick: bool = False) -> list[Any]:
    """The grid's cells: agents x encodings x rewards x accompaniment x seeds (+ the baseline).

    Raises:
        ValueError: For an unknown agent, a bad reward or env argument.
    """
    _check_agents(chosen["agents"] + ([MEMORY_AGENT] if chosen["memory_baseline"] else []))
    settings_of = {"both": (False, True), "on": (True,), "off": (False,)}
    pairs = [(agent, encoding) for agent in chosen["agents"] for encoding in chosen["encodings"]]
    if chosen["memory_baseline"] and (MEMORY_AGENT, MEMORY_ENCODING) not in pairs:
        pairs.append((MEMORY_AGENT, MEMORY_ENCODING))
    cells = []
    for agent, encoding in pairs:
        overrides = (QUICK_HYPERPARAMS.get(agent, []) if quick else []) + list(hyperparams or [])
        for reward in chosen["rewards"]:
            for accompaniment in settings_of[chosen["accompaniment"]]:
                for seed in range(chosen["seeds"]):
                    env, env_kwargs = env_of(encoding, chosen["env_kwargs"])
                    cells.append(Cell(agent, env, reward, seed=seed,
                                      accompaniment=accompaniment, steps=chosen["steps"],
                                      env_kwargs=env_kwargs,
                                      hyperparams=_merged(overrides),
                                      eval_episodes=chosen["eval_episodes"]))
    _check_env_arguments(cells)
    return cells


def env_of(encoding: str, env_kwargs: list[str]) -> tuple[str, list[str]]:
    """The env id and env arguments of an encoding's cells.

    ``binary_stack`` has no registered id: its cells are ``MammadMelody-binary-v0`` told
    ``encoding=binary_stack`` (four 16ths, the encoding's default).
    """
    if encoding == STACKED:
        return ENV_ID.format("binary"), [*env_kwargs, f"encoding={STACKED}"]
    return ENV_ID.format(encoding), list(env_kwargs)


def _merged(overrides: list[str]) -> list[str]:
    """KEY=VALUE pairs, a later one of a key replacing an earlier one."""
    return list({pair.partition("=")[0]: pair for pair in overrides}.values())


def _check_agents(agents: list[str]) -> None:
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.registry import agent_spec

    for agent in agents:
        spec = agent_spec(agent)  # ValueError naming the registered agents
        if not spec.available:
            raise ValueError(f"agent {agent!r} needs the {spec.extra} extra: "
                             f"{spec.install_hint}")


def _check_env_arguments(cells: list[Any]) -> None:
    """Builds each (env, reward, accompaniment, env_kwargs) once, before any run starts."""
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.hyperparams import parse_overrides

    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards.base import parse_rewards

    seen = set()
    for cell in cells:
        key = (cell.env, cell.reward, cell.accompaniment, cell.env_kwargs)
        if key in seen:
            continue
        seen.add(key)
        kwargs = parse_overrides(cell.env_kwargs, what="--env-kwargs entry")
        kwargs["reward"] = "+".join(parse_rewards(cell.reward))
        kwargs["accompaniment"] = "random" if cell.accompaniment else None
        gym.make(cell.env, **kwargs).close()


def main(argv: list[str] | None = None) -> int:
    """Runs the grid; prints where the runs are and how to aggregate them."""
    grid = parse_grid_command(argv, build_parser, settings, lambda chosen, args: build_cells(
        chosen, args.hyperparams, quick=args.quick))
    chosen, cells, root, args = grid.chosen, grid.cells, grid.root, grid.args
    print(f"encodings grid: {len(cells)} cells ({grid.done()} done), {chosen['steps']:,} steps "
          f"each, in {root}")
    if args.dry_run:
        for cell in cells:
            print(f"{'done' if read_cell(root / cell.name) else 'todo'}  {cell.name}")
        return 0
    started = time.monotonic()
    try:
        with command_errors(grid.parser, root):
            results = grid.run(shlex.join(["python", "-m", "benchmarks.encodings", *grid.argv]))
    except GridError as error:
        print(f"\n{error}", file=sys.stderr)
        return 1
    ran = sum(not result["cached"] for result in results)
    print(f"{ran} cells run, {len(results) - ran} cached, in {time.monotonic() - started:.1f} s"
          f"\nruns: {root}\naggregate with: "
          + shlex.join(["python", "-m", "benchmarks.report", "--root", str(root), "--out",
                        str(report_page(root, args.quick))]))
    return 0


def report_page(root: Path, quick: bool) -> Path:
    """Where a grid's report should go: under a quick grid's own root (scratch), else the page."""
    return root / "report.md" if quick else Path("docs/benchmarks/encodings.md")


if __name__ == "__main__":
    sys.exit(main())
