"""The summary table of docs/imitation.md: what a trained model's melodies look like.

Run from the repository root, on run folders (or their ``model.zip``) of ``mammad train``::

    python -m benchmarks.imitation_summary runs/gail/* runs/airl/* runs/bc/* -n 20 --reference

Each model plays ``-n`` sampled episodes on its run's env (episode ``k`` reset with seed
``--seed + k``, as ``mammad evaluate`` does, so these 20 are the first of its 1,000). A row
gives the fraction of onsets in the key (from the pitch-class histogram of
:mod:`rewards.similarity`), the onset pitches' mean and standard deviation, onsets per four bars
(64 16ths, from its rhythm histogram), the mean episode return of the run's env reward (for the
``MammadMelody-*`` ids, ``theory``) and the notes excessively repeated
(:func:`rewards.metrics.evaluate`). ``--reference`` adds uniformly random actions and the ten
bundled demonstrations, cut into the last model's episodes as the imitation agents see them,
with their returns on its env.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.rollouts import UniformRandom, play_episodes, sampling_player
from agents.runs import read_config, run_of_model
from agents.training import load_run_model, vector_env_maker
from mammad_envs.data.demonstrations import melody_windows
from mammad_envs.music import parse_key
from rewards import metrics
from rewards.similarity import demo_melodies, histograms

FOUR_BARS = 64
"""16ths in four bars of 4/4."""


def summary(melodies: Iterable[Sequence[int] | np.ndarray],
            returns: Sequence[float] | None = None, key: str = "C major") -> dict[str, float]:
    """The table's columns for a set of melodies.

    Args:
        melodies: Melody arrays (pitches, ``HOLD``, ``REST``).
        returns: Their episode returns (None: no return column).
        key: The key the "in key" fraction is counted against.

    Returns:
        ``{"in key", "pitch mean", "pitch sd", "onsets per 4 bars", "notes excessively
        repeated"}`` (fractions, not percentages) and ``"return"`` when returns are given.

    Raises:
        ValueError: If there are no melodies, or none strikes a note.
    """
    melodies = [np.asarray(melody) for melody in melodies]
    if not melodies:
        raise ValueError("summary needs at least one melody")
    pitches = np.concatenate([melody[melody >= 0] for melody in melodies]).astype(float)
    if not pitches.size:
        raise ValueError(f"none of the {len(melodies)} melodies strikes a note")
    counts = histograms(melodies)
    in_key = sorted(parse_key(key).pitch_classes)
    steps = sum(melody.size for melody in melodies)
    row = {
        "in key": float(counts["pitch_class"][in_key].sum() / counts["pitch_class"].sum()),
        "pitch mean": float(pitches.mean()),
        "pitch sd": float(pitches.std()),
        "onsets per 4 bars": float(counts["rhythm"][0] * FOUR_BARS / steps),
        "notes excessively repeated": metrics.evaluate(melodies, key=key)[
            "notes excessively repeated"],
    }
    if returns is not None:
        row["return"] = float(np.mean(returns))
    return row


def play_run(model: str | Path, episodes: int, seed: int = 0
             ) -> tuple[dict[str, Any], list[np.ndarray], list[float]]:
    """(run configuration, melodies, returns) of a run's model, sampled episodes."""
    run, model_file = run_of_model(model)
    config = read_config(run)
    loaded = load_run_model(run, model_file, config)
    melodies, _, returns = play_episodes(sampling_player(loaded, seed), vector_env_maker(config),
                                         episodes, seed=seed)
    return config, melodies, returns


def random_run(config: dict[str, Any], episodes: int, seed: int = 0
               ) -> tuple[list[np.ndarray], list[float]]:
    """Melodies and returns of uniformly random actions on a run's env (seeds as models')."""
    make = vector_env_maker(config)
    player = UniformRandom(int(make(1).single_action_space.n), seed=seed)
    melodies, _, returns = play_episodes(player, make, episodes, seed=seed)
    return melodies, returns


def reference_run(config: dict[str, Any], seed: int = 0
                  ) -> tuple[list[np.ndarray], list[float]]:
    """The ten bundled tunes cut into a run env's episodes, and their returns on that env.

    The episodes are those GAIL, AIRL and BC learn from
    (:func:`~mammad_envs.data.demonstrations.melody_windows`), replayed through
    ``gym.make(config["env"], **config["env_kwargs"])``, episode ``k`` reset with ``seed + k``.
    """
    env = gym.make(config["env"], **config["env_kwargs"])
    base: Any = env.unwrapped
    windows = [window for tune in demo_melodies() for window in melody_windows(tune, base.steps)]
    returns = []
    for number, window in enumerate(windows):
        env.reset(seed=seed + number)
        returns.append(sum(float(env.step(base.pitch_to_action(int(event)))[1])
                           for event in window))
    env.close()
    return windows, returns


def markdown_row(name: str, row: dict[str, float]) -> str:
    """One line of the docs' table."""
    value = f"{row['return']:+.0f}" if "return" in row else "-"
    return (f"| {name} | {row['in key']:.0%} | {row['pitch mean']:.0f} ± {row['pitch sd']:.0f} "
            f"| {row['onsets per 4 bars']:.0f} | {value} "
            f"| {row['notes excessively repeated']:.1%} |")


HEADER = ("| agent | in C major | pitches | onsets per 4 bars | theory return "
          "| notes excessively repeated |\n|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    """Prints the table for the models given."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.imitation_summary",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="run folders or their model.zip")
    parser.add_argument("-n", type=int, default=20, help="episodes per model")
    parser.add_argument("--seed", type=int, default=0, help="episode k is reset with seed + k")
    parser.add_argument("--reference", action="store_true",
                        help="add rows for uniform random actions and the demonstrations")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n must be positive, got {args.n}")
    lines, config = [HEADER], None
    for model in args.models:
        config, melodies, returns = play_run(model, args.n, args.seed)
        lines.append(markdown_row(f"`{config['agent']}`", summary(melodies, returns)))
    if args.reference:
        lines.append(markdown_row("uniform random", summary(*random_run(config, args.n,
                                                                         args.seed))))
        lines.append(markdown_row("the melodies", summary(*reference_run(config, args.seed))))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
