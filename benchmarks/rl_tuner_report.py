"""The evaluation and the page of :mod:`benchmarks.rl_tuner_table`.

Each finished model (and the Note-RNN, per seed) plays ``compositions`` compositions, which give
RL Tuner's statistics (:func:`rewards.metrics.evaluate`), the mean Note-RNN log-likelihood per
step (:meth:`rewards.note_rnn.NoteRNN.log_prob`, under the full 90-class model) and two checks
of our own (distinct compositions; pitches outside 48..83). The result is cached, written
atomically, as ``evaluation.json`` in the cell folder (``<root>/note_rnn__<seed>/`` for the
Note-RNN), with the settings that made it: a rerun with the same settings reads it, other
settings redo it.

The page has two parts. Everything above :data:`FINDINGS_MARKER` is generated and rewritten on
every run; the marker and what follows it (the hand-written findings) are kept as they are.
"""

from __future__ import annotations

import json
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from benchmarks.grid import write_json_atomically
from mammad_envs.compat import make_vector

EVALUATION_FILE = "evaluation.json"
NOTE_RNN = "rl_tuner"
"""The shipped Note-RNN of the reward, the samples and the log-likelihood row: the one trained in
RL Tuner's range (MIDI 48..83) only, as RL Tuner's Note RNN was (docs/note_rnn.md)."""
LAST_RUN_FILE = "last_run.json"
LABELS = {"note_rnn": "Note-RNN", "dqn": "DQN", "ppo": "PPO", "kl_ppo": "KL-PPO",
          "note_rnn_ppo": "Note-RNN PPO"}
PAPER_COLUMNS = ("Note RNN", "Q", "Psi", "G")
PAPER: dict[str, tuple[float, float, float, float]] = {
    "notes excessively repeated": (0.633, 0.0, 0.0002, 0.0003),
    "mean autocorrelation lag 1": (-0.16, -0.11, -0.10, 0.55),
    "mean autocorrelation lag 2": (0.14, 0.03, -0.01, 0.31),
    "mean autocorrelation lag 3": (-0.13, 0.03, 0.01, 0.17),
    "notes not in key": (0.001, 0.01, 0.006, 0.287),
    "compositions starting with tonic": (0.009, 0.288, 0.287, 0.0),
    "leaps resolved": (0.772, 0.911, 0.900, 0.522),
    "compositions with unique max note": (0.647, 0.564, 0.594, 0.371),
    "compositions with unique min note": (0.494, 0.519, 0.583, 0.565),
    "notes in motif": (0.059, 0.757, 0.738, 0.693),
    "notes in repeated motif": (0.00007, 0.0011, 0.0009, 0.0001),
}
"""RL Tuner's published Table 1 (Jaques et al. 2017; 100,000 compositions per model)."""
LIKELIHOOD = "Note-RNN log-likelihood per step (nats)"
EXTRA_ROWS = ("distinct compositions", "pitches outside 48..83")
"""Rows of our own: the share of compositions that differ from all others; of steps struck
outside the paper's range (the Note-RNN samples all 88 keys)."""
FINDINGS_MARKER = "<!-- findings: hand-written"
FINDINGS_PLACEHOLDER = (FINDINGS_MARKER + "; python -m benchmarks.rl_tuner_table keeps "
                        "everything from this line down -->\n\n## Where and why the numbers "
                        "differ from the paper\n\n(To be written from the table above.)\n")


