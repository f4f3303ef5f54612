"""The limits of every field of a preference store, and the checks every write goes through.

The same rule holds for every way in: :meth:`PreferenceStore.add_melody` and its kin,
:meth:`PreferenceStore.record`, :meth:`PreferenceStore.import_jsonl` and the labelling server
(which refuses a longer pair token than :data:`MAX_TOKEN_LENGTH` before asking the store). A
value over its limit raises :class:`PreferenceStoreError` naming the field and the limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammad_envs.melody import as_melody
from mammad_envs.music import parse_key
from rewards.preferences.store.records import CHOICES, SOURCES, PreferenceStoreError, short

MAX_TOKEN_LENGTH = 128
"""Longest pair token, in characters (the store makes tokens of 16)."""
MAX_LABELER_LENGTH = 128
"""Longest labeler name, in characters (``"human:alice"``, ``"synthetic:theory"``)."""
MAX_ACCOMPANIMENT_LENGTH = 128
"""Longest accompaniment name, in characters (the bundled ones are under 10)."""
MAX_KEY_LENGTH = 32
"""Longest key name, in characters (``"C# minor"``)."""
MAX_REF_LENGTH = 4096
"""Longest ``ref`` of a melody, in characters: a path of up to ``PATH_MAX`` (4096) fits."""
MAX_MELODY_STEPS = 2**16
"""Most events (16ths) of a stored melody: the longest melody
:func:`~mammad_envs.midi.load_midi` reads (:data:`~mammad_envs.midi.MAX_MIDI_STEPS`)."""

LIMITS: dict[str, int] = {
    "token": MAX_TOKEN_LENGTH,
    "labeler": MAX_LABELER_LENGTH,
    "accompaniment": MAX_ACCOMPANIMENT_LENGTH,
    "key": MAX_KEY_LENGTH,
    "ref": MAX_REF_LENGTH,
    "events": MAX_MELODY_STEPS,
}
"""Every field's limit: characters, or events for a melody. ``source`` and ``choice`` are one
of :data:`SOURCES` and :data:`CHOICES`."""

_LIMIT_NAMES = {"token": "MAX_TOKEN_LENGTH", "labeler": "MAX_LABELER_LENGTH",
                "accompaniment": "MAX_ACCOMPANIMENT_LENGTH", "key": "MAX_KEY_LENGTH",
                "ref": "MAX_REF_LENGTH", "events": "MAX_MELODY_STEPS"}


def check_length(field: str, value: str) -> str:
    """Returns a string field unchanged, or raises if it is longer than its limit."""
    limit = LIMITS[field]
    if len(value) > limit:
        raise PreferenceStoreError(f"{field} is {len(value)} characters long, over the limit "
                                   f"of {limit} ({_LIMIT_NAMES[field]}): {short(value)}")
    return value


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
    return check_length("accompaniment", accompaniment.strip())


def check_key(key: Any) -> str | None:
    """A key's canonical name (``"a minor"`` gives ``"A minor"``), or None."""
    if key is None:
        return None
    if isinstance(key, str):
        check_length("key", key)
    try:
        return parse_key(key).name
    except ValueError as error:
        raise PreferenceStoreError(str(error)) from None


def check_ref(ref: Any) -> str:
    """A melody's ``ref``: any string up to :data:`MAX_REF_LENGTH` characters."""
    if not isinstance(ref, str):
        raise PreferenceStoreError(f"ref must be a string, got {short(ref)}")
    return check_length("ref", ref)


def check_events(melody: Any, name: str = "melody") -> np.ndarray:
    """A melody's events as an array: 1 to :data:`MAX_MELODY_STEPS` of them."""
    try:
        events = as_melody(melody, name=name)
    except ValueError as error:
        raise PreferenceStoreError(str(error)) from None
    if events.size == 0:
        raise PreferenceStoreError(f"{name} is empty: a stored melody has at least one step")
    if events.size > MAX_MELODY_STEPS:
        raise PreferenceStoreError(f"{name} has {events.size} events, over the limit of "
                                   f"{MAX_MELODY_STEPS} (MAX_MELODY_STEPS)")
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
    return check_length("labeler", labeler.strip())


def check_token(token: Any) -> str:
    """A pair token: a non-empty string up to :data:`MAX_TOKEN_LENGTH` characters."""
    if not isinstance(token, str) or not token:
        raise PreferenceStoreError(f"a pair token is a non-empty string, got {short(token)}")
    return check_length("token", token)


def check_id(value: Any, name: str) -> int:
    """A melody id: an int."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise PreferenceStoreError(f"{name} must be a melody id (an int), got {short(value)}")
    return int(value)
