"""The imitation benchmark: how close GAIL, AIRL and BC melodies come to the demonstrations.

Run from the repository root::

    python -m benchmarks.imitation --agents gail bc --seeds 5
    python -m benchmarks.imitation --backend ray --address auto   # the training cells on Ray
    python -m benchmarks.imitation --quick                        # a tiny smoke run (a test)

Every (agent, encoding, seed) is one ``mammad train`` run in its own process and folder
(:mod:`benchmarks.grid`, cached and resumable). Each finished model then plays ``--episodes``
compositions (:func:`agents.rollouts.play_episodes`, sampled actions) whose pitch-class,
interval and rhythm histograms are compared with the ten demonstrations' by total variation
(:mod:`rewards.similarity`), and read against the distance between the demonstrations' two
halves. Two baselines need no training: uniformly random actions, and Note-RNN samples. Each
evaluation is cached beside its cell (``imitation.json``), so a rerun evaluates only what is
missing. The page (``--out``, default ``docs/benchmarks/imitation.md``) is written from every
evaluated cell of the grid.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from benchmarks.encodings import ENV_ID, _check_agents, _merged
from benchmarks.grid import Cell, GridError, read_cell, write_json_atomically
from benchmarks.grid_cli import (
    add_run_options,
    command_errors,
    parse_grid_command,
    positive_int,
)
from benchmarks.imitation_report import render, summary_lines

AGENTS = ("gail", "airl", "bc")
ENCODINGS = ("binary", "count", "decay")
BASELINES = ("random", "note_rnn")
EVAL_FILE = "imitation.json"
EVAL_SEED = 10_000
"""Evaluation episodes are reset with seeds ``EVAL_SEED + k``, apart from training's."""
DEFAULTS: dict[str, Any] = {
    "agents": list(AGENTS), "encodings": list(ENCODINGS), "seeds": 5, "steps": 50_000,
    "accompaniment": "off", "env_kwargs": [], "episodes": 1000,
    "root": Path("benchmarks/runs/imitation"), "out": Path("docs/benchmarks/imitation.md"),
}
"""The grid without flags."""
QUICK: dict[str, Any] = {
    "agents": list(AGENTS), "encodings": ["count"], "seeds": 1, "steps": 64,
    "accompaniment": "off", "env_kwargs": ["steps=16"], "episodes": 32,
    "root": Path("benchmarks/runs/imitation-quick"), "out": None,
}
"""``--quick``: one tiny cell per agent on melodies of 16 steps (a smoke run, not a result)."""
_QUICK_GEN = "gen_kwargs={n_steps: 32, batch_size: 32, n_epochs: 1}"
QUICK_HYPERPARAMS: dict[str, list[str]] = {
    "gail": ["n_envs=2", "demo_batch_size=32", "gen_replay_buffer_capacity=64", _QUICK_GEN,
             "max_windows=1"],
    "airl": ["n_envs=2", "demo_batch_size=32", "gen_replay_buffer_capacity=64", _QUICK_GEN,
             "max_windows=1"],
    "bc": ["batch_size=16", "max_windows=1"],
}
"""``--quick``: rounds of 64 steps, one demonstration window per tune."""


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments (None where the default depends on ``--quick``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.imitation",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", choices=AGENTS,
                        help="imitation agents (default: all three)")
    parser.add_argument("--encodings", nargs="+", choices=ENCODINGS,
                        help="encodings (default: all three)")
    parser.add_argument("--seeds", type=positive_int,
                        help=f"seeds 0..N-1 per cell (default {DEFAULTS['seeds']})")
    parser.add_argument("--steps", type=positive_int,
                        help=f"training steps per run (BC: demonstration transitions; default "
                             f"{DEFAULTS['steps']:,})")
    parser.add_argument("--accompaniment", choices=["on", "off"],
                        help="train and play over a bundled accompaniment drawn at each reset, "
                             "or the melody alone (default off)")
    parser.add_argument("--env-kwargs", nargs="*", metavar="KEY=VALUE",
                        help="env arguments for every cell, e.g. steps=32")
    parser.add_argument("--hyperparams", nargs="*", metavar="KEY=VALUE", default=[],
                        help="hyperparameter overrides for every agent (default: the YAMLs')")
    parser.add_argument("--episodes", type=positive_int,
                        help=f"compositions played per model and baseline (default "
                             f"{DEFAULTS['episodes']:,})")
    parser.add_argument("--baselines", nargs="*", choices=BASELINES,
                        help="untrained baselines (default: both; none with an empty list)")
    parser.add_argument("--root", type=Path, help=f"the grid's folder (default "
                                                  f"{DEFAULTS['root']})")
    parser.add_argument("--out", type=Path, help=f"the page to write (default {DEFAULTS['out']}"
                                                 f"; none with --quick unless given)")
    add_run_options(parser, quick="a tiny grid: one seed of each agent on count, 64 steps on "
                                   "melodies of 16, 32 compositions")
    return parser


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The grid's settings: the flags given, else ``--quick``'s or the defaults.

    Raises:
        ValueError: For ``--address`` without Ray, or an accompaniment in ``--env-kwargs``.
    """
    base = {**DEFAULTS, **QUICK} if args.quick else dict(DEFAULTS)
    chosen = {name: getattr(args, name) if getattr(args, name) is not None else base[name]
              for name in ("agents", "encodings", "seeds", "steps", "accompaniment",
                           "env_kwargs", "episodes", "root", "out")}
    chosen["baselines"] = list(BASELINES) if args.baselines is None else args.baselines
    if args.address is not None and args.backend != "ray":
        raise ValueError("--address is for --backend ray")
    if any(pair.partition("=")[0].strip() == "accompaniment" for pair in chosen["env_kwargs"]):
        raise ValueError("choose the accompaniment with --accompaniment on|off, not "
                         "--env-kwargs")
    for name in ("agents", "encodings", "baselines"):
        chosen[name] = list(dict.fromkeys(chosen[name]))
    return chosen


def build_cells(chosen: dict[str, Any], hyperparams: list[str] | None = None,
                quick: bool = False) -> list[Any]:
    """The training cells: agents x encodings x seeds, without an env reward.

    The imitation agents replace the env's reward by the discriminator's (GAIL, AIRL) or use
    none (BC), so the cells train with ``reward="none"``.

    Raises:
        ValueError: If an agent is unknown or its extra is missing.
    """
    _check_agents(chosen["agents"])
    cells = []
    for agent in chosen["agents"]:
        overrides = (QUICK_HYPERPARAMS[agent] if quick else []) + list(hyperparams or [])
        for encoding in chosen["encodings"]:
            for seed in range(chosen["seeds"]):
                cells.append(Cell(agent, ENV_ID.format(encoding), "none", seed=seed,
                                  accompaniment=chosen["accompaniment"] == "on",
                                  steps=chosen["steps"], env_kwargs=chosen["env_kwargs"],
                                  hyperparams=_merged(overrides), eval_episodes=8))
    return cells


def env_arguments(cell: Any) -> dict[str, Any]:
    """The env arguments a cell trained with (without its reward)."""
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.hyperparams import parse_overrides

    kwargs = parse_overrides(cell.env_kwargs, what="--env-kwargs entry")
    kwargs["accompaniment"] = "random" if cell.accompaniment else None
    kwargs["encoding"] = cell.env.split("-")[1]
    return kwargs


def play(model: Any, env_kwargs: dict[str, Any], episodes: int, progress: bool
         ) -> list[np.ndarray]:
    """``episodes`` melodies of ``model`` (sampled actions) on the batched env, without reward."""
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.rollouts import play_episodes

    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards.compose import make_vector_env

    melodies, _, _ = play_episodes(model, lambda n: make_vector_env(n, reward=None, **env_kwargs),
                                   episodes, deterministic=False, progress=progress,
                                   seed=EVAL_SEED)
    return melodies


def record(melodies: list[np.ndarray], seconds: float, **extra: Any) -> dict[str, Any]:
    """What ``imitation.json`` holds: histograms (counts), distances, ratios, settings."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards.similarity import demo_baseline, demo_melodies, distances, histograms

    counts = histograms(melodies)
    found = distances(counts, histograms(demo_melodies()))
    baseline = demo_baseline()
    return {**extra, "episodes": len(melodies), "eval_seed": EVAL_SEED,
            "counts": {name: values.tolist() for name, values in counts.items()},
            "distances": found, "ratios": {name: found[name] / baseline[name] for name in found},
            "seconds": round(seconds, 2)}


