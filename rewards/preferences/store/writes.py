"""The store's writes: melodies, pairs and labels, each call one transaction."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from rewards.preferences.store.checks import (
    check_accompaniment,
    check_choice,
    check_events,
    check_id,
    check_key,
    check_labeler,
    check_ref,
    check_source,
    check_token,
)
from rewards.preferences.store.connection import StoreConnection
from rewards.preferences.store.records import Label, timestamp
from rewards.preferences.store.rows import check_pair, insert_label, insert_melody


class StoreWrites(StoreConnection):
    """The write methods of :class:`~rewards.preferences.store.PreferenceStore`."""

    def add_melody(self, melody: Sequence[int] | np.ndarray, source: str, *,
                   accompaniment: str | None = None, key: str | None = None,
                   ref: str = "") -> int:
        """Adds a melody with its context, or finds it if it is there.

        Args:
            melody: The events (see :func:`mammad_envs.melody.as_melody`), at least one.
            source: Where it came from, one of :data:`SOURCES`.
            accompaniment: The accompaniment's name, or None for none.
            key: The key, e.g. ``"C major"`` (stored by its canonical name), or None.
            ref: Free text: a run folder, a file name.

        Returns:
            Its id. The same events in the same context always get the same id; the first
            ``source`` and ``ref`` stay.

        Raises:
            PreferenceStoreError: If an argument is invalid or over its limit (see
                :data:`~rewards.preferences.store.LIMITS`).
        """
        return self._add([check_events(melody)], source, accompaniment, key, ref)[0]

    def add_melodies(self, melodies: Iterable[Sequence[int] | np.ndarray], source: str, *,
                     accompaniment: str | None = None, key: str | None = None,
                     ref: str = "") -> list[int]:
        """Adds many melodies of one context and source in one transaction.

        Args:
            melodies: The melody arrays.
            source: Where they came from, one of :data:`SOURCES`.
            accompaniment: Their accompaniment's name, or None.
            key: Their key, or None.
            ref: Free text, the same for all.

        Returns:
            Their ids, in order (see :meth:`add_melody`).

        Raises:
            PreferenceStoreError: If an argument or a melody is invalid (nothing is added).
        """
        arrays = [check_events(melody, f"melodies[{index}]")
                  for index, melody in enumerate(melodies)]
        return self._add(arrays, source, accompaniment, key, ref)

    def _add(self, arrays: list[np.ndarray], source: str, accompaniment: str | None,
             key: str | None, ref: str) -> list[int]:
        source = check_source(source)
        accompaniment = check_accompaniment(accompaniment)
        key = check_key(key)
        ref = check_ref(ref)
        created = timestamp()
        with self._write() as conn:
            return [insert_melody(conn, events, accompaniment, key, source, ref, created)
                    for events in arrays]

    def new_pair(self, a: int, b: int) -> str:
        """Makes a pair of two melodies of the same context (A and B in this order).

        The labelling page shows A and B as given: shuffle them before, if the order should
        not carry meaning. The same two melodies may be paired again (a new token each time),
        e.g. to ask a second labeler.

        Args:
            a: Id of melody A.
            b: Id of melody B, another melody with A's accompaniment, key and length.

        Returns:
            The pair's token.

        Raises:
            PreferenceStoreError: If a melody is unknown, ``a == b``, or their contexts differ.
        """
        return self.new_pairs([(a, b)])[0]

    def new_pairs(self, pairs: Iterable[tuple[int, int]]) -> list[str]:
        """Makes many pairs in one transaction (see :meth:`new_pair`).

        Args:
            pairs: ``(a, b)`` melody ids.

        Returns:
            Their tokens, in order.

        Raises:
            PreferenceStoreError: If a pair is invalid (no pair is made).
        """
        checked = [(check_id(a, f"pairs[{index}][0]"), check_id(b, f"pairs[{index}][1]"))
                   for index, (a, b) in enumerate(pairs)]
        created = timestamp()
        with self._write() as conn:
            tokens = []
            for a, b in checked:
                check_pair(conn, a, b)
                token = secrets.token_urlsafe(12)
                conn.execute("INSERT INTO pairs (token, melody_a, melody_b, created) "
                             "VALUES (?, ?, ?, ?)", (token, a, b, created))
                tokens.append(token)
            return tokens

    def record(self, token: str, choice: str, labeler: str,
               time: datetime | str | float | None = None) -> bool:
        """Records the label of a pair, in one transaction.

        Args:
            token: The pair's token.
            choice: ``"a"``, ``"b"``, ``"tie"`` or ``"skip"`` (case and spaces ignored).
            labeler: Who labels, e.g. ``"human:alice"`` or ``"synthetic:theory"``.
            time: When (see :func:`timestamp`); None for now.

        Returns:
            True if the label is new; False if the pair already has this very label (the same
            choice by the same labeler: a double click, or a retry after a lost response),
            which then counts once.

        Raises:
            AlreadyLabelledError: If the pair has a different label (another choice, or another
                labeler's): the first label stays.
            PreferenceStoreError: If the token is unknown or an argument is invalid. In every
                error case the database is unchanged.
        """
        return self.record_many([(token, choice, labeler)], time=time) == 1

    def record_many(self, labels: Iterable[tuple[str, str, str]],
                    time: datetime | str | float | None = None) -> int:
        """Records many labels in one transaction: all of them or, on any error, none.

        Args:
            labels: ``(token, choice, labeler)`` triples (see :meth:`record`).
            time: When, for all of them; None for now.

        Returns:
            How many were new (a label already there, or repeated in ``labels``, counts once).

        Raises:
            AlreadyLabelledError: If a pair has a different label.
            PreferenceStoreError: If a label is invalid.
        """
        checked = [(check_token(token), check_choice(choice), check_labeler(labeler))
                   for token, choice, labeler in labels]
        when = timestamp(time)
        with self._write() as conn:
            return sum(insert_label(conn, token, Label(choice, labeler, when))
                       for token, choice, labeler in checked)
