"""Trains the Note RNN on folk tunes: ``python -m rewards.note_rnn.train``.

The shipped model was trained with (26 minutes on one CPU thread of a shared machine, see its
model card)::

    python -m rewards.note_rnn.train --install --threads 1 --max-minutes 35 --no-progress

* ``--data folk`` (default): every tune of O'Neill's, Ryan's Mammoth and miscFolk that converts
  with the lenient rules of :func:`mammad_envs.corpus.load_folk_corpus` (needs
  ``pip install -e .[dataset]`` for music21; the first run parses the corpus for a few minutes
  and caches it). ``--data bundled`` uses the 10 bundled melodies, for smoke tests.
* Split by tune: ``--val-fraction`` of the tunes (seeded) are held out for validation.
* Batches of random windows (``--window`` steps, each starting with START at a bar line or at
  the tune's first event), Adam, gradient clipping at 5, learning rate halved when the
  validation NLL stops improving (``--lr-patience``, ``--min-delta``), early stopping after
  ``--patience`` epochs without progress (the best epoch is kept). With ``--rollback`` (the
  default) training goes back to the best epoch's weights and Adam state whenever the rate is
  halved ("newbob"), so that a loss spike costs an epoch or two rather than the rest of the run.
* Octave-shift augmentation (on by default, ``--no-octave-shift`` turns it off): a training
  window keeps its written octave with probability ``--keep-octave`` and is otherwise moved by a
  multiple of 12 semitones among those that keep all its pitches in MIDI 21..108, a shift of
  ``k`` octaves drawn with weight ``--octave-decay ** (|k| - 1)`` (the nearer octaves more
  often), so that the model scores a tune an octave up or down about as well as in range.
* Validation: per-step NLL (nats) and accuracy of the model on the whole held-out tunes from
  START, beside add-one-smoothed unigram and bigram models fitted on the training tunes; at the
  end also the NLL of the held-out tunes shifted by -12 and +12 semitones against the same tunes
  as written (:func:`~rewards.note_rnn.validation.shifted_nll`).
* Output in ``--out`` (default ``runs/note_rnn/``): after every epoch ``checkpoint_last.pt``
  (that epoch) and ``checkpoint_best.pt`` (the best epoch so far), so an interrupted run leaves
  both; ``--keep-epochs`` also keeps ``checkpoint_epochNNN.pt`` for every epoch. At the end
  ``note_rnn.pt`` (the best epoch, with the full metadata), ``model_card.md`` and
  ``history.json``. ``--install`` also copies ``note_rnn.pt`` and ``model_card.md`` to
  ``rewards/note_rnn/weights/``.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import logging
import math
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from rewards.note_rnn.model import WEIGHTS_FILE, NoteRNN
from rewards.note_rnn.model_card import model_card
from rewards.note_rnn.threads import torch_threads
from rewards.note_rnn.training_data import load_data, sample_batch
from rewards.note_rnn.validation import evaluate, ngram_baselines, shift_melody, shifted_nll

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Where ``--install`` writes the weights and model card."""
DEFAULT_OUT = Path("runs") / "note_rnn"
"""Default output folder (relative to the working directory)."""
MODEL_CARD = "model_card.md"
"""File name of the model card."""
LAST_CHECKPOINT = "checkpoint_last.pt"
"""The weights after the latest epoch (rewritten every epoch)."""
BEST_CHECKPOINT = "checkpoint_best.pt"
"""The weights of the best epoch so far (rewritten when the validation NLL improves)."""
TRAIN_THREADS: int = 0
"""Default ``--threads`` (0: torch's default, all cores). Unlike smaller nets, this model
trained 1.4x faster on two threads than on one on the project's 2-core machines (measured:
see docs/note_rnn.md), so training does not force one thread."""
KEEP_OCTAVE: float = 0.5
"""Default ``--keep-octave``: the probability that a training window keeps its written octave
under octave-shift augmentation (see docs/note_rnn.md for the runs that chose it)."""
OCTAVE_DECAY: float = 0.25
"""Default ``--octave-decay``: the weight of a shift of ``k`` octaves is ``OCTAVE_DECAY **
(|k| - 1)``, so one octave up or down is drawn 4 times as often as two."""
VALIDATION_SHIFTS: tuple[int, ...] = (-12, 12)
"""Shifts (semitones) of the held-out tunes scored at the end, for the model card."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parses the command line.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The options.
    """
    parser = argparse.ArgumentParser(
        prog="python -m rewards.note_rnn.train", description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", choices=("folk", "bundled"), default="folk",
                      help="folk: music21's public-domain folk corpus; bundled: the 10 bundled "
                           "melodies (smoke tests)")
    data.add_argument("--collections", nargs="+",
                      default=["oneills1850", "ryansMammoth", "miscFolk"],
                      help="collections for --data folk")
    data.add_argument("--cache-dir", type=Path, default=None,
                      help="corpus cache (default $MAMMAD_ENVS_CACHE or ~/.cache/mammad_envs)")
    data.add_argument("--val-fraction", type=float, default=0.1,
                      help="fraction of tunes held out for validation")
    model = parser.add_argument_group("model")
    model.add_argument("--embedding-dim", type=int, default=64)
    model.add_argument("--hidden-size", type=int, default=256)
    model.add_argument("--dropout", type=float, default=0.1,
                       help="dropout on the embedding and the LSTM output (training only)")
    training = parser.add_argument_group("training")
    training.add_argument("--window", type=int, default=128, help="steps per training window")
    training.add_argument("--batch-size", type=int, default=64)
    training.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    training.add_argument("--weight-decay", type=float, default=0.0, help="Adam L2 penalty")
    training.add_argument("--lr-patience", type=int, default=1,
                          help="halve the learning rate after this many epochs without a "
                               "better validation NLL (by --min-delta)")
    training.add_argument("--min-delta", type=float, default=1e-4,
                          help="smallest drop of the validation NLL (nats) that counts as better")
    training.add_argument("--octave-shift", action=argparse.BooleanOptionalAction, default=True,
                          help="octave-shift augmentation of the training windows")
    training.add_argument("--keep-octave", type=float, default=KEEP_OCTAVE,
                          help="with --octave-shift: probability that a window keeps its written "
                               "octave (otherwise it moves by a multiple of 12 semitones that "
                               "keeps it in MIDI 21..108)")
    training.add_argument("--octave-decay", type=float, default=OCTAVE_DECAY,
                          help="with --octave-shift: a shift of k octaves is drawn with weight "
                               "OCTAVE_DECAY ** (|k| - 1) (1: uniformly)")
    training.add_argument("--rollback", action=argparse.BooleanOptionalAction, default=True,
                          help="when the learning rate is halved, go on from the best epoch's "
                               "weights and optimizer state (at the new rate)")
    training.add_argument("--clip", type=float, default=5.0, help="gradient-norm clip")
    training.add_argument("--epochs", type=int, default=80, help="most epochs")
    training.add_argument("--batches-per-epoch", type=int, default=None,
                          help="default: training steps / (window * batch size), one pass")
    training.add_argument("--patience", type=int, default=6,
                          help="stop after this many epochs without a better validation NLL")
    training.add_argument("--max-minutes", type=float, default=None,
                          help="stop after the epoch that passes this much training time")
    training.add_argument("--seed", type=int, default=0)
    training.add_argument("--threads", type=int, default=TRAIN_THREADS,
                          help="torch threads during training (0: leave torch's default)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    output.add_argument("--keep-epochs", action="store_true",
                        help="also keep checkpoint_epochNNN.pt for every epoch (by default only "
                             "checkpoint_last.pt and checkpoint_best.pt)")
    output.add_argument("--install", action="store_true",
                        help=f"copy the best weights and model card to {WEIGHTS_DIR}")
    output.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def train(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Trains a model as the options say and writes the outputs.

    Args:
        args: Options from :func:`parse_args`.
        command: The command line, for the model card.

    Returns:
        The metadata stored with the best weights.
    """
    started = time.perf_counter()
    train_tunes, val_tunes, data_info = load_data(args)
    val_melodies = [t.melody for t in val_tunes]
    shifted_melodies = {shift: [moved for melody in val_melodies
                                if (moved := shift_melody(melody, shift)) is not None]
                        for shift in VALIDATION_SHIFTS}
    baselines = ngram_baselines([t.tokens for t in train_tunes], [t.tokens for t in val_tunes])
    batches_per_epoch = args.batches_per_epoch or max(
        1, math.ceil(data_info["train_steps"] / (args.window * args.batch_size)))
    logger.info(f"data: {data_info['train_tunes']} training tunes ({data_info['train_steps']:,} "
                f"steps), {data_info['val_tunes']} validation tunes "
                f"({data_info['val_steps']:,} steps); {batches_per_epoch} batches per epoch")
    logger.info("baselines: " + ", ".join(f"{name} NLL {b['nll']:.3f} acc {b['accuracy']:.1%}"
                                          for name, b in baselines.items()))

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = NoteRNN(args.embedding_dim, args.hidden_size, args.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=args.lr_patience, threshold=args.min_delta,
        threshold_mode="abs")
    if not 0.0 <= args.keep_octave <= 1.0:
        raise SystemExit(f"error: --keep-octave must be in 0..1, got {args.keep_octave}")
    if not args.octave_decay > 0.0:
        raise SystemExit(f"error: --octave-decay must be positive, got {args.octave_decay}")
    keep_octave = args.keep_octave if args.octave_shift else 1.0
    args.out.mkdir(parents=True, exist_ok=True)
    hyperparameters = {**model.hyperparameters, **_hyperparameters(args, batches_per_epoch,
                                                                   keep_octave)}
    history: list[dict[str, float]] = []
    best: dict[str, Any] | None = None
    train_seconds = 0.0
    threads = args.threads or torch.get_num_threads()
    with torch_threads(args.threads or None):
        for epoch in range(1, args.epochs + 1):
            epoch_started = time.perf_counter()
            losses = _train_epoch(model, optimizer, train_tunes, args, rng, keep_octave,
                                  batches_per_epoch, epoch)
            val = evaluate(model, val_melodies)
            shifted_nlls = {f"val_nll_{shift:+d}": evaluate(model, melodies)["nll"]
                            for shift, melodies in shifted_melodies.items() if melodies}
            train_seconds += time.perf_counter() - epoch_started
            record = {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_nll": val["nll"],
                      "val_accuracy": val["accuracy"], **shifted_nlls,
                      "lr": optimizer.param_groups[0]["lr"], "minutes": train_seconds / 60}
            history.append(record)
            improved = best is None or val["nll"] < best["val_nll"] - args.min_delta
            logger.info(f"epoch {epoch:3d}: train loss {record['train_loss']:.3f}, validation NLL "
                        f"{val['nll']:.3f}, accuracy {val['accuracy']:.1%}"
                        + "".join(f", {key[8:]} {value:.3f}" for key, value in shifted_nlls.items())
                        + f"{' (best)' if improved else ''}, {train_seconds / 60:.1f} min")
            checkpoint = {"epoch": epoch, "validation": val, "hyperparameters": hyperparameters}
            _save_checkpoints(model, checkpoint, args.out, improved, args.keep_epochs)
            best = _step_schedule(model, optimizer, scheduler, best, epoch, val["nll"], improved,
                                  args.rollback)
            if epoch - best["epoch"] >= args.patience:
                logger.info(f"early stopping: no better validation NLL for {args.patience} epochs")
                break
            if args.max_minutes is not None and train_seconds / 60 >= args.max_minutes:
                logger.info(f"stopping: the time budget of {args.max_minutes} minutes is spent")
                break

    assert best is not None
    model.load_state_dict(best["state_dict"])
    val = _final_validation(model, val_melodies, data_info["val_steps"])
    shifted = shifted_nll(model, val_melodies, VALIDATION_SHIFTS)
    metadata = {
        "data": data_info, "hyperparameters": hyperparameters, "validation": val,
        "baselines": baselines, "shifted_validation": shifted, "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "train_minutes": train_seconds / 60, "total_minutes": (time.perf_counter() - started) / 60,
        "threads": threads, "machine": f"{platform.machine()}, {platform.system()}",
        "parameters": model.num_parameters(), "torch": torch.__version__, "command": command,
        "date": datetime.date.today().isoformat(), "history": history,
    }
    weights, card = _write_outputs(model, metadata, args.out, args.install)
    logger.info(f"best epoch {best['epoch']}: validation NLL {val['nll']:.3f} nats/step, accuracy "
                f"{val['accuracy']:.1%} (bigram {baselines['bigram']['nll']:.3f} / "
                f"{baselines['bigram']['accuracy']:.1%}, "
                f"unigram {baselines['unigram']['nll']:.3f} / "
                f"{baselines['unigram']['accuracy']:.1%}); wrote {weights} and {card}")
    logger.info("shifted validation: " + ", ".join(
        f"{r['shift']:+d} semitones NLL {r['nll_shifted']:.3f} vs {r['nll_unshifted']:.3f} "
        f"as written (ratio {r['ratio']:.3f}, {r['tunes']} tunes)" for r in shifted))
    return metadata


def _hyperparameters(args: argparse.Namespace, batches_per_epoch: int,
                     keep_octave: float) -> dict[str, Any]:
    """The training settings the model card and checkpoints record (with the model's)."""
    return {"window": args.window, "batch_size": args.batch_size, "lr": args.lr,
            "weight_decay": args.weight_decay, "lr_patience": args.lr_patience,
            "min_delta": args.min_delta, "clip": args.clip,
            "batches_per_epoch": batches_per_epoch, "patience": args.patience,
            "octave_shift": args.octave_shift, "keep_octave": keep_octave,
            "octave_decay": args.octave_decay, "rollback": args.rollback, "seed": args.seed}


def _save_checkpoints(model: NoteRNN, checkpoint: dict[str, Any], out: Path, improved: bool,
                      keep_epochs: bool) -> None:
    """Saves the last checkpoint, the best one if it improved, and the epoch's if kept."""
    model.save(out / LAST_CHECKPOINT, checkpoint)
    if improved:
        model.save(out / BEST_CHECKPOINT, checkpoint)
    if keep_epochs:
        model.save(out / f"checkpoint_epoch{checkpoint['epoch']:03d}.pt", checkpoint)


def _step_schedule(model: NoteRNN, optimizer: torch.optim.Optimizer, scheduler: Any,
                   best: dict[str, Any] | None, epoch: int, val_nll: float, improved: bool,
                   rollback: bool) -> dict[str, Any]:
    """Keeps the best state, steps the learning rate; rolls back to the best if it halved.

    Returns:
        The best epoch so far: its number, validation NLL, model and optimizer states.
    """
    if improved:
        best = {"epoch": epoch, "val_nll": val_nll,
                "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "optimizer": copy.deepcopy(optimizer.state_dict())}
    assert best is not None
    rates = [group["lr"] for group in optimizer.param_groups]
    scheduler.step(val_nll)
    halved = [group["lr"] for group in optimizer.param_groups] != rates
    if rollback and halved and not improved:
        rates = [group["lr"] for group in optimizer.param_groups]
        model.load_state_dict(best["state_dict"])
        optimizer.load_state_dict(best["optimizer"])
        for group, rate in zip(optimizer.param_groups, rates, strict=True):
            group["lr"] = rate
    return best


def _train_epoch(model: NoteRNN, optimizer: torch.optim.Optimizer, train_tunes: list[Any],
                 args: argparse.Namespace, rng: np.random.Generator, keep_octave: float,
                 batches: int, epoch: int) -> list[float]:
    """One epoch of ``batches`` random batches; the training loss of each."""
    model.train()
    loss_function = nn.CrossEntropyLoss()
    losses = []
    bar = tqdm(range(batches), desc=f"epoch {epoch}", unit="batch", disable=args.no_progress,
               leave=False)
    for _ in bar:
        inputs, targets, mask = sample_batch(train_tunes, args.batch_size, args.window, rng,
                                             keep_octave, args.octave_decay)
        logits, _ = model(inputs)
        loss = loss_function(logits[mask], targets[mask])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    bar.close()
    return losses


def _final_validation(model: NoteRNN, val_melodies: list[np.ndarray],
                      val_steps: int) -> dict[str, float]:
    """The best model's validation NLL and accuracy, with its accuracy on note onsets."""
    model.eval()
    val = evaluate(model, val_melodies)
    onset_steps = int(sum((melody >= 0).sum() for melody in val_melodies))
    onset_correct = 0
    for _, log_probs, targets, mask in model.scored_batches(val_melodies, batch_size=128):
        onset_mask = mask & (targets < 88)
        onset_correct += int((log_probs.argmax(-1) == targets)[onset_mask].sum())
    val["onset_accuracy"] = onset_correct / max(onset_steps, 1)
    val["onset_fraction"] = onset_steps / val_steps
    return val


def _write_outputs(model: NoteRNN, metadata: dict[str, Any], out: Path,
                   install: bool) -> tuple[Path, Path]:
    """Writes the weights, model card and history (and installs them); the weights and card."""
    weights = model.save(out / WEIGHTS_FILE, metadata)
    card = out / MODEL_CARD
    card.write_text(model_card(metadata), encoding="utf-8")
    (out / "history.json").write_text(json.dumps(metadata["history"], indent=2) + "\n",
                                      encoding="utf-8")
    if install:
        WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, WEIGHTS_DIR / WEIGHTS_FILE)
        shutil.copyfile(card, WEIGHTS_DIR / MODEL_CARD)
        logger.info(f"installed into {WEIGHTS_DIR}")
    return weights, card


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    command = " ".join(["python -m rewards.note_rnn.train", *map(shlex.quote, argv)]).strip()
    with progress_on_stdout():
        train(args, command)
    return 0


@contextmanager
def progress_on_stdout() -> Iterator[None]:
    """Shows the training's progress (logged by this module and the corpus) on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    loggers = [logger, logging.getLogger("mammad_envs.corpus")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.addHandler(handler)
        each.setLevel(logging.INFO)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.removeHandler(handler)
            each.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
