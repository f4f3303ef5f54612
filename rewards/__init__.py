"""Rewards for the MammadMelody environments (terms, and their scalar wrappers).

* ``"theory"``: :class:`TheoryTerm` / :class:`TheoryReward`, the RL Tuner music-theory rules.
* ``"note_rnn"``: :class:`NoteRNNTerm` / :class:`NoteRNNReward`, log-likelihood under a
  Note-RNN trained on folk tunes.
* ``"preference"``: :class:`PreferenceTerm` / :class:`PreferenceReward`, a learned model of
  human preferences.
* ``"gail"``: :class:`LearnedTerm` / :class:`LearnedReward`, the reward a GAIL / AIRL
  discriminator learned.

Each is a :class:`RewardTerm` that scores a batch of envs' step: the scalar env (a batch of
one) wears it as a wrapper that adds its weighted term to the reward and to
``info["reward_terms"]`` (``gym.make(id, reward="theory+note_rnn")`` stacks them), and the
vector env runs it on the whole batch (``mammad_envs.compat.make_vector(id, N)``,
:func:`make_vector_env`). A spec, its weights and arguments are parsed once, by
:func:`plan_rewards`, into a :class:`RewardPlan`. Add your own with
:func:`register_reward`. Heavy parts (torch) are imported only when used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from rewards.base import (
    REWARDS,
    RewardPlan,
    RewardTerm,
    RewardWrapper,
    apply_rewards,
    build_terms,
    parse_rewards,
    plan_env_kwargs,
    plan_rewards,
    register_reward,
)

_LAZY = {
    "TheoryReward": "rewards.theory.term",
    "TheoryTerm": "rewards.theory.term",
    "NoteRNNReward": "rewards.note_rnn.term",
    "NoteRNNTerm": "rewards.note_rnn.term",
    "PreferenceReward": "rewards.preferences.term",
    "PreferenceTerm": "rewards.preferences.term",
    "LearnedReward": "rewards.learned.term",
    "LearnedTerm": "rewards.learned.term",
    "make_melody_env": "rewards.compose",
    "make_vector_env": "rewards.compose",
    "metrics": "rewards.metrics",
}

__all__ = ["REWARDS", "RewardPlan", "RewardTerm", "RewardWrapper", "apply_rewards",
           "build_terms", "parse_rewards", "plan_env_kwargs", "plan_rewards", "register_reward",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name == "metrics":
        return import_module("rewards.metrics")
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rewards' has no attribute {name!r}")
