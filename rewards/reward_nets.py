"""Reward networks of GAIL and AIRL: building, saving and loading them as plain files.

:class:`~agents.imitation.GAILAgent` and :class:`~agents.imitation.AIRLAgent` save their
reward network beside the generator, as ``<stem>_reward.pt`` (``model.zip`` ->
``model_reward.pt``). That file holds only tensors and plain values (the format name, the
algorithm, the network's keyword arguments, the spaces it was trained on, the observation
encoding and the ``state_dict``), so it loads with ``torch.load(weights_only=True)``. This
module writes it (:func:`save_reward_net`), reads it back (:func:`load_reward_net`), builds
the networks and checks an env against them; :mod:`rewards.learned.term` turns one into a
reward term.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from mammad_envs.compat import require_imitation
from rewards.weights import load_weights

FORMAT = "mammad-envs/imitation-reward-net"
ALGORITHMS = ("gail", "airl")
REWARD_SUFFIX = "_reward.pt"
MAX_REWARD_NET_BYTES = 128 * 2**20
"""Default limit on a reward-network file (:func:`load_reward_net`): 128 MiB; one is a few kB
to a few MB. A larger file is refused from its size, before it is opened."""

NET_KWARGS = {
    "gail": ("hid_sizes", "use_state", "use_action", "use_next_state", "use_done", "dropout_prob",
             "normalize_input_layer"),
    "airl": ("reward_hid_sizes", "potential_hid_sizes", "use_state", "use_action",
             "use_next_state", "use_done", "discount_factor", "dropout_prob",
             "normalize_input_layer"),
}
"""The reward-network keyword arguments each algorithm accepts (all plain values)."""

NORMALISERS = ("RunningNorm", "EMANorm")
"""Input normalisation layers of ``imitation.util.networks``, by name (or ``None``)."""


def reward_file(path: str | os.PathLike) -> Path:
    """The reward file of an agent saved at ``path``: ``model.zip`` -> ``model_reward.pt``.

    A path that already ends in ``.pt`` is returned as it is; one without a suffix is the
    agent ``<path>.zip``.
    """
    path = Path(path)
    if path.suffix == ".pt":
        return path
    if path.suffix == "":
        path = path.with_suffix(".zip")
    return path.with_name(path.stem + REWARD_SUFFIX)


def describe_space(space: gym.Space) -> dict[str, Any]:
    """A ``Box`` or ``Discrete`` space as plain values (what a weights-only file can hold).

    Raises:
        ValueError: For other kinds of spaces.
    """
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype),
                "low": space.low.astype(np.float64).ravel().tolist(),
                "high": space.high.astype(np.float64).ravel().tolist()}
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    raise ValueError(f"a learned reward supports Box and Discrete spaces, got {space!r}")


def space_from_description(description: dict[str, Any]) -> gym.Space:
    """The space :func:`describe_space` described.

    Raises:
        ValueError: If the description is malformed.
    """
    try:
        if description["type"] == "Box":
            shape = tuple(int(n) for n in description["shape"])
            dtype = np.dtype(description["dtype"])
            low = np.asarray(description["low"], dtype=np.float64).reshape(shape)
            high = np.asarray(description["high"], dtype=np.float64).reshape(shape)
            return gym.spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype)
        if description["type"] == "Discrete":
            return gym.spaces.Discrete(int(description["n"]), start=int(description["start"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"malformed space description {description!r}: {error}") from error
    raise ValueError(f"unknown space type in {description!r}")


def describe_observations(env: gym.Env) -> str | None:
    """The observation encoding of a MammadMelody env, e.g. ``"decay(0.9)"`` (None otherwise).

    Two encodings can share a space (``count`` and ``decay`` are both ``Box(0, 2 * steps)``),
    so the learned reward checks this too.
    """
    encoding = getattr(env.unwrapped, "encoding", None)
    name = getattr(encoding, "name", None)
    if name is None:
        return None
    decay = getattr(encoding, "decay", None)
    return name if decay is None else f"{name}({float(decay):.6g})"


def reward_net_kwargs(algorithm: str, net_kwargs: dict[str, Any] | None = None,
                      discount_factor: float = 0.99) -> dict[str, Any]:
    """The reward network's keyword arguments, defaults filled in, checked and plain.

    Defaults: input normalisation ``"RunningNorm"`` (as imitation's examples do) and, for
    AIRL, the shaping ``discount_factor`` given (the generator's ``gamma``).

    Args:
        algorithm: ``"gail"`` or ``"airl"``.
        net_kwargs: Overrides, e.g. ``{"hid_sizes": [64, 64]}`` (see :data:`NET_KWARGS`).
        discount_factor: AIRL's shaping discount unless ``net_kwargs`` sets one.

    Returns:
        A new dict of plain values (lists, numbers, booleans, strings, None).

    Raises:
        ValueError: On an unknown algorithm, key or normaliser.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}: choose among {list(ALGORITHMS)}")
    kwargs: dict[str, Any] = {"normalize_input_layer": "RunningNorm"}
    if algorithm == "airl":
        kwargs["discount_factor"] = float(discount_factor)
    given = dict(net_kwargs or {})
    stray = sorted(set(given) - set(NET_KWARGS[algorithm]))
    if stray:
        raise ValueError(f"unknown {algorithm} reward_net_kwargs {stray}: choose among "
                         f"{list(NET_KWARGS[algorithm])}")
    kwargs.update(given)
    if kwargs["normalize_input_layer"] not in (*NORMALISERS, None):
        raise ValueError(f"normalize_input_layer must be one of {list(NORMALISERS)} or None, got "
                         f"{kwargs['normalize_input_layer']!r}")
    for key in ("hid_sizes", "reward_hid_sizes", "potential_hid_sizes"):
        if key in kwargs:
            kwargs[key] = [int(size) for size in kwargs[key]]
    try:
        json.dumps(kwargs)
    except TypeError as error:
        raise ValueError(f"reward_net_kwargs must be plain values: {error}") from error
    return kwargs


def build_reward_net(algorithm: str, observation_space: gym.Space, action_space: gym.Space,
                     net_kwargs: dict[str, Any]) -> Any:
    """A new (untrained) reward network of imitation.

    GAIL: a ``BasicRewardNet`` (its output is the discriminator's logit); AIRL: a
    ``BasicShapedRewardNet``.

    Args:
        algorithm: ``"gail"`` or ``"airl"``.
        observation_space: The env's observation space.
        action_space: The env's action space.
        net_kwargs: From :func:`reward_net_kwargs`.

    Returns:
        An ``imitation.rewards.reward_nets.RewardNet``.
    """
    require_imitation("a GAIL / AIRL reward network")
    # optional: the imitation extra
    from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet

    # optional: the imitation extra
    from imitation.util import networks

    kwargs = dict(net_kwargs)
    normaliser = kwargs.pop("normalize_input_layer", None)
    if normaliser is not None:
        kwargs["normalize_input_layer"] = getattr(networks, normaliser)
    for key in ("hid_sizes", "reward_hid_sizes", "potential_hid_sizes"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    cls = BasicRewardNet if algorithm == "gail" else BasicShapedRewardNet
    return cls(observation_space, action_space, **kwargs)


def learned_rewards(algorithm: str, net: Any, observations: np.ndarray, actions: np.ndarray,
                    next_observations: np.ndarray, dones: np.ndarray) -> np.ndarray:
    """The reward a trained network gives a batch of transitions (imitation's ``reward_test``).

    GAIL: ``-log(1 - D) = softplus(logit)`` of the discriminator's logit, what
    ``RewardNetFromDiscriminatorLogit`` computes; AIRL: the unshaped base reward ``g``. Both
    through ``predict_processed`` (inputs preprocessed and normalised as in training).

    Args:
        algorithm: ``"gail"`` or ``"airl"``.
        net: What :func:`build_reward_net` built (and training updated), in eval mode.
        observations: ``(batch, *obs shape)`` observations before the actions.
        actions: ``(batch, *action shape)`` actions.
        next_observations: ``(batch, *obs shape)`` observations after them.
        dones: ``(batch,)`` whether each transition ended its episode.

    Returns:
        ``(batch,)`` float64 rewards.
    """
    base = net.base if algorithm == "airl" else net
    values = np.asarray(base.predict_processed(observations, actions, next_observations,
                                               dones), dtype=np.float64)
    return np.logaddexp(0.0, values) if algorithm == "gail" else values


def save_reward_net(path: str | os.PathLike, algorithm: str, net: Any,
                    net_kwargs: dict[str, Any], observations: str | None = None,
                    env_spec: str | None = None,
                    training_state: dict[str, Any] | None = None) -> Path:
    """Writes a reward network loadable with ``torch.load(weights_only=True)``.

    Args:
        path: The file to write (parents are created).
        algorithm: ``"gail"`` or ``"airl"``.
        net: The network (its spaces are saved with it).
        net_kwargs: The keyword arguments it was built with (:func:`reward_net_kwargs`).
        observations: The observation encoding (:func:`describe_observations`).
        env_spec: The training env's ``spec.to_json()``, for information.
        training_state: What resuming the training needs beside the weights: the
            discriminator optimiser's ``state_dict`` and the trainer's step counters (tensors,
            numbers and containers of them only, so the file stays loadable with
            ``weights_only=True``).

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state_dict = {key: value.detach().cpu() for key, value in net.state_dict().items()}
    torch.save({"format": FORMAT, "version": 1, "algorithm": algorithm,
                "net_kwargs": dict(net_kwargs),
                "observation_space": describe_space(net.observation_space),
                "action_space": describe_space(net.action_space),
                "observations": observations, "env_spec": env_spec,
                "state_dict": state_dict, "training_state": training_state}, path)
    return path


def load_reward_net(path: str | os.PathLike, *, max_bytes: int = MAX_REWARD_NET_BYTES
                    ) -> tuple[Any, dict[str, Any]]:
    """Reads a file written by :func:`save_reward_net` (``torch.load(weights_only=True)``).

    Args:
        path: The ``_reward.pt`` file, or the agent's ``.zip`` beside it.
        max_bytes: The largest file read (default :data:`MAX_REWARD_NET_BYTES`), checked from
            its size before it is opened.

    Returns:
        ``(net, payload)``: the rebuilt network (as :func:`build_reward_net` builds it, in eval
        mode) and the file's contents.

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If the file is over ``max_bytes``, not a regular file (a folder, a FIFO...)
            or not such a reward network.
    """
    path = reward_file(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"no reward network at {path} (GAILAgent.save and "
                                f"AIRLAgent.save write <stem>{REWARD_SUFFIX} beside <stem>.zip)")
    payload = load_weights(path, max_bytes, "reward network",
                           "max_bytes, default rewards.reward_nets.MAX_REWARD_NET_BYTES",
                           "pass a larger max_bytes= to load it",
                           "is not a reward network saved by GAILAgent/AIRLAgent.save")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{path} is not a reward network saved by GAILAgent/AIRLAgent.save "
                         f"(expected format {FORMAT!r}, found {found!r})")
    try:
        algorithm = payload["algorithm"]
        net = build_reward_net(algorithm,
                               space_from_description(payload["observation_space"]),
                               space_from_description(payload["action_space"]),
                               reward_net_kwargs(algorithm, payload["net_kwargs"]))
        net.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: a damaged reward network file ({error})") from error
    return net.eval(), payload


def check_spaces(path: Path, payload: dict[str, Any], env: gym.Env) -> None:
    """Raises a ValueError naming both when the env is not what the network was trained on."""
    trained = (space_from_description(payload["observation_space"]),
               space_from_description(payload["action_space"]))
    if trained[0] != env.observation_space or trained[1] != env.action_space:
        raise ValueError(f"the reward network {path} was trained on observation space "
                         f"{trained[0]} and action space {trained[1]}, but this env has "
                         f"{env.observation_space} and {env.action_space}: train it on this "
                         f"env (same encoding, steps and pitch_range)")
    trained_encoding, encoding = payload.get("observations"), describe_observations(env)
    if trained_encoding is not None and encoding is not None and trained_encoding != encoding:
        raise ValueError(f"the reward network {path} was trained on {trained_encoding!r} "
                         f"observations, but this env's encoding is {encoding!r}")
