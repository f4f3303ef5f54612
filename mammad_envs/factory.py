"""The entry point of the registered ids: a MelodyEnv wrapped in the chosen rewards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from mammad_envs.melody_env import MelodyEnv


def make_melody_env(reward: str | Sequence[str] | None = "theory",
                    reward_weights: Mapping[str, float] | None = None,
                    reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
                    **env_kwargs: Any) -> gym.Env:
    """Builds a :class:`MelodyEnv` and wraps it in reward wrappers.

    ``gym.make("MammadMelody-count-v0", reward="theory+note_rnn",
    reward_weights={"theory": 2.0})`` calls this.

    Args:
        reward: Reward names joined by ``+`` (or a list); ``None`` for the bare env, whose
            reward is always 0. The registered ids default to ``"theory"``.
        reward_weights: A weight per reward name.
        reward_kwargs: Keyword arguments per reward name, e.g. ``{"theory": {"key": "A minor"}}``.
        **env_kwargs: Arguments of :class:`MelodyEnv`.

    Returns:
        The env, wrapped in the rewards in the order named (innermost first).
    """
    from rewards.base import apply_rewards

    return apply_rewards(MelodyEnv(**env_kwargs), reward, reward_weights, reward_kwargs)


make_melody_env.metadata = MelodyEnv.metadata  # gym.make checks render modes against it
