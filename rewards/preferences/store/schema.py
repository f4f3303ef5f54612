"""The store's SQLite file: its schema, and opening it (pragmas, WAL, schema version).

Opening refuses, naming the file, a file that is not SQLite, another application's database,
and another schema version.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from rewards.preferences.store.records import CHOICES, SOURCES, PreferenceStoreError

SCHEMA_VERSION = 1
"""The schema this code reads and writes (``PRAGMA user_version``)."""
APPLICATION_ID = 0x4D6D5046
"""``PRAGMA application_id`` of a preference store ("MmPF")."""

SCHEMA = f"""
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
"""The tables, index and trigger of a new store (see ``docs/rlhf.md``)."""


def open_store(path: str | os.PathLike[str], timeout: float) -> sqlite3.Connection:
    """Opens (or creates) a store's file, ready for reads and writes.

    Args:
        path: The file, or ``":memory:"``; its folders are made if missing.
        timeout: Seconds to wait for other processes' locks.

    Returns:
        A connection in autocommit mode (the store begins its own transactions), usable from
        any thread.

    Raises:
        PreferenceStoreError: Naming the file, if it cannot be opened as a store.
    """
    memory = str(path) == ":memory:"
    path = Path(path)
    if not memory:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as error:
        raise PreferenceStoreError(f"cannot open {path}: {error}") from error
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        _enable_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = FULL")
        _prepare(conn, path)
    except sqlite3.DatabaseError as error:
        conn.close()
        reason = ("it is not a SQLite database" if "not a database" in str(error)
                  else str(error))
        raise PreferenceStoreError(f"cannot open {path} as a preference store: "
                                   f"{reason}") from error
    except BaseException:
        conn.close()
        raise
    return conn


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


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Creates the schema in an empty file, or checks an existing one's version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        application = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        if application == 0 and version == 0 and not tables:
            for statement in _statements(SCHEMA):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif application != APPLICATION_ID:
            raise PreferenceStoreError(
                f"cannot open {path} as a preference store: it is a SQLite database "
                f"of something else (tables: {', '.join(tables) or 'none'})")
        elif version != SCHEMA_VERSION:
            raise PreferenceStoreError(
                f"cannot open {path}: its preference store has schema version "
                f"{version}, and this version of mammad-envs reads version "
                f"{SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """The statements of a script (executescript would commit the open transaction)."""
    statements, current = [], ""
    for line in script.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements
