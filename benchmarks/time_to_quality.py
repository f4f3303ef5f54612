"""Time to RL Tuner's Q quality: wall time from process start to a model that plays like Q.

Run from the repository root (about 20 seconds on the project's 2-core machines)::

    python -m benchmarks.time_to_quality                      # PPO, the bundled YAML
    python -m benchmarks.time_to_quality --agent dqn --max-steps 300000
    python -m benchmarks.time_to_quality --hyperparams learning_rate=1e-3 n_epochs=4
    python -m benchmarks.time_to_quality --agent note_rnn_ppo   # from the Note-RNN, KL control

An agent may come with settings of this benchmark's own (:data:`AGENT_DEFAULTS`: the cadence of
evaluations and hyperparameters over its YAML's, under those given on the command line):
``note_rnn_ppo`` updates every 8 steps with a KL coefficient of 0.3 and is evaluated every
4,096 steps.

It trains an agent in RL Tuner's setting (``MelodyEnv-v0`` with 32 steps, pitches 48..83, no
accompaniment, the ``count`` encoding, reward ``theory+note_rnn`` with the Note-RNN trained in
that range, ``--note-rnn-model rl_tuner``) on the batched env, as
``mammad train`` does, and every ``--eval-every`` steps plays ``--episodes`` compositions and
computes their RL Tuner statistics (and, once those meet their bars, the melodies' mean
Note-RNN log-likelihood per step, under the full model as ``NoteRNN.log_prob`` gives it; a
dash before). It stops at the first
evaluation that meets every bar of :data:`BARS` (what RL Tuner's Q reaches in its Table 1,
rounded) and the log-likelihood bar: no worse than the Note-RNN's own samples' minus
:data:`LIKELIHOOD_MARGIN` nats per step. The wall time counts everything in the process:
imports, building the agent and the envs, training and the evaluations; so does the process
time printed beside it (CPU seconds of this process, ``time.process_time``), which other jobs
on the machine change less. A Note-RNN reward's worker process is not counted in it.

It prints the curve (quality against wall time) and writes a run folder (``--out``) with
``model.zip`` and ``config.yml``, so ``mammad evaluate <out>/model.zip -n 10000`` reads it,
and ``curve.json``. Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import time

# The other imports are inside the functions ("timed from process start"): the clock falls back
# to this module's import time (process_start), so they must run after it starts.


def process_start() -> float:
    """The wall-clock time this process started (Linux's /proc; else this module's import)."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            since_boot = float(uptime.read().split()[0])
        return time.time() - since_boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


STARTED = process_start()

import argparse  # noqa: E402  (the clock starts before the imports)
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.grid_cli import add_theory_weight, positive_int  # noqa: E402

ENV_ID = "MelodyEnv-v0"
SETTING = {"encoding": "count", "steps": 32, "pitch_range": [48, 83], "accompaniment": None}
"""RL Tuner's setting: one octave and a half around middle C, two bars, no accompaniment."""
REWARD = "theory+note_rnn"
KL_REWARD = "theory"
"""The reward of an agent under KL control (one whose YAML has ``kl_coef``, such as
``note_rnn_ppo``): its KL penalty ``kl_coef * (log pi - log p_ref)`` holds the Note-RNN's
``log p(a|s)`` already, so the reward leaves ``note_rnn`` out; its ``note_rnn`` hyperparameter
is set to ``--note-rnn-model``."""
NOTE_RNN = "rl_tuner"
"""The Note-RNN of the reward and of the likelihood bar: the shipped one trained in RL Tuner's
range (MIDI 48..83) only, as RL Tuner's was."""
THEORY_WEIGHT = 1.0
"""The theory reward's weight: RL Tuner's reward is ``log p(a|s) + r_MT / c`` (the paper's
results are for ``c = 0.5``, its code uses ``c = 1``); ``--theory-weight 2`` is the paper's."""

