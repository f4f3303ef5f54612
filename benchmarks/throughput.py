"""Throughput of the melody envs, their rewards and evaluation, measured side by side.

Run from the repository root (about 75 seconds on 2 cores)::

    python benchmarks/throughput.py            # prints a Markdown table
    python benchmarks/throughput.py --quick    # smaller counts, for a smoke run
    python benchmarks/throughput.py --note-rnn runs/note_rnn/best.pt   # another Note-RNN

Every figure is measured in this one process, against Gymnasium's ``CartPole-v1`` (unwrapped)
as the yardstick, with torch on one thread. The targets are those of the project's speed work;
a line says whether each is met.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch


def steps_per_second(step: Callable[[], None], seconds: float) -> float:
    """Calls ``step`` for about ``seconds`` and returns calls per second."""
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            step()
        calls += 100
    return calls / elapsed


def scalar_rate(env: gym.Env, seconds: float) -> float:
    """Env steps per second of one env with random actions (resets included)."""
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.action_space.n, size=4096)
    position = [0]

    def step() -> None:
        position[0] = (position[0] + 1) % len(actions)
        _, _, terminated, truncated, _ = env.step(int(actions[position[0]]))
        if terminated or truncated:
            env.reset()

    return steps_per_second(step, seconds)


def vector_rate(num_envs: int, seconds: float, **kwargs) -> float:
    """Env steps per second of a MelodyVectorEnv (steps x num_envs)."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import make_vector_env

    envs = make_vector_env(num_envs, **kwargs)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, envs.single_action_space.n,
                                                size=(64, num_envs))
    position = [0]

    def step() -> None:
        position[0] = (position[0] + 1) % len(actions)
        envs.step(actions[position[0]])

    return steps_per_second(step, seconds) * num_envs


def note_rnn_gflops(batch: int, seconds: float, model: str | None = None
                    ) -> tuple[float, float]:
    """The Note-RNN reward's arithmetic rate, and that of bare matrix products of its shapes.

    Returns:
        ``(model GFLOP/s, bare GFLOP/s)``: the batched LSTM step plus output layer (the floating
        point operations of its matrix products, per second), against ``torch`` matrix products
        of the same shapes alone: the most this machine's one thread can do.
    """
    # heavy: the Note-RNN's modules load torch
    from rewards.note_rnn.batched import BatchedNoteRNN

    lstm = BatchedNoteRNN(21, 108, batch, model=model, overlap=False)  # the step itself
    network = lstm.model
    hidden = network.lstm.hidden_size
    inputs = network.lstm.input_size
    outputs = network.output.out_features
    flops = 2 * batch * ((inputs + hidden) * 4 * hidden + hidden * outputs)
    events = np.random.default_rng(0).integers(21, 109, size=batch)
    model_rate = steps_per_second(lambda: lstm.score(events), seconds)
    x, h = torch.randn(batch, inputs + hidden), torch.randn(batch, hidden)
    w, w_out = torch.randn(inputs + hidden, 4 * hidden), torch.randn(hidden, outputs)
    bare_rate = steps_per_second(lambda: (x @ w, h @ w_out), seconds)
    return model_rate * flops / 1e9, bare_rate * flops / 1e9


