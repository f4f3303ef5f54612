"""The imitation benchmark's table: the terminal summary and ``docs/benchmarks/imitation.md``.

Rows are (encoding, agent) pairs averaged over seeds, plus the untrained baselines and the
demo-vs-demo yardstick; a row meets the target when each of its three mean distances is at
most :data:`TARGET` times the demonstrations' own. A page written before keeps everything from
its ``## Notes`` heading on, so findings written by hand survive a rerun.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from rewards.similarity import HISTOGRAMS, demo_baseline, normalise

TARGET = 2.0
"""The issue's target: every distance within this many times the demo-vs-demo distance."""
NOTES = "## Notes"
"""The heading from which a previous page is kept as it was."""
HEADERS = {"pitch_class": "pitch class", "interval": "interval", "rhythm": "rhythm"}


def rows(results: list[dict[str, Any]], baselines: list[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """One row per baseline and per (encoding, agent): mean and sd of each distance over seeds.

    Each row has ``label``, ``encoding``, ``seeds``, ``mean`` and ``sd`` (dicts by histogram),
    ``ratio`` (mean / demo-vs-demo), ``worst`` (the largest ratio), ``rhythm`` (the pooled
    onset / hold / rest fractions) and ``met`` (all ratios within :data:`TARGET`).
    """
    baseline = demo_baseline()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[(result["encoding"], result["agent"])].append(result)
    ordered = [("", item["agent"], [item]) for item in baselines]
    ordered += [(encoding, agent, groups[(encoding, agent)])
                for encoding, agent in sorted(groups)]
    table = []
    for encoding, agent, items in ordered:
        values = {name: np.array([item["distances"][name] for item in items])
                  for name in HISTOGRAMS}
        mean = {name: float(v.mean()) for name, v in values.items()}
        sd = {name: float(v.std(ddof=1)) if v.size > 1 else 0.0 for name, v in values.items()}
        ratio = {name: mean[name] / baseline[name] for name in HISTOGRAMS}
        rhythm = normalise(np.sum([item["counts"]["rhythm"] for item in items], axis=0))
        table.append({"label": agent, "encoding": encoding or "-", "seeds": len(items),
                      "mean": mean, "sd": sd, "ratio": ratio, "worst": max(ratio.values()),
                      "rhythm": rhythm.tolist(), "met": max(ratio.values()) <= TARGET,
                      "baseline": not encoding})
    return table


def _cell(row: dict[str, Any], name: str) -> str:
    sd = f" ± {row['sd'][name]:.3f}" if row["seeds"] > 1 else ""
    return f"{row['mean'][name]:.3f}{sd} ({row['ratio'][name]:.1f}x)"


def markdown_table(table: list[dict[str, Any]]) -> list[str]:
    """The table as markdown lines, the demo-vs-demo row first."""
    baseline = demo_baseline()
    lines = ["| encoding | agent | seeds | " + " | ".join(HEADERS[n] for n in HISTOGRAMS) +
             " | worst ratio | onset / hold / rest | within 2x |",
             "|---|---|---|" + "---|" * len(HISTOGRAMS) + "---|---|---|",
             "| - | demo vs demo (halves) | - | " +
             " | ".join(f"{baseline[n]:.3f} (1.0x)" for n in HISTOGRAMS) +
             " | 1.0x | - | - |"]
    for row in table:
        rhythm = " / ".join(f"{share:.2f}" for share in row["rhythm"])
        lines.append(f"| {row['encoding']} | {row['label']} | {row['seeds']} | " +
                     " | ".join(_cell(row, n) for n in HISTOGRAMS) +
                     f" | {row['worst']:.1f}x | {rhythm} | {'yes' if row['met'] else 'no'} |")
    return lines


def best(table: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The trained row with the smallest worst ratio (None without trained rows)."""
    trained = [row for row in table if not row["baseline"]]
    return min(trained, key=lambda row: row["worst"]) if trained else None


def verdict(table: list[dict[str, Any]]) -> str:
    """One sentence: the best imitation agent and whether it meets the target."""
    top = best(table)
    if top is None:
        return "No trained cell is evaluated yet."
    met = "meets" if top["met"] else "misses"
    return (f"Best imitation agent: {top['label']} on {top['encoding']} (worst ratio "
            f"{top['worst']:.1f}x over {top['seeds']} seed(s)): it {met} the target of "
            f"{TARGET:g}x the demo-vs-demo distance on all three histograms.")


def summary_lines(results: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> list[str]:
    """What the command prints: the table and the verdict."""
    table = rows(results, baselines)
    return ["", *markdown_table(table), "", verdict(table)]


def render(results: list[dict[str, Any]], baselines: list[dict[str, Any]], command: str,
           chosen: dict[str, Any], previous: str | None = None) -> str:
    """The page: settings, command, commit, definitions, the table, and the kept notes."""
    table = rows(results, baselines)
    commits = sorted({str(r.get("git_commit")) for r in results if r.get("git_commit")})
    baseline = demo_baseline()
    env_arguments = ", ".join(chosen["env_kwargs"]) or "the ids' own env arguments (64 steps)"
    lines = [
        "# Imitation: how close the agents' melodies come to the demonstrations", "",
        "<!-- Written by python -m benchmarks.imitation; the section \"Notes\" at the end is "
        "kept when the page is written again. -->", "",
        f"Made by `{command}` (git commit {', '.join(f'`{c[:12]}`' for c in commits) or '-'}):"
        f" {chosen['seeds']} seed(s) of {chosen['steps']:,} training steps per agent and "
        f"encoding (BC: demonstration transitions learnt from), accompaniment "
        f"{chosen['accompaniment']}, {env_arguments}; each model and baseline plays "
        f"{chosen['episodes']:,} compositions with sampled actions.", "",
        "Each cell is a distance between the generated melodies' histogram and the ten "
        "demonstrations' (total variation, `rewards.similarity`): pitch classes of struck "
        "notes, signed intervals between consecutive struck notes clipped to ±12 semitones, "
        "and the 16ths' rhythm (onset, HOLD or REST in the melody's canonical spelling), "
        "pooled over all melodies. Mean ± standard deviation over seeds, then the ratio to "
        "the distance between the demonstrations' two halves (tunes 1-5 against 6-10: "
        f"{baseline['pitch_class']:.3f} / {baseline['interval']:.3f} / "
        f"{baseline['rhythm']:.3f}). The target is every ratio within {TARGET:g}x. The "
        "baselines: `random` draws each of the env's 90 actions uniformly; `note_rnn` samples "
        "the default Note-RNN (`NoteRNN.pretrained()`, trained with octave shifts) at "
        "temperature 1.", "",
        *markdown_table(table), "", verdict(table), "",
    ]
    kept = None
    if previous is not None and NOTES in previous:
        kept = previous[previous.index(NOTES):].rstrip() + "\n"
    return "\n".join(lines) + "\n" + (kept or f"{NOTES}\n\n(none yet)\n")
