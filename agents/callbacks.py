"""The callbacks of a training run: reward terms to TensorBoard, and the latest checkpoint.

Apart from :mod:`agents.runs` because they import stable-baselines3 (and so torch): reading and
checking a run folder does not need them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from stable_baselines3.common import callbacks as sb3_callbacks
from stable_baselines3.common.callbacks import BaseCallback, ProgressBarCallback

from agents.runs import LATEST, save_model_atomically

__all__ = ["LatestCheckpoint", "RewardTermLogger"]


class RewardTermLogger(BaseCallback):
    """Logs the mean of every ``info["reward_terms"]`` entry as ``reward_terms/<name>``."""

    def __init__(self) -> None:
        super().__init__()
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            for name, value in info.get("reward_terms", {}).items():
                self._sums[name] += float(value)
                self._counts[name] += 1
        return True

    def _on_rollout_end(self) -> None:
        for name, total in self._sums.items():
            self.logger.record(f"reward_terms/{name}", total / max(self._counts[name], 1))
        self._sums.clear()
        self._counts.clear()


class LatestCheckpoint(BaseCallback):
    """Saves the model (and an off-policy agent's replay buffer) every ``every`` steps.

    The previous checkpoint is replaced atomically, so a killed run loses at most ``every``
    steps.
    """

    def __init__(self, folder: Path, every: int) -> None:
        super().__init__()
        self.folder = folder
        self.every = max(int(every), 1)
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps - self._last >= self.every:
            self.save()
            self._last = self.num_timesteps
        return True

    def save(self, model: Any = None) -> None:
        """Writes ``latest.zip`` and the files an agent writes beside it, then moves them in.

        A replay buffer (``latest_replay_buffer.npz``, plain arrays) or GAIL's
        ``latest_reward.pt`` go to a scratch folder first; each file is then moved into place,
        the model last, so a killed save never leaves a broken ``latest.zip``.

        Args:
            model: The agent (default: the one training with this callback).
        """
        model = self.model if model is None else model
        save_model_atomically(model, self.folder / LATEST, replay_buffer=True)
        self._last = int(model.num_timesteps)


def steps_to_run(model: Any, remaining: int) -> int:
    """The env steps ``model.learn(remaining)`` really runs: whole rollouts, whole env steps.

    An on-policy agent (PPO, A2C...) collects ``n_steps`` steps of each of its ``n_envs`` envs
    before it checks the count, so it ends on a multiple of ``n_steps * n_envs`` (200,704 for
    200,000 at 32 x 32); an off-policy one (DQN...) on a multiple of ``train_freq * n_envs``.
    """
    n_envs = int(getattr(model, "n_envs", 1) or 1)
    train_freq = getattr(model, "train_freq", None)
    if train_freq is not None:  # off-policy (DQN's n_steps is its n-step return, not this)
        unit = getattr(getattr(train_freq, "unit", None), "value", "episode")
        chunk = int(train_freq.frequency) * n_envs if unit == "step" else n_envs
    elif hasattr(model, "n_steps"):
        chunk = int(model.n_steps) * n_envs
    else:
        chunk = n_envs
    return math.ceil(max(remaining, 0) / chunk) * chunk


class StepsProgressBar(ProgressBarCallback):
    """SB3's progress bar, its total the steps ``learn`` really runs, so it ends at its total."""

    def _on_training_start(self) -> None:
        remaining = self.locals["total_timesteps"] - self.model.num_timesteps
        self.pbar = sb3_callbacks.tqdm(total=steps_to_run(self.model, remaining))  # rich's
