"""What differs between Gymnasium 0.29 (which imitation 1.0 needs) and Gymnasium 1.x.

One code path where the APIs agree; these few names where they don't:

* the ``make_vec`` mode of a registered vector entry point (``"custom"`` in 0.29,
  ``"vector_entry_point"`` in 1.x) and where its arguments go (``vector_kwargs`` in 0.29, the
  keyword arguments in 1.x): :func:`make_vector`;
* how a ``VectorEnv`` declares its spaces (0.29's ``__init__``, 1.x's attributes):
  :func:`init_vector_env`;
* how same-step autoreset reports a finished episode (0.29: ``final_observation`` and a
  ``final_info`` array of dicts; 1.x: ``final_obs`` and a ``final_info`` dict of arrays):
  :func:`add_final` and :func:`final_episodes`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

from mammad_envs.errors import MammadError
from mammad_envs.infos import row_infos

GYMNASIUM_1 = int(gym.__version__.split(".")[0]) >= 1
"""Whether this is Gymnasium 1.x."""

VECTOR_ENTRY_POINT_MODE = "vector_entry_point" if GYMNASIUM_1 else "custom"
"""``gym.make_vec``'s mode for an id's own vector env."""

FINAL_OBSERVATION = "final_obs" if GYMNASIUM_1 else "final_observation"
"""The info key of a finished episode's last observation."""

FINAL_KEYS = (FINAL_OBSERVATION, "final_info")
"""The info keys of finished episodes."""


IMITATION_INSTALL = ('pip install -e ".[test,imitation]" -c constraints/gym029.txt, in a fresh '
                     'virtualenv (imitation pins gymnasium 0.29; see docs/install.md)')
"""How to install the imitation extra (GAIL, AIRL, BC, their rewards and trajectories)."""


class MissingExtraError(MammadError, ImportError):
    """An optional dependency (an extra) is not installed; the message says how to install it.

    An ``ImportError`` (as before), of its own type so that the command line can tell a missing
    extra (a clear message) from a broken import (a bug, shown with its traceback).
    """


def installed(module: str) -> bool:
    """Whether an optional dependency can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def require_imitation(what: str) -> None:
    """Without imitation: a MissingExtraError naming ``what`` and :data:`IMITATION_INSTALL`."""
    if not installed("imitation"):
        raise MissingExtraError(f"{what} needs the imitation extra, which is not installed: "
                                f"{IMITATION_INSTALL}")


def make_vector(env_id: str, num_envs: int, **kwargs: Any) -> Any:
    """``gym.make_vec`` of an id's own vector env, with env and reward arguments, on either API.

    The vector entry point gets the id's kwargs (its encoding, its default reward) updated with
    ``kwargs``: Gymnasium 1.x passes them itself; 0.29's ``"custom"`` mode passes only
    ``vector_kwargs``, so they go there (and, as ``kwargs``, into the env's spec).

    Raises:
        ValueError: On a bad argument (from the env).
    """
    if GYMNASIUM_1:
        return gym.make_vec(env_id, num_envs=num_envs,
                            vectorization_mode=VECTOR_ENTRY_POINT_MODE, **kwargs)
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=VECTOR_ENTRY_POINT_MODE,
                        vector_kwargs={**spec_kwargs(env_id), **kwargs}, **kwargs)


def spec_kwargs(env_id: str) -> dict[str, Any]:
    """The registered kwargs of an id, ``"module:Id-v0"`` too (the module is imported first)."""
    module, _, name = env_id.rpartition(":")
    if module:
        importlib.import_module(module)
    return dict(gym.spec(name).kwargs)


def init_vector_env(env: gym.vector.VectorEnv, num_envs: int, observation_space: gym.Space,
                    action_space: gym.Space) -> None:
    """Declares a vector env's size and spaces (batched from one env's)."""
    if not GYMNASIUM_1:
        gym.vector.VectorEnv.__init__(env, num_envs, observation_space, action_space)
        return
    env.num_envs = num_envs
    env.single_observation_space = observation_space
    env.single_action_space = action_space
    env.observation_space = batch_space(observation_space, num_envs)
    env.action_space = batch_space(action_space, num_envs)


def same_step_vector_kwargs() -> dict[str, Any]:
    """``vector_kwargs`` making Gymnasium's ``SyncVectorEnv`` autoreset as the batched env does.

    Gymnasium 1.x's default is next-step autoreset; 0.29 knows only same-step.
    """
    if not GYMNASIUM_1:
        return {}
    from gymnasium.vector import AutoresetMode  # Gymnasium 1.x only (0.29 has no such name)

    return {"autoreset_mode": AutoresetMode.SAME_STEP}


def same_step_metadata() -> dict[str, Any]:
    """Metadata declaring same-step autoreset (what 1.x reads; 0.29 knows no other)."""
    if not GYMNASIUM_1:
        return {}
    from gymnasium.vector import AutoresetMode  # Gymnasium 1.x only (0.29 has no such name)

    return {"autoreset_mode": AutoresetMode.SAME_STEP}


def masked(infos: Mapping[str, Any], mask: np.ndarray) -> dict[str, Any]:
    """Infos in the vector layout with every mask replaced by ``mask`` (nested dicts too)."""
    result: dict[str, Any] = {}
    for key, value in infos.items():
        if key.startswith("_"):
            continue
        result[key] = masked(value, mask) if isinstance(value, Mapping) else value
        result[f"_{key}"] = mask
    return result


def add_final(infos: dict[str, Any], done: np.ndarray, observations: np.ndarray,
              final_infos: list[dict[str, Any]]) -> None:
    """Records the finished envs' last observations and infos, as this Gymnasium does.

    Args:
        infos: The step's infos (vector layout), still those of the finished step.
        done: ``(num_envs,)`` which envs finished.
        observations: ``(num_envs, ...)`` the step's observations (before any reset).
        final_infos: The finished envs' infos as dicts (0.29's layout), in row order.
    """
    rows = np.flatnonzero(done)
    final_observations = np.full(len(done), None, dtype=object)
    final_observations[rows] = np.fromiter(observations[rows], object, len(rows))
    if GYMNASIUM_1:
        final = masked(infos, done.copy())
    else:
        final = np.full(len(done), None, dtype=object)
        final[rows] = np.fromiter(final_infos, object, len(rows))
    infos[FINAL_OBSERVATION], infos[f"_{FINAL_OBSERVATION}"] = final_observations, done
    infos["final_info"], infos["_final_info"] = final, done


def final_episodes(infos: Mapping[str, Any], rows: np.ndarray | list[int]
                   ) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """The last observations and infos (as dicts) of finished envs, on either API."""
    if len(rows) == 0:
        return [], []
    observations = [infos[FINAL_OBSERVATION][row] for row in rows]
    final = infos["final_info"]
    if isinstance(final, Mapping):
        return observations, row_infos(final, rows)
    return observations, [final[row] for row in rows]