def memory_per_env(num_envs: int) -> float:
    """Bytes of array state per env in a MelodyVectorEnv with the theory reward."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import make_vector_env

    envs = make_vector_env(num_envs, reward="theory")
    engine = envs.reward_terms[0].theory.engine
    writer = envs.writer
    arrays = [writer.melodies, writer.current_step, writer.sounding, writer.rows,
              writer.observations, engine.history, engine.state, engine.pitch_counts,
              engine.windows]
    return sum(array.nbytes for array in arrays) / num_envs


def ppo_rates(num_envs: int, steps: int) -> tuple[float, float, float]:
    """PPO steps/s with the batched env and with a DummyVecEnv, and the env's share of time.

    Returns:
        ``(batched steps/s, DummyVecEnv steps/s, env share of the batched run's time)``.
    """
    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3 import PPO

    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3.common.env_util import make_vec_env

    # heavy: mammad_envs.sb3_vec_env loads stable_baselines3, tensorboard
    from mammad_envs.sb3_vec_env import MelodySB3VecEnv

    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import make_vector_env

    kwargs = {"encoding": "count", "reward": "theory"}
    rates = []
    for venv in (MelodySB3VecEnv(make_vector_env(num_envs, **kwargs)),
                 make_vec_env("MelodyEnv-v0", n_envs=num_envs, seed=0, env_kwargs=kwargs)):
        model = PPO("MlpPolicy", venv, n_steps=64, batch_size=256, n_epochs=4, seed=0,
                    device="cpu")
        started = time.perf_counter()
        model.learn(steps)
        rates.append(model.num_timesteps / (time.perf_counter() - started))
    env_only = vector_rate(num_envs, 2.0, **kwargs)
    share = rates[0] / env_only
    return rates[0], rates[1], share


def statistics_seconds(compositions: int) -> float:
    """Seconds to sample compositions of 32 steps from the Note-RNN and compute the table."""
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import metrics

    # heavy: the Note-RNN's modules load torch
    from rewards.note_rnn import NoteRNN

    started = time.perf_counter()
    melodies = NoteRNN.pretrained().sample(compositions, 32, seed=0)
    metrics.evaluate(melodies)
    return time.perf_counter() - started


def main() -> None:
    """Measures and prints every figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument("--note-rnn", metavar="WEIGHTS", default=None,
                        help="measure the Note-RNN rows with this weights file (written by "
                             "python -m rewards.note_rnn.train) instead of the shipped model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seconds = 0.5 if args.quick else 3.0
    import mammad_envs  # noqa: F401 (registers the ids)

    # heavy: the Note-RNN's modules load torch
    from rewards.note_rnn import NoteRNN

    rows = []
    cartpole = scalar_rate(gym.make("CartPole-v1").unwrapped, seconds)
    rows.append(("CartPole-v1, unwrapped", f"{cartpole:,.0f} steps/s", "yardstick", ""))
    bare = scalar_rate(gym.make("MammadMelody-count-v0", reward=None).unwrapped, seconds)
    rows.append(("scalar env, no reward", f"{bare:,.0f} steps/s",
                 f"{cartpole / bare:.1f}x CartPole's time per step", ""))
    # heavy: rewards load numba kernels and torch; arguments are parsed first
    from rewards import TheoryReward

    # Unwrapped, as CartPole: the env and its reward wrapper, without Gymnasium's checkers.
    theory = scalar_rate(TheoryReward(gym.make("MammadMelody-count-v0", reward=None).unwrapped),
                         seconds)
    ratio = cartpole / theory
    rows.append(("scalar env + theory reward (TheoryReward(env.unwrapped))",
                 f"{theory:,.0f} steps/s",
                 f"{ratio:.1f}x CartPole's time per step", "met" if ratio <= 5 else
                 "not met (target <= 5x)"))
    # heavy: the Note-RNN's modules load torch
    from rewards import NoteRNNReward

    note_rnn = scalar_rate(NoteRNNReward(gym.make("MammadMelody-count-v0", reward=None).unwrapped,
                                         model=args.note_rnn), seconds)
    rows.append(("scalar env + Note-RNN reward (NoteRNNReward(env.unwrapped))",
                 f"{note_rnn:,.0f} steps/s", f"{cartpole / note_rnn:.1f}x CartPole's time per "
                 "step", ""))
    for encoding in ("count", "binary", "decay"):
        vector = vector_rate(1024, seconds, encoding=encoding, reward="theory")
        ratio = vector / cartpole
        rows.append((f"vector env N=1024 + theory ({encoding})", f"{vector:,.0f} env-steps/s",
                     f"{ratio:.1f}x CartPole's steps/s", "met" if ratio >= 20 else
                     "not met (target >= 20x)"))
    theory_64 = vector_rate(64, seconds, encoding="count", reward="theory")
    # Back to back with nothing to overlap with, so stepped in the caller's thread.
    both_64 = vector_rate(64, seconds, encoding="count", reward="theory+note_rnn",
                          reward_kwargs={"note_rnn": {"model": args.note_rnn, "overlap": False}})
    bare_64 = vector_rate(64, seconds, encoding="count", reward=None)
    theory_cost = 1 / theory_64 - 1 / bare_64
    rnn_cost = 1 / both_64 - 1 / theory_64
    rows.append(("vector env N=64: Note-RNN cost per env-step", f"{rnn_cost * 1e6:.1f} us",
                 f"theory's: {theory_cost * 1e6:.2f} us",
                 "met" if rnn_cost <= theory_cost else "not met (target <= theory's)"))
    model, peak = note_rnn_gflops(64, seconds, args.note_rnn)
    rows.append(("Note-RNN step, N=64: arithmetic rate", f"{model:.0f} GFLOP/s",
                 f"bare matrix products of its shapes: {peak:.0f} GFLOP/s", ""))
    hidden = torch.zeros(64, 256)
    one_op = 1 / steps_per_second(lambda: torch.sigmoid(hidden), seconds) / 64
    rows.append(("one torch operation on a (64, 256) batch, per env-step",
                 f"{one_op * 1e6:.2f} us", "an LSTM step is about ten of them", ""))
    compositions = 10_000 if args.quick else 100_000
    elapsed = statistics_seconds(compositions)
    target = 60 * compositions / 100_000
    rows.append((f"RL Tuner statistics, {compositions:,} Note-RNN compositions of 32",
                 f"{elapsed:.1f} s", "sampling + statistics",
                 "met" if elapsed < target else f"not met (target < {target:.0f} s)"))
    batched, dummy, share = ppo_rates(16, 2048 if args.quick else 16384)
    rows.append(("PPO, 16 envs: batched env vs DummyVecEnv", f"{batched:,.0f} vs {dummy:,.0f} "
                 "steps/s", f"ratio {batched / dummy:.2f}",
                 f"env share of training time {share:.0%}"
                 + (" (met)" if share < 0.10 else " (target < 10%)")))
    rows.append(("memory per env, N=1024 + theory", f"{memory_per_env(1024):,.0f} bytes", "",
                 ""))
    network = NoteRNN.pretrained() if args.note_rnn is None else NoteRNN.load(args.note_rnn)
    size = sum(p.numel() * p.element_size() for p in network.parameters())
    rows.append(("Note-RNN weights", f"{size / 1e6:.2f} MB", "",
                 "met" if size < 2e6 else "not met (target < 2 MB)"))
    print(f"Measured on {platform.machine()}, {platform.python_version()}, torch on one thread, "
          f"{time.strftime('%Y-%m-%d')}\n")
    print("| figure | value | relative | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
