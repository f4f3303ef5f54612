"""The figures of ``python -m benchmarks.rlhf``: statistics over seeds, the page and the plot.

Every aggregate over seeds is the interquartile mean with a 95% stratified-bootstrap interval
(:func:`benchmarks.rliable_stats.iqm_interval`), beside the median where a target is a median.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report_page import display_path
from benchmarks.rliable_stats import iqm_interval, seeded_rng

TARGETS = {"above_start": 0.9, "median_gain": 0.6, "distinct": 0.9, "kl": 10.0,
           "accuracy": 0.75, "round_seconds": 30.0}
"""The issue's targets at the most labels: seeds above the start, median gain as a fraction of
the oracle's, distinct melodies as a fraction of those sampled, KL per melody, the reward
model's accuracy on the policy's melodies, and the wall time of a round."""


def kept_round(record: dict[str, Any]) -> int:
    """The round a loop hands out after the round of ``record``.

    As :func:`feedback.rlhf.policy_round`, read here without importing the loop (and torch).
    """
    return int(record.get("policy_round", record["round"]))


def label_rows(taste: dict[str, Any], labels: list[int], pairs: int) -> list[dict[str, Any]]:
    """Per label count, every seed's figures of the policy the loop hands out there.

    That is the policy of the round the loop keeps once the round ending at that count is done
    (``policy_round``: the best round so far, see :mod:`feedback.rlhf`; the round itself in a
    loop that keeps the last).
    """
    oracle_gain = oracle_gains(taste)
    rows = []
    for count in labels:
        index = count // pairs - 1
        seeds = [rounds for _, rounds in sorted(taste["loop"].items())]
        kept = [rounds[kept_round(rounds[index])] for rounds in seeds]
        start = np.array([rounds[0]["labeler_score_before"] for rounds in seeds])
        after = np.array([record["labeler_score_after"] for record in kept])
        policy = [record["reward_model"].get("policy_pairs", {}) for record in kept]
        rows.append({
            "labels": count, "start": start, "score": after,
            "gain": (after - start) / oracle_gain[index + 1],
            "kl": np.array([record["kl_per_melody_after"] for record in kept]),
            "distinct": np.array([record["distinct_melodies_after"] for record in kept]),
            "kept": np.array([kept_round(rounds[index]) for rounds in seeds]),
            "samples": seeds[0][index]["samples"],
            "accuracy": np.array([p.get("accuracy", math.nan) for p in policy], dtype=float),
            "ceiling": np.array([p.get("ceiling", math.nan) for p in policy], dtype=float),
            "agreement": np.array([p.get("agreement", math.nan) for p in policy], dtype=float),
            "seconds": np.array([rounds[index]["seconds"] for rounds in seeds]),
            "cpu_seconds": np.array([rounds[index].get("cpu_seconds", math.nan)
                                     for rounds in seeds]),
        })
    return rows


def first_round_cpu(taste: dict[str, Any]) -> float:
    """The median process time of round 0 (100 labels, fine-tuning included) over seeds.

    Process time, not wall time: the benchmark runs several loops at once on a machine that
    may be busy; a round's own work is what the target is about.
    """
    values = [rounds[0].get("cpu_seconds", rounds[0]["seconds"])
              for rounds in taste["loop"].values()]
    return float(np.median(values))


def oracle_gains(taste: dict[str, Any]) -> np.ndarray:
    """The oracle's mean gain over the Note-RNN after each stretch (index 0: none)."""
    runs = [np.array([s["score"] for s in stretches]) for stretches in taste["oracle"].values()]
    gains = np.mean([run - run[0] for run in runs], axis=0)
    return np.where(np.abs(gains) > 1e-12, gains, math.nan)


