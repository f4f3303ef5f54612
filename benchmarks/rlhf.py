"""RLHF figures: reward-model accuracy against labels, and what the loop does to a policy.

::

    python -m benchmarks.rlhf                       # the tables of docs/rlhf.md
    python -m benchmarks.rlhf --quick               # a smoke run (small counts)

Two parts, both with a synthetic labeler whose taste is none of the suite's rewards
(:func:`high_register`: the mean pitch of a melody's notes, with Bradley-Terry noise):

1. **Accuracy against labels**: pairs of Note-RNN samples (32 16ths, over a random bundled
   accompaniment or none) labelled by the taste; the reward ensemble trained on 100, 300 and
   1,000 of them; its accuracy on 500 other pairs, against the same labels (the noise caps it:
   the *ceiling* is the accuracy of the taste itself) and against the noiseless taste. Mean
   and 95% percentile-bootstrap interval over seeds.
2. **The loop**: ``mammad rlhf`` with that labeler; per round, the labeler's mean score of the
   policy's melodies before and after fine-tuning, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.tastes import high_register  # also named here: "benchmarks.rlhf:high_register"

STEPS = 32
TEMPERATURE = 4.0


def labelled_pairs(count: int, seed: int) -> tuple[list[Any], np.ndarray]:
    """``count`` labelled pairs of Note-RNN samples, and P(a preferred) of the noiseless taste."""
    # heavy: feedback.labelers loads torch
    from feedback.labelers import SyntheticLabeler

    # heavy: rewards.note_rnn loads torch
    from rewards.note_rnn import NoteRNN

    # heavy: rewards.preferences loads torch
    from rewards.preferences import Comparison

    rng = np.random.default_rng(seed)
    melodies = NoteRNN.pretrained().sample(2 * count, STEPS, seed=seed)
    names = [None, "march", "rock", "alberti", "habanera", "bossa"]
    accompaniments = [names[i] for i in rng.integers(0, len(names), count)]
    labeler = SyntheticLabeler("benchmarks.rlhf:high_register", high_register,
                               temperature=TEMPERATURE, seed=seed)
    a, b = list(melodies[:count]), list(melodies[count:])
    choices = labeler.label(a, b, accompaniments)
    truth = np.sign(high_register(a) - high_register(b))
    return [Comparison(x, y, c, acc, labeler.name)
            for x, y, c, acc in zip(a, b, choices, accompaniments, strict=True)], truth


def interval(values: list[float]) -> str:
    """Mean and a 95% percentile-bootstrap interval over seeds."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return f"{100 * values.mean():.1f}%"
    rng = np.random.default_rng(0)
    means = values[rng.integers(0, len(values), (10_000, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return f"{100 * values.mean():.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def accuracy_table(sizes: list[int], seeds: int, test_pairs: int) -> list[str]:
    """Rows of part 1."""
    # heavy: rewards.preferences loads torch
    from rewards.preferences import TrainingSettings, train_reward_model

    # heavy: rewards.preferences.training loads torch
    from rewards.preferences.training import accuracy

    rows = ["| labels | accuracy on the labels | ceiling (the taste itself) | agreement with "
            "the noiseless taste | training time |", "|---|---|---|---|---|"]
    print("\n".join(rows), flush=True)
    for size in sizes:
        measured, ceiling, agreement, seconds = [], [], [], []
        for seed in range(seeds):
            train, _ = labelled_pairs(size, seed)
            test, truth = labelled_pairs(test_pairs, 10_000 + seed)
            started = time.perf_counter()
            model = train_reward_model(train, TrainingSettings(held_out=0.0, seed=seed))
            seconds.append(time.perf_counter() - started)
            a = model.score([c.a for c in test], [c.accompaniment for c in test])
            b = model.score([c.b for c in test], [c.accompaniment for c in test])
            choices = [c.choice for c in test]
            measured.append(accuracy(a, b, choices))
            taste_a = high_register([c.a for c in test])
            taste_b = high_register([c.b for c in test])
            ceiling.append(accuracy(taste_a, taste_b, choices))
            decided = truth != 0
            agreement.append(float(np.mean(np.sign(a - b)[decided] == truth[decided])))
        rows.append(f"| {size:,} | {interval(measured)} | {interval(ceiling)} | "
                    f"{interval(agreement)} | {np.mean(seconds):.1f} s |")
        print(rows[-1], flush=True)
    return rows


def loop_table(rounds: int, steps: int, samples: int, pairs: int, out: Path) -> list[str]:
    """Rows of part 2 (runs ``mammad rlhf`` in ``out``)."""
    # heavy: feedback.rlhf loads torch
    from feedback.rlhf import RLHFSettings, results_table, run_rlhf

    settings = RLHFSettings(env="MammadMelody-count-v0", env_kwargs={"steps": STEPS},
                            rounds=rounds, samples=samples, pairs=pairs, steps=steps,
                            labeler="benchmarks.rlhf:high_register", temperature=TEMPERATURE)
    results = run_rlhf(settings, out, progress=False, log=print)
    return results_table(results)


def main(argv: list[str] | None = None) -> None:
    """Prints both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("rlhf/benchmark"),
                        help="the loop's folder (resumed if it exists)")
    args = parser.parse_args(argv)
    # heavy: torch loads slowly and only this path needs it
    import torch

    torch.set_num_threads(1)
    command = " ".join(["python -m benchmarks.rlhf", *(sys.argv[1:] if argv is None else argv)])
    if args.quick:
        sizes, seeds, test_pairs = [40], 2, 60
        loop = {"rounds": 2, "steps": 1024, "samples": 32, "pairs": 16}
    else:
        sizes, seeds, test_pairs = [100, 300, 1000], args.seeds, 500
        loop = {"rounds": args.rounds, "steps": 20_000, "samples": 256, "pairs": 100}
    print(f"`{command}`\n\n## Reward-model accuracy against labels\n")
    accuracy_table(sizes, seeds, test_pairs)
    print(f"\n## The loop ({json.dumps(loop)})\n")
    print("\n".join(loop_table(out=args.out, **loop)))


if __name__ == "__main__":
    main()
