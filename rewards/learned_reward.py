"""Moved to :mod:`rewards.learned.term`; this old path re-exports its public names."""

from rewards.learned.term import LearnedReward, LearnedTerm

__all__ = ["LearnedReward", "LearnedTerm"]
