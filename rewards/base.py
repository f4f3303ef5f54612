"""What every reward wrapper shares, the registry of rewards by name, and their composition.

A reward is a Gymnasium wrapper that adds ``weight * term`` to the reward of every step and
records that weighted term in ``info["reward_terms"][name]``, so the terms of a stack of
rewards add up to the reward. Rewards are registered by name (:data:`REWARDS`) and composed with
:func:`apply_rewards` (``reward="theory+note_rnn"``), which is what ``gym.make(...,
reward=...)`` calls.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np

REWARDS: dict[str, str | type[RewardTerm]] = {
    "theory": "rewards.theory.wrapper:TheoryReward",
    "note_rnn": "rewards.note_rnn_reward:NoteRNNReward",
    "preference": "rewards.preference:PreferenceReward",
    "gail": "rewards.learned_reward:LearnedReward",
}
"""Rewards by name: a class or a lazy ``"module:Class"`` string."""


class RewardTerm(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Base class of the reward wrappers: one weighted term per step.

    Subclasses set :attr:`name` and implement :meth:`term` (and :meth:`reset_term` if they keep
    state). They call ``gym.utils.RecordConstructorArgs.__init__(self, ...)`` with their own
    keyword arguments so that ``gym.make(env.spec)`` rebuilds the stack.

    Args:
        env: The env to wrap (a MammadMelody env, possibly wrapped).
        weight: Multiplies the term.
    """

    name: ClassVar[str] = "reward"

    def __init__(self, env: gym.Env, weight: float = 1.0) -> None:
        gym.Wrapper.__init__(self, env)
        self.weight = check_weight(self.name, weight)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        """Resets the env and the term's state."""
        observation, info = self.env.reset(seed=seed, options=options)
        self.reset_term(info)
        return observation, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Steps the env and adds the weighted term to its reward."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        value = self.weight * float(self.term(info))
        info.setdefault("reward_terms", {})[self.name] = value
        return observation, float(reward) + value, terminated, truncated, info

    def reset_term(self, info: dict[str, Any]) -> None:
        """Called after every reset of the env; override to clear the term's state."""

    def term(self, info: dict[str, Any]) -> float:
        """The unweighted term for the step just taken; ``info["pitch"]`` is what was played."""
        raise NotImplementedError


def check_weight(name: str, weight: Any) -> float:
    """A weight as a float, or a clear error."""
    if isinstance(weight, bool) or not isinstance(weight, int | float | np.number) \
            or not math.isfinite(weight):
        raise ValueError(f"the weight of reward {name!r} must be a finite number, got {weight!r}")
    return float(weight)


def register_reward(name: str, reward: str | type[RewardTerm], *, overwrite: bool = False
                    ) -> None:
    """Adds a reward so ``gym.make(..., reward="name")`` finds it.

    Args:
        name: The reward's name (an identifier).
        reward: A :class:`RewardTerm` subclass or a ``"module:Class"`` string (imported on use).
        overwrite: Replace an existing reward of that name.

    Raises:
        ValueError: If the name is taken or malformed, or ``reward`` is neither.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a reward name must be an identifier such as 'my_reward', got {name!r}")
    if name in REWARDS and not overwrite:
        raise ValueError(f"a reward named {name!r} exists already; rewards: {sorted(REWARDS)}")
    if not (isinstance(reward, str) and ":" in reward) and not (
            isinstance(reward, type) and issubclass(reward, gym.Wrapper)):
        raise ValueError(f"reward {name!r} must be a wrapper class or a 'module:Class' string, "
                         f"got {reward!r}")
    REWARDS[name] = reward


def reward_class(name: str) -> type[RewardTerm]:
    """The wrapper class of a registered reward.

    Raises:
        ValueError: If no reward has that name.
    """
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}: choose among {sorted(REWARDS)} "
                         f"(combine them with '+', e.g. 'theory+note_rnn')")
    entry = REWARDS[name]
    if isinstance(entry, str):
        module, attribute = entry.split(":")
        entry = getattr(import_module(module), attribute)
    return entry


def parse_rewards(reward: str | Sequence[str] | None) -> list[str]:
    """Reward names from ``"theory+note_rnn"``, a list of names, or None (no reward).

    Raises:
        ValueError: On an unknown or repeated name, or a malformed value.
    """
    if reward is None:
        return []
    if isinstance(reward, str):
        names = [part.strip() for part in re.split(r"\+", reward)]
    elif isinstance(reward, Sequence) and all(isinstance(part, str) for part in reward):
        names = list(reward)
    else:
        raise ValueError(f"reward must be a name such as 'theory', names joined by '+', a list "
                         f"of names or None, got {reward!r}")
    for name in names:
        reward_class(name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"reward(s) {repeated} named more than once in {reward!r}")
    return names


def apply_rewards(env: gym.Env, reward: str | Sequence[str] | None,
                  reward_weights: Mapping[str, float] | None = None,
                  reward_kwargs: Mapping[str, Mapping[str, Any]] | None = None) -> gym.Env:
    """Wraps an env in the named rewards, innermost first.

    Args:
        env: The env.
        reward: ``"theory"``, ``"theory+note_rnn"``, a list of names, or None.
        reward_weights: Weight per reward name (default 1.0 each).
        reward_kwargs: Extra keyword arguments per reward name, e.g.
            ``{"theory": {"key": "G major"}}``.

    Returns:
        The wrapped env (``env`` itself for no reward).

    Raises:
        ValueError: On unknown names, or weights / kwargs for rewards not in ``reward``.
    """
    names = parse_rewards(reward)
    reward_weights = dict(reward_weights or {})
    reward_kwargs = dict(reward_kwargs or {})
    for what, given in (("reward_weights", reward_weights), ("reward_kwargs", reward_kwargs)):
        stray = sorted(set(given) - set(names))
        if stray:
            raise ValueError(f"{what} names {stray}, which are not among the rewards {names}")
    for name in names:
        check_weight(name, reward_weights.get(name, 1.0))
    for name in names:
        kwargs = dict(reward_kwargs.get(name, {}))
        if name in reward_weights:
            kwargs["weight"] = reward_weights[name]
        cls = reward_class(name)
        try:
            env = cls(env, **kwargs)
        except TypeError as error:
            import inspect

            valid = [p for p in inspect.signature(cls.__init__).parameters
                     if p not in ("self", "env")]
            raise ValueError(f"reward_kwargs for {name!r}: {error}; its arguments are "
                             f"{valid}") from error
    return env
