"""TheoryReward: the RL Tuner music-theory rules as a reward wrapper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from mammad_envs.music import parse_key
from rewards.base import RewardTerm, check_weight
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

    def weighted_values(self, events: np.ndarray) -> np.ndarray:
        """``(batch, rules)`` weighted rule values for one event per melody (then appends)."""
        return self.engine.score_weighted(events, self._weights)[0]

    def weighted_rules(self, events: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Weighted rule values and their sums for one event per melody (then appends them).

        Returns:
            ``(totals, rules)``: a ``(batch,)`` array of sums (each equal to Python's ``sum`` of
            that melody's rule values) and a ``(batch,)`` array per rule name.
        """
        values, totals = self.engine.score_weighted(events, self._weights)
        return totals, {name: values[:, column] for column, name in enumerate(self.engine.rules)}


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


class TheoryReward(RewardTerm):
    """Adds the RL Tuner music-theory reward: the sum of nine rules (or the ones you choose).

    The term is written to ``info["reward_terms"]["theory"]`` and each rule's own value to
    ``info["theory_rules"]``. The rules are listed in ``docs/rewards.md``.

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
        key: The key the rules expect, e.g. ``"C major"`` (default) or ``"A minor"``.
        rules: Names of the rules to add up (default: all nine built-in rules); rules added with
            :func:`rewards.theory.register_rule` may be named too.
        rule_weights: A multiplier per rule name (default 1 each).
        tonic: The pitch the tonic rule asks for (default: the key's tonic in octave 4).
        weight: Multiplies the whole term (RL Tuner's ``1 / c``).
    """

    name = "theory"

    def __init__(self, env: gym.Env, key: str = "C major", rules: Sequence[str] | None = None,
                 rule_weights: Mapping[str, float] | None = None, tonic: int | None = None,
                 weight: float = 1.0) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, key=key, rules=rules,
                                                 rule_weights=rule_weights, tonic=tonic,
                                                 weight=weight)
        super().__init__(env, weight)
        self.theory = theory_engine(env, 1, key, rules, rule_weights, tonic)
        self.context = self.theory.engine.context

    def reset_term(self, info: dict[str, Any]) -> None:
        """Starts a new melody."""
        self.theory.reset()

    def term(self, info: dict[str, Any]) -> float:
        """The weighted sum of the rules for the event just played."""
        values = self.theory.weighted_values(np.array([info["pitch"]]))[0].tolist()
        rules = dict(zip(self.theory.rules, values, strict=True))
        info["theory_rules"] = rules
        return sum(rules.values())
