"""Hyperparameters in YAML, one file per agent, keyed by env id with a ``default``.

This is rl_zoo3's layout, read with ``yaml.safe_load``: nothing in it is ever evaluated as code.

A few string values are translated, from fixed tables:

* ``learning_rate: lin_3e-4`` (also ``clip_range``): a schedule falling linearly to 0;
* ``policy_kwargs: {activation_fn: tanh}``: the torch activation of that name.

The keys ``n_envs`` (vectorised envs for training, default 1) and ``policy`` are read by the
command line; every other key goes to the agent's constructor.

A file over ``max_bytes`` (default :data:`MAX_YAML_BYTES`, 1 MiB; the bundled files are a few
kB) is refused from its size before it is read (:func:`read_yaml_file`), as is a path that is a
folder, a FIFO or a loop of symbolic links.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mammad_envs.file_limits import read_bounded

MAX_YAML_BYTES = 2**20
"""Default limit on a hyperparameter file or run configuration read as YAML: 1 MiB."""
MAX_N_ENVS = 1024
"""The most envs a run trains on (``n_envs``): each holds its own observations and rollout."""
MAX_N_STEPS = 2**16
"""The longest rollout per env (``n_steps``) of the on-policy agents."""
MAX_BUFFER_SIZE = 10**7
"""The largest replay buffer (``buffer_size``) of the off-policy agents (the bundled 100,000)."""
COUNTS = {"n_envs": MAX_N_ENVS, "n_steps": MAX_N_STEPS, "batch_size": None,
          "buffer_size": MAX_BUFFER_SIZE}
"""Hyperparameters that must be positive integers, with their maximum (None: no maximum)."""
ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU",
               "gelu": "GELU", "silu": "SiLU"}
SCHEDULED = ("learning_rate", "clip_range")
DEFAULT = "default"
EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
"""Numbers such as ``1e-3`` that YAML 1.1 (PyYAML) reads as strings."""


def as_number(value: Any) -> Any:
    """``"1e-3"`` -> ``0.001`` (YAML 1.1 needs ``1.0e-3``); any other value as it is."""
    if isinstance(value, str) and EXPONENT_NUMBER.fullmatch(value.strip()):
        return float(value)
    return value


def hyperparams_file(agent: str) -> Path | None:
    """The bundled YAML file of an agent, or None if it has none."""
    path = Path(str(resources.files("agents") / "hyperparams" / f"{agent}.yml"))
    return path if path.is_file() else None


def read_yaml_file(path: str | Path, what: str, max_bytes: int = MAX_YAML_BYTES,
                   limit: str = "max_bytes, default agents.hyperparams.MAX_YAML_BYTES",
                   advice: str = "") -> Any:
    """A YAML file's value, read with ``yaml.safe_load`` once its size is known to be bounded.

    Args:
        path: The file.
        what: What it is, for messages ("hyperparameter file", "run configuration").
        max_bytes: The largest file read; a larger one is refused before it is opened.
        limit: Names the limit in the message (the argument and its default's constant).
        advice: Added to the message on invalid YAML (what to do about it).

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If the path is not a regular file, the file is over ``max_bytes``, or it is
            not valid UTF-8 YAML; the message names the file.
    """
    data = read_bounded(path, max_bytes, what, limit,
                        f"a {what} is a few kB: check the path, or pass a larger max_bytes= to "
                        f"read it")
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        first = str(error).splitlines()[0] if str(error) else ""
        raise ValueError(f"{path} is not valid YAML ({type(error).__name__}: {first})"
                         + (f"; {advice}" if advice else "")) from None


def load_hyperparams(agent: str, env_id: str, path: str | Path | None = None, *,
                     max_bytes: int = MAX_YAML_BYTES) -> dict[str, Any]:
    """An agent's hyperparameters for an env: its ``default`` entry updated with the env's.

    Args:
        agent: The agent's name.
        env_id: The env id (e.g. ``"MammadMelody-count-v0"``).
        path: A YAML file to read instead of the bundled one.
        max_bytes: The largest file read (default :data:`MAX_YAML_BYTES`), checked before it
            is opened.

    Returns:
        A new dict (raw YAML values; see :func:`resolve`).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is over ``max_bytes``, not a regular file, not valid YAML, or
            not a mapping of mappings.
    """
    path = Path(path) if path is not None else hyperparams_file(agent)
    if path is None:
        return {}
    table = read_yaml_file(path, "hyperparameter file", max_bytes) or {}
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ValueError(f"{path}: expected env ids (or 'default') mapping to hyperparameters")
    merged = copy.deepcopy(table.get(DEFAULT, {}))
    merged.update(copy.deepcopy(table.get(env_id, {})))
    return {key: as_number(value) for key, value in merged.items()}


def parse_overrides(pairs: Iterable[str], what: str = "hyperparameter override"
                    ) -> dict[str, Any]:
    """``["learning_rate=1e-3", "policy_kwargs={net_arch: [32]}"]`` -> a dict of YAML values.

    Numbers such as ``1e-3`` (strings to YAML 1.1) become numbers.

    Raises:
        ValueError: If a pair has no ``=`` or its value is not valid YAML.
    """
    overrides = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key.strip().isidentifier():
            raise ValueError(f"{what} {pair!r} is not name=value")
        try:
            overrides[key.strip()] = as_number(yaml.safe_load(text))
        except yaml.YAMLError as error:
            raise ValueError(f"{what} {pair!r}: {error}") from error
    return overrides


def check_hyperparams(agent: str, values: dict[str, Any], policy: str) -> None:
    """Refuses hyperparameters that an agent would fail on or allocate without limit.

    Args:
        agent: The agent's name (for the messages).
        values: Its hyperparameters (``n_envs`` and ``policy`` included).
        policy: The agent's own policy (``AgentSpec.policy``); a policy named otherwise is
            refused (a policy class given as an object is the caller's).

    Raises:
        ValueError: Naming the value and the valid choices or the limit (see :data:`COUNTS`).
    """
    for key, limit in COUNTS.items():
        value = values.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
        if limit is not None and value > limit:
            raise ValueError(f"{key} = {value:,} is too large: at most {limit:,} "
                             f"(agents.hyperparams.MAX_{key.upper()})")
    given = values.get("policy", policy)
    if isinstance(given, str) and given != policy:
        raise ValueError(f"agent {agent!r} trains the policy {policy!r}, not {given!r}: "
                         f"choose among [{policy!r}] or leave policy out")


def linear_schedule(initial: float):
    """A schedule from ``initial`` (start of training) to 0 (end), as SB3 expects."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


def resolve(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """Translates the string values SB3 cannot take as they are (see the module docstring).

    Raises:
        ValueError: On an unknown activation or a malformed schedule.
    """
    import torch.nn  # heavy: torch, needed only when an agent is built

    resolved = copy.deepcopy(hyperparams)
    for key in SCHEDULED:
        value = resolved.get(key)
        if isinstance(value, str):
            if not value.startswith("lin_"):
                raise ValueError(f"{key}: {value!r} is neither a number nor lin_<number>")
            try:
                resolved[key] = linear_schedule(float(value[4:]))
            except ValueError as error:
                raise ValueError(f"{key}: {value!r} is not lin_<number>") from error
    policy_kwargs = resolved.get("policy_kwargs")
    if isinstance(policy_kwargs, dict) and isinstance(policy_kwargs.get("activation_fn"), str):
        name = policy_kwargs["activation_fn"]
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation_fn {name!r}: choose among {sorted(ACTIVATIONS)}")
        policy_kwargs["activation_fn"] = getattr(torch.nn, ACTIVATIONS[name])
    return resolved
