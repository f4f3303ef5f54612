"""Training and evaluation speed on the batched env, against CartPole in the same process.

Run from the repository root (about 80 seconds on the project's 2-core machines)::

    python -m benchmarks.pipeline_speed            # prints a Markdown table
    python -m benchmarks.pipeline_speed --quick    # smaller counts, for a smoke run
    python -m benchmarks.pipeline_speed --reward theory     # or none: what the rewards cost
    python -m benchmarks.pipeline_speed --thread-worker     # the Note-RNN worker in a thread

* **Training throughput**: PPO with the bundled YAML hyperparameters in RL Tuner's setting
  (``MelodyEnv-v0``, 32 steps, pitches 48..83, no accompaniment, ``count``, reward
  ``theory+note_rnn``) on the batched env, against the same PPO hyperparameters on
  ``CartPole-v1`` (SB3's ``make_vec_env``, the same number of envs) in the same process. The
  env's share of training time is the time the training loop spends in the env's ``step``
  (env, rewards, infos, and waiting for the Note-RNN's worker) over the training time; the
  Note-RNN's LSTM step itself runs in a worker process on the other core
  (:mod:`rewards.note_rnn.background`). For reference, the batched env's rate stepped alone
  with random actions (where nothing overlaps the LSTM step) is printed too.
* **Evaluation**: ``mammad evaluate <model> -n 10000`` on that setting's model, as a user runs
  it (a new process: imports, loading, 10,000 compositions, statistics).

Figures are printed, never asserted; the targets are the pipeline issue's.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

from benchmarks.grid_cli import positive_int

ENV_ID = "MelodyEnv-v0"
SETTING = {"encoding": "count", "steps": 32, "pitch_range": [48, 83], "accompaniment": None,
           "reward": "theory+note_rnn"}


def training_rate(env: Any, hyperparams: dict[str, Any], steps: int
                  ) -> tuple[float, float, Any]:
    """PPO env steps per second on a VecEnv, after one rollout of warm-up.

    Returns:
        ``(steps per second, the env's share of the training time, the model)``.
    """
    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3 import PPO

    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.hyperparams import resolve

    timed = TimedVecEnv(env)
    model = PPO("MlpPolicy", timed, seed=0, device="cpu", **resolve(hyperparams))
    model.learn(model.n_steps * env.num_envs)  # warm-up: numba, torch, the first rollout
    timed.seconds = 0.0
    started = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    elapsed = time.perf_counter() - started
    return steps / elapsed, timed.seconds / elapsed, model


class TimedVecEnv(VecEnvWrapper):
    """A VecEnv with the wall time spent in its ``step_wait`` added up in :attr:`seconds`."""

    seconds = 0.0

    def reset(self) -> Any:
        """Resets the wrapped env."""
        return self.venv.reset()

    def step_wait(self) -> Any:
        """Steps the wrapped env, timed."""
        started = time.perf_counter()
        result = self.venv.step_wait()
        self.seconds += time.perf_counter() - started
        return result


def env_rate(n_envs: int, seconds: float, setting: dict[str, Any]) -> float:
    """Env steps per second of the batched env with its rewards, random actions."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import make_vector_env

    envs = make_vector_env(n_envs, **setting)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, envs.single_action_space.n,
                                                size=(64, n_envs))
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        envs.step(actions[calls % 64])
        calls += 1
    return calls * n_envs / (time.perf_counter() - started)


