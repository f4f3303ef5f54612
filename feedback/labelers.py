"""Labelers: who prefers which melody of a pair, for the RLHF loop, tests and benchmarks.

The loop asks a labeler (:class:`Labeler`) one thing: ``label_pairs(store, pairs, round_index,
model)``, which records a label for each of the round's pairs in the store.

A labeler scores both melodies of each pair and chooses with Bradley-Terry noise: ``a`` with
probability ``sigmoid((score_a - score_b) / temperature)``, else ``b`` (``temperature=0``: the
higher score always wins, equal scores tie). :func:`make_labeler` builds one from a spec:

* ``synthetic:<reward>``: the return a suite reward pays for the melody
  (:func:`~rewards.preferences.scoring.reward_scores`), e.g. ``synthetic:theory`` or
  ``synthetic:theory+note_rnn``;
* ``module:function``: any importable function from a list of melody arrays to one score each
  (it may also take ``accompaniments=``, the accompaniment each melody was written over). A
  module that is not installed is looked for in the working folder too, as ``python -m`` would
  (so ``mammad rlhf --labeler my_taste:score`` finds ``./my_taste.py``).

* ``human`` or ``human:<name>``: a person, on the labelling page the loop serves
  (:class:`~feedback.human.HumanLabeler`; needs the ``label`` extra).

People also label on the page of ``mammad label``; every kind of label lands in the same store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from rewards.base import parse_rewards
from rewards.preferences.reward_model import accepts_accompaniments
from rewards.preferences.scoring import reward_scores
from rewards.preferences.taste import import_scorer

if TYPE_CHECKING:
    from feedback.human import HumanLabeler
    from rewards.preferences.store import Pair, PreferenceStore

Scorer = Callable[..., np.ndarray]


class Labeler(Protocol):
    """What the RLHF loop needs of a labeler.

    Attributes:
        name: The name its labels are recorded under, e.g. ``"synthetic:theory"``.
        can_score: Whether :meth:`scores` gives a score per melody (the loop reports the
            policy's mean score before and after fine-tuning only then).
    """

    name: str
    can_score: bool

    def label_pairs(self, store: PreferenceStore, pairs: Sequence[Pair], round_index: int,
                    model: Any) -> int:
        """Records a label for each of a round's unlabelled pairs; returns how many are new.

        Args:
            store: The preference store the pairs are in.
            pairs: The round's unlabelled pairs (the loop made them).
            round_index: The round's number (0 for the first).
            model: The previous round's reward model (``score(melodies, accompaniments)``,
                ``disagreement(a, b, accompaniments)``), or None in the first round.
        """
        ...

    def scores(self, melodies: Sequence[np.ndarray],
               accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """A score per melody (only if :attr:`can_score`)."""
        ...


@dataclass
class SyntheticLabeler:
    """Chooses between the melodies of pairs by a score, with Bradley-Terry noise.

    Attributes:
        name: The labeler's name in the store, e.g. ``"synthetic:theory"``.
        scorer: From a list of melodies (and ``accompaniments=``, if it takes them) to scores.
        temperature: The noise: 0 chooses by the score alone; larger values choose more
            randomly (the score difference that gives odds of e to 1).
        seed: Seed of the noise.
        can_score: True: :meth:`scores` gives the scorer's score of each melody.
    """

    name: str
    scorer: Scorer
    temperature: float = 1.0
    seed: int | None = 0
    _rng: np.random.Generator = field(init=False, repr=False)
    can_score: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not np.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(f"temperature must be a number >= 0, got {self.temperature!r}")
        self._rng = np.random.default_rng(self.seed)

    def scores(self, melodies: Sequence[np.ndarray],
               accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """The scorer's score of each melody.

        Raises:
            ValueError: If the scorer does not give one finite number per melody.
        """
        if accompaniments is not None and accepts_accompaniments(self.scorer):
            values = self.scorer(list(melodies), accompaniments=list(accompaniments))
        else:
            values = self.scorer(list(melodies))
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(melodies),) or not np.isfinite(values).all():
            raise ValueError(f"labeler {self.name!r}: its scorer must return one finite number "
                             f"per melody ({len(melodies)}), got an array of shape "
                             f"{values.shape}")
        return values

    def probabilities(self, melodies_a: Sequence[np.ndarray], melodies_b: Sequence[np.ndarray],
                      accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """P(a preferred to b) for each pair (1/2 for equal scores at temperature 0)."""
        if len(melodies_a) != len(melodies_b):
            raise ValueError(f"{len(melodies_a)} melodies a for {len(melodies_b)} melodies b")
        both = None if accompaniments is None else [*accompaniments, *accompaniments]
        scores = self.scores([*melodies_a, *melodies_b], both)
        difference = scores[: len(melodies_a)] - scores[len(melodies_a):]
        if self.temperature == 0:
            return 0.5 + 0.5 * np.sign(difference)
        return 1.0 / (1.0 + np.exp(-np.clip(difference / self.temperature, -500, 500)))

    def label(self, melodies_a: Sequence[np.ndarray], melodies_b: Sequence[np.ndarray],
              accompaniments: Sequence[str | None] | None = None) -> list[str]:
        """``"a"``, ``"b"`` or (equal scores at temperature 0) ``"tie"`` for each pair."""
        probabilities = self.probabilities(melodies_a, melodies_b, accompaniments)
        if self.temperature == 0:
            return ["a" if p > 0.5 else "b" if p < 0.5 else "tie" for p in probabilities]
        draws = self._rng.random(len(probabilities))
        return ["a" if draw < p else "b" for draw, p in zip(draws, probabilities, strict=True)]

    def label_pairs(self, store: PreferenceStore, pairs: Sequence[Pair], round_index: int,
                    model: Any = None) -> int:
        """Labels the pairs (:meth:`label`) and records them in one transaction.

        ``round_index`` and ``model`` are not needed: the scorer alone chooses.

        Returns:
            How many labels are new.
        """
        choices = self.label([p.a.events for p in pairs], [p.b.events for p in pairs],
                             [p.context.accompaniment for p in pairs])
        return store.record_many([(p.token, choice, self.name)
                                  for p, choice in zip(pairs, choices, strict=True)])


def reward_scorer(reward: str) -> Scorer:
    """A scorer that pays each melody the return of a suite reward (``"theory"``...).

    Raises:
        ValueError: If a reward name is unknown.
    """
    parse_rewards(reward)  # unknown names fail here, with the known ones

    def score(melodies: Sequence[np.ndarray],
              accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        return reward_scores(melodies, reward, accompaniments)

    score.__name__ = f"reward_scores[{reward}]"
    return score


def make_labeler(spec: str, temperature: float = 1.0, seed: int | None = 0, *,
                 host: str = "127.0.0.1", port: int = 8765,
                 timeout: float | None = None) -> SyntheticLabeler | HumanLabeler:
    """A labeler from ``synthetic:<reward>``, ``module:function``, ``human`` or ``human:<name>``.

    Example:
        >>> import numpy as np
        >>> labeler = make_labeler("synthetic:theory", temperature=0)
        >>> c_major, chromatic = np.array([60, 64, 67, 72]), np.array([61, 66, 63, 70])
        >>> labeler.label([c_major], [chromatic])
        ['a']

    Args:
        spec: Which labeler.
        temperature: Bradley-Terry noise (0: none); a person has none (ignored).
        seed: Seed of the noise (ignored for a person).
        host: A person's labelling page: its address.
        port: A person's labelling page: its port (0: any free one).
        timeout: A person's labelling page: seconds a round waits for its labels (None: for
            ever).

    Raises:
        ValueError: On a bad spec or temperature.
        ImportError: For a person, if the label extra (Starlette, uvicorn) is missing.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"a labeler is 'synthetic:<reward>', 'module:function', 'human' or "
                         f"'human:<name>', got {spec!r}")
    kind, _, rest = spec.partition(":")
    if kind == "human":
        # Starlette and uvicorn (the label extra): only a person's labeler serves a page
        from feedback.human import HumanLabeler

        return HumanLabeler(spec, host=host, port=port, timeout=timeout)
    if not kind or not rest:
        raise ValueError(f"labeler {spec!r} is neither synthetic:<reward> nor module:function")
    scorer = reward_scorer(rest) if kind == "synthetic" else import_scorer(spec, "labeler")
    return SyntheticLabeler(spec, scorer, float(temperature), seed)
