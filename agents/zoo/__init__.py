r"""Our YAML hyperparameters in the shape rl_zoo3 reads, for its ``-conf`` option.

rl_zoo3's own hyperparameter files do not know the MammadMelody ids, so point it at ours::

    python -m rl_zoo3.train --algo ppo --env MammadMelody-binary-v0 \\
        --gym-packages mammad_envs -conf agents.zoo.ppo

``agents.zoo.<algo>`` exists for ``ppo``, ``a2c``, ``dqn`` and ``qrdqn``; each module's
``hyperparams`` maps every registered MammadMelody id to the agent's YAML values for it.
"""

from __future__ import annotations

from typing import Any

from agents.hyperparams import load_hyperparams
from mammad_envs.registration import ENVIRONMENTS

POLICY = "MlpPolicy"
DEFAULT_TIMESTEPS = 100_000


def zoo_hyperparams(agent: str) -> dict[str, dict[str, Any]]:
    """``{env id: hyperparameters}`` for every registered id, as rl_zoo3 expects them."""
    table = {}
    for env_id, _ in ENVIRONMENTS:
        values = load_hyperparams(agent, env_id)
        values.setdefault("policy", POLICY)
        values.setdefault("n_timesteps", DEFAULT_TIMESTEPS)
        table[env_id] = values
    return table
