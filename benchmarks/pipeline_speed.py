"""Training and evaluation speed on the batched env, against CartPole in the same process.

Run from the repository root (about 60 seconds on the project's 2-core machines)::

    python -m benchmarks.pipeline_speed            # prints a Markdown table
    python -m benchmarks.pipeline_speed --quick    # smaller counts, for a smoke run

* **Training throughput**: PPO with the bundled YAML hyperparameters in RL Tuner's setting
  (``MelodyEnv-v0``, 32 steps, pitches 48..83, no accompaniment, ``count``, reward
  ``theory+note_rnn``) on the batched env, against the same PPO hyperparameters on
  ``CartPole-v1`` (SB3's ``make_vec_env``, the same number of envs) in the same process. The
  env's share of training time is the batched env's own cost (stepped with random actions,
  Note-RNN included) times the steps, over the training time.
* **Evaluation**: ``mammad evaluate <model> -n 10000`` on that setting's model, as a user runs
  it (a new process: imports, loading, 10,000 compositions, statistics).

Figures are printed, never asserted; the targets are the pipeline issue's.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ENV_ID = "MelodyEnv-v0"
SETTING = {"encoding": "count", "steps": 32, "pitch_range": [48, 83], "accompaniment": None,
           "reward": "theory+note_rnn"}


def training_rate(env: Any, hyperparams: dict[str, Any], steps: int) -> float:
    """PPO env steps per second on a VecEnv, after one rollout of warm-up."""
    from stable_baselines3 import PPO

    from agents.hyperparams import resolve

    model = PPO("MlpPolicy", env, seed=0, device="cpu", **resolve(hyperparams))
    model.learn(model.n_steps * env.num_envs)  # warm-up: numba, torch, the first rollout
    started = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - started), model


def env_rate(n_envs: int, seconds: float) -> float:
    """Env steps per second of the batched env with its rewards, random actions."""
    import numpy as np

    from rewards import make_vector_env

    envs = make_vector_env(n_envs, **SETTING)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, envs.single_action_space.n,
                                                size=(64, n_envs))
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        envs.step(actions[calls % 64])
        calls += 1
    return calls * n_envs / (time.perf_counter() - started)


def evaluation_seconds(model: Any, hyperparams: dict[str, Any], episodes: int) -> float:
    """Wall seconds of ``mammad evaluate <model> -n episodes`` in a new process."""
    from agents.runs import write_config

    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        model.save(run / "model.zip")
        write_config(run, {"agent": "ppo", "env": ENV_ID, "env_kwargs": SETTING, "seed": 0,
                           "steps": int(model.num_timesteps), "hyperparams": hyperparams,
                           "batched": True})
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "agents.cli", "evaluate", str(run / "model.zip"),
                        "-n", str(episodes), "--no-progress"], check=True,
                       capture_output=True, text=True)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args(argv)

    import torch
    from stable_baselines3.common.env_util import make_vec_env

    import mammad_envs  # noqa: F401 (registers the ids)
    from agents import make_training_env
    from agents.hyperparams import load_hyperparams

    torch.set_num_threads(1)
    steps = 8_192 if args.quick else 65_536
    episodes = 500 if args.quick else 10_000
    hyperparams = load_hyperparams("ppo", ENV_ID)
    n_envs = int(hyperparams.pop("n_envs", 1))
    ours, model = training_rate(make_training_env(ENV_ID, n_envs, 0, SETTING), hyperparams,
                                steps)
    cartpole, _ = training_rate(make_vec_env("CartPole-v1", n_envs=n_envs, seed=0),
                                hyperparams, steps)
    env_only = env_rate(n_envs, 1.0 if args.quick else 3.0)
    ratio = ours / cartpole
    share = ours / env_only
    evaluation = evaluation_seconds(model, dict(hyperparams, n_envs=n_envs), episodes)

    print(f"Measured on {platform.machine()}, Python {platform.python_version()}, torch "
          f"{torch.__version__} on one thread, {time.strftime('%Y-%m-%d')}; PPO {n_envs} envs, "
          f"{hyperparams}\n")
    print("| figure | value | relative | target |")
    print("|---|---|---|---|")
    print(f"| PPO training, RL Tuner setting, theory+note_rnn, batched env | {ours:,.0f} steps/s "
          f"| {ratio:.2f}x CartPole's | >= 0.85x: {'met' if ratio >= 0.85 else 'not met'} |")
    print(f"| PPO training, CartPole-v1, same hyperparameters | {cartpole:,.0f} steps/s "
          f"| yardstick |  |")
    print(f"| batched env alone, {n_envs} envs, theory+note_rnn | {env_only:,.0f} env-steps/s "
          f"| env share of training time {100 * share:.0f}% | <= 15%: "
          f"{'met' if share <= 0.15 else 'not met'} |")
    verdict = f"<= 10 s: {'met' if evaluation <= 10 else 'not met'}" if episodes == 10_000 else ""
    print(f"| mammad evaluate -n {episodes:,} (new process) | {evaluation:.1f} s | "
          f"{episodes / evaluation:,.0f} compositions/s | {verdict} |")


if __name__ == "__main__":
    main()
