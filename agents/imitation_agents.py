"""GAIL, AIRL and BC behind stable-baselines3's API: the old home of :mod:`agents.imitation`.

The adapters now live in the subpackage :mod:`agents.imitation`; this module re-exports them so
``from agents.imitation_agents import GAILAgent`` and ``"agents.imitation_agents:GAILAgent"``
entry points keep working.
"""

from agents.imitation import (
    AIRLAgent,
    BCAgent,
    GAILAgent,
    as_callback,
    make_imitation_venv,
    recreatable_spec,
)
from agents.imitation.common import CLASS_NAMES, FORMAT, IGNORED_LEARN_KWARGS, METADATA

__all__ = ["CLASS_NAMES", "FORMAT", "IGNORED_LEARN_KWARGS", "METADATA", "AIRLAgent", "BCAgent",
           "GAILAgent", "as_callback", "make_imitation_venv", "recreatable_spec"]
