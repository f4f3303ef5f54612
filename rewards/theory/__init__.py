"""The RL Tuner music-theory reward: nine rules, an incremental batched engine, a wrapper."""

from rewards.theory.engine import TheoryEngine
from rewards.theory.rules import BUILTIN_RULES, RULES, RuleContext, register_rule

__all__ = ["BUILTIN_RULES", "RULES", "RuleContext", "TheoryEngine", "register_rule"]
