"""Registers the MammadMelody environments with Gymnasium: the one table of ids.

:data:`ENVIRONMENTS` is the one place an id's arguments are written: its encoding and its
default reward, once each. Both entry points are generic and read them from the id's
kwargs: Gymnasium passes the kwargs to :data:`ENTRY_POINT` (``gym.make``) and, on 1.x, to
:data:`VECTOR` (``gym.make_vec``); on 0.29 :func:`mammad_envs.compat.make_vector` passes them
(0.29's ``"custom"`` mode hands the vector entry point only ``vector_kwargs``).

Why the table stays here, beside the entry points' names, and not in :mod:`rewards` with the
entry points themselves: Gymnasium 0.29 calls :func:`register_envs` on every
``import gymnasium`` (through the ``gymnasium.envs`` entry point in ``pyproject.toml``), in
every project of the user's environment, and the env package imports no reward (the layering,
``docs/architecture.md``). Reading the table from :mod:`rewards` would import ``rewards`` (and
its ``gymnasium`` and ``numpy`` imports, while ``gymnasium`` itself is still being imported)
at that moment. So this module is data and one function, importing nothing but Gymnasium's
registry; the entry points are named by ``"module:function"`` strings and imported only by
``gym.make`` / ``gym.make_vec``.

Gymnasium is imported inside :func:`register_envs`, not at the top: ``import mammad_envs``
before ``import gymnasium`` makes Gymnasium load this entry point while the package is still
being imported, and the function must already exist then.
"""

from __future__ import annotations

ENTRY_POINT = "rewards.compose:make_melody_env"
"""A MelodyEnv wrapped in the rewards named by its ``reward`` argument (the composition of an
id into an env plus rewards lives in :mod:`rewards.compose`; the env package imports no reward).
"""

VECTOR = "rewards.compose:make_vector_env"
"""``gym.make_vec`` of an id's vector entry point (:func:`mammad_envs.compat.make_vector`): a
MelodyVectorEnv with the same rewards, batched. An id with an encoding gets
``VECTOR + "_" + encoding`` (``rewards.compose.make_vector_env_count``: the same function with
that encoding by default), derived here from the table, because Gymnasium 0.29's ``"custom"``
mode hands the vector entry point ``vector_kwargs`` only, not the id's kwargs."""

# (id, kwargs): one flat table; kwargs stay JSON-friendly. Each id's encoding is written here
# only: the entry points take it from these kwargs.
ENVIRONMENTS: list[tuple[str, dict]] = [
    ("MammadMelody-binary-v0", {"encoding": "binary", "reward": "theory"}),
    ("MammadMelody-count-v0", {"encoding": "count", "reward": "theory"}),
    ("MammadMelody-decay-v0", {"encoding": "decay", "reward": "theory"}),
    ("MelodyEnv-v0", {"reward": "theory"}),
]


def register_envs() -> None:
    """Registers every id of :data:`ENVIRONMENTS` that is not registered yet."""
    # here, not at the top: Gymnasium imports this module (its entry point) while it imports
    from gymnasium.envs.registration import register, registry

    for env_id, kwargs in ENVIRONMENTS:
        if env_id not in registry:
            encoding = kwargs.get("encoding")
            register(id=env_id, entry_point=ENTRY_POINT, kwargs=kwargs,
                     vector_entry_point=f"{VECTOR}_{encoding}" if encoding else VECTOR)
