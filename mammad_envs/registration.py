"""Registers the MammadMelody environments with Gymnasium.

Gymnasium 0.29 calls :func:`register_envs` on every ``import gymnasium`` (through the
``gymnasium.envs`` entry point in ``pyproject.toml``), in every project of the user's
environment. So this module imports nothing but Gymnasium's registry: the environments
themselves are named by ``"module:Class"`` strings and imported only by ``gym.make``.

Gymnasium is imported inside :func:`register_envs`, not at the top: ``import mammad_envs``
before ``import gymnasium`` makes Gymnasium load this entry point while the package is still
being imported, and the function must already exist then.
"""

from __future__ import annotations

ENTRY_POINT = "rewards.compose:make_melody_env"
"""A MelodyEnv wrapped in the rewards named by its ``reward`` argument (the composition of an
id into an env plus rewards lives in :mod:`rewards.compose`; the env package imports no reward).
"""

VECTOR = "rewards.compose:make_{}vector_env"
"""``gym.make_vec`` of an id's vector entry point (:func:`mammad_envs.compat.make_vector`): a
MelodyVectorEnv with the same rewards, batched."""

# (id, kwargs): one flat table; kwargs stay JSON-friendly.
ENVIRONMENTS: list[tuple[str, dict]] = [
    ("MammadMelody-binary-v0", {"encoding": "binary", "reward": "theory"}),
    ("MammadMelody-count-v0", {"encoding": "count", "reward": "theory"}),
    ("MammadMelody-decay-v0", {"encoding": "decay", "reward": "theory"}),
    ("MelodyEnv-v0", {"reward": "theory"}),
]


def register_envs() -> None:
    """Registers every id of :data:`ENVIRONMENTS` that is not registered yet."""
    from gymnasium.envs.registration import register, registry

    for env_id, kwargs in ENVIRONMENTS:
        if env_id not in registry:
            encoding = kwargs.get("encoding")
            register(id=env_id, entry_point=ENTRY_POINT, kwargs=kwargs,
                     vector_entry_point=VECTOR.format(f"{encoding}_" if encoding else ""))
