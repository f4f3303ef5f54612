"""A scoring function named ``module:function`` as a preference model: a taste paid as a reward.

RLHF is measured against an *oracle*: the same fine-tuning with the taste itself as the reward
(``feedback.oracle``). The ``preference`` reward takes any object with ``score(melodies)``;
:class:`TasteModel` makes one of a function from a list of melody arrays to one score each
(it may take ``accompaniments=``), so that a run's ``config.yml`` can name the taste as a
string and ``mammad evaluate`` rebuilds it::

    reward_kwargs={"preference": {"model": "benchmarks.tastes:stepwise"}}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from mammad_envs.registry import EntryImportError, import_entry
from rewards.preferences.reward_model import accepts_accompaniments

Scorer = Callable[..., np.ndarray]

SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
"""What a ``module:function`` spec looks like (a path never does: it has a ``/`` or a dot
before an extension without a colon)."""


def is_scorer_spec(text: object) -> bool:
    """Whether ``text`` has the shape ``package.module:function``."""
    return isinstance(text, str) and bool(SPEC.match(text))


def import_scorer(spec: str, what: str = "scorer") -> Scorer:
    """The function ``module:function`` names (a module in the working folder is found too).

    Args:
        spec: ``"package.module:function"``.
        what: How error messages name it (``"labeler"``, ``"taste"``).

    Raises:
        ValueError: If the spec is malformed, the module or function is missing, or the object
            is not callable.
    """
    module_name, _, attribute = str(spec).partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{what} {spec!r} is not module:function")
    try:
        target = import_entry(spec, working_folder_last=True)
    except EntryImportError as error:
        if error.missing_attribute:
            raise ValueError(f"{what} {spec!r}: {module_name!r} has no {attribute!r}") from None
        where = "" if error.looked_in is None else \
            f" (looked in the installed packages and in {error.looked_in})"
        raise ValueError(f"{what} {spec!r}: cannot import {module_name!r}{where}: "
                         f"{error.__cause__}") from None
    if not callable(target):
        raise ValueError(f"{what} {spec!r}: {attribute!r} is not a function")
    return target


class TasteModel:
    """A ``module:function`` scoring function with the preference-model interface.

    Args:
        spec: ``"package.module:function"``: from a list of melody arrays (and
            ``accompaniments=``, if it takes them) to one float per melody.

    Raises:
        ValueError: If the spec does not name a function.
    """

    def __init__(self, spec: str) -> None:
        self.spec = str(spec)
        self.function = import_scorer(self.spec, "taste")
        self._with_accompaniments = accepts_accompaniments(self.function)

    def score(self, melodies: Sequence[np.ndarray],
              accompaniments: Sequence[str | None] | None = None) -> np.ndarray:
        """The function's score of each melody (float64).

        Raises:
            ValueError: If it returns another number of scores than melodies, or non-finite ones.
        """
        melodies = [np.asarray(melody) for melody in melodies]
        if self._with_accompaniments:
            scores = self.function(melodies, accompaniments=accompaniments)
        else:
            scores = self.function(melodies)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(scores) != len(melodies):
            raise ValueError(f"taste {self.spec!r} gave {len(scores)} scores for "
                             f"{len(melodies)} melodies")
        if not np.isfinite(scores).all():
            raise ValueError(f"taste {self.spec!r} gave a non-finite score")
        return scores

    def __repr__(self) -> str:
        return f"TasteModel({self.spec!r})"