def _cached(path: Path, episodes: int) -> dict[str, Any] | None:
    if path.is_file():
        values = json.loads(path.read_text())
        if values.get("episodes") == episodes and values.get("eval_seed") == EVAL_SEED:
            return values
    return None


def evaluate_cell(cell: Any, root: Path, episodes: int, progress: bool = False
                  ) -> dict[str, Any] | None:
    """Plays a finished cell's model and caches the result (None if the cell is not done)."""
    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3 import PPO


    folder = root / cell.name
    done = read_cell(folder)
    if done is None:
        return None
    path = folder / EVAL_FILE
    cached = _cached(path, episodes)
    if cached is not None:
        return cached
    started = time.monotonic()
    model = PPO.load(folder / done["run"] / "model.zip", device="cpu")
    melodies = play(model, env_arguments(cell), episodes, progress)
    values = record(melodies, time.monotonic() - started, name=cell.name, agent=cell.agent,
                    encoding=cell.env.split("-")[1], seed=cell.seed,
                    git_commit=done.get("git_commit"), train_seconds=done.get("seconds"))
    write_json_atomically(path, values)
    return values


def evaluate_baseline(name: str, root: Path, env_kwargs: dict[str, Any], episodes: int,
                      progress: bool = False) -> dict[str, Any]:
    """A baseline's melodies (as long as the cells'), evaluated once and cached under root."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards.compose import make_vector_env

    steps = make_vector_env(1, reward=None, **env_kwargs).template.steps
    accompaniment = "on" if env_kwargs.get("accompaniment") else "off"
    path = root / "baselines" / f"{name}__steps-{steps}__acc-{accompaniment}__{EVAL_FILE}"
    cached = _cached(path, episodes)
    if cached is not None:
        return cached
    started = time.monotonic()
    if name == "random":
        # heavy: agents load torch and stable-baselines3; arguments are parsed first
        from agents.rollouts import UniformRandom

        melodies = play(UniformRandom(90, seed=EVAL_SEED), env_kwargs, episodes, progress)
    elif name == "note_rnn":
        # heavy: rewards.note_rnn loads torch
        from rewards.note_rnn import NoteRNN

        melodies = list(NoteRNN.pretrained().sample(episodes, steps, seed=EVAL_SEED))
    else:
        raise ValueError(f"unknown baseline {name!r}: choose one of {list(BASELINES)}")
    values = record(melodies, time.monotonic() - started, name=name, agent=name,
                    encoding=None, seed=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, values)
    return values


def evaluate_all(cells: list[Any], chosen: dict[str, Any], progress: bool
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Evaluates every finished cell and the baselines (cached ones are read back)."""
    root = chosen["root"]
    results = []
    for cell in tqdm(cells, desc="evaluating", unit="cell", disable=not progress):
        values = evaluate_cell(cell, root, chosen["episodes"])
        if values is not None:
            results.append(values)
    env_kwargs = env_arguments(cells[0]) if cells else {}
    env_kwargs.pop("encoding", None)
    baselines = [evaluate_baseline(name, root, env_kwargs, chosen["episodes"], progress)
                 for name in chosen["baselines"]]
    return results, baselines


