"""Tests of opening a preference store: a new file's schema, and the files it refuses."""

import sqlite3

import pytest

from rewards.preferences import SCHEMA_VERSION, PreferenceStore, PreferenceStoreError

# ------------------------------------------------------------------------ opening


def test_new_store_is_wal_with_schema_version_and_foreign_keys(tmp_path):
    path = tmp_path / "deep" / "folder" / "prefs.db"
    with PreferenceStore(path) as store:
        assert path.exists()
        conn = store._connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    with PreferenceStore(path, timeout=2) as again:
        assert again.counts()["melodies"] == 0
        assert again._connection().execute("PRAGMA busy_timeout").fetchone()[0] == 2000


def test_a_file_that_is_not_sqlite_is_refused_naming_it(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    with pytest.raises(PreferenceStoreError, match=r"notes\.db.*not a SQLite database"):
        PreferenceStore(path)
    assert path.read_text().startswith("these are my notes")


def test_another_sqlite_database_or_schema_version_is_refused(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(PreferenceStoreError, match=r"other\.db.*something else.*songs"):
        PreferenceStore(other)

    newer = tmp_path / "newer.db"
    PreferenceStore(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(PreferenceStoreError, match=rf"newer\.db.*schema version "
                                                   rf"{SCHEMA_VERSION + 1}.*reads version"):
        PreferenceStore(newer)


def test_a_closed_store_says_so(tmp_path):
    store = PreferenceStore(tmp_path / "prefs.db")
    store.close()
    store.close()
    with pytest.raises(PreferenceStoreError, match="closed"):
        store.counts()

