"""``mammad sample``: melodies of a trained model as MIDI, piano-roll PNG and WAV."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agents.training import vector_env_maker, write_samples
from mammad_cli.arguments import MAX_SAMPLES, add_command, bpm
from mammad_cli.model_arguments import add_model_arguments, load_model
from mammad_envs.audio import ENGINES, check_engine


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``sample`` to ``mammad``'s subcommands."""
    parser = add_command(subparsers, "sample", "write melodies of a trained model",
                         "Write melodies of a trained model as MIDI, piano-roll PNG and WAV.")
    add_model_arguments(parser, "melodies", 16, MAX_SAMPLES, "MAX_SAMPLES")
    parser.add_argument("--out", type=Path, default=Path("samples"),
                        help="output folder (made if missing)")
    parser.add_argument("--bpm", type=bpm, default=120.0, help="tempo of MIDI and WAV")
    parser.add_argument("--no-wav", action="store_true", help="skip WAV rendering")
    parser.add_argument("--audio", default="auto", choices=list(ENGINES),
                        help="WAV renderer: fluidsynth with a SoundFont, or the numpy "
                             "synthesiser; auto takes fluidsynth when installed")
    parser.set_defaults(handler=run, command_parser=parser)
    return parser


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Plays ``-n`` episodes and writes each melody's files into ``--out``."""
    # numba-compiled rollouts (about 0.3 s to import): only once the arguments are parsed
    from agents.rollouts import play_episodes, sampling_player

    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {str(args.out)!r} is a file: give a folder (it is made if "
                         f"missing)")
    if not args.no_wav:
        check_engine(args.audio)
    model, config = load_model(args)
    melodies, accompaniments, _ = play_episodes(sampling_player(model, args.seed),
                                                vector_env_maker(config), args.n,
                                                args.deterministic, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    written = write_samples(args.out, melodies, accompaniments, wav=not args.no_wav,
                            bpm=args.bpm, audio=args.audio)
    print(f"wrote {len(written)} files for {args.n} melodies to {args.out}")
    return 0
