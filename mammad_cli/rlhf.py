"""``mammad rlhf``: the RLHF loop, round after round: sample, label, learn the reward, fine-tune."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from agents.hyperparams import parse_overrides
from agents.run_lifecycle import DEFAULT_ENV
from mammad_cli.arguments import (
    MAX_EPISODES,
    MAX_PAIRS,
    MAX_STEPS,
    UsageError,
    add_command,
    add_seed_and_threads,
    int_up_to,
    non_negative_int,
    positive_int,
    set_torch_threads,
)
from mammad_cli.label import DEFAULT_PORT, check_extra

KL_MARGIN: float | None = 0.25
"""``--kl-margin``'s default, ``feedback.rlhf.KL_MARGIN`` (not imported: it loads torch)."""

DEFAULT_TEMPERATURE = 1.0
HUMAN = "human"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``rlhf`` to ``mammad``'s subcommands."""
    parser = add_command(subparsers, "rlhf",
                         "the RLHF loop: sample, label, learn the reward, fine-tune",
                         "Rounds of: sample melodies from the policy, label pairs, train the "
                         "preference reward model, fine-tune the policy with PPO on the learned "
                         "reward under KL control. The policy starts as the pretrained "
                         "Note-RNN and the KL penalty keeps it near it. Resumes a killed loop "
                         "in the same --out. With --labeler human you label: the loop serves "
                         "the labelling page (--host, --port) and waits there for your labels "
                         "each round.")
    parser.add_argument("--env", default=DEFAULT_ENV, help="a MammadMelody env id")
    parser.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                        help="env arguments as YAML values, e.g. steps=32 (default: the id's "
                             "own)")
    parser.add_argument("--labeler", default="synthetic:theory",
                        help="synthetic:<reward>, module:function (a function from a list of "
                             "melody arrays to scores), or human / human:<name>: you, on the "
                             "labelling page (recorded as human:<login name> / human:<name>)")
    parser.add_argument("--temperature", type=float,
                        help=f"the labeler's Bradley-Terry noise (0: none; default "
                             f"{DEFAULT_TEMPERATURE:g}); not for a human labeler")
    parser.add_argument("--host", default="127.0.0.1",
                        help="human labeler: address the labelling page listens on (another "
                             "host lets others reach the page)")
    parser.add_argument("--port", type=non_negative_int, default=DEFAULT_PORT,
                        help="human labeler: port of the labelling page, "
                             "http://<host>:<port>/ (0: any free port)")
    parser.add_argument("--label-timeout", type=float, metavar="SECONDS",
                        help="human labeler: stop if a round's pairs are not all labelled "
                             "within this many seconds (default: wait for ever; the labels "
                             "given are kept, and running the loop again goes on)")
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
    parser.add_argument("--kl-margin", type=optional_float, default=KL_MARGIN,
                        metavar="FRACTION",
                        help="a rollout whose KL per melody is over --kl-target times (1 + "
                             "FRACTION) is penalised harder at once, so that a round keeps to "
                             f"its budget; 'none' for no ceiling (default {KL_MARGIN})")
    parser.add_argument("--reference-share", type=float, default=0.5,
                        help="fraction of each round's pairs that set a policy melody against "
                             "one of the Note-RNN's")
    parser.add_argument("--keep-best-kl", type=optional_float, default=10.0, metavar="NATS",
                        help="the loop hands out the round the last reward model scores "
                             "highest among those within this KL to the Note-RNN per melody "
                             "('none': any round)")
    parser.add_argument("--last-round", action="store_true",
                        help="hand out the last round's policy instead of the best one")
    parser.add_argument("--note-rnn-weight", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--note-rnn-model", metavar="PATH_OR_NAME",
                        help="the Note-RNN the policy starts as and stays near: a shipped "
                             "model's name, 'default' or 'rl_tuner' (trained in MIDI 48..83 "
                             "only), or a weights file (default: the shipped default)")
    parser.add_argument("--members", type=positive_int, default=3,
                        help="reward nets in the ensemble")
    parser.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override PPO's YAML hyperparameters (default: the bundled YAML's)")
    parser.add_argument("--out", type=Path, help="the loop's folder (default: "
                                                 "rlhf/<env>__<labeler>__<seed>)")
    parser.add_argument("--db", type=Path,
                        help="the preference store (default: <out>/prefs.sqlite)")
    add_seed_and_threads(parser, progress="progress bars")
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


