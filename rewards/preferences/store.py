"""The preference store: melodies, pairs of them, and people's (or programs') choices.

One SQLite file in WAL mode holds three tables:

* ``melodies``: each melody's events with its *context* (accompaniment, key, length) and where
  it came from (:data:`SOURCES`). A melody is identified by a hash of its events and context,
  so adding the same melody in the same context again returns the same id.
* ``pairs``: two melodies of the same context, shown together, identified by a random token.
  As MusicRL's pairs share a prompt, the two melodies of a pair share their context, and a
  reward model that sees the context (the accompaniment is part of the state) can serve every
  accompaniment.
* ``comparisons``: at most one label per pair token: ``"a"``, ``"b"``, ``"tie"`` or ``"skip"``,
  who gave it (``"human:alice"``, ``"synthetic:theory"``) and when.

Every write is one transaction, begun with ``BEGIN IMMEDIATE``: it takes the write lock first,
validates, writes, and commits or rolls back as a whole. Several processes (each with its own
:class:`PreferenceStore`) and several threads (sharing one) may write at once; a writer waits up
to ``timeout`` seconds for another's transaction to finish. A killed process leaves only whole
transactions behind. Recording the same label for the same token twice (a double click) is
harmless: the second call returns False and counts nothing; a *different* label for a labelled
token raises :class:`AlreadyLabelledError`.

Invalid input (an unknown token, a bad choice, an empty labeler, a bad melody, a pair whose
melodies differ in context) raises :class:`PreferenceStoreError`, a ``ValueError``, with the
database unchanged. :meth:`PreferenceStore.export_jsonl` and
:meth:`PreferenceStore.import_jsonl` move a store's contents as JSON lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mammad_envs.melody import MELODY_DTYPE, as_melody
from mammad_envs.music import parse_key

SCHEMA_VERSION = 1
"""The schema this code reads and writes (``PRAGMA user_version``)."""
APPLICATION_ID = 0x4D6D5046
"""``PRAGMA application_id`` of a preference store ("MmPF")."""
FORMAT = "mammad-envs/preferences"
"""The ``format`` of the header line of an exported JSON-lines file."""

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

_SCHEMA = f"""
CREATE TABLE melodies (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    events BLOB NOT NULL,
    steps INTEGER NOT NULL CHECK (steps > 0 AND length(events) = 2 * steps),
    accompaniment TEXT,
    key TEXT,
    source TEXT NOT NULL CHECK (source IN ({", ".join(repr(s) for s in SOURCES)})),
    ref TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE INDEX melodies_context ON melodies (accompaniment, key, steps);
CREATE TABLE pairs (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    melody_a INTEGER NOT NULL REFERENCES melodies (id),
    melody_b INTEGER NOT NULL REFERENCES melodies (id),
    created TEXT NOT NULL,
    CHECK (melody_a <> melody_b)
);
CREATE TRIGGER pairs_share_context BEFORE INSERT ON pairs
BEGIN
    SELECT RAISE(ABORT, 'the melodies of a pair must share accompaniment, key and length')
    FROM melodies AS a, melodies AS b
    WHERE a.id = NEW.melody_a AND b.id = NEW.melody_b
      AND (a.accompaniment IS NOT b.accompaniment OR a.key IS NOT b.key OR a.steps <> b.steps);
END;
CREATE TABLE comparisons (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE REFERENCES pairs (token),
    choice TEXT NOT NULL CHECK (choice IN ({", ".join(repr(c) for c in CHOICES)})),
    labeler TEXT NOT NULL CHECK (length(trim(labeler)) > 0),
    time TEXT NOT NULL
);
"""

_MELODY_COLUMNS = "id, events, accompaniment, key, source, ref, created"
_PAIR_QUERY = f"""
SELECT p.token, p.created, c.choice, c.labeler, c.time,
       {", ".join(f"a.{column}" for column in _MELODY_COLUMNS.split(", "))},
       {", ".join(f"b.{column}" for column in _MELODY_COLUMNS.split(", "))}
FROM pairs AS p
JOIN melodies AS a ON a.id = p.melody_a
JOIN melodies AS b ON b.id = p.melody_b
LEFT JOIN comparisons AS c ON c.token = p.token
"""


_INHERITED: list[sqlite3.Connection] = []
"""Connections a forked child inherited and closed stores of: never closed, never used."""


class PreferenceStoreError(ValueError):
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
            raise PreferenceStoreError(f"time {value!r} is not an ISO 8601 time such as "
                                       f"'2025-05-01T12:00:00+00:00'") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = datetime.fromtimestamp(float(value), timezone.utc)
    elif not isinstance(value, datetime):
        raise PreferenceStoreError(f"time must be a datetime, an ISO 8601 string, Unix seconds "
                                   f"or None, got {type(value).__name__}")
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_source(source: Any) -> str:
    if source not in SOURCES:
        raise PreferenceStoreError(f"unknown melody source {_short(source)}: use one of "
                                   f"{', '.join(SOURCES)}")
    return source


def _check_accompaniment(accompaniment: Any) -> str | None:
    if accompaniment is None:
        return None
    if not isinstance(accompaniment, str) or not accompaniment.strip():
        hint = " (pass its .name)" if isinstance(getattr(accompaniment, "name", None), str) else ""
        raise PreferenceStoreError(f"accompaniment must be a non-empty name or None, got "
                                   f"{_short(accompaniment)}{hint}")
    return accompaniment.strip()


def _check_key(key: Any) -> str | None:
    if key is None:
        return None
    try:
        return parse_key(key).name
    except ValueError as error:
        raise PreferenceStoreError(str(error)) from None


def _check_ref(ref: Any) -> str:
    if not isinstance(ref, str):
        raise PreferenceStoreError(f"ref must be a string, got {_short(ref)}")
    return ref


def _check_events(melody: Any, name: str = "melody") -> np.ndarray:
    try:
        events = as_melody(melody, name=name)
    except ValueError as error:
        raise PreferenceStoreError(str(error)) from None
    if events.size == 0:
        raise PreferenceStoreError(f"{name} is empty: a stored melody has at least one step")
    return events


def _check_choice(choice: Any) -> str:
    normal = choice.strip().lower() if isinstance(choice, str) else choice
    if normal not in CHOICES:
        raise PreferenceStoreError(f"unknown choice {_short(choice)}: use one of "
                                   f"{', '.join(repr(c) for c in CHOICES)}")
    return normal


def _check_labeler(labeler: Any) -> str:
    if not isinstance(labeler, str) or not labeler.strip():
        raise PreferenceStoreError(f"labeler must be a non-empty string such as 'human:alice' "
                                   f"or 'synthetic:theory', got {_short(labeler)}")
    return labeler.strip()


def _check_token(token: Any) -> str:
    if not isinstance(token, str) or not token:
        raise PreferenceStoreError(f"a pair token is a non-empty string, got {_short(token)}")
    return token


def _check_id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise PreferenceStoreError(f"{name} must be a melody id (an int), got {_short(value)}")
    return int(value)


def _blob(events: np.ndarray) -> bytes:
    return events.astype("<i2").tobytes()


def _digest(blob: bytes, accompaniment: str | None, key: str | None) -> str:
    context = json.dumps([accompaniment, key]).encode()
    return hashlib.sha256(context + b"\0" + blob).hexdigest()


def _melody(row: Sequence[Any]) -> StoredMelody:
    melody_id, blob, accompaniment, key, source, ref, created = row
    events = np.frombuffer(blob, dtype="<i2").astype(MELODY_DTYPE)
    return StoredMelody(melody_id, events, accompaniment, key, source, ref, created)


def _pair(row: Sequence[Any]) -> Pair:
    token, created, choice, labeler, time = row[:5]
    size = len(_MELODY_COLUMNS.split(", "))
    label = None if choice is None else Label(choice, labeler, time)
    return Pair(token, _melody(row[5:5 + size]), _melody(row[5 + size:]), created, label)


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switches the file to WAL mode, waiting up to ``timeout`` for other openers.

    SQLite answers a journal-mode change with "database is locked" at once, without its busy
    handler, while another process is creating or switching the same file; so retry here.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class PreferenceStore:
    """A SQLite file of melodies, pairs and labels (see the module docstring).

    Open one store per process; threads may share it. Use it as a context manager, or call
    :meth:`close`.

    Args:
        path: The database file; created (with its folders) if missing. ``":memory:"`` is
            a throwaway store that only this object sees.
        timeout: Seconds a write waits for another process's transaction before failing.

    Raises:
        PreferenceStoreError: If the file is not SQLite, is another application's database, or
            has another schema version.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = None
        memory = str(path) == ":memory:"
        if not memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as error:
            raise PreferenceStoreError(f"cannot open {self.path}: {error}") from error
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            _enable_wal(conn, timeout)
            conn.execute("PRAGMA synchronous = FULL")
            self._prepare(conn)
        except sqlite3.DatabaseError as error:
            conn.close()
            reason = ("it is not a SQLite database" if "not a database" in str(error)
                      else str(error))
            raise PreferenceStoreError(f"cannot open {self.path} as a preference store: "
                                       f"{reason}") from error
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Creates the schema in an empty file, or checks an existing one's version."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            application = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            if application == 0 and version == 0 and not tables:
                for statement in _statements(_SCHEMA):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif application != APPLICATION_ID:
                raise PreferenceStoreError(
                    f"cannot open {self.path} as a preference store: it is a SQLite database "
                    f"of something else (tables: {', '.join(tables) or 'none'})")
            elif version != SCHEMA_VERSION:
                raise PreferenceStoreError(
                    f"cannot open {self.path}: its preference store has schema version "
                    f"{version}, and this version of mammad-envs reads version "
                    f"{SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # ---------------------------------------------------------------- connection handling

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"PreferenceStore({str(self.path)!r}, {state})"

    def __enter__(self) -> PreferenceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection (again is harmless)."""
        with self._lock:
            if self._conn is not None:
                if os.getpid() == self._pid:
                    self._conn.close()
                else:  # Closing a connection inherited through fork could drop this
                    _INHERITED.append(self._conn)  # process's own locks on the file: keep it.
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise PreferenceStoreError(f"the preference store {self.path} is closed")
        if os.getpid() != self._pid:
            raise PreferenceStoreError(
                f"this PreferenceStore of {self.path} was opened in process {self._pid}: "
                f"open a new one in each process")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the write lock first, then all or nothing."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot while writers go on (WAL)."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    # ---------------------------------------------------------------- melodies

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
            PreferenceStoreError: If an argument is invalid.
        """
        return self._add([_check_events(melody)], source, accompaniment, key, ref)[0]

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
        arrays = [_check_events(melody, f"melodies[{index}]")
                  for index, melody in enumerate(melodies)]
        return self._add(arrays, source, accompaniment, key, ref)

    def _add(self, arrays: list[np.ndarray], source: str, accompaniment: str | None,
             key: str | None, ref: str) -> list[int]:
        source = _check_source(source)
        accompaniment = _check_accompaniment(accompaniment)
        key = _check_key(key)
        ref = _check_ref(ref)
        created = timestamp()
        with self._write() as conn:
            return [self._insert_melody(conn, events, accompaniment, key, source, ref, created)
                    for events in arrays]

    @staticmethod
    def _insert_melody(conn: sqlite3.Connection, events: np.ndarray, accompaniment: str | None,
                       key: str | None, source: str, ref: str, created: str) -> int:
        blob = _blob(events)
        digest = _digest(blob, accompaniment, key)
        conn.execute(
            "INSERT INTO melodies (digest, events, steps, accompaniment, key, source, ref, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            (digest, blob, int(events.size), accompaniment, key, source, ref, created))
        return conn.execute("SELECT id FROM melodies WHERE digest = ?", (digest,)).fetchone()[0]

    def melody(self, melody_id: int) -> StoredMelody:
        """The melody of an id.

        Raises:
            PreferenceStoreError: If there is none.
        """
        melody_id = _check_id(melody_id, "melody_id")
        with self._read() as conn:
            row = conn.execute(f"SELECT {_MELODY_COLUMNS} FROM melodies WHERE id = ?",
                               (melody_id,)).fetchone()
        if row is None:
            raise PreferenceStoreError(f"no melody has id {melody_id}")
        return _melody(row)

    def melodies(self, *, source: str | None = None) -> list[StoredMelody]:
        """All melodies (of one source, if given), by id; group them by ``.context`` to pair.

        Raises:
            PreferenceStoreError: If the source is not one of :data:`SOURCES`.
        """
        query = f"SELECT {_MELODY_COLUMNS} FROM melodies"
        parameters: tuple[Any, ...] = ()
        if source is not None:
            query += " WHERE source = ?"
            parameters = (_check_source(source),)
        with self._read() as conn:
            return [_melody(row) for row in conn.execute(query + " ORDER BY id", parameters)]

    # ---------------------------------------------------------------- pairs

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
        checked = [(_check_id(a, f"pairs[{index}][0]"), _check_id(b, f"pairs[{index}][1]"))
                   for index, (a, b) in enumerate(pairs)]
        created = timestamp()
        with self._write() as conn:
            tokens = []
            for a, b in checked:
                self._check_pair(conn, a, b)
                token = secrets.token_urlsafe(12)
                conn.execute("INSERT INTO pairs (token, melody_a, melody_b, created) "
                             "VALUES (?, ?, ?, ?)", (token, a, b, created))
                tokens.append(token)
            return tokens

    @staticmethod
    def _check_pair(conn: sqlite3.Connection, a: int, b: int) -> None:
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

    def pair(self, token: str) -> Pair:
        """The pair of a token, with its melodies and label.

        Raises:
            PreferenceStoreError: If no pair has the token.
        """
        token = _check_token(token)
        with self._read() as conn:
            row = conn.execute(_PAIR_QUERY + "WHERE p.token = ?", (token,)).fetchone()
        if row is None:
            raise PreferenceStoreError(f"unknown pair token {_short(token)}")
        return _pair(row)

    def unlabelled_pairs(self, limit: int | None = None) -> list[Pair]:
        """Pairs without a label, oldest first.

        Args:
            limit: At most this many (None: all).
        """
        query = _PAIR_QUERY + "WHERE c.token IS NULL ORDER BY p.id"
        with self._read() as conn:
            if limit is None:
                rows = conn.execute(query).fetchall()
            else:
                rows = conn.execute(query + " LIMIT ?", (max(int(limit), 0),)).fetchall()
        return [_pair(row) for row in rows]

    def next_pair(self, *, shuffle: bool = False) -> Pair | None:
        """An unlabelled pair for a labeller: the oldest, or a random one; None if none is left.

        Two people asking at once may get the same pair; the first label counts and the
        other's :meth:`record` raises :class:`AlreadyLabelledError` (``shuffle=True`` makes
        that rarer).
        """
        order = "random()" if shuffle else "p.id"
        with self._read() as conn:
            row = conn.execute(_PAIR_QUERY + f"WHERE c.token IS NULL ORDER BY {order} LIMIT 1"
                               ).fetchone()
        return None if row is None else _pair(row)

    # ---------------------------------------------------------------- labels

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
        checked = [(_check_token(token), _check_choice(choice), _check_labeler(labeler))
                   for token, choice, labeler in labels]
        when = timestamp(time)
        with self._write() as conn:
            return sum(self._insert_label(conn, token, Label(choice, labeler, when))
                       for token, choice, labeler in checked)

    @staticmethod
    def _insert_label(conn: sqlite3.Connection, token: str, label: Label) -> bool:
        row = conn.execute("SELECT c.choice, c.labeler, c.time FROM pairs AS p LEFT JOIN "
                           "comparisons AS c ON c.token = p.token WHERE p.token = ?",
                           (token,)).fetchone()
        if row is None:
            raise PreferenceStoreError(f"unknown pair token {_short(token)}: no pair has it")
        if row[0] is not None:
            if (row[0], row[1]) == (label.choice, label.labeler):
                return False
            raise AlreadyLabelledError(token, Label(*row))
        conn.execute("INSERT INTO comparisons (token, choice, labeler, time) VALUES (?, ?, ?, ?)",
                     (token, label.choice, label.labeler, label.time))
        return True

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
        wanted = sorted({_check_choice(choice) for choice in include})
        marks = ", ".join("?" * len(wanted))
        with self._read() as conn:
            rows = conn.execute(_PAIR_QUERY + f"WHERE c.choice IN ({marks}) ORDER BY c.id",
                                wanted).fetchall()
        return [_pair(row) for row in rows]

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

    # ---------------------------------------------------------------- JSON lines

    def export_jsonl(self, path: str | os.PathLike[str]) -> dict[str, int]:
        """Writes the whole store as JSON lines, from one consistent snapshot.

        The first line is a header (``{"type": "header", "format": FORMAT, "version": 1}``),
        then one ``{"type": "melody", "id", "events", "accompaniment", "key", "source", "ref",
        "created"}`` per melody (events as a list of ints), then one ``{"type": "pair",
        "token", "a", "b", "created", "label"}`` per pair, where ``a`` and ``b`` are melody ids
        of the file and ``label`` is ``{"choice", "labeler", "time"}`` or null. The file is
        written beside ``path`` and renamed into place.

        Args:
            path: The file to write.

        Returns:
            ``{"melodies": n, "pairs": n, "labels": n}`` written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.partial-{os.getpid()}")
        written = {"melodies": 0, "pairs": 0, "labels": 0}
        try:
            with self._read() as conn, scratch.open("w", encoding="utf-8") as out:
                def line(entry: dict[str, Any]) -> None:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")

                line({"type": "header", "format": FORMAT, "version": SCHEMA_VERSION,
                      "exported": timestamp()})
                for row in conn.execute(f"SELECT {_MELODY_COLUMNS} FROM melodies ORDER BY id"):
                    melody = _melody(row)
                    line({"type": "melody", "id": melody.id, "events": melody.events.tolist(),
                          "accompaniment": melody.accompaniment, "key": melody.key,
                          "source": melody.source, "ref": melody.ref,
                          "created": melody.created})
                    written["melodies"] += 1
                for token, a, b, created, choice, labeler, time in conn.execute(
                        "SELECT p.token, p.melody_a, p.melody_b, p.created, c.choice, c.labeler, "
                        "c.time FROM pairs AS p LEFT JOIN comparisons AS c ON c.token = p.token "
                        "ORDER BY p.id"):
                    label = None if choice is None else {"choice": choice, "labeler": labeler,
                                                         "time": time}
                    line({"type": "pair", "token": token, "a": a, "b": b, "created": created,
                          "label": label})
                    written["pairs"] += 1
                    written["labels"] += label is not None
            os.replace(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)
        return written

    def import_jsonl(self, path: str | os.PathLike[str]) -> dict[str, int]:
        """Reads a file of :meth:`export_jsonl` into the store, in one transaction.

        Importing is idempotent: a melody already here (same events and context) is reused,
        a pair whose token is here is skipped if it has the same melodies, and a label already
        here is skipped if it is the same choice by the same labeler. Times and tokens are
        kept from the file.

        Args:
            path: The file.

        Returns:
            ``{"melodies": n, "pairs": n, "labels": n}`` that were new.

        Raises:
            PreferenceStoreError: Naming the line, if a line is malformed or conflicts with the
                store (a token of other melodies, another label); nothing is imported.
        """
        path = Path(path)
        added = {"melodies": 0, "pairs": 0, "labels": 0}
        ids: dict[int, int] = {}
        try:
            handle = path.open("rb")
        except OSError as error:
            raise PreferenceStoreError(f"cannot read {path}: {error}") from error
        with handle, self._write() as conn:
            header = False
            for number, data in enumerate(handle, start=1):
                try:
                    entry = _parse_line(data, first=not header)
                    if entry is None:
                        continue
                    kind = entry["type"]
                    if kind == "header":
                        header = True
                    elif kind == "melody":
                        self._import_melody(conn, entry, ids, added)
                    elif kind == "pair":
                        self._import_pair(conn, entry, ids, added)
                except PreferenceStoreError as error:
                    raise PreferenceStoreError(f"{path}, line {number}: {error}") from None
            if not header:
                raise PreferenceStoreError(f"{path} is empty: an export starts with a header "
                                           f"line of format {FORMAT!r}")
        return added

    @staticmethod
    def _import_melody(conn: sqlite3.Connection, entry: dict[str, Any], ids: dict[int, int],
                       added: dict[str, int]) -> None:
        file_id = _check_id(entry["id"], "id")
        if file_id in ids:
            raise PreferenceStoreError(f"melody id {file_id} appears twice")
        events = _check_events(entry["events"], "events")
        accompaniment = _check_accompaniment(entry.get("accompaniment"))
        key = _check_key(entry.get("key"))
        source = _check_source(entry["source"])
        ref = _check_ref(entry.get("ref", ""))
        created = timestamp(entry.get("created"))
        before = conn.total_changes
        ids[file_id] = PreferenceStore._insert_melody(conn, events, accompaniment, key, source,
                                                      ref, created)
        added["melodies"] += conn.total_changes > before

    @staticmethod
    def _import_pair(conn: sqlite3.Connection, entry: dict[str, Any], ids: dict[int, int],
                     added: dict[str, int]) -> None:
        token = _check_token(entry["token"])
        melodies = []
        for side in ("a", "b"):
            file_id = _check_id(entry[side], side)
            if file_id not in ids:
                raise PreferenceStoreError(f"{side} = {file_id} is not the id of a melody of an "
                                           f"earlier line")
            melodies.append(ids[file_id])
        a, b = melodies
        created = timestamp(entry.get("created"))
        label = entry.get("label")
        if label is not None:
            if not isinstance(label, dict) or set(label) - {"choice", "labeler", "time"}:
                raise PreferenceStoreError(f"label must be null or an object with choice, "
                                           f"labeler and time, got {_short(label)}")
            label = Label(_check_choice(label.get("choice")),
                          _check_labeler(label.get("labeler")), timestamp(label.get("time")))
        row = conn.execute("SELECT melody_a, melody_b FROM pairs WHERE token = ?",
                           (token,)).fetchone()
        if row is None:
            PreferenceStore._check_pair(conn, a, b)
            conn.execute("INSERT INTO pairs (token, melody_a, melody_b, created) "
                         "VALUES (?, ?, ?, ?)", (token, a, b, created))
            added["pairs"] += 1
        elif tuple(row) != (a, b):
            raise PreferenceStoreError(f"pair {token!r} is already in the store with other "
                                       f"melodies ({row[0]}, {row[1]})")
        if label is not None:
            added["labels"] += PreferenceStore._insert_label(conn, token, label)


_LINE_KEYS = {
    "header": ({"type", "format", "version"}, {"exported"}),
    "melody": ({"type", "id", "events", "source"}, {"accompaniment", "key", "ref", "created"}),
    "pair": ({"type", "token", "a", "b"}, {"created", "label"}),
}
"""Per line type: the keys it must have, and those it may have."""


def _parse_line(data: bytes, *, first: bool) -> dict[str, Any] | None:
    """One line of an export as a checked dict (None for a blank line).

    Args:
        data: The line.
        first: Whether it is the first line that is not blank (which must be the header).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PreferenceStoreError(f"not UTF-8 text ({error})") from None
    if not text.strip():
        return None
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as error:
        raise PreferenceStoreError(f"not JSON ({error})") from None
    if not isinstance(entry, dict) or entry.get("type") not in _LINE_KEYS:
        raise PreferenceStoreError(f"expected an object with a type among "
                                   f"{', '.join(_LINE_KEYS)}, got {_short(text.strip())}")
    kind = entry["type"]
    required, optional = _LINE_KEYS[kind]
    missing = required - set(entry)
    unknown = set(entry) - required - optional
    if missing or unknown:
        problems = [f"missing {', '.join(sorted(missing))}" if missing else "",
                    f"unknown {', '.join(sorted(unknown))}" if unknown else ""]
        raise PreferenceStoreError(f"a {kind} line with keys {'; '.join(filter(None, problems))}")
    if (kind == "header") != first:
        raise PreferenceStoreError(f"the first line, and only it, is the header with format "
                                   f"{FORMAT!r}")
    if kind == "header" and (entry["format"] != FORMAT or entry["version"] != SCHEMA_VERSION):
        raise PreferenceStoreError(f"format {_short(entry['format'])} version "
                                   f"{_short(entry['version'])}; this version of "
                                   f"mammad-envs reads {FORMAT!r} version {SCHEMA_VERSION}")
    return entry


def _statements(script: str) -> list[str]:
    """The statements of a script (executescript would commit the open transaction)."""
    statements, current = [], ""
    for line in script.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements
