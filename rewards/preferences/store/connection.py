"""A store's connection: one per process, shared by threads, in one transaction at a time."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar

from rewards.preferences.store.records import PreferenceStoreError
from rewards.preferences.store.schema import open_store

_INHERITED: list[sqlite3.Connection] = []
"""Connections a forked child inherited and closed stores of: never closed, never used."""

_Store = TypeVar("_Store", bound="StoreConnection")


class StoreConnection:
    """Opens a store's file and runs its read and write transactions.

    Its arguments and errors are :class:`~rewards.preferences.store.PreferenceStore`'s.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = None
        self._conn = open_store(path, timeout)

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"{type(self).__name__}({str(self.path)!r}, {state})"

    def __enter__(self: _Store) -> _Store:
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

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction: the write lock first, then all or nothing."""
        return self._transaction("BEGIN IMMEDIATE", on_error="ROLLBACK")

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """One read transaction: a consistent snapshot while writers go on (WAL)."""
        return self._transaction("BEGIN", on_error="COMMIT")

    @contextmanager
    def _transaction(self, begin: str, on_error: str) -> Iterator[sqlite3.Connection]:
        """A transaction begun with ``begin``, committed, or ended with ``on_error`` on error."""
        with self._lock:
            conn = self._connection()
            conn.execute(begin)
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute(on_error)
                raise
            if conn.in_transaction:
                conn.execute("COMMIT")