BARS = {
    "notes excessively repeated": ("<=", 0.01),
    "notes not in key": ("<=", 0.01),
    "leaps resolved": (">=", 0.90),
    "notes in motif": (">=", 0.70),
    "compositions starting with tonic": (">=", 0.25),
}
"""RL Tuner's Q column of Table 1, rounded: the statistics a model must reach."""
AGENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "note_rnn_ppo": {"eval_every": 4096,
                     "hyperparams": ["n_steps=8", "batch_size=256", "kl_coef=0.3"]},
}
"""The benchmark's own settings per agent, under ``--eval-every`` and ``--hyperparams`` given
on the command line. ``note_rnn_ppo``: updates every 8 steps of its 32 envs, on one minibatch of
256, 4 epochs, a KL coefficient of 0.3, an evaluation every 4,096 steps. Chosen by process time
to Q quality over seeds (docs/benchmarks/pipeline.md): against the YAML's 32 steps, minibatches
of 512 and ``kl_coef`` 1, it reaches the bars in a median of 12,288 steps over 16 seeds instead
of 32,768, the log-likelihood above its bar by 0.085 nat at the closest (seed 8)."""
LIKELIHOOD_MARGIN = 1.0
"""Nats per step a model may lose against the Note-RNN's own samples."""
SHORT = {"notes excessively repeated": "repeated", "notes not in key": "not in key",
         "leaps resolved": "leaps res.", "notes in motif": "motif",
         "compositions starting with tonic": "tonic start"}


EVAL_EVERY = 8192
"""Env steps between evaluations, unless :data:`AGENT_DEFAULTS` or ``--eval-every`` say."""


def elapsed() -> float:
    """Seconds since the process started."""
    return time.time() - STARTED


def meets(table: dict[str, float], likelihood: float, reference: float) -> bool:
    """Whether an evaluation meets every bar."""
    for name, (direction, bar) in BARS.items():
        value = table[name]
        if value != value or (value > bar if direction == "<=" else value < bar):  # NaN fails
            return False
    return likelihood >= reference - LIKELIHOOD_MARGIN


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="ppo", help="a registered agent (default ppo)")
    parser.add_argument("--max-steps", type=positive_int, default=200_000,
                        help="give up after this many env steps (default 200,000)")
    parser.add_argument("--eval-every", type=positive_int,
                        help=f"env steps between evaluations (default {EVAL_EVERY:,}; "
                             f"{AGENT_DEFAULTS['note_rnn_ppo']['eval_every']:,} for "
                             f"note_rnn_ppo)")
    parser.add_argument("--episodes", type=positive_int, default=1000,
                        help="compositions per evaluation (default 1,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-envs", type=positive_int, help="envs (default: the YAML's)")
    parser.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override the YAML hyperparameters (and the benchmark's own for "
                             "the agent, AGENT_DEFAULTS)")
    parser.add_argument("--reward", choices=(REWARD, KL_REWARD),
                        help=f"the reward (default {REWARD!r}; {KL_REWARD!r} for agents under "
                             f"KL control, whose penalty holds the Note-RNN's log p(a|s))")
    add_theory_weight(parser, THEORY_WEIGHT)
    parser.add_argument("--note-rnn-model", default=NOTE_RNN, metavar="PATH_OR_NAME",
                        help=f"the Note-RNN of the reward and the likelihood bar: a weights "
                             f"file, or a shipped model's name, 'default' or 'rl_tuner' "
                             f"(default {NOTE_RNN!r}: trained in MIDI 48..83 only)")
    parser.add_argument("--scalar-envs", action="store_true",
                        help="train on scalar envs (the slow path, for comparison)")
    parser.add_argument("--no-stop", action="store_true",
                        help="train on to --max-steps after reaching the bars (to see whether "
                             "the quality holds)")
    parser.add_argument("--deterministic", action="store_true",
                        help="evaluate greedy actions instead of samples")
    parser.add_argument("--out", type=Path, default=Path("runs") / "time_to_quality",
                        help="run folder for the model it stops at (default runs/time_to_quality)")
    return parser


