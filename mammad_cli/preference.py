"""``mammad preference train``: a Bradley-Terry reward model from a preference store's labels."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agents.runs import scratch_folder
from mammad_cli.arguments import (
    add_command,
    add_seed_and_threads,
    positive_int,
    set_torch_threads,
)

MODEL_FILE = "model.pt"
CARD_FILE = "model_card.md"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds ``preference`` (and its ``train``) to ``mammad``'s subcommands."""
    preference = add_command(subparsers, "preference", "the learned preference reward",
                             "Train the preference reward model from the labels in a "
                             "preference store.")
    commands = preference.add_subparsers(dest="preference_command", required=True)
    parser = add_command(commands, "train",
                         "train a Bradley-Terry reward model on a store's labels",
                         "Train an ensemble of reward nets on the labelled pairs of a "
                         f"preference store; writes OUT/{MODEL_FILE} (weights only) and "
                         f"OUT/{CARD_FILE}.")
    parser.add_argument("--db", type=Path, required=True,
                        help="the preference store (SQLite), e.g. prefs.sqlite")
    parser.add_argument("--out", type=Path, required=True,
                        help=f"a new folder for {MODEL_FILE} and {CARD_FILE}")
    parser.add_argument("--members", type=positive_int, default=3, help="nets in the ensemble")
    parser.add_argument("--epochs", type=positive_int, default=30,
                        help="most epochs per net (each stops early on its out-of-bag pairs)")
    parser.add_argument("--net", choices=("note_rnn", "lstm"), default="note_rnn",
                        help="the members: heads over the pretrained Note-RNN's hidden states "
                             "(note_rnn, the default) or LSTMs of their own (lstm)")
    parser.add_argument("--note-rnn", default="default",
                        help="with --net note_rnn: a shipped Note-RNN (default, rl_tuner) or "
                             "the path of a weights file")
    parser.add_argument("--finetune-learning-rate", type=float, default=0.0,
                        help="with --net note_rnn: fine-tune each member's copy of the "
                             "Note-RNN at this learning rate (0: frozen, the default)")
    parser.add_argument("--held-out", type=float, default=0.2,
                        help="fraction of the pairs kept out for the accuracy figure")
    add_seed_and_threads(parser, progress="progress bar")
    parser.set_defaults(handler=run, command_parser=parser)
    return preference


def check_arguments(args: argparse.Namespace) -> None:
    """The store must exist, and ``--out`` be a folder without a model.

    Raises:
        FileNotFoundError: If the store is missing.
        ValueError: If ``--out`` is a file or holds a model already.
    """
    if not args.db.is_file():
        raise FileNotFoundError(f"preference store {str(args.db)!r} does not exist (label "
                                f"some pairs first: `mammad label`, or `mammad rlhf`)")
    if (args.out / MODEL_FILE).exists():
        raise ValueError(f"{str(args.out / MODEL_FILE)!r} exists already: choose a new --out "
                         f"folder")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {str(args.out)!r} is a file: give a folder")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Trains the ensemble; writes the card first and the model last, each atomically."""
    check_arguments(args)
    # torch: the reward nets (about 2 s to import), once the paths are checked
    from rewards.preferences import (
        PreferenceStore,
        TrainingSettings,
        comparisons_from_store,
        model_card,
        train_reward_model,
    )

    settings = TrainingSettings(members=args.members, epochs=args.epochs,
                                held_out=args.held_out, seed=args.seed, net=args.net,
                                note_rnn=args.note_rnn,
                                finetune_learning_rate=args.finetune_learning_rate)
    set_torch_threads(args.threads)
    with PreferenceStore(args.db) as store:
        comparisons = comparisons_from_store(store)
    ensemble = train_reward_model(comparisons, settings, progress=not args.no_progress)
    ensemble.card["store"] = str(args.db)
    command = " ".join(["mammad", *argv])
    args.out.mkdir(parents=True, exist_ok=True)
    with scratch_folder(args.out) as scratch:  # the card first, the model last
        (scratch / CARD_FILE).write_text(model_card(ensemble.card, command))
        (scratch / CARD_FILE).replace(args.out / CARD_FILE)
        ensemble.save(scratch / MODEL_FILE).replace(args.out / MODEL_FILE)
    held = ensemble.card["held_out"]
    figure = ("no pairs held out" if not held["pairs"] else
              f"held-out accuracy {100 * held['accuracy']:.1f}% on {held['pairs']:,} pairs")
    print(f"trained on {ensemble.card['labels']:,} labels ({figure}); wrote "
          f"{args.out / MODEL_FILE} and {args.out / CARD_FILE}")
    return 0
