"""Reward wrappers for the MammadMelody environments.

* :class:`TheoryReward` (``"theory"``): the RL Tuner music-theory rules.
* :class:`NoteRNNReward` (``"note_rnn"``): log-likelihood under a Note-RNN trained on folk tunes.
* :class:`PreferenceReward` (``"preference"``): a learned model of human preferences.
* :class:`LearnedReward` (``"gail"``): the reward a GAIL / AIRL discriminator learned.

Each is a Gymnasium wrapper that adds its weighted term to the reward and to
``info["reward_terms"]``; ``gym.make(id, reward="theory+note_rnn")`` stacks them. Add your own
with :func:`register_reward`. Heavy parts (torch) are imported only when used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from rewards.base import REWARDS, RewardTerm, apply_rewards, parse_rewards, register_reward

_LAZY = {
    "TheoryReward": "rewards.theory.wrapper",
    "NoteRNNReward": "rewards.note_rnn_reward",
    "NoteRNNVectorReward": "rewards.note_rnn_reward",
    "PreferenceReward": "rewards.preference",
    "LearnedReward": "rewards.learned_reward",
    "metrics": "rewards.metrics",
}

__all__ = ["REWARDS", "RewardTerm", "apply_rewards", "parse_rewards", "register_reward", *_LAZY]


def __getattr__(name: str) -> Any:
    if name == "metrics":
        return import_module("rewards.metrics")
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rewards' has no attribute {name!r}")