def training_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The agent's hyperparameters, the env's arguments and reward, the envs to train on."""
    from agents.hyperparams import load_hyperparams, parse_overrides  # timed from process start
    from agents.registry import agent_spec  # timed from process start

    hyperparams = load_hyperparams(args.agent, ENV_ID)
    kl_control = "kl_coef" in hyperparams
    if "note_rnn" in hyperparams:
        hyperparams["note_rnn"] = args.note_rnn_model
    own = AGENT_DEFAULTS.get(args.agent, {})
    hyperparams.update(parse_overrides([*own.get("hyperparams", []), *args.hyperparams]))
    reward = args.reward or (KL_REWARD if kl_control else REWARD)
    env_kwargs = dict(SETTING, reward=reward, reward_weights={"theory": args.theory_weight})
    if "note_rnn" in reward:
        env_kwargs["reward_weights"]["note_rnn"] = 1.0
        env_kwargs["reward_kwargs"] = {"note_rnn": {"model": args.note_rnn_model}}
    if args.n_envs is not None:
        hyperparams["n_envs"] = args.n_envs
    n_envs = int(hyperparams.pop("n_envs", 1))
    batched = agent_spec(args.agent).batched and not args.scalar_envs
    return {"hyperparams": hyperparams, "env_kwargs": env_kwargs, "reward": reward,
            "n_envs": n_envs, "batched": batched}


class Evaluator:
    """Plays ``--episodes`` compositions of a model and checks them against the bars.

    Args:
        args: The benchmark's arguments.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        import numpy as np  # timed from process start

        from rewards.note_rnn.batched import load_note_rnn  # timed from process start

        self.args = args
        self.note_rnn = load_note_rnn(args.note_rnn_model)
        # The samples' log-likelihood read off the sampling steps: a second pass
        # (NoteRNN.log_prob) gives the same to 1e-6 and costs about 0.5 s.
        _, scores = self.note_rnn.sample_scored(args.episodes, SETTING["steps"], seed=args.seed)
        self.reference = float(np.mean(scores))
        self.curve: list[dict[str, Any]] = []
        self._envs: dict[int, Any] = {}

    def envs(self, num_envs: int) -> Any:
        """A vector env of the setting, without reward (melodies only), made once per size."""
        from mammad_envs.compat import make_vector  # timed from process start

        if num_envs not in self._envs:
            self._envs[num_envs] = make_vector(ENV_ID, num_envs, **SETTING, reward=None)
        return self._envs[num_envs]

    def __call__(self, model: Any, steps: int) -> bool:
        """Evaluates the model (a point of the curve, printed); whether it met every bar."""
        import numpy as np  # timed from process start

        from agents.rollouts import play_episodes  # timed from process start
        from rewards import metrics  # timed from process start

        melodies, _, _ = play_episodes(model, self.envs, self.args.episodes,
                                       self.args.deterministic, seed=self.args.seed)
        table = metrics.evaluate(melodies)
        # The log-likelihood (a forward pass of the Note-RNN over every melody) is computed
        # once the statistics meet their bars: before that it cannot change the verdict.
        statistics_met = meets(table, 0.0, self.reference)
        likelihood = float(np.mean(np.concatenate(self.note_rnn.log_prob(melodies)))) \
            if statistics_met else None
        point = {"seconds": round(elapsed(), 2), "process_seconds": round(time.process_time(), 2),
                 "steps": steps, **{name: table[name] for name in BARS},
                 "log-likelihood": likelihood,
                 "met": statistics_met and meets(table, likelihood, self.reference)}
        self.curve.append(point)
        cells = "  ".join(f"{SHORT[name]} {100 * table[name]:5.1f}%" for name in BARS)
        shown = "     -" if likelihood is None else f"{likelihood:6.3f}"
        print(f"{point['seconds']:7.1f} s ({point['process_seconds']:6.1f} s cpu) {steps:>8,} "
              f"steps  {cells}  log-lik {shown}{'  <- Q quality' if point['met'] else ''}",
              flush=True)
        return point["met"]


