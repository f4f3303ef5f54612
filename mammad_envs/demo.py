"""Composes a random melody over an accompaniment and writes it as MIDI and a piano-roll PNG.

Run::

    python -m mammad_envs.demo --out demo/

The "composer" is a random agent that plays only the actions ``action_masks()`` allows (the
C major scale, HOLD and REST, by default), the way a masked policy would.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np

from mammad_envs.piano_roll import save_piano_roll


def compose(env_id: str = "MelodyEnv-v0", seed: int = 0, **env_kwargs) -> gym.Env:
    """Plays one episode of random masked actions and returns the finished env.

    Args:
        env_id: A registered MammadMelody id.
        seed: Seeds the env and the random choices.
        **env_kwargs: Passed to ``gym.make``.

    Returns:
        The env, its melody complete.
    """
    env = gym.make(env_id, **env_kwargs)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    terminated = truncated = False
    while not (terminated or truncated):
        action = rng.choice(np.flatnonzero(env.unwrapped.action_masks()))
        _, _, terminated, truncated, _ = env.step(action)
    return env


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m mammad_envs.demo",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo"), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=64, help="16ths (64 = four bars)")
    parser.add_argument("--accompaniment", default="random",
                        help="march, rock, alberti, habanera, bossa, random or none")
    parser.add_argument("--key", default="C major", help="scale the random agent plays in")
    parser.add_argument("--pitch-range", type=int, nargs=2, default=[60, 84],
                        metavar=("LOWEST", "HIGHEST"))
    parser.add_argument("--bpm", type=float, default=120.0)
    args = parser.parse_args(argv)
    accompaniment = None if args.accompaniment.lower() == "none" else args.accompaniment
    try:
        env = compose(seed=args.seed, steps=args.steps, accompaniment=accompaniment,
                      mask_key=args.key, pitch_range=args.pitch_range, render_mode="ansi")
    except ValueError as error:
        parser.error(str(error))
    base = env.unwrapped
    name = base.accompaniment.name if base.accompaniment else "no accompaniment"
    midi = base.to_midi(args.out / "melody.mid", bpm=args.bpm)
    notes = base.accompaniment.notes_until(base.steps) if base.accompaniment else []
    png = save_piano_roll(args.out / "melody.png", base.melody, notes,
                          title=f"A random melody in {args.key} over '{name}' (seed {args.seed})")
    print(f"A random melody in {args.key} over {name!r} (seed {args.seed}):")
    print(env.render())
    print(f"wrote {midi} and {png}")


if __name__ == "__main__":
    main()
