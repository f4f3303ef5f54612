"""Agents for the MammadMelody environments: a registry of SB3 / sb3-contrib / imitation algorithms.

```python
from agents import make_agent, register_agent
model = make_agent("dqn", env, seed=0)      # env: an env, a VecEnv or an env id
model.learn(50_000)
```

Names, their classes and how to add your own: :mod:`agents.registry`; hyperparameters:
:mod:`agents.hyperparams`; starting and resuming runs: :mod:`agents.run_lifecycle`; the
``mammad`` command line (above the library): :mod:`mammad_cli`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from agents.hyperparams import check_hyperparams, load_hyperparams, resolve
from agents.registry import (
    AGENTS,
    Agent,
    AgentSpec,
    agent_spec,
    list_agents,
    register_agent,
)
from mammad_envs.compat import make_vector
from mammad_envs.registration import ENTRY_POINT
from rewards.base import plan_env_kwargs

__all__ = ["AGENTS", "Agent", "AgentSpec", "agent_spec", "env_id_of", "list_agents",
           "make_agent", "register_agent"]


def env_id_of(env: Any) -> str | None:
    """The registered id of an env, a wrapped env or a VecEnv (None if it has none)."""
    if isinstance(env, str):
        return env
    spec = getattr(env, "spec", None)
    if spec is None and hasattr(env, "envs"):  # an SB3 DummyVecEnv
        spec = getattr(env.envs[0], "spec", None)
    if spec is None and hasattr(env, "get_attr"):
        try:
            spec = env.get_attr("spec", [0])[0]
        except (AttributeError, IndexError):
            spec = None
    return getattr(spec, "id", None)


def make_agent(name: str, env: Any, seed: int | None = 0,
               hyperparams: dict[str, Any] | None = None, hyperparams_file: str | None = None,
               env_kwargs: dict[str, Any] | None = None, batched: bool | None = None,
               **kwargs: Any) -> Agent:
    """Builds a registered agent for an env, with its YAML hyperparameters.

    Args:
        name: A registered agent (``mammad agents`` lists them).
        env: An env id (then ``n_envs`` envs are made, as the YAML says), an env or a VecEnv.
        seed: Seed of the agent (and of the envs it makes).
        hyperparams: Overrides of the YAML values.
        hyperparams_file: A YAML file to read instead of the bundled one.
        env_kwargs: Arguments for ``gym.make`` when ``env`` is an id.
        batched: For an id: train on the batched env (default: what the agent's spec says)
            or on scalar envs (False).
        **kwargs: Passed to the agent's constructor as they are (``verbose``,
            ``tensorboard_log``, ``device``...).

    Returns:
        The agent.

    Raises:
        ValueError: On an unknown agent or env id, or bad hyperparameters (see
            :func:`agents.hyperparams.check_hyperparams`).
    """
    spec = agent_spec(name)
    cls = spec.load()
    env_id = env_id_of(env)
    values = load_hyperparams(name, env_id or "", hyperparams_file)
    values.update(hyperparams or {})
    check_hyperparams(name, values, spec.policy)
    n_envs = int(values.pop("n_envs", 1))
    policy = values.pop("policy", spec.policy)
    if isinstance(env, str):
        env = make_training_env(env, n_envs, seed, env_kwargs,
                                batched=spec.batched if batched is None else batched)
    try:
        return cls(policy, env, seed=seed, **resolve(values), **kwargs)
    except (TypeError, AssertionError) as error:  # SB3 asserts on some bad values
        raise ValueError(f"agent {name!r} rejected its hyperparameters {sorted(values)}: "
                         f"{error}") from error


def check_env_id(env_id: str) -> None:
    """Raises a clear ValueError unless ``env_id`` is a registered MammadMelody id.

    A MammadMelody id is one whose entry point composes a MelodyEnv with its rewards (the
    built-in ids, and ids a user registers with that entry point); other Gymnasium ids
    (``CartPole-v1``) are refused, as the agents, rewards and statistics need a melody env.
    """
    known = sorted(i for i, spec in gym.registry.items() if spec.entry_point == ENTRY_POINT)
    if env_id not in gym.registry:
        raise ValueError(f"unknown env {env_id!r}: the MammadMelody ids are {known}")
    if gym.registry[env_id].entry_point != ENTRY_POINT:
        raise ValueError(f"{env_id!r} is not a MammadMelody env: only the MammadMelody ids are "
                         f"supported ({known})")


def make_training_env(env_id: str, n_envs: int = 1, seed: int | None = 0,
                      env_kwargs: dict[str, Any] | None = None, batched: bool = True) -> Any:
    """``n_envs`` envs of a registered id as an SB3 VecEnv that records episode statistics.

    Batched (default): one :class:`~mammad_envs.vector_env.MelodyVectorEnv` (``gym.make_vec``
    in its ``custom`` mode, the rewards computed for the whole batch) behind
    :class:`~mammad_envs.sb3_vec_env.MelodySB3VecEnv` and a ``VecMonitor``. Otherwise
    stable-baselines3's ``make_vec_env``: a ``DummyVecEnv`` of ``gym.make`` envs, each in a
    ``Monitor``. Both seed env ``i`` with ``seed + i`` and give the same episodes.

    Raises:
        ValueError: If the id is not registered or an argument is bad.
    """
    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3.common.env_util import make_vec_env

    check_env_id(env_id)
    env_kwargs = plan_env_kwargs(env_kwargs)  # the reward spec parsed once for all n envs
    if not batched:
        return make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    # heavy: stable_baselines3 loads slowly and only this path needs it
    from stable_baselines3.common.vec_env import VecMonitor

    # heavy: mammad_envs.sb3_vec_env loads stable_baselines3, tensorboard, torch
    from mammad_envs.sb3_vec_env import MelodySB3VecEnv

    vector = make_vector(env_id, n_envs, **env_kwargs)
    venv = VecMonitor(MelodySB3VecEnv(vector))
    venv.seed(seed)
    return venv
