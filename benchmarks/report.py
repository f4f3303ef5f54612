"""Aggregates the finished cells of a grid into a Markdown report with learning curves.

Run from the repository root::

    python -m benchmarks.report                                   # benchmarks/runs/encodings
    python -m benchmarks.report --root benchmarks/runs/encodings-quick --out /tmp/quick.md

It reads every finished cell under ``--root`` (those with a ``cell.json``, see
:mod:`benchmarks.grid`): the run's ``config.yml``, ``stats.json`` (the RL Tuner statistics of
``eval_episodes`` melodies of the final model, and their mean episode return) and, when
TensorBoard is installed, its ``tb/`` scalars ``rollout/ep_rew_mean`` and ``reward_terms/*``.
A cell of the report is (agent, encoding, reward, accompaniment), over its seeds. It writes:

* per task (reward x accompaniment): the final return and each reward term, and the RL Tuner
  statistics, as the mean +- the standard deviation over seeds;
* learning curves, one PNG per agent x reward (``<out dir>/images/<out stem>_*.png``), a line
  per encoding (the mean over seeds) with a band from the lowest to the highest seed;
* the interquartile mean (IQM) of the normalised final return per agent x encoding, with 95%
  stratified-bootstrap confidence intervals, and the probability of improvement between
  encodings, with rliable's definitions (Agarwal et al., 2021), computed with numpy here. A
  run's score is 0 at the mean return of uniformly random actions in its task and 1 at the
  grid's best run of the task (as Atari scores are random- and human-normalised), so a
  collapsed run of one agent does not squeeze every other run's score.

The Settings section gives, once, the commands that made the runs and the page and the runs' git
commits. The page records its number of runs, and a later report refuses to replace it with one
of fewer runs unless ``--force`` (:mod:`benchmarks.report_page`). The report is a
function of the runs and the arguments: the bootstrap draws from a generator seeded by
``--seed`` and the name of each estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from benchmarks.report_page import (
    RUN_COUNT_MARK,
    check_overwrite,
    display_path,
    portable_command,
)
from benchmarks.rliable_stats import (
    improvement_interval,
    iqm,
    iqm_interval,
    probability_of_improvement,
    seeded_rng,
)
from mammad_envs.compat import make_vector
from mammad_envs.registration import ENVIRONMENTS

RETURN_TAG = "rollout/ep_rew_mean"
TERM_PREFIX = "reward_terms/"
STATISTICS = {
    "notes excessively repeated": "repeated", "notes not in key": "not in key",
    "compositions starting with tonic": "tonic start", "leaps resolved": "leaps resolved",
    "compositions with unique max note": "unique max", "compositions with unique min note":
    "unique min", "notes in motif": "motif", "notes in repeated motif": "repeated motif",
    "mean autocorrelation lag 1": "autocorr. 1", "mean autocorrelation lag 2": "autocorr. 2",
    "mean autocorrelation lag 3": "autocorr. 3",
}
"""The rows of RL Tuner's Table 1 (:data:`rewards.metrics.TABLE_1`) and their short names."""
RANDOM_EPISODES = 1_000
"""Episodes of uniformly random actions that give a task's score 0."""
MEMORY = ("recurrent_ppo", "binary")
"""The memory baseline of :mod:`benchmarks.encodings`: an LSTM policy on a memoryless encoding."""


@dataclass
class Run:
    """One finished cell: its settings and what its run folder holds."""

    agent: str
    encoding: str
    reward: str
    accompaniment: bool
    seed: int
    setting: tuple
    final_return: float
    stats: dict[str, float | None]
    scalars: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    grid_command: str | None = None
    git_commit: str = "unknown"
    env: str = ""
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> tuple[str, str]:
        """(agent, encoding): what the aggregate compares."""
        return self.agent, self.encoding

    @property
    def task(self) -> tuple[str, bool]:
        """(reward, accompaniment): what a score is comparable within."""
        return self.reward, self.accompaniment


