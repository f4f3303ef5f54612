"""The store's SQLite file: its schema, and opening it (pragmas, WAL, checks).

Opening refuses, naming the file, anything a store could not work on: a file that is not
SQLite, another application's database, another schema version, a file or folder that cannot
be written (the store has no read-only mode), and a damaged file (``PRAGMA quick_check``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from rewards.preferences.store.records import CHOICES, SOURCES, PreferenceStoreError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""The schema this code reads and writes (``PRAGMA user_version``)."""
APPLICATION_ID = 0x4D6D5046
"""``PRAGMA application_id`` of a preference store ("MmPF")."""
DAMAGE_SHOWN = 3
"""How many of ``PRAGMA quick_check``'s problems the error of a damaged file shows."""

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
        PreferenceStoreError: Naming the file, if it cannot be opened as a store, or written,
            or is damaged.
    """
    memory = str(path) == ":memory:"
    path = Path(path)
    if not memory:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PreferenceStoreError(f"cannot create the folder of {path}: {error}") from error
    try:
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as error:
        raise _open_error(path, error) from error
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        _enable_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = FULL")
        _prepare(conn, path)
        if not memory:
            check_intact(conn, path)
    except sqlite3.DatabaseError as error:
        conn.close()
        raise _open_error(path, error) from error
    except BaseException:
        conn.close()
        raise
    return conn


def _open_error(path: Path, error: sqlite3.Error) -> PreferenceStoreError:
    """The error of a file SQLite would not open or write, saying why in plain words."""
    message = str(error)
    if "not a database" in message:
        return PreferenceStoreError(f"cannot open {path} as a preference store: it is not a "
                                    f"SQLite database")
    if "malformed" in message or "corrupt" in message:
        return _damaged(path, [message], found_by="SQLite")
    if "readonly" in message or "unable to open" in message:
        reason = unwritable(path)
        if reason is not None or "readonly" in message:
            return PreferenceStoreError(
                f"cannot open {path} for writing: {reason or 'SQLite opened it read-only'} "
                f"({message}). A preference store has no read-only mode: make the file and its "
                f"folder writable, or work on a copy")
    return PreferenceStoreError(f"cannot open {path} as a preference store: {message}")


def unwritable(path: Path) -> str | None:
    """Why a store's file cannot be written (per ``os.access``), or None if it can.

    A store in WAL mode writes the file and, beside it, ``<file>-wal`` and ``<file>-shm``, so
    the folder must be writable too.
    """
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is read-only"
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"its folder {folder} is read-only (a store writes {path.name}-wal and "
                f"{path.name}-shm beside the file)")
    return None


def check_intact(conn: sqlite3.Connection, path: Path) -> None:
    """Runs ``PRAGMA quick_check`` (50 to 100 ms on a store of 10,000 pairs, 9 MB).

    Raises:
        PreferenceStoreError: Naming the file and its first problems, if it is damaged.
    """
    began = time.perf_counter()
    problems = [" ".join(str(row[0]).split())
                for row in conn.execute(f"PRAGMA quick_check({DAMAGE_SHOWN})")]
    logger.debug("quick_check of %s took %.1f ms", path, 1000 * (time.perf_counter() - began))
    if problems != ["ok"]:
        raise _damaged(path, problems)


def _damaged(path: Path, problems: list[str],
             found_by: str = "PRAGMA quick_check") -> PreferenceStoreError:
    return PreferenceStoreError(
        f"cannot open {path}: the file is damaged ({found_by}: "
        f"{'; '.join(problems[:DAMAGE_SHOWN])}). Restore it from a backup or an export "
        f"(import_jsonl into a new store), or try the sqlite3 shell's .recover")


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
    """Creates the schema in an empty file, or checks an existing one's version and writability.

    An existing store is written to once, and the write rolled back: SQLite opens a file it
    cannot write read-only without a word, and only a write finds out.
    """
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
            conn.execute("COMMIT")
            return
        if application != APPLICATION_ID:
            raise PreferenceStoreError(
                f"cannot open {path} as a preference store: it is a SQLite database "
                f"of something else (tables: {', '.join(tables) or 'none'})")
        if version != SCHEMA_VERSION:
            raise PreferenceStoreError(
                f"cannot open {path}: its preference store has schema version "
                f"{version}, and this version of mammad-envs reads version "
                f"{SCHEMA_VERSION}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # the write probe
        conn.execute("ROLLBACK")
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