def evaluation_seconds(model: Any, hyperparams: dict[str, Any], episodes: int,
                       setting: dict[str, Any]) -> float:
    """Wall seconds of ``mammad evaluate <model> -n episodes`` in a new process."""
    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.runs import write_config

    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        model.save(run / "model.zip")
        write_config(run, {"agent": "ppo", "env": ENV_ID, "env_kwargs": setting, "seed": 0,
                           "steps": int(model.num_timesteps), "hyperparams": hyperparams,
                           "batched": True})
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mammad_cli", "evaluate", str(run / "model.zip"),
                        "-n", str(episodes), "--no-progress"], check=True,
                       capture_output=True, text=True)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reward", default=SETTING["reward"],
                        help="the reward of our runs: a registered reward or a '+' list, or "
                             "'none' (default theory+note_rnn)")
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--thread-worker", action="store_true",
                        help="run the Note-RNN's LSTM step in a thread instead of a forked "
                             "process (what it did before), to compare")
    parser.add_argument("--rounds", type=positive_int, default=3, help="training runs of each "
                        "(ours, then CartPole's), alternated; the median is reported (default 3)")
    args = parser.parse_args(argv)

    # heavy: torch loads slowly and only this path needs it
    import torch

    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3.common.env_util import make_vec_env

    import mammad_envs  # noqa: F401 (registers the ids)

    # heavy: the Note-RNN's modules load torch
    import rewards.note_rnn.background

    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents import make_training_env

    # heavy: agents load torch and stable-baselines3; arguments are parsed first
    from agents.hyperparams import load_hyperparams

    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import parse_rewards

    setting = dict(SETTING, reward=None if args.reward == "none" else args.reward)
    try:
        reward = "+".join(parse_rewards(setting["reward"])) or "no reward"
    except ValueError as error:
        parser.error(str(error))
    if args.thread_worker:
        rewards.note_rnn.background.FORKS = False
    torch.set_num_threads(1)
    steps = 8_192 if args.quick else 65_536
    episodes = 500 if args.quick else 10_000
    hyperparams = load_hyperparams("ppo", ENV_ID)
    n_envs = int(hyperparams.pop("n_envs", 1))
    ours, cartpole, ratios, shares, cartpole_shares = [], [], [], [], []
    for _ in range(args.rounds):  # alternated, so a machine's drift touches both alike
        rate, share, model = training_rate(make_training_env(ENV_ID, n_envs, 0, setting),
                                           hyperparams, steps)
        yardstick, yardstick_share, _ = training_rate(
            make_vec_env("CartPole-v1", n_envs=n_envs, seed=0), hyperparams, steps)
        ours.append(rate)
        cartpole.append(yardstick)
        ratios.append(rate / yardstick)
        shares.append(share)
        cartpole_shares.append(yardstick_share)
    env_only = env_rate(n_envs, 1.0 if args.quick else 3.0, setting)
    evaluation = evaluation_seconds(model, dict(hyperparams, n_envs=n_envs), episodes, setting)
    ratio, share = statistics.median(ratios), statistics.median(shares)

    print(f"Measured on {platform.machine()}, Python {platform.python_version()}, torch "
          f"{torch.__version__} on one thread, {time.strftime('%Y-%m-%d')}; PPO {n_envs} envs, "
          f"{hyperparams}; {steps:,} steps a run, median of {args.rounds} alternated runs"
          f"{'; the Note-RNN worker in a thread' if args.thread_worker else ''}\n")
    print("| figure | value | relative | target |")
    print("|---|---|---|---|")
    print(f"| PPO training, RL Tuner setting, {reward}, batched env | "
          f"{statistics.median(ours):,.0f} steps/s | {ratio:.2f}x CartPole's (runs: "
          f"{', '.join(f'{each:.2f}' for each in ratios)}) | >= 0.85x: "
          f"{'met' if ratio >= 0.85 else 'not met'} |")
    print(f"| PPO training, CartPole-v1, same hyperparameters | "
          f"{statistics.median(cartpole):,.0f} steps/s | yardstick |  |")
    print(f"| env share of training time (in the env's step), {reward} | "
          f"{100 * share:.1f}% | CartPole's: {100 * statistics.median(cartpole_shares):.1f}% | "
          f"<= 15%: {'met' if share <= 0.15 else 'not met'} |")
    print(f"| batched env stepped alone, {n_envs} envs, {reward} | "
          f"{env_only:,.0f} env-steps/s | "
          f"{'nothing to overlap the LSTM step with' if 'note_rnn' in reward else ''} |  |")
    verdict = f"<= 10 s: {'met' if evaluation <= 10 else 'not met'}" if episodes == 10_000 else ""
    print(f"| mammad evaluate -n {episodes:,} (new process) | {evaluation:.1f} s | "
          f"{episodes / evaluation:,.0f} compositions/s | {verdict} |")


if __name__ == "__main__":
    main()
