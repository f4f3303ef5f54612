"""``mammad rlhf``: the RLHF loop, round after round: sample, label, learn the reward, fine-tune."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from agents.hyperparams import parse_overrides
from agents.run_lifecycle import DEFAULT_ENV
from mammad_cli.arguments import (
    MAX_EPISODES,
    MAX_PAIRS,
    MAX_STEPS,
    add_command,
    int_up_to,
    positive_int,
    seed,
    set_torch_threads,
    threads,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``rlhf`` to ``mammad``'s subcommands."""
    parser = add_command(subparsers, "rlhf",
                         "the RLHF loop: sample, label, learn the reward, fine-tune",
                         "Rounds of: sample melodies from the policy, label pairs, train the "
                         "preference reward model, fine-tune the policy with PPO on the learned "
                         "reward under KL control. The policy starts as the pretrained "
                         "Note-RNN and the KL penalty keeps it near it. Resumes a killed loop "
                         "in the same --out.")
    parser.add_argument("--env", default=DEFAULT_ENV, help="a MammadMelody env id")
    parser.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                        help="env arguments as YAML values, e.g. steps=32 (default: the id's "
                             "own)")
    parser.add_argument("--labeler", default="synthetic:theory",
                        help="synthetic:<reward> or module:function (a function from a list of "
                             "melody arrays to scores)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="the labeler's Bradley-Terry noise (0: none)")
    parser.add_argument("--rounds", type=positive_int, default=5, help="rounds in all")
    parser.add_argument("--samples", type=int_up_to(MAX_EPISODES, "MAX_EPISODES"), default=256,
                        help="melodies sampled from the policy per round")
    parser.add_argument("--pairs", type=int_up_to(MAX_PAIRS, "MAX_PAIRS"), default=100,
                        help="pairs labelled per round")
    parser.add_argument("--steps", type=int_up_to(MAX_STEPS, "MAX_STEPS"), default=12_288,
                        help="PPO fine-tuning steps per round")
    parser.add_argument("--kl-coef", type=float, default=0.2,
                        help="beta of the KL penalty to the Note-RNN, per unit of the learned "
                             "reward (scaled to a standard deviation of 1); with --kl-target, "
                             "its start value")
    parser.add_argument("--kl-target", type=optional_float, default=6.0, metavar="NATS",
                        help="KL to the Note-RNN per melody that beta is moved toward, or "
                             "'none' for a fixed beta")
    parser.add_argument("--reference-share", type=float, default=0.5,
                        help="fraction of each round's pairs that set a policy melody against "
                             "one of the Note-RNN's")
    parser.add_argument("--note-rnn-weight", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--note-rnn-model", metavar="PATH_OR_NAME",
                        help="the Note-RNN the policy starts as and stays near: a shipped "
                             "model's name, 'default' or 'rl_tuner' (trained in MIDI 48..83 "
                             "only), or a weights file (default: the shipped default)")
    parser.add_argument("--members", type=positive_int, default=3,
                        help="reward nets in the ensemble")
    parser.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override PPO's YAML hyperparameters (default: the bundled YAML's)")
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--out", type=Path, help="the loop's folder (default: "
                                                 "rlhf/<env>__<labeler>__<seed>)")
    parser.add_argument("--db", type=Path,
                        help="the preference store (default: <out>/prefs.sqlite)")
    parser.add_argument("--threads", type=threads, default=1, help="torch threads")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run, command_parser=parser)
    return parser


def note_rnn_anchor(name_or_path: str | None) -> str | None:
    """A weights file by its absolute path (so rounds resume from anywhere); a name as it is."""
    if name_or_path is None:
        return None
    # torch: the Note-RNN's module (about 2 s); the loop needs it in any case
    from rewards.note_rnn.model import PRETRAINED

    if name_or_path not in PRETRAINED and Path(name_or_path).is_file():
        return str(Path(name_or_path).resolve())
    return name_or_path


def optional_float(text: str) -> float | None:
    """A number, or None for ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number nor 'none'") from None


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Runs or resumes the loop: one line per round, then a table and where the policy is."""
    if args.note_rnn_weight is not None:
        args.command_parser.error(
            "--note-rnn-weight is gone: the loop now starts from the Note-RNN and a KL penalty "
            "keeps it near (--kl-coef, --kl-target), which is what the Note-RNN term did")
    # torch and stable-baselines3 (seconds to import): only once the arguments parse
    from feedback.rlhf import RLHFSettings, results_table, run_rlhf

    settings = RLHFSettings(
        env=args.env, env_kwargs=parse_overrides(args.env_kwargs, what="--env-kwargs entry"),
        rounds=args.rounds, samples=args.samples, pairs=args.pairs, steps=args.steps,
        kl_coef=args.kl_coef, kl_target=args.kl_target,
        reference_share=args.reference_share, labeler=args.labeler,
        note_rnn_model=note_rnn_anchor(args.note_rnn_model),
        temperature=args.temperature, members=args.members,
        hyperparams=parse_overrides(args.hyperparams), seed=args.seed)
    label = re.sub(r"[^A-Za-z0-9_.+-]+", "-", args.labeler)
    out = args.out or Path("rlhf") / f"{args.env}__{label}__{args.seed}"
    set_torch_threads(args.threads)
    print(f"RLHF loop in {out} ({settings.rounds} rounds, labeler {settings.labeler})")
    results = run_rlhf(settings, out, args.db, progress=not args.no_progress, log=print)
    print("\n" + "\n".join(results_table(results)))
    print(f"\nfolder: {out}; the last policy: mammad evaluate {out}/round_{len(results) - 1}")
    return 0
