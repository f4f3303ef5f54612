"""RLHF's label efficiency: does the loop learn a taste it is only shown through labels?

::

    python -m benchmarks.rlhf                         # 4 tastes x 10 seeds; the page and figure
    python -m benchmarks.rlhf --tastes narrow_range my_taste:score --seeds 3
    python -m benchmarks.rlhf --quick                 # a smoke run (small counts, no page)

For each taste (:mod:`benchmarks.tastes`, or any ``module:function``) a synthetic labeler with
Bradley-Terry noise stands in for a person: its temperature is set so that the taste's own
accuracy on the labels of Note-RNN pairs is ``--accuracy`` (85%). For each seed the loop
(``mammad rlhf``: the Note-RNN policy under KL control, ``--pairs`` labels a round) runs until it
has ``max(--labels)`` labels; after the rounds that end at each of ``--labels`` it is measured:

* the taste's mean score of ``--samples`` melodies of the policy, and its gain over the
  Note-RNN's as a fraction of the **oracle**'s (the same fine-tuning, for as many steps, with
  the taste itself as the reward; ``--oracle-seeds`` runs per taste);
* the KL to the Note-RNN per melody, how many of the melodies differ;
* the reward model's accuracy on fresh noisy labels of pairs of the policy's own melodies (and
  the taste's own accuracy on them, which the noise caps).

Aggregates over seeds are the interquartile mean with a 95% stratified-bootstrap interval
(:mod:`benchmarks.rliable_stats`). **Best-of-n** sampling of the Note-RNN under the taste is the
floor (``--best-of``). Every run is kept in ``--out`` and resumed, so a killed benchmark goes on.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from benchmarks.rlhf_page import write_figure, write_page
from benchmarks.tastes import TASTES, high_register, taste_spec

__all__ = ["high_register", "main", "run_benchmark"]

STEPS = 32
"""16ths per melody (two bars)."""

ENV = "MammadMelody-count-v0"
CALIBRATION_PAIRS = 1_000


def taste_specs(names: list[str]) -> list[str]:
    """``module:function`` of each taste given by its name in :data:`TASTES` or as a spec.

    Raises:
        ValueError: On a name that is neither.
    """
    return [name if ":" in name else taste_spec(name) for name in names]


def calibrate(taste: str, accuracy: float, seed: int = 0) -> float:
    """The labeler temperature at which the taste's accuracy on Note-RNN pairs is ``accuracy``."""
    # heavy: torch and the Note-RNN (benchmarks.tastes.prior_pairs samples it)
    from benchmarks.tastes import calibrate_temperature, prior_pairs

    # heavy: rewards.preferences loads torch
    from rewards.preferences.taste import TasteModel

    first, second, accompaniments = prior_pairs(CALIBRATION_PAIRS, STEPS, seed=10_000 + seed)
    return calibrate_temperature(TasteModel(taste).score, first, second, accompaniments,
                                 target=accuracy)


def settings_for(taste: str, temperature: float, seed: int, args: argparse.Namespace) -> Any:
    """The loop's settings of one run."""
    # heavy: feedback.rlhf loads torch and stable-baselines3
    from feedback.rlhf import RLHFSettings

    return RLHFSettings(env=ENV, env_kwargs={"steps": STEPS}, rounds=max(args.labels) // args.pairs,
                        samples=args.samples, pairs=args.pairs, steps=args.steps,
                        labeler=taste, temperature=temperature, seed=seed)


def loop_unit(taste: str, temperature: float, seed: int, args: argparse.Namespace,
              folder: Path) -> list[dict[str, Any]]:
    """One loop run (resumed if its folder holds one); its rounds' figures."""
    # heavy: torch and stable-baselines3
    import torch

    # heavy: feedback loads torch and stable-baselines3
    from feedback.rlhf import run_rlhf

    torch.set_num_threads(1)
    return run_rlhf(settings_for(taste, temperature, seed, args), folder, progress=False,
                    log=lambda line: print(f"{folder}: {line}", flush=True))


def oracle_unit(taste: str, temperature: float, seed: int, args: argparse.Namespace,
                folder: Path) -> list[dict[str, Any]]:
    """One oracle run (read back if done)."""
    # heavy: torch and stable-baselines3
    import torch

    # heavy: feedback loads torch and stable-baselines3
    from feedback.oracle import run_oracle

    torch.set_num_threads(1)
    return run_oracle(settings_for(taste, temperature, seed, args), taste, folder)