def interval(values: np.ndarray, label: str, scale: float = 1.0, digits: int = 1) -> str:
    """``IQM [low, high]`` of the finite values (``-`` if none)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)] * scale
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    point, low, high = iqm_interval([values], reps=5_000, rng=seeded_rng(0, label))
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def taste_table(name: str, taste: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The Markdown section of one taste."""
    rows = label_rows(taste, list(args.labels), args.pairs)
    oracle = [stretches[-1] for stretches in taste["oracle"].values()]
    lines = [f"### `{name}`", "",
             f"Labeler temperature {taste['temperature']:.4g}. The Note-RNN scores "
             f"{np.mean(rows[0]['start']):.3g}; the oracle reaches "
             f"{np.mean([s['score'] for s in oracle]):.3g} at "
             f"{np.mean([s['kl_per_melody'] for s in oracle]):.1f} nats per melody "
             f"({len(oracle)} runs, {oracle[0]['policy_steps']:,} steps); best-of-n: " +
             ", ".join(f"n = {b['n']}: {b['score']:.3g} (KL <= {b['kl_bound']:.2f})"
                       for b in taste.get("best_of", [])) + ".", "",
             "| labels | taste score | gain, % of the oracle's (IQM) | median | seeds above the "
             "start | KL per melody | distinct melodies | reward model on the policy's "
             "melodies | the taste's own accuracy there | agreement with the noiseless taste "
             "| seeds handing out an earlier round | round time, wall / CPU (median) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        seeds = len(row["score"])
        lines.append(
            f"| {row['labels']:,} | {interval(row['score'], name + 's', digits=2)} | "
            f"{interval(row['gain'], name + 'g', 100)} | "
            f"{100 * np.nanmedian(row['gain']):.0f}% | "
            f"{int(np.sum(row['score'] > row['start']))} of {seeds} | "
            f"{interval(row['kl'], name + 'k')} | "
            f"{interval(row['distinct'], name + 'd', digits=0)} of {row['samples']} | "
            f"{interval(row['accuracy'], name + 'a', 100)}% | "
            f"{interval(row['ceiling'], name + 'c', 100)}% | "
            f"{interval(row['agreement'], name + 'r', 100)}% | "
            f"{int(np.sum(row['kept'] < row['labels'] // args.pairs - 1))} of {seeds} | "
            f"{np.median(row['seconds']):.0f} s / {np.nanmedian(row['cpu_seconds']):.0f} s |")
    return lines


def target_lines(results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The issue's targets at the most labels, taste by taste."""
    most = max(args.labels)
    lines = [f"| taste | above the start (>= 90% of seeds) | median gain (>= 60% of the "
             f"oracle's) | distinct (>= 90%) | KL per melody (<= 10) | reward model on the "
             f"policy's melodies (>= 75%) | round of {args.pairs} labels (<= 30 s) |",
             "|---|---|---|---|---|---|---|"]
    for name, taste in results.items():
        row = label_rows(taste, [most], args.pairs)[0]
        checks = [
            (np.mean(row["score"] > row["start"]) >= TARGETS["above_start"],
             f"{int(np.sum(row['score'] > row['start']))} of {len(row['score'])}"),
            (np.nanmedian(row["gain"]) >= TARGETS["median_gain"],
             f"{100 * np.nanmedian(row['gain']):.0f}%"),
            (np.min(row["distinct"]) >= TARGETS["distinct"] * row["samples"],
             f"min {int(np.min(row['distinct']))} of {row['samples']}"),
            (np.max(row["kl"]) <= TARGETS["kl"], f"max {np.max(row['kl']):.1f}"),
            (np.nanmedian(row["accuracy"]) >= TARGETS["accuracy"],
             f"median {100 * np.nanmedian(row['accuracy']):.0f}% (the taste itself: "
             f"{100 * np.nanmedian(row['ceiling']):.0f}%)"),
            (first_round_cpu(taste) <= TARGETS["round_seconds"],
             f"median {first_round_cpu(taste):.0f} s of CPU"),
        ]
        lines.append(f"| `{name}` | " + " | ".join(
            f"{text} {'(met)' if met else '(**not met**)'}" for met, text in checks) + " |")
    return lines


def write_page(results: dict[str, Any], args: argparse.Namespace, command: str,
               page: Path | None, image: Path | None) -> str:
    """The benchmark's Markdown (written to ``page`` unless None); returns it."""
    lines = ["# RLHF's label efficiency", "",
             "Generated by `python -m benchmarks.rlhf` (see its docstring and "
             "[rlhf.md](../rlhf.md#what-to-expect)); the command: `" + command + "`.", "",
             f"{args.seeds} seeds per taste, {args.pairs} labels per round, {args.steps:,} PPO "
             f"steps per round, {args.samples} melodies per measurement, melodies of {32} 16ths "
             f"on `MammadMelody-count-v0`; {args.oracle_seeds} oracle runs per taste. IQM "
             f"[95% stratified-bootstrap interval] over seeds. The figures at a label count "
             f"are those of the policy the loop hands out there: the round the newest reward "
             f"model scores highest within the KL limit (``policy_round``; the last round in "
             f"runs of loops that kept the last).", "",
             f"## Targets at {max(args.labels)} labels", "", *target_lines(results, args), "",
             "## By taste", ""]
    if image is not None and page is not None:
        lines += [f"![taste score against labels]({display_path(image, page.parent)})", ""]
    for name, taste in results.items():
        lines += [*taste_table(name, taste, args), ""]
    text = "\n".join(lines)
    if page is not None:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(text + "\n")
    return text


def write_figure(results: dict[str, Any], args: argparse.Namespace, path: Path) -> Path:
    """A PNG: per taste, the score against labels with the oracle, best-of-n and the Note-RNN."""
    # heavy: matplotlib takes a second to import and only the figure needs it
    import matplotlib

    matplotlib.use("Agg")
    # heavy: as above
    import matplotlib.pyplot as plt

    tastes = list(results)
    figure, axes = plt.subplots(1, len(tastes), figsize=(4 * len(tastes), 3.4), squeeze=False)
    for axis, name in zip(axes[0], tastes, strict=True):
        taste = results[name]
        rows = label_rows(taste, list(args.labels), args.pairs)
        counts = [row["labels"] for row in rows]
        bounds = [iqm_interval([row["score"]], reps=2_000, rng=seeded_rng(0, name))
                  for row in rows]
        axis.plot(counts, [b[0] for b in bounds], "o-", color="C0", label="RLHF (IQM)")
        axis.fill_between(counts, [b[1] for b in bounds], [b[2] for b in bounds], color="C0",
                          alpha=0.2)
        oracle = np.mean([s[-1]["score"] for s in taste["oracle"].values()])
        axis.axhline(oracle, color="C2", linestyle="--", label="oracle")
        for offset, best in enumerate(taste.get("best_of", [])):
            axis.axhline(best["score"], color=f"C{3 + offset}", linestyle=":",
                         label=f"best of {best['n']}")
        axis.axhline(np.mean(rows[0]["start"]), color="grey", linestyle="-", linewidth=0.8,
                     label="Note-RNN")
        axis.set_title(name.split(":")[-1], fontsize=10)
        axis.set_xlabel("labels")
        axis.set_xticks(counts)
    axes[0][0].set_ylabel("taste score of the policy's melodies")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
