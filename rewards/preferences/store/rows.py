"""Records to rows and back: the queries and inserts that writes and imports share."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from mammad_envs.melody import MELODY_DTYPE
from rewards.preferences.store.records import (
    AlreadyLabelledError,
    Context,
    Label,
    Pair,
    PreferenceStoreError,
    StoredMelody,
    short,
)

MELODY_COLUMNS = "id, events, accompaniment, key, source, ref, created"
"""The columns :func:`melody_from_row` reads, in its order."""
PAIR_QUERY = f"""
SELECT p.token, p.created, c.choice, c.labeler, c.time,
       {", ".join(f"a.{column}" for column in MELODY_COLUMNS.split(", "))},
       {", ".join(f"b.{column}" for column in MELODY_COLUMNS.split(", "))}
FROM pairs AS p
JOIN melodies AS a ON a.id = p.melody_a
JOIN melodies AS b ON b.id = p.melody_b
LEFT JOIN comparisons AS c ON c.token = p.token
"""
"""Pairs with both melodies and their label, as :func:`pair_from_row` reads them."""


def melody_from_row(row: Sequence[Any]) -> StoredMelody:
    """A melody of a row of :data:`MELODY_COLUMNS`."""
    melody_id, blob, accompaniment, key, source, ref, created = row
    events = np.frombuffer(blob, dtype="<i2").astype(MELODY_DTYPE)
    return StoredMelody(melody_id, events, accompaniment, key, source, ref, created)


def pair_from_row(row: Sequence[Any]) -> Pair:
    """A pair of a row of :data:`PAIR_QUERY`."""
    token, created, choice, labeler, time = row[:5]
    size = len(MELODY_COLUMNS.split(", "))
    label = None if choice is None else Label(choice, labeler, time)
    return Pair(token, melody_from_row(row[5:5 + size]), melody_from_row(row[5 + size:]),
                created, label)


def _digest(blob: bytes, accompaniment: str | None, key: str | None) -> str:
    context = json.dumps([accompaniment, key]).encode()
    return hashlib.sha256(context + b"\0" + blob).hexdigest()


def insert_melody(conn: sqlite3.Connection, events: np.ndarray, accompaniment: str | None,
                  key: str | None, source: str, ref: str, created: str) -> int:
    """Adds a checked melody, or finds the same events in the same context; returns its id."""
    blob = events.astype("<i2").tobytes()
    digest = _digest(blob, accompaniment, key)
    conn.execute(
        "INSERT INTO melodies (digest, events, steps, accompaniment, key, source, ref, "
        "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
        (digest, blob, int(events.size), accompaniment, key, source, ref, created))
    return conn.execute("SELECT id FROM melodies WHERE digest = ?", (digest,)).fetchone()[0]


def check_pair(conn: sqlite3.Connection, a: int, b: int) -> None:
    """Raises unless melodies ``a`` and ``b`` exist, differ, and share their context."""
    if a == b:
        raise PreferenceStoreError(f"a melody cannot be paired with itself (id {a})")
    contexts = {}
    for melody_id in (a, b):
        row = conn.execute("SELECT accompaniment, key, steps FROM melodies WHERE id = ?",
                           (melody_id,)).fetchone()
        if row is None:
            raise PreferenceStoreError(f"no melody has id {melody_id}")
        contexts[melody_id] = Context(*row)
    if contexts[a] != contexts[b]:
        raise PreferenceStoreError(
            f"melodies {a} and {b} do not share their context: melody {a} has "
            f"({contexts[a]}) and melody {b} has ({contexts[b]})")


def insert_label(conn: sqlite3.Connection, token: str, label: Label) -> bool:
    """Records a checked label; False if the pair has this very label already.

    Raises:
        AlreadyLabelledError: If the pair has another label.
        PreferenceStoreError: If no pair has the token.
    """
    row = conn.execute("SELECT c.choice, c.labeler, c.time FROM pairs AS p LEFT JOIN "
                       "comparisons AS c ON c.token = p.token WHERE p.token = ?",
                       (token,)).fetchone()
    if row is None:
        raise PreferenceStoreError(f"unknown pair token {short(token)}: no pair has it")
    if row[0] is not None:
        if (row[0], row[1]) == (label.choice, label.labeler):
            return False
        raise AlreadyLabelledError(token, Label(*row))
    conn.execute("INSERT INTO comparisons (token, choice, labeler, time) VALUES (?, ?, ?, ?)",
                 (token, label.choice, label.labeler, label.time))
    return True
