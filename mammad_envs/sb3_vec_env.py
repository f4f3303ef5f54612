"""MelodySB3VecEnv: the batched env as a stable-baselines3 VecEnv.

SB3 algorithms train on a :class:`~mammad_envs.vector_env.MelodyVectorEnv` directly; this is
what ``mammad train`` does for every SB3 / sb3-contrib agent.

Example:
    >>> from stable_baselines3 import PPO
    >>> from mammad_envs.sb3_vec_env import MelodySB3VecEnv
    >>> from rewards import make_vector_env
    >>> venv = MelodySB3VecEnv(make_vector_env(64, encoding="count", reward="theory"))
    >>> model = PPO("MlpPolicy", venv, n_steps=64, seed=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from mammad_envs.compat import FINAL_KEYS, final_episodes
from mammad_envs.infos import row_infos
from mammad_envs.vector_env import MelodyVectorEnv

NOT_PER_STEP = (*FINAL_KEYS, "accompaniment")
"""Vector-env info keys that SB3's per-env infos carry in other places."""


class MelodySB3VecEnv(VecEnv):
    """SB3's VecEnv API over a :class:`MelodyVectorEnv`.

    Seeds follow SB3: ``seed(s)`` then ``reset()`` seeds env ``i`` with ``s + i``, as
    ``make_vec_env`` does for a DummyVecEnv of scalar envs, so both give the same episodes.
    Each env's info is the scalar env's info (every key, :func:`mammad_envs.infos.row_infos`);
    a finished env's holds its episode's last info with ``terminal_observation``.

    Args:
        vector: The vector env (with its reward terms), e.g. from
            :func:`rewards.make_vector_env` or :func:`mammad_envs.compat.make_vector`.
    """

    def __init__(self, vector: MelodyVectorEnv) -> None:
        if not isinstance(vector, MelodyVectorEnv):
            raise ValueError(f"MelodySB3VecEnv wraps a MelodyVectorEnv (rewards.make_vector_env"
                             f"), got {vector!r}")
        self.vector = vector
        super().__init__(vector.num_envs, vector.single_observation_space,
                         vector.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        """Resets every env (with the seeds given to :meth:`seed`, if any)."""
        seeds = self._seeds if any(seed is not None for seed in self._seeds) else None
        observations, infos = self.vector.reset(seed=seeds)
        self.reset_infos = [{"accompaniment": name} for name in infos["accompaniment"]]
        self._reset_seeds()
        self._reset_options()
        return observations

    def step_async(self, actions: np.ndarray) -> None:
        """Stores the actions for :meth:`step_wait`."""
        self._actions = np.asarray(actions).reshape(self.num_envs).astype(np.int64)

    def step_wait(self) -> VecEnvStepReturn:
        """Steps every env; a finished env's last observation is its ``terminal_observation``."""
        observations, rewards, terminated, truncated, infos = self.vector.step(self._actions)
        dones = terminated | truncated
        step_infos = row_infos(infos, skip=NOT_PER_STEP)
        for info in step_infos:  # as SB3's DummyVecEnv: the env never truncates
            info["TimeLimit.truncated"] = False
        done = np.flatnonzero(dones)
        for i, last_observation, info in zip(done, *final_episodes(infos, done), strict=True):
            info["terminal_observation"] = last_observation
            info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            self.reset_infos[i] = {"accompaniment": infos["accompaniment"][i]}
            step_infos[i] = info
        return observations, rewards.astype(np.float32), dones, step_infos

    def close(self) -> None:
        """Nothing to close."""

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """An attribute of the (identical) envs: ``steps``, ``lowest``, ``spec`` (its id)..."""
        owner = self.vector if attr_name == "spec" else self.vector.template
        return [getattr(owner, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Not supported: the envs share one configuration."""
        raise AttributeError(f"MelodySB3VecEnv cannot set {attr_name!r} on single envs")

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """``action_masks`` (what MaskablePPO calls), per env."""
        if method_name != "action_masks":
            raise AttributeError(f"MelodySB3VecEnv supports env_method('action_masks') only, "
                                 f"not {method_name!r}")
        masks = self.vector.action_masks()
        return [masks[i] for i in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper],
                       indices: VecEnvIndices = None) -> list[bool]:
        """No env is wrapped."""
        return [False] * len(self._indices(indices))

    def _indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return list(indices)