def evaluate_every(evaluator: Evaluator, args: argparse.Namespace) -> Any:
    """The training callback: evaluates every ``--eval-every`` steps, stops at the bars."""
    from stable_baselines3.common.callbacks import BaseCallback  # timed from process start

    class EvaluateEvery(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next = args.eval_every
            self.reached: dict[str, Any] | None = None  # the first evaluation that met the bars

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next:
                return True
            self.next += args.eval_every
            if evaluator(self.model, self.num_timesteps) and self.reached is None:
                self.reached = evaluator.curve[-1]
                if not args.no_stop:
                    self.model.save(args.out / "model.zip")
                    return False
            return True

    return EvaluateEvery()


def report(args: argparse.Namespace, result: dict[str, Any], steps: int) -> None:
    """Prints where the bars were met (or not) and where the model is."""
    reached, curve = result["reached_at"], result["curve"]
    if reached is not None:
        print(f"\nreached Q quality at {result['seconds']:.1f} s wall, "
              f"{result['process_seconds']:.1f} s of process time ({result['steps']:,} steps)")
    else:
        print(f"\nnot reached within {steps:,} steps ({elapsed():.1f} s)")
    if reached is not None and args.no_stop:
        held = sum(point["met"] for point in curve if point["steps"] >= reached["steps"])
        later = sum(point["steps"] >= reached["steps"] for point in curve)
        print(f"the bars held at {held} of the {later} evaluations from then on")
    saved = "the final model" if args.no_stop or reached is None else "the model it stopped at"
    print(f"{saved}: {args.out / 'model.zip'}  (mammad evaluate {args.out / 'model.zip'} "
          f"-n 10000)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments, ``--eval-every`` filled in from :data:`AGENT_DEFAULTS` if not given."""
    args = build_parser().parse_args(argv)
    if args.eval_every is None:
        args.eval_every = AGENT_DEFAULTS.get(args.agent, {}).get("eval_every", EVAL_EVERY)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark; returns what it printed, as a dict."""
    args = parse_args(argv)

    import torch  # timed from process start

    from agents import make_agent, make_training_env  # timed from process start
    from agents.runs import git_commit, versions, write_config  # timed from process start

    torch.set_num_threads(1)
    chosen = training_settings(args)
    evaluator = Evaluator(args)
    env = make_training_env(ENV_ID, chosen["n_envs"], args.seed, chosen["env_kwargs"],
                            batched=chosen["batched"])
    model = make_agent(args.agent, env, seed=args.seed, hyperparams=chosen["hyperparams"])
    print(f"time to RL Tuner's Q quality: {args.agent} on {ENV_ID} {SETTING}, reward "
          f"{chosen['reward']} (theory x {args.theory_weight:g}, Note-RNN "
          f"{args.note_rnn_model}), {chosen['n_envs']} "
          f"{'batched' if chosen['batched'] else 'scalar'} envs, seed {args.seed}")
    print(f"bars: {', '.join(f'{SHORT[n]} {d} {100 * b:g}%' for n, (d, b) in BARS.items())}, "
          f"log-likelihood >= {evaluator.reference:.3f} - {LIKELIHOOD_MARGIN:g} (Note-RNN "
          f"samples'); set up in {elapsed():.1f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    callback = evaluate_every(evaluator, args)
    model.learn(args.max_steps, callback=callback)
    if callback.reached is None and evaluator(model, int(model.num_timesteps)):
        callback.reached = evaluator.curve[-1]
    if callback.reached is None or args.no_stop:
        model.save(args.out / "model.zip")
    reached = callback.reached
    result = {"agent": args.agent, "env": ENV_ID, "env_kwargs": chosen["env_kwargs"],
              "hyperparams": chosen["hyperparams"], "n_envs": chosen["n_envs"],
              "batched": chosen["batched"], "seed": args.seed, "reached": reached is not None,
              **{key: None if reached is None else reached[key]
                 for key in ("seconds", "process_seconds", "steps")},
              "reference log-likelihood": evaluator.reference, "curve": evaluator.curve,
              "command": " ".join(["python -m benchmarks.time_to_quality", *sys.argv[1:]]
                                  if argv is None else argv),
              "machine": f"{platform.machine()}, Python {platform.python_version()}",
              "git_commit": git_commit()}
    write_config(args.out, {"agent": args.agent, "env": ENV_ID,
                            "env_kwargs": chosen["env_kwargs"], "seed": args.seed,
                            "steps": int(model.num_timesteps),
                            "hyperparams": dict(chosen["hyperparams"], n_envs=chosen["n_envs"]),
                            "batched": chosen["batched"], "git_commit": result["git_commit"],
                            "versions": versions()})
    (args.out / "curve.json").write_text(json.dumps(result, indent=2))
    report(args, {**result, "reached_at": reached}, int(model.num_timesteps))
    return result


if __name__ == "__main__":
    main()
