"""What a labelling page shows of the RLHF loop: the round's pairs and the model's certainty.

When ``mammad rlhf --labeler human`` drives the page (:mod:`feedback.human`), the page serves
the pairs of the loop's current round only (:class:`LoopRound`), and says for each pair how sure
the previous round's reward model is about it (:func:`certainty`): the probability that it
prefers A and, for an ensemble, how much its members disagree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from rewards.preferences.store import Pair, PreferenceStore

logger = logging.getLogger(__name__)


def certainty(model: Any, pair: Pair) -> dict[str, float | None] | None:
    """How sure a reward model is about a pair; None without a model or if it cannot score it.

    Returns:
        ``{"a": P(a preferred), "disagreement": the spread of the members' P(a preferred) or
        None}``: ``P = sigmoid(score_a - score_b)`` (Bradley-Terry on the model's mean score);
        the spread is :meth:`~rewards.preferences.RewardEnsemble.disagreement`, given only for
        an ensemble of several members (one member disagrees with nobody).
    """
    if model is None or not hasattr(model, "score"):
        return None
    melodies = [pair.a.events, pair.b.events]
    accompaniments = [pair.context.accompaniment] * 2
    try:
        score_a, score_b = np.asarray(model.score(melodies, accompaniments), dtype=np.float64)
        spread = None
        if hasattr(model, "disagreement") and len(getattr(model, "members", ())) > 1:
            spread = float(model.disagreement(melodies[:1], melodies[1:], accompaniments[:1])[0])
    except (ValueError, IndexError, RuntimeError) as error:  # a pitch or loop it cannot read
        logger.debug("the model cannot score pair %s: %s", pair.token, error)
        return None
    probability = 1.0 / (1.0 + np.exp(-np.clip(score_a - score_b, -500.0, 500.0)))
    if not np.isfinite(probability) or (spread is not None and not np.isfinite(spread)):
        return None
    return {"a": float(probability), "disagreement": spread}


class LoopRound:
    """The pairs of one round of the loop, served in their order until each has a label.

    Thread-safe: the page's requests and the loop's :meth:`~feedback.human.HumanLabeler`
    share it.

    Args:
        index: The round's number (0 for the first).
        tokens: Its pairs' tokens.
        model: The reward model that chose them (the previous round's), or None.
    """

    def __init__(self, index: int, tokens: Sequence[str], model: Any = None) -> None:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"a round's index is an integer >= 0, got {index!r}")
        self.index = int(index)
        self.tokens = tuple(tokens)
        self.model = model
        self._members = frozenset(self.tokens)
        self._remaining = list(self.tokens)
        self._certainty: dict[str, dict[str, float | None] | None] = {}
        self._lock = threading.Lock()

    def __contains__(self, token: object) -> bool:
        return token in self._members

    def next_pair(self, store: PreferenceStore) -> Pair | None:
        """The first of the round's pairs without a label, or None when all have one."""
        with self._lock:
            while self._remaining:
                pair = store.pair(self._remaining[0])
                if pair.label is None:
                    return pair
                self._remaining.pop(0)  # labelled (here, or by anyone): never shown again
        return None

    def progress(self, store: PreferenceStore) -> dict[str, int]:
        """The round's pairs: how many, labelled (a, b or tie), skipped and unlabelled."""
        choices = [store.pair(token).label for token in self.tokens]
        skipped = sum(label is not None and label.choice == "skip" for label in choices)
        answered = sum(label is not None for label in choices)
        return {"index": self.index, "pairs": len(self.tokens), "labelled": answered - skipped,
                "skipped": skipped, "unlabelled": len(self.tokens) - answered}

    def certainty(self, pair: Pair) -> dict[str, float | None] | None:
        """:func:`certainty` of the round's model about one of its pairs (computed once)."""
        with self._lock:
            if pair.token not in self._certainty:
                self._certainty[pair.token] = certainty(self.model, pair)
            return self._certainty[pair.token]