def main(argv: list[str] | None = None) -> int:
    """Trains the missing cells, evaluates the unevaluated ones, prints and writes the table."""
    grid = parse_grid_command(argv, build_parser, settings, lambda chosen, args: build_cells(
        chosen, args.hyperparams, quick=args.quick))
    chosen, cells, root, args, parser = grid.chosen, grid.cells, grid.root, grid.args, grid.parser
    print(f"imitation grid: {len(cells)} cells ({grid.done()} trained), {chosen['steps']:,} "
          f"steps each, {chosen['episodes']:,} compositions per evaluation, in {root}")
    if args.dry_run:
        for cell in cells:
            state = "todo" if read_cell(root / cell.name) is None else "done"
            if state == "done" and (root / cell.name / EVAL_FILE).is_file():
                state = "evaluated"
            print(f"{state:9}  {cell.name}")
        return 0
    command = shlex.join(["python", "-m", "benchmarks.imitation",
                          *(arg for arg in grid.argv if arg != "--no-progress")])
    started, failed = time.monotonic(), None
    with command_errors(parser, root, kept="finished cells and evaluations are kept"):
        try:
            grid.run(command)
        except GridError as error:  # evaluate the cells that did finish
            failed = error
        results, baselines = evaluate_all(cells, chosen, progress=not args.no_progress)
    print("\n".join(summary_lines(results, baselines)))
    print(f"in {time.monotonic() - started:.1f} s; runs: {root}")
    if chosen["out"] is not None:
        page = render(results, baselines, command, chosen, previous=_read(chosen["out"]))
        chosen["out"].parent.mkdir(parents=True, exist_ok=True)
        chosen["out"].write_text(page)
        print(f"wrote {chosen['out']}")
    if failed is not None:
        print(f"\n{failed}", file=sys.stderr)
        return 1
    return 0


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


if __name__ == "__main__":
    sys.exit(main())
