"""The store's reads: melodies, pairs, labelled pairs and counts, each from one snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rewards.preferences.store.checks import check_choice, check_id, check_source, check_token
from rewards.preferences.store.connection import StoreConnection
from rewards.preferences.store.records import (
    CHOICES,
    PREFERENCES,
    Pair,
    PreferenceStoreError,
    StoredMelody,
    short,
)
from rewards.preferences.store.rows import (
    MELODY_COLUMNS,
    PAIR_QUERY,
    melody_from_row,
    pair_from_row,
)


class StoreReads(StoreConnection):
    """The read methods of :class:`~rewards.preferences.store.PreferenceStore`."""

    def melody(self, melody_id: int) -> StoredMelody:
        """The melody of an id.

        Raises:
            PreferenceStoreError: If there is none.
        """
        melody_id = check_id(melody_id, "melody_id")
        with self._read() as conn:
            row = conn.execute(f"SELECT {MELODY_COLUMNS} FROM melodies WHERE id = ?",
                               (melody_id,)).fetchone()
        if row is None:
            raise PreferenceStoreError(f"no melody has id {melody_id}")
        return melody_from_row(row)

    def melodies(self, *, source: str | None = None) -> list[StoredMelody]:
        """All melodies (of one source, if given), by id; group them by ``.context`` to pair.

        Raises:
            PreferenceStoreError: If the source is not one of :data:`SOURCES`.
        """
        query = f"SELECT {MELODY_COLUMNS} FROM melodies"
        parameters: tuple[Any, ...] = ()
        if source is not None:
            query += " WHERE source = ?"
            parameters = (check_source(source),)
        with self._read() as conn:
            return [melody_from_row(row)
                    for row in conn.execute(query + " ORDER BY id", parameters)]

    def pair(self, token: str) -> Pair:
        """The pair of a token, with its melodies and label.

        Raises:
            PreferenceStoreError: If no pair has the token.
        """
        token = check_token(token)
        with self._read() as conn:
            row = conn.execute(PAIR_QUERY + "WHERE p.token = ?", (token,)).fetchone()
        if row is None:
            raise PreferenceStoreError(f"unknown pair token {short(token)}")
        return pair_from_row(row)

    def unlabelled_pairs(self, limit: int | None = None) -> list[Pair]:
        """Pairs without a label, oldest first.

        Args:
            limit: At most this many (None: all).
        """
        query = PAIR_QUERY + "WHERE c.token IS NULL ORDER BY p.id"
        with self._read() as conn:
            if limit is None:
                rows = conn.execute(query).fetchall()
            else:
                rows = conn.execute(query + " LIMIT ?", (max(int(limit), 0),)).fetchall()
        return [pair_from_row(row) for row in rows]

    def next_pair(self, *, shuffle: bool = False) -> Pair | None:
        """An unlabelled pair for a labeller: the oldest, or a random one; None if none is left.

        Two people asking at once may get the same pair; the first label counts and the
        other's :meth:`record` raises :class:`AlreadyLabelledError` (``shuffle=True`` makes
        that rarer).
        """
        order = "random()" if shuffle else "p.id"
        with self._read() as conn:
            row = conn.execute(PAIR_QUERY + f"WHERE c.token IS NULL ORDER BY {order} LIMIT 1"
                               ).fetchone()
        return None if row is None else pair_from_row(row)

    def comparisons(self, include: Iterable[str] = PREFERENCES) -> list[Pair]:
        """The labelled pairs, in the order they were labelled: what a reward model trains on.

        Args:
            include: The labels to return (default ``"a"``, ``"b"``, ``"tie"``: not skips).

        Returns:
            Pairs with both melodies, their shared context, and their label.

        Raises:
            PreferenceStoreError: If ``include`` names an unknown choice.
        """
        if isinstance(include, str):
            include = (include,)
        wanted = sorted({check_choice(choice) for choice in include})
        marks = ", ".join("?" * len(wanted))
        with self._read() as conn:
            rows = conn.execute(PAIR_QUERY + f"WHERE c.choice IN ({marks}) ORDER BY c.id",
                                wanted).fetchall()
        return [pair_from_row(row) for row in rows]

    def counts(self) -> dict[str, Any]:
        """What the store holds.

        Returns:
            ``{"melodies": n, "pairs": n, "labelled": n, "unlabelled": n, "choices": {choice:
            n} (all four), "labelers": {labeler: n}, "sources": {source: n} (those present)}``.
        """
        with self._read() as conn:
            melodies = conn.execute("SELECT count(*) FROM melodies").fetchone()[0]
            pairs = conn.execute("SELECT count(*) FROM pairs").fetchone()[0]
            choices = dict.fromkeys(CHOICES, 0)
            choices.update(conn.execute(
                "SELECT choice, count(*) FROM comparisons GROUP BY choice ORDER BY choice"))
            labelers = dict(conn.execute("SELECT labeler, count(*) FROM comparisons "
                                         "GROUP BY labeler ORDER BY labeler"))
            sources = dict(conn.execute("SELECT source, count(*) FROM melodies "
                                        "GROUP BY source ORDER BY source"))
        labelled = sum(choices.values())
        return {"melodies": melodies, "pairs": pairs, "labelled": labelled,
                "unlabelled": pairs - labelled, "choices": choices, "labelers": labelers,
                "sources": sources}
