"""WeightedTheory: the theory engine for a batch of melodies, with a weight per rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from mammad_envs.music import parse_key
from rewards.base import check_weight
from rewards.theory.engine import TheoryEngine
from rewards.theory.rules import RULES, RuleContext


class WeightedTheory:
    """The theory engine for a batch of melodies, with a weight per rule.

    Shared by :class:`TheoryReward` (a batch of one) and the vector env (a batch of N), so
    both build and weigh the rules in one place.

    Args:
        context: Key, episode length, lowest pitch and tonic.
        rules: Rule names (default: the nine built-in rules).
        rule_weights: A multiplier per rule name.
        batch: Number of melodies.

    Raises:
        ValueError: On unknown rules or bad weights.
    """

    def __init__(self, context: RuleContext, rules: Sequence[str] | None = None,
                 rule_weights: Mapping[str, float] | None = None, batch: int = 1) -> None:
        self.engine = TheoryEngine(context, rules, batch=batch)
        self.rule_weights = {name: 1.0 for name in self.engine.rules}
        for name, value in (rule_weights or {}).items():
            if name not in self.rule_weights:
                raise ValueError(f"rule_weights names {name!r}, which is not among the rules "
                                 f"{self.engine.rules} (all rules: {sorted(RULES)})")
            self.rule_weights[name] = check_weight(name, value)
        self._weights = np.array(list(self.rule_weights.values()), dtype=np.float64)

    @property
    def rules(self) -> list[str]:
        """The rule names, in column order."""
        return self.engine.rules

    def reset(self, rows: np.ndarray | None = None) -> None:
        """Starts new melodies (all, or the given rows)."""
        self.engine.reset(rows)

    def weighted(self, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted rule values and their sums for one event per melody (then appends them).

        Returns:
            ``(values, totals)``: ``(batch, rules)`` weighted rule values, in :attr:`rules`
            order, and ``(batch,)`` sums (each equal to Python's ``sum`` of its row).
        """
        return self.engine.score_weighted(events, self._weights)


def theory_engine(env: gym.Env, batch: int = 1, key: str = "C major",
                  rules: Sequence[str] | None = None,
                  rule_weights: Mapping[str, float] | None = None,
                  tonic: int | None = None) -> WeightedTheory:
    """A :class:`WeightedTheory` for a MammadMelody env's length and pitch range.

    Raises:
        ValueError: On a bad key, tonic, rule or weight.
    """
    base: Any = env.unwrapped
    if tonic is not None and not (isinstance(tonic, int) and 0 <= tonic <= 127):
        raise ValueError(f"tonic must be a MIDI pitch 0..127 or None, got {tonic!r}")
    context = RuleContext(parse_key(key), base.steps, base.lowest, tonic)
    return WeightedTheory(context, rules, rule_weights, batch)
