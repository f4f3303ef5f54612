"""The RL Tuner music-theory rules as a reward: :class:`TheoryTerm` and its wrapper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import gymnasium as gym
import numpy as np

from mammad_envs.step_batch import StepBatch
from rewards.base import RewardTerm, RewardWrapper, term_attribute
from rewards.theory.weighted import theory_engine


class TheoryTerm(RewardTerm):
    """The RL Tuner music-theory reward: the sum of nine rules (or the ones you choose).

    The term is written to ``info["reward_terms"]["theory"]`` and each rule's own weighted
    value to ``info["theory_rules"]``. The rules are listed in ``docs/rewards.md``.

    Args:
        env: A MammadMelody env.
        batch: Envs scored at once.
        weight: Multiplies the whole term (RL Tuner's ``1 / c``).
        key: The key the rules expect, e.g. ``"C major"`` (default) or ``"A minor"``.
        rules: Names of the rules to add up (default: all nine built-in rules); rules added with
            :func:`rewards.theory.register_rule` may be named too.
        rule_weights: A multiplier per rule name (default 1 each).
        tonic: The pitch the tonic rule asks for (default: the key's tonic in octave 4).
    """

    name = "theory"
    wrapper = "rewards.theory.term:TheoryReward"

    def __init__(self, env: gym.Env, batch: int = 1, weight: float = 1.0,
                 key: str = "C major", rules: Sequence[str] | None = None,
                 rule_weights: Mapping[str, float] | None = None,
                 tonic: int | None = None) -> None:
        super().__init__(env, batch, weight)
        self.theory = theory_engine(env, batch, key, rules, rule_weights, tonic)
        self.context = self.theory.engine.context
        self._values = np.zeros((self.batch, len(self.theory.rules)))

    def reset(self, rows: np.ndarray) -> None:
        """Starts new melodies."""
        self.theory.reset(rows)

    def compute(self, step: StepBatch) -> np.ndarray:
        """The weighted sum of the rules for each env's event."""
        self._values, totals = self.theory.weighted(step.events)
        return totals

    @property
    def extras(self) -> dict[str, dict[str, np.ndarray]]:
        """``{"theory_rules": {rule: (N,) weighted values}}`` of the last step."""
        return {"theory_rules": {name: self._values[:, column]
                                 for column, name in enumerate(self.theory.rules)}}

    @extras.setter
    def extras(self, value: dict[str, dict[str, np.ndarray]]) -> None:
        pass  # always the rules of the last step

    def extras_of(self, row: int) -> dict[str, dict[str, float]]:
        """One env's rule values, as the scalar env's ``info["theory_rules"]``."""
        return {"theory_rules": dict(zip(self.theory.rules, self._values[row].tolist(),
                                         strict=True))}


class TheoryReward(RewardWrapper):
    """Adds the RL Tuner music-theory reward (a :class:`TheoryTerm`) to a scalar env.

    Example:
        >>> import gymnasium as gym
        >>> import rewards
        >>> env = rewards.TheoryReward(gym.make("MammadMelody-binary-v0", reward=None),
        ...                            key="G major")
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_ , info = env.step(env.unwrapped.pitch_to_action(67))  # G4 first
        >>> info["theory_rules"]["tonic"]
        3.0

    Args:
        env: A MammadMelody env (possibly wrapped).
        **kwargs: :class:`TheoryTerm`'s arguments: ``key``, ``rules``, ``rule_weights``,
            ``tonic``, ``weight``.
    """

    term_class = TheoryTerm

    theory = term_attribute("theory",
                            "The term's :class:`~rewards.theory.weighted.WeightedTheory`.")

    context = term_attribute("context", "The rules' context: key, steps, lowest pitch, tonic.")