def is_human(labeler: str) -> bool:
    """Whether ``--labeler`` names a person (``human`` or ``human:<name>``)."""
    return labeler.strip().partition(":")[0] == HUMAN


def check_human_arguments(args: argparse.Namespace) -> None:
    """Refuses ``--temperature`` for a person and the page's options for a program.

    Raises:
        UsageError: On an option that means nothing for the labeler.
    """
    if is_human(args.labeler):
        if args.temperature is not None:
            raise UsageError("--temperature is the Bradley-Terry noise of a synthetic labeler: "
                             "a person labels without it; drop --temperature")
        if args.label_timeout is not None and not args.label_timeout > 0:
            raise UsageError(f"--label-timeout must be a number of seconds > 0, got "
                             f"{args.label_timeout:g}")
        check_extra("mammad rlhf --labeler human")
        return
    given = [option for option, value, default in (("--host", args.host, "127.0.0.1"),
                                                   ("--port", args.port, DEFAULT_PORT),
                                                   ("--label-timeout", args.label_timeout, None))
             if value != default]
    if given:
        raise UsageError(f"{', '.join(given)} are for --labeler human (the labelling page); "
                         f"{args.labeler!r} labels by itself")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Runs or resumes the loop: one line per round, then a table and where the policy is."""
    if args.note_rnn_weight is not None:
        raise UsageError(
            "--note-rnn-weight is gone: the loop now starts from the Note-RNN and a KL penalty "
            "keeps it near (--kl-coef, --kl-target), which is what the Note-RNN term did")
    check_human_arguments(args)
    # torch and stable-baselines3 (seconds to import): only once the arguments parse
    from feedback.rlhf import RLHFSettings, policy_round, results_table, run_rlhf

    settings = RLHFSettings(
        env=args.env, env_kwargs=parse_overrides(args.env_kwargs, what="--env-kwargs entry"),
        rounds=args.rounds, samples=args.samples, pairs=args.pairs, steps=args.steps,
        kl_coef=args.kl_coef, kl_target=args.kl_target, kl_margin=args.kl_margin,
        reference_share=args.reference_share, keep_best=not args.last_round,
        keep_best_kl=args.keep_best_kl, labeler=args.labeler,
        note_rnn_model=note_rnn_anchor(args.note_rnn_model),
        temperature=DEFAULT_TEMPERATURE if args.temperature is None else args.temperature,
        members=args.members,
        hyperparams=parse_overrides(args.hyperparams), seed=args.seed)
    label = re.sub(r"[^A-Za-z0-9_.+-]+", "-", args.labeler)
    out = args.out or Path("rlhf") / f"{args.env}__{label}__{args.seed}"
    set_torch_threads(args.threads)
    print(f"RLHF loop in {out} ({settings.rounds} rounds, labeler {settings.labeler})")
    if is_human(args.labeler):
        results = run_with_person(args, settings, out, run_rlhf)
        if results is None:
            return 1
    else:
        results = run_rlhf(settings, out, args.db, progress=not args.no_progress, log=print)
    print("\n" + "\n".join(results_table(results)))
    chosen = policy_round(results[-1])
    kept = ("the last round's" if chosen == len(results) - 1
            else "the round the last reward model scores highest")
    print(f"\nfolder: {out}; the loop's policy ({kept}): mammad evaluate {out}/round_{chosen}")
    return 0


def run_with_person(args: argparse.Namespace, settings: Any, out: Path,
                    run_rlhf: Any) -> list[dict[str, Any]] | None:
    """The loop with a person labelling on the page; None (said on stderr) if labelling stops.

    The page's address is printed when its server starts (the library's INFO line), and again
    with each round's pairs; the server stops when the loop ends.
    """
    # Starlette and uvicorn, checked by check_human_arguments; torch, as for the loop
    from feedback.human import HumanLabeler, LabellingServerError, LabellingTimeoutError

    labeler = HumanLabeler(args.labeler, host=args.host, port=args.port,
                           timeout=args.label_timeout)
    print(f"you label as {labeler.name}: open the page whose address follows, listen, and "
          f"choose (the loop waits for every pair of a round; Ctrl-C stops it, and running "
          f"it again goes on)")
    try:
        with labeler:
            return run_rlhf(settings, out, args.db, progress=not args.no_progress, log=print,
                            labeler=labeler)
    except (LabellingTimeoutError, LabellingServerError) as error:
        print(f"mammad rlhf: error: {error}", file=sys.stderr)
        return None
