"""mammad-envs: Gymnasium environments for composing melodies one 16th note at a time.

Importing this package registers ``MammadMelody-{binary,count,decay}-v0`` and ``MelodyEnv-v0``
(an installed package also registers them on ``import gymnasium``). The environment class and
the helpers are imported on first use, so ``import mammad_envs`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from mammad_envs.melody import HOLD, NUM_PITCHES, REST, STEPS_PER_BAR
from mammad_envs.registration import register_envs

__version__ = "0.1.0"

_LAZY = {
    "MelodyEnv": "mammad_envs.melody_env",
    "ENCODINGS": "mammad_envs.encodings",
    "load_melodies": "mammad_envs.data",
    "load_accompaniments": "mammad_envs.data",
    "load_midi": "mammad_envs.midi",
    "write_midi": "mammad_envs.midi",
    "expert_trajectories": "mammad_envs.data",
    "save_piano_roll": "mammad_envs.piano_roll",
}

__all__ = ["HOLD", "NUM_PITCHES", "REST", "STEPS_PER_BAR", "register_envs", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mammad_envs' has no attribute {name!r}")


register_envs()
