"""Which melodies a round of the RLHF loop asks to compare.

Pairs share an accompaniment (a label compares two melodies over the same music). They mix the
current policy's melodies with the reference's (the Note-RNN the loop started from), so that the
reward model keeps seeing varied melodies while the policy narrows; among several times as many
candidates, the pairs the reward ensemble is least sure of are kept (its members' disagreement),
as those labels teach it most.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CANDIDATES_PER_PAIR = 4
"""Candidate pairs scored by the reward ensemble for each pair kept."""


def pair_candidates(accompaniments: list[str | None], count: int,
                    rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` random pairs of distinct indices with the same accompaniment."""
    return _pairs_between(accompaniments, range(len(accompaniments)),
                          range(len(accompaniments)), count, rng)


def mixed_candidates(accompaniments: list[str | None], policy: int, count: int,
                     reference_share: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` pairs over a shared accompaniment, some of them against the reference.

    Args:
        accompaniments: Each melody's accompaniment: the policy's ``policy`` melodies first,
            then the reference's.
        policy: How many of the melodies are the policy's.
        count: Pairs wanted.
        reference_share: The fraction of them that pair a policy melody with a reference one
            (the rest pair two policy melodies); with no reference melody, all are the policy's.
        rng: The draws.

    Returns:
        Sorted ``(i, j)`` index pairs, ``i < j``, no pair twice.
    """
    total = len(accompaniments)
    mixed = int(round(count * reference_share)) if total > policy else 0
    chosen = _pairs_between(accompaniments, range(policy), range(policy, total), mixed, rng)
    own = _pairs_between(accompaniments, range(policy), range(policy), count - len(chosen), rng)
    return sorted(set(chosen) | set(own))


def choose_pairs(melodies: list[np.ndarray], accompaniments: list[str | None], count: int,
                 model: Any, rng: np.random.Generator, policy: int | None = None,
                 reference_share: float = 0.0) -> list[tuple[int, int]]:
    """``count`` pairs over a shared accompaniment; the least sure ones if there is a model.

    Args:
        melodies: The candidates' melodies (the policy's first, then the reference's).
        accompaniments: Each one's accompaniment.
        count: Pairs wanted.
        model: A reward ensemble with ``disagreement(a, b, accompaniments)``, or None (random
            pairs).
        rng: The draws.
        policy: How many melodies are the policy's (default: all).
        reference_share: The fraction of pairs against a reference melody
            (:func:`mixed_candidates`).
    """
    policy = len(melodies) if policy is None else policy
    wanted = count if model is None or not hasattr(model, "disagreement") \
        else CANDIDATES_PER_PAIR * count
    candidates = mixed_candidates(accompaniments, policy, wanted, reference_share, rng)
    if len(candidates) <= count:
        return candidates
    spread = model.disagreement([melodies[a] for a, _ in candidates],
                                [melodies[b] for _, b in candidates],
                                [accompaniments[a] for a, _ in candidates])
    best = np.argsort(-np.asarray(spread), kind="stable")[:count]
    return [candidates[i] for i in sorted(best)]


def _pairs_between(accompaniments: list[str | None], left: range, right: range, count: int,
                   rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` random pairs, one index of ``left`` and one of ``right``.

    The two share an accompaniment; each pair is a sorted ``(min, max)`` tuple.
    """
    if count <= 0:
        return []
    groups: dict[str | None, tuple[list[int], list[int]]] = {}
    for index in left:
        groups.setdefault(accompaniments[index], ([], []))[0].append(index)
    for index in right:
        groups.setdefault(accompaniments[index], ([], []))[1].append(index)
    pairable = [(a, b) for a, b in groups.values()
                if a and b and (len(a) >= 2 or len(b) >= 2 or a != b)]
    if not pairable:
        return []
    sizes = np.array([len(a) * len(b) for a, b in pairable], dtype=float)
    chosen: set[tuple[int, int]] = set()
    for _ in range(count * 20):
        if len(chosen) >= count:
            break
        firsts, seconds = pairable[rng.choice(len(pairable), p=sizes / sizes.sum())]
        a, b = int(rng.choice(firsts)), int(rng.choice(seconds))
        if a != b:
            chosen.add((min(a, b), max(a, b)))
    return sorted(chosen)
