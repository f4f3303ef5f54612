"""MelodySB3VecEnv: the batched env as a stable-baselines3 VecEnv.

SB3 algorithms train on a :class:`~mammad_envs.vector_env.MelodyVectorEnv` directly.

Example:
    >>> from stable_baselines3 import PPO
    >>> from mammad_envs.sb3_vec_env import MelodySB3VecEnv
    >>> venv = MelodySB3VecEnv(64, encoding="count", reward="theory")
    >>> model = PPO("MlpPolicy", venv, n_steps=64, seed=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from mammad_envs.vector_env import MelodyVectorEnv


class MelodySB3VecEnv(VecEnv):
    """SB3's VecEnv API over a :class:`MelodyVectorEnv` (same arguments).

    Seeds follow SB3: ``seed(s)`` then ``reset()`` seeds env ``i`` with ``s + i``, as
    ``make_vec_env`` does for a DummyVecEnv of scalar envs, so both give the same episodes.
    """

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        self.vector = MelodyVectorEnv(num_envs, **kwargs)
        super().__init__(num_envs, self.vector.single_observation_space,
                         self.vector.single_action_space)
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
        terms = infos["reward_terms"]
        step_infos: list[dict[str, Any]] = []
        for i in range(self.num_envs):
            if dones[i]:
                info = dict(infos["final_info"][i])
                info["terminal_observation"] = infos["final_observation"][i]
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                self.reset_infos[i] = {"accompaniment": infos["accompaniment"][i]}
            else:
                info = {"pitch": int(infos["pitch"][i]),
                        "reward_terms": {name: float(value[i]) for name, value in terms.items()}}
            step_infos.append(info)
        return observations, rewards.astype(np.float32), dones, step_infos

    def close(self) -> None:
        """Nothing to close."""

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """An attribute of the (identical) envs, e.g. ``steps`` or ``lowest``."""
        return [getattr(self.vector.template, attr_name)] * len(self._indices(indices))

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
