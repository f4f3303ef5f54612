"""The checks every write of a preference store goes through, with their errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from mammad_envs.melody import as_melody
from mammad_envs.music import parse_key
from rewards.preferences.store.records import CHOICES, SOURCES, PreferenceStoreError, short


def check_source(source: Any) -> str:
    """A melody's source, one of :data:`SOURCES`."""
    if source not in SOURCES:
        raise PreferenceStoreError(f"unknown melody source {short(source)}: use one of "
                                   f"{', '.join(SOURCES)}")
    return source


def check_accompaniment(accompaniment: Any) -> str | None:
    """An accompaniment's name (spaces around it dropped), or None."""
    if accompaniment is None:
        return None
    if not isinstance(accompaniment, str) or not accompaniment.strip():
        hint = " (pass its .name)" if isinstance(getattr(accompaniment, "name", None), str) else ""
        raise PreferenceStoreError(f"accompaniment must be a non-empty name or None, got "
                                   f"{short(accompaniment)}{hint}")
    return accompaniment.strip()


def check_key(key: Any) -> str | None:
    """A key's canonical name (``"a minor"`` gives ``"A minor"``), or None."""
    if key is None:
        return None
    try:
        return parse_key(key).name
    except ValueError as error:
        raise PreferenceStoreError(str(error)) from None


def check_ref(ref: Any) -> str:
    """A melody's ``ref``: any string."""
    if not isinstance(ref, str):
        raise PreferenceStoreError(f"ref must be a string, got {short(ref)}")
    return ref


def check_events(melody: Any, name: str = "melody") -> np.ndarray:
    """A melody's events as an array: at least one."""
    try:
        events = as_melody(melody, name=name)
    except ValueError as error:
        raise PreferenceStoreError(str(error)) from None
    if events.size == 0:
        raise PreferenceStoreError(f"{name} is empty: a stored melody has at least one step")
    return events


def check_choice(choice: Any) -> str:
    """A label's choice, one of :data:`CHOICES` (case and spaces ignored)."""
    normal = choice.strip().lower() if isinstance(choice, str) else choice
    if normal not in CHOICES:
        raise PreferenceStoreError(f"unknown choice {short(choice)}: use one of "
                                   f"{', '.join(repr(c) for c in CHOICES)}")
    return normal


def check_labeler(labeler: Any) -> str:
    """Who labels: a non-empty name (spaces around it dropped)."""
    if not isinstance(labeler, str) or not labeler.strip():
        raise PreferenceStoreError(f"labeler must be a non-empty string such as 'human:alice' "
                                   f"or 'synthetic:theory', got {short(labeler)}")
    return labeler.strip()


def check_token(token: Any) -> str:
    """A pair token: a non-empty string."""
    if not isinstance(token, str) or not token:
        raise PreferenceStoreError(f"a pair token is a non-empty string, got {short(token)}")
    return token


def check_id(value: Any, name: str) -> int:
    """A melody id: an int."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise PreferenceStoreError(f"{name} must be a melody id (an int), got {short(value)}")
    return int(value)
