"""Human (and synthetic) preferences between melodies, for RLHF.

* :mod:`~rewards.preferences.store`: :class:`PreferenceStore` keeps melodies with their context
  (accompaniment, key, length), pairs of melodies of the same context, and one label per pair
  (``"a"``, ``"b"``, ``"tie"`` or ``"skip"``) in a SQLite file that several processes may write
  at once.
* :mod:`~rewards.preferences.labelers`: synthetic labelers (``synthetic:<reward>``,
  ``module:function``) with Bradley-Terry noise.
* :mod:`~rewards.preferences.reward_model` and :mod:`~rewards.preferences.training`: the
  Bradley-Terry reward model (an ensemble of LSTMs over melody and accompaniment) and its
  training from the store's labels.

See ``docs/rlhf.md``.
"""

from rewards.preferences.labelers import SyntheticLabeler, make_labeler
from rewards.preferences.reward_model import MelodyRewardNet, RewardEnsemble, load_reward_model
from rewards.preferences.scoring import reward_scores
from rewards.preferences.store import (
    CHOICES,
    FORMAT,
    PREFERENCES,
    SCHEMA_VERSION,
    SOURCES,
    TARGETS,
    AlreadyLabelledError,
    Context,
    Label,
    Pair,
    PreferenceStore,
    PreferenceStoreError,
    StoredMelody,
    timestamp,
)
from rewards.preferences.training import (
    Comparison,
    TrainingSettings,
    comparisons_from_store,
    model_card,
    train_reward_model,
)

__all__ = ["Comparison", "MelodyRewardNet", "RewardEnsemble", "SyntheticLabeler",
           "TrainingSettings", "comparisons_from_store", "load_reward_model", "make_labeler",
           "model_card", "reward_scores", "train_reward_model",
           "CHOICES", "FORMAT", "PREFERENCES", "SCHEMA_VERSION", "SOURCES", "TARGETS",
           "AlreadyLabelledError", "Context", "Label", "Pair", "PreferenceStore",
           "PreferenceStoreError", "StoredMelody", "timestamp"]