def read_scalars(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{tag: (steps, values)}`` of ``rollout/ep_rew_mean`` and ``reward_terms/*`` in ``folder``.

    Every event file under ``folder`` is read (a resumed run has several); a step logged twice
    keeps its last value. Empty without TensorBoard installed.
    """
    try:
        # optional: tensorboard (the test extra)
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return {}
    points: dict[str, dict[int, float]] = defaultdict(dict)
    for path in sorted(folder.rglob("events.out.tfevents.*")) if folder.is_dir() else []:
        events = EventAccumulator(str(path), size_guidance={"scalars": 0})
        events.Reload()
        for tag in events.Tags()["scalars"]:
            if tag == RETURN_TAG or tag.startswith(TERM_PREFIX):
                for event in sorted(events.Scalars(tag), key=lambda e: e.wall_time):
                    points[tag][int(event.step)] = float(event.value)
    return {tag: (np.array(sorted(values)), np.array([values[s] for s in sorted(values)]))
            for tag, values in points.items()}


def _encoding(config: dict[str, Any]) -> str:
    if config["env_kwargs"].get("encoding"):
        return str(config["env_kwargs"]["encoding"])

    return str(dict(ENVIRONMENTS).get(config["env"], {}).get("encoding", config["env"]))


def load_runs(root: Path) -> list[Run]:
    """Every finished cell under ``root``, sorted by (agent, encoding, reward, ...).

    Raises:
        ValueError: If ``root`` has no finished cell, or holds one cell with two settings.
    """
    runs = []
    for cell_file in sorted(Path(root).glob("*/cell.json")):
        record = json.loads(cell_file.read_text())
        folder = cell_file.parent / record["run"]
        config = yaml.safe_load((folder / "config.yml").read_text())
        stats = json.loads((folder / "stats.json").read_text())
        cell = record["cell"]
        setting = (cell["steps"], tuple(cell["env_kwargs"]), tuple(cell["hyperparams"]),
                   cell["eval_episodes"])
        runs.append(Run(cell["agent"], _encoding(config), cell["reward"],
                        bool(cell["accompaniment"]), int(cell["seed"]), setting,
                        float(stats["mean episode return"]), stats, read_scalars(folder / "tb"),
                        record.get("grid_command"), str(config.get("git_commit", "unknown")),
                        str(config["env"]), dict(config["env_kwargs"])))
    if not runs:
        raise ValueError(f"no finished cell under {str(root)!r} (a finished cell has a "
                         f"cell.json: run python -m benchmarks.encodings first)")
    runs.sort(key=lambda r: (r.agent, r.encoding, r.reward, r.accompaniment, r.seed))
    settings: dict[tuple, set] = defaultdict(set)
    for run in runs:
        settings[(*run.method, *run.task)].add(run.setting)
    for key, found in settings.items():
        if len(found) > 1:
            raise ValueError(f"{root} holds runs of {key} with different settings (steps, env "
                             f"arguments, hyperparameters): {sorted(found)}; report one grid "
                             f"per root (benchmarks.encodings --root)")
    return runs


ENCODING_ARGUMENTS = ("encoding", "encoding_kwargs", "decay")
"""Env arguments a random policy's return does not depend on."""


def random_return(env: str, env_kwargs: dict[str, Any], episodes: int = RANDOM_EPISODES,
                  seed: int = 0) -> float:
    """The mean return of uniformly random actions on an env id with its arguments and rewards.

    Args:
        env: A MammadMelody env id.
        env_kwargs: Its arguments, as a run's ``config.yml`` holds them (``reward`` included).
        episodes: How many episodes (played at once on the batched env).
        seed: Seeds the episodes and the actions.
    """
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.rollouts import UniformRandom, play_episodes

    def make(n: int) -> Any:
        return make_vector(env, n, **env_kwargs)

    agent = UniformRandom(int(make(1).single_action_space.n), seed=seed)
    _, _, returns = play_episodes(agent, make, episodes, seed=seed)
    return float(np.mean(returns))


def random_references(runs: list[Run], episodes: int = RANDOM_EPISODES
                      ) -> dict[tuple[str, bool], float]:
    """Per task, the mean return of random actions on its runs' env (the score 0).

    Played once per env setting: runs of ids that differ only in their encoding share it.

    Raises:
        ValueError: If the runs of a task play envs on which random actions score differently
            (other steps or pitch range, say): their returns are not comparable.
    """
    import mammad_envs  # noqa: F401 (registers the ids)

    found: dict[str, float] = {}
    references: dict[tuple[str, bool], set[float]] = defaultdict(set)
    for run in runs:
        kwargs = {k: v for k, v in run.env_kwargs.items() if k not in ENCODING_ARGUMENTS}
        # Keyed by what the env does, not its id: the ids differ only in their encodings.
        spec = gym.spec(run.env)
        setting = {k: v for k, v in {**spec.kwargs, **kwargs}.items()
                   if k not in ENCODING_ARGUMENTS}
        key = json.dumps([spec.entry_point, setting], sort_keys=True, default=str)
        if key not in found:
            found[key] = random_return(run.env, kwargs, episodes)
        references[run.task].add(round(found[key], 6))
    for task, values in references.items():
        if len(values) > 1:
            raise ValueError(f"the runs of {_task_name(task)} play envs on which random actions "
                             f"score differently ({sorted(values)}): report one setting per "
                             f"root")
    return {task: values.pop() for task, values in references.items()}


def normalised_returns(runs: list[Run], references: dict[tuple[str, bool], float]
                       ) -> dict[int, float]:
    """Per run (by ``id``), its final return normalised in its task: 0 random, 1 the best run.

    A task where no run beats random actions scores every run 0.
    """
    by_task: dict[tuple[str, bool], list[Run]] = defaultdict(list)
    for run in runs:
        by_task[run.task].append(run)
    scores = {}
    for task, group in by_task.items():
        low = references[task]
        span = max(r.final_return for r in group) - low
        for run in group:
            scores[id(run)] = (run.final_return - low) / span if span > 0 else 0.0
    return scores


# --- Markdown ----------------------------------------------------------------------------------

def _spread(values: list[float | None], scale: float = 1.0, digits: int = 2,
            unit: str = "") -> str:
    present = np.array([v for v in values if v is not None and v == v], dtype=float) * scale
    if not len(present):
        return "-"
    if len(present) == 1:
        return f"{present[0]:.{digits}f}{unit}"
    return f"{present.mean():.{digits}f} ± {present.std(ddof=1):.{digits}f}{unit}"


def _runs_note(runs: list[Run]) -> str:
    """The line above a table: its number of runs (their commands and commits are in Settings)."""
    return f"*{len(runs)} runs; their commands and commits are under [Settings](#settings).*"


def _label(agent: str, encoding: str) -> str:
    return f"{agent} / {encoding}"


def _task_name(task: tuple[str, bool]) -> str:
    return f"{task[0]}, accompaniment {'on' if task[1] else 'off'}"


def _cells(runs: list[Run]) -> dict[tuple, list[Run]]:
    cells: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        cells[(*run.task, *run.method)].append(run)
    return cells


def return_tables(runs: list[Run]) -> list[str]:
    """Per task, a table of the final return, the training return and each reward term."""
    lines = []
    for task in sorted({r.task for r in runs}):
        group = [r for r in runs if r.task == task]
        terms = sorted({t for r in group for t in r.scalars if t.startswith(TERM_PREFIX)})
        lines += [f"### {_task_name(task)}", "", _runs_note(group), "",
                  "| agent / encoding | seeds | final return | training return |" +
                  "".join(f" {t[len(TERM_PREFIX):]} per step |" for t in terms),
                  "|---|---|---|---|" + "---|" * len(terms)]
        for (_, _, agent, encoding), cell in sorted(_cells(group).items()):
            last = {t: [r.scalars[t][1][-1] if t in r.scalars else None for r in cell]
                    for t in [RETURN_TAG, *terms]}
            lines.append(f"| {_label(agent, encoding)} | {len(cell)} | "
                         f"{_spread([r.final_return for r in cell])} | "
                         f"{_spread(last[RETURN_TAG])} |" +
                         "".join(f" {_spread(last[t], digits=3)} |" for t in terms))
        lines.append("")
    return lines


def statistics_tables(runs: list[Run]) -> list[str]:
    """Per task, a table of the RL Tuner statistics of each cell's final models."""
    lines = []
    for task in sorted({r.task for r in runs}):
        group = [r for r in runs if r.task == task]
        lines += [f"### {_task_name(task)}", "", _runs_note(group), "",
                  "| agent / encoding | " + " | ".join(STATISTICS.values()) + " |",
                  "|---|" + "---|" * len(STATISTICS)]
        for (_, _, agent, encoding), cell in sorted(_cells(group).items()):
            cells = [_spread([r.stats.get(name) for r in cell], digits=3)
                     if name.startswith("mean autocorrelation") else
                     _spread([r.stats.get(name) for r in cell], scale=100, digits=1, unit="%")
                     for name in STATISTICS]
            lines.append(f"| {_label(agent, encoding)} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def aggregate_tables(runs: list[Run], reps: int, seed: int,
                     references: dict[tuple[str, bool], float]) -> list[str]:
    """The IQM of each agent x encoding and the probability of improvement between encodings."""
    scores = normalised_returns(runs, references)
    methods: dict[tuple, dict[tuple, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        methods[run.method][run.task].append(scores[id(run)])
    lines = ["### Interquartile mean", "", _runs_note(runs), "",
             "| agent / encoding | IQM | 95% CI | runs | tasks |", "|---|---|---|---|---|"]
    for method in sorted(methods):
        tasks = [np.array(v) for _, v in sorted(methods[method].items())]
        point, low, high = iqm_interval(tasks, reps, rng=seeded_rng(seed, f"iqm {method}"))
        lines.append(f"| {_label(*method)} | {point:.3f} | [{low:.3f}, {high:.3f}] | "
                     f"{sum(map(len, tasks))} | {len(tasks)} |")
    pairs = [(x, y) for i, x in enumerate(sorted(methods)) for y in sorted(methods)[i + 1:]
             if x[0] == y[0] or MEMORY in (x, y)]
    lines += ["", "### Probability of improvement", "", _runs_note(runs), "",
              "| X | Y | P(X > Y) | 95% CI | tasks |", "|---|---|---|---|---|"]
    for x, y in pairs:
        common = sorted(set(methods[x]) & set(methods[y]))
        if not common:
            continue
        point, low, high = improvement_interval(
            [np.array(methods[x][t]) for t in common], [np.array(methods[y][t]) for t in common],
            reps, rng=seeded_rng(seed, f"poi {x} {y}"))
        lines.append(f"| {_label(*x)} | {_label(*y)} | {point:.3f} | [{low:.3f}, {high:.3f}] | "
                     f"{len(common)} |")
    return lines + [""]


def _curve(runs: list[Run]) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, values per seed) on the steps every seed covers (interpolated)."""
    curves = [r.scalars[RETURN_TAG] for r in runs if RETURN_TAG in r.scalars]
    if not curves:
        return None
    low, high = max(c[0][0] for c in curves), min(c[0][-1] for c in curves)
    steps = np.unique(np.concatenate([c[0] for c in curves]))
    steps = steps[(steps >= low) & (steps <= high)]
    return steps, np.stack([np.interp(steps, *c) for c in curves])


MARKERS = "osD^v<>p"
"""A hollow marker per line of a panel, so that lines on the same points stay told apart."""


def _covering(curves: list[tuple[np.ndarray, np.ndarray]]) -> list[int]:
    """Per curve, how many curves drawn after it lie on it (the same steps and means)."""
    def same(a: tuple, b: tuple) -> bool:
        return a[0].shape == b[0].shape and np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])

    return [sum(same(curve, later) for later in curves[i + 1:]) for i, curve in enumerate(curves)]


def _panel(axes: Any, cells: dict[tuple, list[Run]], agent: str) -> None:
    """One panel: per encoding the mean over seeds, banded from the lowest to the highest seed.

    The memory baseline is dashed. Lines that coincide (a quick grid's, say) stay visible: each
    is drawn wider than the ones drawn over it, with a hollow marker of its own, larger too.
    """
    shown = [(key, style) for key, style in
             [(key, "-") for key in cells if key[2] == agent] +
             [(key, "--") for key in cells if key[2:] == MEMORY and agent != MEMORY[0]]]
    drawn = [(key, style, curve) for key, style in sorted(shown)
             if (curve := _curve(cells[key])) is not None]
    covering = _covering([(steps, values.mean(axis=0)) for _, _, (steps, values) in drawn])
    for index, ((key, style, (steps, values)), under) in enumerate(zip(drawn, covering,
                                                                       strict=True)):
        label = key[3] if style == "-" else f"{key[3]} + LSTM ({key[2]})"
        every = max(1, len(steps) // 10)
        line, = axes.plot(steps, values.mean(axis=0), style, label=label,
                          linewidth=1.5 + 1.5 * under, marker=MARKERS[index % len(MARKERS)],
                          markersize=5 + 3 * under, fillstyle="none",
                          markevery=(index % every, every))
        axes.fill_between(steps, values.min(axis=0), values.max(axis=0),
                          color=line.get_color(), alpha=0.2, linewidth=0)


def learning_curves(runs: list[Run], folder: Path, prefix: str) -> list[Path]:
    """One PNG per agent x reward, a panel per accompaniment setting, a line per encoding."""
    # heavy: matplotlib loads slowly and only this path needs it
    from matplotlib.figure import Figure

    written = []
    for agent, reward in sorted({(r.agent, r.reward) for r in runs}):
        settings = sorted({r.accompaniment for r in runs if (r.agent, r.reward) == (agent, reward)})
        figure = Figure(figsize=(5.5 * len(settings), 4), layout="constrained")
        for axes, accompaniment in zip(figure.subplots(1, len(settings), squeeze=False)[0],
                                       settings, strict=True):
            _panel(axes, _cells([r for r in runs if r.task == (reward, accompaniment)]), agent)
            axes.set(title=f"{agent}, {_task_name((reward, accompaniment))}", xlabel="env steps",
                     ylabel="training return (ep_rew_mean)")
            axes.grid(alpha=0.3)
            if axes.lines:
                axes.legend()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{prefix}_{agent}_{reward.replace('+', '-')}.png"
        figure.savefig(path, dpi=100, metadata={"Software": None})
        written.append(path)
    return written


def settings_section(runs: list[Run], root: Path, command: str) -> list[str]:
    """The Settings section: the runs' and the page's commands, the commits, each agent's settings.

    Said once here; the tables below name only their number of runs.
    """
    commands = sorted({portable_command(r.grid_command, root) if r.grid_command
                       else "(not recorded)" for r in runs})
    commits = sorted({r.git_commit for r in runs})
    lines = ["## Settings", "", "Made by these commands (the grid's, then the report's); every "
             "table below is of these runs:", "", "```bash", *commands,
             portable_command(command, root), "```", "",
             "At git commit " + ", ".join(f"`{c}`" for c in commits) + ".", "",
             "| agent | steps | env arguments | hyperparameter overrides | eval episodes |",
             "|---|---|---|---|---|"]
    for agent, setting in sorted({(r.agent, r.setting) for r in runs}):
        steps, env_kwargs, hyperparams, episodes = setting
        lines.append(f"| {agent} | {steps:,} | {' '.join(env_kwargs) or '-'} | "
                     f"{' '.join(hyperparams) or '-'} | {episodes} |")
    return lines


def write_report(root: Path, out: Path, images: Path | None = None, reps: int = 50_000,
                 seed: int = 0, command: str | None = None,
                 title: str = "Encodings: binary, count, decay and binary_stack",
                 force: bool = False) -> Path:
    """Writes the report of the finished cells under ``root`` to ``out`` (and its PNGs).

    Raises:
        ValueError: If ``root`` has no finished cell or mixes settings (:func:`load_runs`), or
            ``out`` is a page made from more runs than ``root`` has and ``force`` is not set
            (:func:`~benchmarks.report_page.check_overwrite`): before anything is written.
    """
    runs = load_runs(root)
    check_overwrite(out, len(runs), force)
    images = images or out.parent / "images"
    pictures = learning_curves(runs, images, out.stem)
    relative = [_relative(p, out.parent) for p in pictures]
    references = random_references(runs)
    spans = {task: (references[task], max(r.final_return for r in runs if r.task == task))
             for task in sorted(references)}
    lines = [f"# {title}", "", RUN_COUNT_MARK.format(len(runs)), "",
             f"{len(runs)} finished runs under `{display_path(root)}`, of "
             f"{len({(*r.method, *r.task) for r in runs})} cells (agent x encoding x reward x "
             f"accompaniment). Each number is the mean ± the standard deviation over seeds. "
             f"The *final return* is the mean episode return of the final model over the run's "
             f"evaluation episodes (`stats.json`); the *training return* and the reward terms "
             f"(each term's mean per step) are the last values logged in training "
             f"(`rollout/ep_rew_mean`, `reward_terms/*`).", "",
             *settings_section(runs, root, command or shlex.join(
                 ["python", "-m", "benchmarks.report", "--root", str(root), "--out", str(out)]))]
    lines += ["", "## Final return and reward terms", "", *return_tables(runs),
              "## RL Tuner statistics", "", "Of the final models' melodies (`stats.json`); "
              "fractions as percentages, autocorrelations as coefficients.", "",
              *statistics_tables(runs), "## Learning curves", "", _runs_note(runs), "",
              "The mean over seeds; the band spans the lowest to the highest seed. "
              "`binary_stack` is the frame-stacked memory baseline (the binary snapshots of "
              "the last four 16ths); a dashed line is the LSTM memory baseline (RecurrentPPO "
              "on the binary encoding), where the grid has it.", ""]
    lines += [f"![{Path(p).stem}]({p})" for p in relative] + [""]
    lines += ["## Aggregate: IQM and probability of improvement", "",
              "With rliable's definitions (Agarwal et al., *Deep RL at the Edge of the "
              "Statistical Precipice*, 2021), computed with numpy (`benchmarks/report.py`). A "
              "*task* is a reward x accompaniment setting; the score of a run is its final "
              "return normalised in its task, 0 at the mean return of uniformly random "
              f"actions ({RANDOM_EPISODES:,} episodes) and 1 at the task's best run in this "
              "grid, as Atari scores are random- and human-normalised (a run worse than random "
              "scores below 0): " +
              "; ".join(f"{_task_name(task)} [{low:.2f}, {high:.2f}]"
                        for task, (low, high) in spans.items()) +
              f". The IQM is the mean of the middle 50% of an agent x encoding's scores over "
              f"every run of every task; its 95% interval is the percentile interval of "
              f"{reps:,} stratified bootstrap resamples (runs resampled within each task). "
              f"P(X > Y) is, per task, the probability that a run of X scores above a run of "
              f"Y (ties half; the Mann-Whitney U over the number of pairs), averaged over "
              f"tasks, with X's and Y's runs resampled independently for its interval. It "
              f"compares the encodings of each agent, and each of them with the memory "
              f"baseline.", "", *aggregate_tables(runs, reps, seed, references)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines).rstrip() + "\n")
    return out


def _relative(path: Path, start: Path) -> str:

    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def build_parser() -> argparse.ArgumentParser:
    """The report's arguments."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("benchmarks/runs/encodings"),
                        help="the grid's folder (default benchmarks/runs/encodings)")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/encodings.md"),
                        help="the report (default docs/benchmarks/encodings.md)")
    parser.add_argument("--images", type=Path,
                        help="where the PNGs go (default: images/ beside --out)")
    parser.add_argument("--reps", type=int, default=50_000,
                        help="bootstrap resamples (default 50,000, rliable's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even if it was made from more runs than --root has "
                             "(default: refuse)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Writes the report; prints where."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error(f"--reps must be at least 1, got {args.reps}")
    command = shlex.join(["python", "-m", "benchmarks.report", *argv])
    try:
        out = write_report(args.root, args.out, args.images, args.reps, args.seed, command,
                           force=args.force)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    print(f"wrote {out}")
    return 0


__all__ = ["improvement_interval", "iqm", "iqm_interval", "load_runs",
           "probability_of_improvement", "write_report"]

if __name__ == "__main__":
    sys.exit(main())
