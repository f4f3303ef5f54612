"""The one place where an env id becomes an env plus rewards: the ids' entry points.

``gym.make(id, reward=..., reward_weights=..., reward_kwargs=..., **env_kwargs)`` calls
:func:`make_melody_env` (a scalar :class:`~mammad_envs.melody_env.MelodyEnv` in reward
wrappers); ``gym.make_vec`` of an id in its vector-entry-point mode (``"custom"`` on
Gymnasium 0.29, ``"vector_entry_point"`` on 1.x; :func:`mammad_envs.compat.make_vector`) calls
:func:`make_vector_env` (a :class:`~mammad_envs.vector_env.MelodyVectorEnv` running the same
reward terms on the batch). The env package knows no reward: its registration table names
these functions by string, and only this module imports both packages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from mammad_envs.melody_env import MelodyEnv
from mammad_envs.vector_env import MelodyVectorEnv
from rewards.base import RewardPlan, apply_rewards, build_terms


def make_melody_env(reward: str | Sequence[str] | RewardPlan | None = "theory",
                    reward_weights: Mapping[str, float] | None = None,
                    reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
                    **env_kwargs: Any) -> gym.Env:
    """A :class:`MelodyEnv` wrapped in reward wrappers.

    ``gym.make("MammadMelody-count-v0", reward="theory+note_rnn",
    reward_weights={"theory": 2.0})`` calls this.

    Args:
        reward: Reward names joined by ``+`` (or a list, or a
            :class:`~rewards.base.RewardPlan`); ``None`` for the bare env, whose reward is
            always 0. The registered ids default to ``"theory"``.
        reward_weights: A weight per reward name.
        reward_kwargs: Keyword arguments per reward name, e.g. ``{"theory": {"key": "A minor"}}``.
        **env_kwargs: Arguments of :class:`MelodyEnv`.

    Returns:
        The env, wrapped in the rewards in the order named (innermost first).

    Raises:
        ValueError: On a bad env or reward argument.
    """
    return apply_rewards(MelodyEnv(**env_kwargs), reward, reward_weights, reward_kwargs)


make_melody_env.metadata = MelodyEnv.metadata  # gym.make checks render modes against it


def make_vector_env(num_envs: int = 1, reward: str | Sequence[str] | RewardPlan | None = "theory",
                    reward_weights: Mapping[str, float] | None = None,
                    reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
                    max_episode_steps: int | None = None,
                    **env_kwargs: Any) -> MelodyVectorEnv:
    """A :class:`MelodyVectorEnv` of ``num_envs`` envs with the named rewards, batched.

    It gives what ``num_envs`` envs of :func:`make_melody_env` with the same arguments give
    (tested), at a fraction of the cost.

    Example:
        >>> from rewards import make_vector_env
        >>> envs = make_vector_env(64, encoding="count", reward="theory+note_rnn")
        >>> observations, infos = envs.reset(seed=0)

    Args:
        num_envs: Number of envs.
        reward: As :func:`make_melody_env`.
        reward_weights: As :func:`make_melody_env`.
        reward_kwargs: As :func:`make_melody_env`.
        max_episode_steps: Not supported (``gym.make_vec`` passes the id's, which is None):
            episodes end with the melody; pass ``steps=``.
        **env_kwargs: Arguments of :class:`MelodyEnv` (no ``render_mode``).

    Raises:
        ValueError: On a bad env or reward argument.
    """
    if max_episode_steps is not None:
        raise ValueError("MelodyVectorEnv episodes end with the melody; pass steps= instead "
                         "of max_episode_steps")
    envs = MelodyVectorEnv(num_envs, **env_kwargs)
    envs.reward_terms = build_terms(envs.template, num_envs, reward, reward_weights,
                                    reward_kwargs)
    return envs



VECTOR_OF_ENCODING = "make_vector_env_"
"""The vector entry point of an id with an encoding is ``make_vector_env_<encoding>``
(:mod:`mammad_envs.registration` derives the name from the id's kwargs)."""


def __getattr__(name: str) -> Any:
    """``make_vector_env_<encoding>``: :func:`make_vector_env`, that encoding by default.

    An id's vector entry point names its encoding because Gymnasium 0.29's ``"custom"`` mode
    hands the entry point ``vector_kwargs`` only, not the id's kwargs: ``gym.make_vec(
    "MammadMelody-count-v0", 8, vectorization_mode="custom")`` must still count.
    """
    if not name.startswith(VECTOR_OF_ENCODING):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    encoding = name[len(VECTOR_OF_ENCODING):]

    def make(num_envs: int = 1, **kwargs: Any) -> MelodyVectorEnv:
        kwargs.setdefault("encoding", encoding)
        return make_vector_env(num_envs, **kwargs)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f":func:`make_vector_env` with the {encoding!r} encoding by default."
    return make