def _cached(folder: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """A folder's evaluation if it was made with exactly these settings."""
    path = folder / EVALUATION_FILE
    if not path.is_file():
        return None
    try:
        evaluation = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # damaged: redo it
    return evaluation if evaluation.get("settings") == wanted else None


def score(melodies: list[np.ndarray] | np.ndarray, note_rnn: Any) -> dict[str, float]:
    """RL Tuner's statistics, the mean Note-RNN log-likelihood per step, and our checks."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import metrics

    table = metrics.evaluate(melodies)
    array = np.asarray(melodies)
    table[LIKELIHOOD] = float(np.mean(np.concatenate(note_rnn.log_prob(array))))
    table["distinct compositions"] = len(np.unique(array, axis=0)) / len(array)
    struck = array >= 0
    outside = struck & ((array < 48) | (array > 83))
    table["pitches outside 48..83"] = float(outside.sum() / array.size)
    return table


def evaluate_note_rnn(root: Path, seed: int, chosen: dict[str, Any]) -> dict[str, Any]:
    """The Note-RNN's own samples (``NoteRNN.sample``, temperature 1), cached."""
    # heavy: the Note-RNN's modules load torch
    from rewards.note_rnn import NoteRNN

    folder = root / f"note_rnn__{seed}"
    wanted = {"model": "note_rnn", "compositions": chosen["compositions"],
              "melody_steps": chosen["melody_steps"], "seed": seed, "note_rnn": NOTE_RNN}
    cached = _cached(folder, wanted)
    if cached is not None:
        return {**cached, "cached": True}
    started = time.perf_counter()
    note_rnn = NoteRNN.pretrained(NOTE_RNN)
    melodies = note_rnn.sample(chosen["compositions"], chosen["melody_steps"], seed=seed)
    evaluation = {"settings": wanted, "table": score(melodies, note_rnn),
                  "seconds": round(time.perf_counter() - started, 2)}
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomically(folder / EVALUATION_FILE, evaluation)
    return {**evaluation, "cached": False}


def evaluate_cell(root: Path, model_name: str, cell: Any, chosen: dict[str, Any],
                  progress: bool = False) -> dict[str, Any]:
    """A trained cell's model plays ``compositions`` compositions (cached in its folder)."""
    # heavy: torch takes seconds to import; only this measurement needs it
    import torch

    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.rollouts import QSoftmax, play_episodes

    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.runs import read_config

    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.training import load_run_model

    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from benchmarks.grid import read_cell

    # heavy: the Note-RNN's modules load torch
    from rewards.note_rnn import NoteRNN

    folder = root / cell.name
    record = read_cell(folder)
    if record is None:
        raise ValueError(f"cell {cell.name} is not trained (no cell.json in {folder})")
    policy = chosen["dqn_policy"] if cell.agent == "dqn" else "sample"
    wanted = {"model": model_name, "compositions": chosen["compositions"], "policy": policy,
              "seed": cell.seed, "run": record["run"]}
    cached = _cached(folder, wanted)
    if cached is not None:
        return {**cached, "cached": True}
    started = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(cell.seed)
    run = folder / record["run"]
    config = read_config(run)
    with warnings.catch_warnings():  # the template agent's env is one scalar env
        warnings.filterwarnings("ignore", message=".*mini-batch size.*")
        model = load_run_model(run, run / "model.zip", config)
    kwargs = {key: value for key, value in config["env_kwargs"].items()
              if key not in ("reward", "reward_weights", "reward_kwargs")}
    player = QSoftmax(model, cell.seed) if policy == "softmax" else model
    melodies, _, _ = play_episodes(player, lambda n: make_vector(config["env"], n, **kwargs,
                                                                reward=None),
                                   chosen["compositions"], deterministic=policy == "greedy",
                                   progress=progress, seed=cell.seed)
    evaluation = {"settings": wanted, "table": score(melodies, NoteRNN.pretrained(NOTE_RNN)),
                  "seconds": round(time.perf_counter() - started, 2),
                  "training_seconds": record["seconds"], "git_commit": record["git_commit"],
                  "hyperparams": config["hyperparams"], "steps": config["steps"]}
    write_json_atomically(folder / EVALUATION_FILE, evaluation)
    return {**evaluation, "cached": False}


def evaluate_all(chosen: dict[str, Any], cells: dict[str, list[Any]], progress: bool = True
                 ) -> dict[str, list[dict[str, Any]]]:
    """Every model's evaluations, one per seed: ``{model: [evaluation, ...]}``, table order."""
    root = Path(chosen["root"])
    jobs = [(model, seed) for model in chosen["models"] for seed in range(chosen["seeds"])]
    columns: dict[str, list[dict[str, Any]]] = {model: [] for model in chosen["models"]}
    with tqdm(jobs, desc="evaluation", unit="model", disable=not progress,
              dynamic_ncols=True) as bar:
        for model, seed in bar:
            bar.set_postfix_str(f"{model} seed {seed}")
            if model == "note_rnn":
                columns[model].append(evaluate_note_rnn(root, seed, chosen))
            else:
                columns[model].append(evaluate_cell(root, model, cells[model][seed], chosen,
                                                    progress=progress))
    return columns


def _value(row: str, value: float) -> str:
    """A statistic as the paper writes it: percentages, or coefficients for autocorrelation."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards.metrics import PERCENT_ROWS

    if value != value:
        return "n/a"
    if row in PERCENT_ROWS or row in EXTRA_ROWS:
        percent = 100 * value
        size = abs(percent)
        digits = 1 if size >= 1 or size == 0 else 2 if size >= 0.1 else 3 if size >= 0.01 else 4
        return f"{percent:.{digits}f}%"
    return f"{value:.2f}"


def summary(row: str, values: list[float]) -> str:
    """The mean over seeds, with the lowest and highest seed when there are several."""
    mean = float(np.nanmean(values)) if not all(v != v for v in values) else float("nan")
    if len(values) == 1:
        return _value(row, mean)
    return f"{_value(row, mean)} ({_value(row, min(values))}..{_value(row, max(values))})"


def table_rows(columns: dict[str, list[dict[str, Any]]]) -> list[list[str]]:
    """The table: Table 1's rows, the log-likelihood, our checks; our columns, the paper's."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards.metrics import TABLE_1

    rows = []
    for row in (*TABLE_1, LIKELIHOOD, *EXTRA_ROWS):
        ours = [summary(row, [e["table"][row] for e in evaluations])
                for evaluations in columns.values()]
        paper = [_value(row, v) for v in PAPER[row]] if row in PAPER else ["-"] * 4
        rows.append([row, *ours, *paper])
    return rows


def console_table(columns: dict[str, list[dict[str, Any]]]) -> str:
    """The table as plain text."""
    header = ["statistic", *(LABELS[m] for m in columns), *(f"paper {c}" for c in PAPER_COLUMNS)]
    rows = [header, *table_rows(columns)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def _findings(out: Path) -> str:
    """The hand-written part of an existing page (or the placeholder)."""
    if out.is_file():
        text = out.read_text()
        where = text.find(FINDINGS_MARKER)
        if where >= 0:
            return text[where:]
    return FINDINGS_PLACEHOLDER


def _policy_columns(columns: dict[str, Any]) -> str:
    """``"PPO, KL-PPO and Note-RNN PPO"``: the columns that sample their policies."""
    names = [LABELS[m] for m in ("ppo", "kl_ppo", "note_rnn_ppo") if m in columns] or ["PPO"]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def write_page(out: str | os.PathLike, chosen: dict[str, Any], cells: dict[str, list[Any]],
               columns: dict[str, list[dict[str, Any]]], command: str,
               wall: float) -> Path:
    """Writes the page: the generated tables, then the kept hand-written findings."""
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.runs import git_commit, versions, write_text_atomically

    out = Path(out)
    labels = [LABELS[m] for m in columns]
    lines = [
        "# RL Tuner's Table 1 in its own setting",
        "",
        "Made by `python -m benchmarks.rl_tuner_table` (this part is rewritten on every run).",
        f"The setting is RL Tuner's: `MelodyEnv-v0`, {chosen['melody_steps']} steps, pitches "
        f"48..83, C major, no accompaniment, the `count` encoding; every agent trains on "
        f"`theory x {chosen['theory_weight']:g} + note_rnn` (RL Tuner's `r_MT / c + log p(a|s)`"
        f" with c = {1 / chosen['theory_weight']:g})"
        + (f"; Note-RNN PPO, which starts as the Note-RNN, on `theory x "
           f"{chosen['theory_weight']:g}` with its KL penalty `kl_coef (log pi(a|s) - log "
           f"p(a|s))` (the hyperparameters below)" if "note_rnn_ppo" in columns else "")
        + ". Each model plays "
        f"{chosen['compositions']:,} compositions per seed; our columns give the mean over "
        f"{chosen['seeds']} seed{'s' if chosen['seeds'] > 1 else ''}"
        + (" (lowest..highest seed)" if chosen["seeds"] > 1 else "") +
        "; the paper's, 100,000 compositions of one model each.",
        "",
        f"| statistic | {' | '.join(labels)} | {' | '.join(f'paper {c}' for c in PAPER_COLUMNS)}"
        " |",
        "|---|" + "---:|" * (len(labels) + len(PAPER_COLUMNS)),
        *(f"| {' | '.join(row)} |" for row in table_rows(columns)),
        "",
        f"Percentages are of all steps, or of compositions for the `compositions ...` rows; "
        f"leaps resolved is resolved / (resolved + doubled). `{LIKELIHOOD}` is the mean "
        f"`NoteRNN.log_prob` of every step under the reward's Note-RNN (`{NOTE_RNN}`; 90 "
        f"classes, not renormalised to the 38 actions); the paper reports no such row. The last "
        f"two rows are ours. DQN plays by {_dqn_policy_text(chosen['dqn_policy'])}; "
        f"{_policy_columns(columns)} sample their policies.",
        "",
        "## The models",
        "",
        "| column | agent | env steps | hyperparameters (over the agent's YAML) |",
        "|---|---|---:|---|",
    ]
    if "note_rnn" in columns:
        lines.append(f"| Note-RNN | `NoteRNN.pretrained({NOTE_RNN!r}).sample`, temperature 1, "
                     f"seed = the seed | - | - |")
    for model, model_cells in cells.items():
        if model in columns:
            cell = model_cells[0]
            overrides = ", ".join(f"`{pair}`" for pair in cell.hyperparams) or "the YAML's"
            lines.append(f"| {LABELS[model]} | {cell.agent} | {cell.steps:,} | {overrides} |")
    commits = sorted({e.get("git_commit", "unknown") for evaluations in columns.values()
                      for e in evaluations if "git_commit" in e})
    versions_found = versions()
    lines += [
        "",
        "## How it was made",
        "",
        "```bash",
        command,
        "```",
        "",
        f"- Runs trained at git commit{'s' if len(commits) > 1 else ''} "
        f"{', '.join(f'`{c}`' for c in commits) or '-'}; evaluated and written at "
        f"`{git_commit()}`.",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, " + ", ".join(
            f"{name} {versions_found[name]}" for name in ("torch", "gymnasium",
                                                          "stable-baselines3")
            if name in versions_found) + "; one training run at a time, torch on one thread.",
        f"- Runs: `{chosen['root']}` (one `mammad train` run folder per model x seed; "
        f"`evaluation.json` beside each).",
        "",
        "| wall time | seconds |",
        "|---|---:|",
    ]
    for model, evaluations in columns.items():
        training = [e["training_seconds"] for e in evaluations if "training_seconds" in e]
        if training:
            lines.append(f"| {LABELS[model]}: training, per seed (mean) | "
                         f"{np.mean(training):,.0f} |")
        lines.append(f"| {LABELS[model]}: evaluation of {chosen['compositions']:,} "
                     f"compositions, per seed (mean) | "
                     f"{np.mean([e['seconds'] for e in evaluations]):,.1f} |")
    everything = [e for evaluations in columns.values() for e in evaluations]
    lines += [f"| all training runs (sum) | "
              f"{sum(e.get('training_seconds', 0) for e in everything):,.0f} |",
              f"| all evaluations (sum) | {sum(e['seconds'] for e in everything):,.0f} |",
              f"| this command | {wall:,.0f} |"]
    last = last_run(Path(chosen["root"]))
    if last is not None:
        lines.append(f"| the last command that trained or evaluated anything "
                     f"({last['finished']} UTC, {last['trained']} runs trained, "
                     f"{last['evaluated']} evaluations): `{last['command']}` | "
                     f"{last['seconds']:,.0f} |")
    text = "\n".join(lines) + "\n\n" + _findings(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomically(out, text)


def record_run(root: Path, command: str, seconds: float, trained: int, evaluated: int) -> None:
    """Records, in ``<root>/last_run.json``, a command that trained or evaluated something."""
    root.mkdir(parents=True, exist_ok=True)
    write_json_atomically(root / LAST_RUN_FILE, {
        "command": command, "seconds": round(seconds, 1), "trained": trained,
        "evaluated": evaluated, "finished": time.strftime("%Y-%m-%d %H:%M", time.gmtime())})


def last_run(root: Path) -> dict[str, Any] | None:
    """The record of :func:`record_run` (None if there is none, or it is damaged)."""
    try:
        return json.loads((root / LAST_RUN_FILE).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _dqn_policy_text(policy: str) -> str:
    return {"softmax": "sampling the softmax of its Q-values (as RL Tuner's `generate_music`)",
            "greedy": "taking the action of the highest Q-value",
            "epsilon": "SB3's epsilon-greedy at the final exploration rate"}[policy]
