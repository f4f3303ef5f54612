"""Human (and synthetic) preferences between melodies, for RLHF.

* :mod:`~rewards.preferences.store`: :class:`PreferenceStore` keeps melodies with their context
  (accompaniment, key, length), pairs of melodies of the same context, and one label per pair
  (``"a"``, ``"b"``, ``"tie"`` or ``"skip"``) in a SQLite file that several processes may write
  at once.
* :mod:`~rewards.preferences.reward_model` and :mod:`~rewards.preferences.training`: the
  Bradley-Terry reward models and their training from the store's labels.
* :mod:`~rewards.preferences.prior_reward_model`: the reward model over the pretrained
  Note-RNN's hidden states (:class:`PriorRewardEnsemble`), with
  :mod:`~rewards.preferences.harmony_features` (whether the melody sounds a chord tone of the
  accompaniment).
* :mod:`~rewards.preferences.scoring`: what a suite reward pays each melody.

The human-feedback loop that fills the store and uses the model (the pools, the labelling page,
the synthetic labelers, ``mammad rlhf``) is the :mod:`feedback` package, above ``agents``: this
package imports no learner. See ``docs/rlhf.md``.
"""

from rewards.preferences import store
from rewards.preferences.prior_reward_model import PriorRewardEnsemble
from rewards.preferences.reward_model import MelodyRewardNet, RewardEnsemble, load_reward_model
from rewards.preferences.scoring import reward_scores
from rewards.preferences.store import *  # noqa: F403  (re-exports store.__all__)
from rewards.preferences.training import (
    NETS,
    Comparison,
    TrainingSettings,
    comparisons_from_store,
    model_card,
    train_reward_model,
)

__all__ = ["NETS", "Comparison", "MelodyRewardNet", "PriorRewardEnsemble", "RewardEnsemble",
           "TrainingSettings", "comparisons_from_store", "load_reward_model",
           "model_card", "reward_scores", "train_reward_model", *store.__all__]

MOVED = {"SyntheticLabeler": "feedback.labelers", "make_labeler": "feedback.labelers"}
"""Names this package exported that moved to the :mod:`feedback` package, and where."""


def __getattr__(name: str) -> object:
    """Names that moved to :mod:`feedback` raise an ImportError naming their new module.

    An ImportError (not an AttributeError), so that ``from rewards.preferences import
    make_labeler`` shows the message instead of Python's "cannot import name".
    """
    if name in MOVED:
        raise ImportError(f"rewards.preferences.{name} moved to {MOVED[name]}.{name}: "
                          f"from {MOVED[name]} import {name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
