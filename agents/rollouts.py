"""Whole episodes played by an agent on the batched env: what evaluation and sampling run.

Every MammadMelody episode lasts exactly ``steps`` 16ths, so a
:class:`~mammad_envs.vector_env.MelodyVectorEnv` of ``B`` envs plays ``B`` episodes in
``steps`` lockstep steps, with one batched policy call per step.

How an agent plays sampled (not greedy) melodies is :func:`sampling_player`'s choice: a policy
agent samples its policy; a value-based agent (DQN, QR-DQN) samples the softmax of its Q-values
(:class:`QSoftmax`), as RL Tuner's ``generate_music`` does. SB3's own sampled actions for these
agents are epsilon-greedy with the last epsilon of training (0.1 in ``dqn.yml``): exploration
noise, after which a Q-network often holds one note for the rest of the melody.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mammad_envs.data import load_accompaniments
from mammad_envs.vector_env import MelodyVectorEnv

DEFAULT_BATCH = 1024
"""Most envs stepped at once (episodes are split into equal chunks of at most this many)."""


def chunk_sizes(episodes: int, batch: int = DEFAULT_BATCH) -> list[int]:
    """Near-equal chunks of at most ``batch`` episodes, e.g. 10,000 -> 10 x 1,000."""
    if episodes < 1 or batch < 1:
        raise ValueError(f"episodes and batch must be positive, got {episodes} and {batch}")
    chunks = math.ceil(episodes / batch)
    size = math.ceil(episodes / chunks)
    return [min(size, episodes - first) for first in range(0, episodes, size)]


def play_episodes(model: Any, make_vector: Callable[[int], MelodyVectorEnv], episodes: int,
                  deterministic: bool = False, batch: int = DEFAULT_BATCH,
                  progress: bool = False, seed: int = 0
                  ) -> tuple[list[np.ndarray], list[Any], list[float]]:
    """Plays whole episodes with an agent, many at once.

    Episode ``k`` is reset with seed ``seed + k`` (the accompaniment it draws is the one a
    scalar env reset with that seed draws). The agent predicts for the whole batch at once;
    agents whose ``predict`` takes ``action_masks`` (MaskablePPO) get the env's masks, and
    recurrent agents their state.

    Args:
        model: An agent (``predict`` on a batch of observations).
        make_vector: ``make_vector(n)``: a vector env of ``n`` envs (with the rewards whose
            returns are wanted).
        episodes: Number of episodes.
        deterministic: Greedy actions instead of samples.
        batch: Most envs stepped at once.
        progress: Show a progress bar.
        seed: The first episode's seed.

    Returns:
        ``(melodies, accompaniments, returns)``, one per episode, in episode order.
    """
    masked = "action_masks" in inspect.signature(model.predict).parameters
    accompaniments_by_name = {a.name: a for a in load_accompaniments()}
    melodies: list[np.ndarray] = []
    accompaniments: list[Any] = []
    returns: list[float] = []
    envs: MelodyVectorEnv | None = None
    with tqdm(total=episodes, unit="melody", disable=not progress, leave=False) as bar:
        first = 0
        for size in chunk_sizes(episodes, batch):
            if envs is None or envs.num_envs != size:
                envs = make_vector(size)
            observations, infos = envs.reset(seed=[seed + first + i for i in range(size)])
            names = list(infos["accompaniment"])
            events = np.empty((size, envs.template.steps), dtype=np.int16)
            totals = np.zeros(size)
            state, start = None, np.ones(size, dtype=bool)
            for step in range(envs.template.steps):
                extra = {"action_masks": envs.action_masks()} if masked else {}
                actions, state = model.predict(observations, state=state, episode_start=start,
                                               deterministic=deterministic, **extra)
                start = np.zeros(size, dtype=bool)
                observations, rewards, _, _, infos = envs.step(
                    np.asarray(actions, dtype=np.int64).reshape(size))
                events[:, step] = infos["pitch"]
                totals += rewards
            melodies.extend(events)
            accompaniments.extend(accompaniments_by_name.get(name) for name in names)
            returns.extend(totals.tolist())
            first += size
            bar.update(size)
    return melodies, accompaniments, returns


class UniformRandom:
    """An agent whose ``predict`` draws every action uniformly: the random baseline.

    Args:
        n_actions: The env's number of actions.
        seed: Seeds the draws.
    """

    def __init__(self, n_actions: int, seed: int = 0) -> None:
        self.n_actions = n_actions
        self.rng = np.random.default_rng(seed)

    def predict(self, observations: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, None]:
        """Uniform actions for a batch of observations (the arguments beside it are ignored)."""
        return self.rng.integers(self.n_actions, size=len(observations)), None


class QSoftmax:
    """Plays a value-based agent by sampling the softmax of its Q-values (RL Tuner's way).

    Args:
        model: A stable-baselines3 DQN or an sb3-contrib QR-DQN (Q-values: the mean of its
            quantiles).
        seed: Seeds the draws.
    """

    def __init__(self, model: Any, seed: int = 0) -> None:
        self.model = model
        self.rng = np.random.default_rng(seed)

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """``(batch, actions)`` float64 Q-values of a batch of observations."""
        # heavy: torch loads slowly and only this path needs it
        import torch

        with torch.no_grad():
            tensor, _ = self.model.policy.obs_to_tensor(observations)
            if hasattr(self.model, "quantile_net"):
                values = self.model.quantile_net(tensor).mean(dim=1)
            else:
                values = self.model.q_net(tensor)
        return values.double().cpu().numpy()

    def predict(self, observations: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, None]:
        """Actions for a batch of observations (``deterministic``: the greedy ones)."""
        q_values = self.q_values(observations)
        if deterministic:
            return q_values.argmax(axis=1), None
        probabilities = np.exp(q_values - q_values.max(axis=1, keepdims=True))
        cumulative = np.cumsum(probabilities, axis=1)
        draws = self.rng.random(len(q_values))[:, None] * cumulative[:, -1:]
        actions = (cumulative < draws).sum(axis=1)
        return np.minimum(actions, q_values.shape[1] - 1), None


def measure_kl(model: Any) -> Any:
    """A meter of the KL to its reference of what an agent plays from now on, or None.

    Agents fine-tuned under KL control (``note_rnn_ppo``) have one (``measure_kl()``); its
    ``statistics(steps)`` gives the KL per step and per melody for a statistics table.
    """
    start = getattr(model, "measure_kl", None)
    return start() if callable(start) else None


def is_value_based(model: Any) -> bool:
    """Whether an agent acts greedily on Q-values (DQN's ``q_net``, QR-DQN's ``quantile_net``)."""
    return hasattr(model, "q_net") or hasattr(model, "quantile_net")


def sampling_player(model: Any, seed: int = 0) -> Any:
    """The agent as it plays sampled melodies (see the module docstring).

    Args:
        model: A trained agent.
        seed: Seeds a value-based agent's draws.

    Returns:
        A :class:`QSoftmax` of a value-based agent; any other agent itself.
    """
    return QSoftmax(model, seed) if is_value_based(model) else model