def best_of_unit(taste: str, temperature: float, args: argparse.Namespace,
                 folder: Path) -> list[dict[str, Any]]:
    """Best-of-n of the Note-RNN under the taste, for each ``--best-of`` (cached in a file)."""
    # heavy: torch and stable-baselines3
    import torch

    # heavy: feedback loads torch and stable-baselines3
    from feedback.oracle import best_of_n

    record = folder / "best_of_n.json"
    if record.is_file():
        saved = json.loads(record.read_text())
        if [entry["n"] for entry in saved] == list(args.best_of):
            return saved
    torch.set_num_threads(1)
    settings = settings_for(taste, temperature, 0, args)
    results = [best_of_n(settings, taste, n, seed=20_000) for n in args.best_of]
    folder.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(results, indent=2) + "\n")
    return results


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Every taste's runs, in ``args.workers`` processes; the figures by taste."""
    tastes = taste_specs(args.tastes)
    temperatures = {taste: calibrate(taste, args.accuracy) for taste in tastes}
    for taste, temperature in temperatures.items():
        print(f"{taste}: temperature {temperature:.4g} (its accuracy on Note-RNN pairs "
              f"{100 * args.accuracy:.0f}%)", flush=True)
    jobs: dict[tuple[str, str, int], Any] = {}
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        for taste in tastes:
            root = args.out / taste.replace(":", "__")
            temperature = temperatures[taste]
            jobs[(taste, "best_of", 0)] = pool.submit(best_of_unit, taste, temperature, args,
                                                      root)
            for seed in range(args.oracle_seeds):
                jobs[(taste, "oracle", seed)] = pool.submit(
                    oracle_unit, taste, temperature, seed, args, root / f"oracle_{seed}")
            for seed in range(args.seeds):
                jobs[(taste, "loop", seed)] = pool.submit(
                    loop_unit, taste, temperature, seed, args, root / f"seed_{seed}")
        results: dict[str, Any] = {taste: {"temperature": temperatures[taste], "loop": {},
                                           "oracle": {}} for taste in tastes}
        for (taste, kind, seed), job in jobs.items():
            value = job.result()
            if kind == "best_of":
                results[taste]["best_of"] = value
            else:
                results[taste][kind][seed] = value
    print(f"all runs: {time.perf_counter() - started:.0f} s", flush=True)
    return results


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tastes", nargs="+", default=list(TASTES),
                        help=f"names in benchmarks.tastes.TASTES or module:function "
                             f"(default: {' '.join(TASTES)})")
    parser.add_argument("--seeds", type=int, default=10, help="loop runs per taste")
    parser.add_argument("--labels", type=int, nargs="+", default=[100, 200, 500],
                        help="label counts measured (multiples of --pairs)")
    parser.add_argument("--pairs", type=int, default=100, help="labels per round")
    parser.add_argument("--steps", type=int, default=12_288, help="PPO steps per round")
    parser.add_argument("--samples", type=int, default=256, help="melodies per measurement")
    parser.add_argument("--oracle-seeds", type=int, default=3, help="oracle runs per taste")
    parser.add_argument("--best-of", type=int, nargs="+", default=[4, 16],
                        help="n of the best-of-n floors")
    parser.add_argument("--accuracy", type=float, default=0.85,
                        help="the taste's own accuracy on its labels of Note-RNN pairs")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument("--out", type=Path, default=Path("rlhf/benchmark"),
                        help="where the runs are kept (resumed)")
    parser.add_argument("--page", type=Path, default=Path("docs/benchmarks/rlhf.md"),
                        help="the Markdown page written ('-': print only)")
    parser.add_argument("--quick", action="store_true",
                        help="small counts for a smoke run; prints, writes no page")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.labels, args.pairs, args.steps = 2, [16, 32], 16, 1024
        args.samples, args.oracle_seeds, args.best_of = 32, 1, [2]
        args.tastes = args.tastes[:1] if argv is None or "--tastes" not in argv else args.tastes
        args.page = Path("-")
    for name in ("seeds", "pairs", "steps", "samples", "oracle_seeds", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    bad = [count for count in args.labels if count < 1 or count % args.pairs]
    if bad:
        parser.error(f"--labels {bad} must be positive multiples of --pairs ({args.pairs})")
    if not 0.5 < args.accuracy < 1:
        parser.error(f"--accuracy must be in (0.5, 1), got {args.accuracy}")
    try:
        taste_specs(args.tastes)
    except ValueError as error:
        parser.error(str(error))
    return args


def shown_command(argv: list[str]) -> str:
    """The command as the page shows it, without ``--out``.

    Where the runs are kept changes no figure, and its path is this machine's.
    """
    shown, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--out":
            skip = True
        elif not word.startswith("--out="):
            shown.append(word)
    return shlex.join(["python", "-m", "benchmarks.rlhf", *shown])


def main(argv: list[str] | None = None) -> None:
    """Runs the benchmark; prints the tables, writes the page and its figure."""
    args = parse_arguments(argv)
    command = shown_command(sys.argv[1:] if argv is None else argv)
    results = run_benchmark(args)
    page = None if str(args.page) == "-" else args.page
    image = None if page is None else page.parent / "images" / "rlhf_labels.png"
    if image is not None:
        write_figure(results, args, image)
    text = write_page(results, args, command, page, image)
    print(text)


if __name__ == "__main__":
    main()
