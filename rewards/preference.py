"""Moved to :mod:`rewards.preferences.term`; this old path re-exports its public names."""

from rewards.preferences.term import (
    MODES,
    MelodyRewardNet,
    PreferenceModel,
    PreferenceReward,
    PreferenceTerm,
    RewardEnsemble,
    load_preference_model,
    takes_accompaniments,
)

__all__ = ["MODES", "MelodyRewardNet", "PreferenceModel", "PreferenceReward", "PreferenceTerm",
           "RewardEnsemble", "load_preference_model", "takes_accompaniments"]
