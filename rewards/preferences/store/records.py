"""What a preference store holds: melodies with their context, pairs, labels, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

import numpy as np

from mammad_envs.errors import MammadError

__all__ = ["CHOICES", "PREFERENCES", "SOURCES", "TARGETS", "AlreadyLabelledError", "Context",
           "Label", "Pair", "PreferenceStoreError", "StoredMelody", "timestamp"]
"""The public names, re-exported by :mod:`rewards.preferences.store` (``short`` is internal)."""

SOURCES: dict[str, str] = {
    "seed": "a melody of the bundled data set, or written by hand",
    "midi": "read from a MIDI file (ref: the file)",
    "run": "saved by a training run (ref: the run folder)",
    "policy": "sampled from a policy during an RLHF round (ref: the round or checkpoint)",
    "model": "sampled from a generative model such as the Note-RNN (ref: the weights)",
    "sampler": "drawn by a random or rule-based sampler (ref: its name and seed)",
}
"""Where a melody came from: the valid ``source`` values and what each means."""

CHOICES = ("a", "b", "tie", "skip")
"""The valid labels of a pair."""
PREFERENCES = ("a", "b", "tie")
"""The labels that say something about preference (``"skip"`` does not)."""
TARGETS: dict[str, float] = {"a": 1.0, "b": 0.0, "tie": 0.5}
"""Probability that A is preferred, per label: the Bradley-Terry target."""


class PreferenceStoreError(MammadError, ValueError):
    """Invalid input to a preference store, or a file that is not one (nothing was written)."""


class AlreadyLabelledError(PreferenceStoreError):
    """A pair already has a different label (see :meth:`PreferenceStore.record`).

    Attributes:
        token: The pair's token.
        label: The label it already has.
    """

    def __init__(self, token: str, label: Label) -> None:
        super().__init__(f"pair {token!r} is already labelled {label.choice!r} by "
                         f"{label.labeler!r} at {label.time}: a pair takes one label")
        self.token = token
        self.label = label


class Context(NamedTuple):
    """What the two melodies of a pair share: accompaniment, key and length in 16ths."""

    accompaniment: str | None
    key: str | None
    steps: int

    def __str__(self) -> str:
        return (f"accompaniment {self.accompaniment!r}, key {self.key!r}, "
                f"{self.steps} steps")


@dataclass(frozen=True, eq=False)
class StoredMelody:
    """A melody of the store with its context.

    Attributes:
        id: Its id in the store.
        events: The melody array (dtype :data:`~mammad_envs.melody.MELODY_DTYPE`; a new array
            on every read).
        accompaniment: Name of the accompaniment it was written over, or None.
        key: The key's canonical name (``"A minor"``), or None.
        source: Where it came from, one of :data:`SOURCES`.
        ref: Free text: a run folder, a file name, a checkpoint.
        created: When it was first added (ISO 8601, UTC).
    """

    id: int
    events: np.ndarray
    accompaniment: str | None
    key: str | None
    source: str
    ref: str
    created: str

    @property
    def steps(self) -> int:
        """Length in 16ths."""
        return int(self.events.size)

    @property
    def context(self) -> Context:
        """Its accompaniment, key and length."""
        return Context(self.accompaniment, self.key, self.steps)


@dataclass(frozen=True)
class Label:
    """The label of a pair.

    Attributes:
        choice: One of :data:`CHOICES`.
        labeler: Who gave it, e.g. ``"human:alice"`` or ``"synthetic:theory"``.
        time: When (ISO 8601, UTC).
    """

    choice: str
    labeler: str
    time: str

    @property
    def target(self) -> float | None:
        """Probability that A is preferred (1, 0 or 0.5; None for ``"skip"``)."""
        return TARGETS.get(self.choice)


@dataclass(frozen=True, eq=False)
class Pair:
    """Two melodies of the same context, shown side by side as A and B.

    Attributes:
        token: Its random token, which identifies it everywhere (pages, exports).
        a: Melody A.
        b: Melody B.
        created: When it was made (ISO 8601, UTC).
        label: Its label, or None while unlabelled.
    """

    token: str
    a: StoredMelody
    b: StoredMelody
    created: str
    label: Label | None

    @property
    def context(self) -> Context:
        """The context both melodies share."""
        return self.a.context


def short(value: Any) -> str:
    """A value's ``repr`` for an error message, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def timestamp(value: datetime | str | float | None = None) -> str:
    """A time as the store writes it: ISO 8601 in UTC, to the microsecond.

    Args:
        value: A datetime (a naive one is local time), an ISO 8601 string, Unix seconds, or
            None for now.

    Returns:
        E.g. ``"2025-05-01T12:00:00.000000+00:00"``.

    Raises:
        PreferenceStoreError: If the value is not a time.
    """
    if value is None:
        value = datetime.now(timezone.utc)
    elif isinstance(value, str):
        try:
            value = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z")
                                           else value)
        except ValueError:
            raise PreferenceStoreError(f"time {short(value)} is not an ISO 8601 time such as "
                                       f"'2025-05-01T12:00:00+00:00'") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            value = datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise PreferenceStoreError(f"time {short(value)} is not a Unix time in the range "
                                       f"of years 1..9999") from None
    elif not isinstance(value, datetime):
        raise PreferenceStoreError(f"time must be a datetime, an ISO 8601 string, Unix seconds "
                                   f"or None, got {type(value).__name__}")
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
