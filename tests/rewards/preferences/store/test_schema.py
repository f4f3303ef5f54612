"""Tests of opening a preference store: a new file's schema, and the files it refuses."""

import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from mammad_envs.melody import HOLD
from rewards.preferences import SCHEMA_VERSION, PreferenceStore, PreferenceStoreError
from tests.rewards.preferences.store.helpers import dump

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



# ------------------------------------------------------------------------ files a store cannot use


def make_read_only(path, request):
    """Makes a file or folder read-only even for root (an immutable file), or skips the test."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        request.addfinalizer(lambda: path.chmod(mode))
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode:
        pytest.skip("as root only an immutable file (chattr +i) is read-only, and chattr +i "
                    "failed here (see the os.access and mode=ro tests)")
    request.addfinalizer(lambda: subprocess.run([chattr, "-i", str(path)], check=True))


def a_store(path, melodies=1):
    with PreferenceStore(path) as store:
        store.add_melodies([[40 + i % 80, 40 + i // 80 % 80] + [HOLD] * 62
                            for i in range(melodies)], "seed", ref="x" * 100)
    return path


def test_a_read_only_file_is_refused_at_open_naming_it(tmp_path, request):
    path = a_store(tmp_path / "prefs.db")
    make_read_only(path, request)
    with pytest.raises(PreferenceStoreError, match=rf"cannot open {re.escape(str(path))} for "
                                                   rf"writing: the file .*prefs\.db is "
                                                   rf"read-only.*no read-only mode"):
        PreferenceStore(path)


def test_a_read_only_folder_is_refused_at_open_naming_it(tmp_path, request):
    path = a_store(tmp_path / "folder" / "prefs.db")
    make_read_only(path.parent, request)
    with pytest.raises(PreferenceStoreError, match=r"prefs\.db for writing: its folder "
                                                   r".*folder is read-only \(a store writes "
                                                   r"prefs\.db-wal and prefs\.db-shm"):
        PreferenceStore(path)
    with pytest.raises(PreferenceStoreError, match=r"new\.db for writing: its folder"):
        PreferenceStore(path.parent / "new.db")


def read_only_connect(monkeypatch):
    """SQLite opens every file read-only, as it does one it may not write."""
    connect = sqlite3.connect

    def read_only(database, **arguments):
        return connect(f"file:{database}?mode=ro", uri=True, **arguments)

    monkeypatch.setattr(sqlite3, "connect", read_only)


def test_a_file_sqlite_opens_read_only_is_refused_at_open(tmp_path, monkeypatch):
    path = a_store(tmp_path / "prefs.db")
    before = dump(path)
    read_only_connect(monkeypatch)
    with pytest.raises(PreferenceStoreError, match=r"prefs\.db for writing: SQLite opened it "
                                                   r"read-only \(attempt to write a readonly "
                                                   r"database\)\. A preference store has no "
                                                   r"read-only mode"):
        PreferenceStore(path)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(PreferenceStoreError, match=r"for writing: the file .*prefs\.db is "
                                                   r"read-only"):
        PreferenceStore(path)
    monkeypatch.undo()
    assert dump(path) == before
    with PreferenceStore(path) as store:  # opening writes nothing (its probe is rolled back)
        assert store.counts()["melodies"] == 1
    assert dump(path) == before


def test_a_folder_that_cannot_be_made_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(PreferenceStoreError, match=r"cannot create the folder of .*file/prefs\.db"):
        PreferenceStore(tmp_path / "file" / "prefs.db")


@pytest.mark.parametrize(("start", "end", "found_by"), [
    (3 * 4096, 4 * 4096, "PRAGMA quick_check: .*Page 4"),  # a page of the melodies
    (100, 4096, "SQLite: database disk image is malformed"),  # the schema, read at open
])
def test_a_damaged_file_is_refused_at_open_naming_it(tmp_path, start, end, found_by):
    path = a_store(tmp_path / "prefs.db", melodies=400)
    data = bytearray(path.read_bytes())
    data[start:end] = bytes(end - start)
    path.write_bytes(bytes(data))
    with pytest.raises(PreferenceStoreError, match=rf"cannot open .*prefs\.db: the file is "
                                                   rf"damaged \({found_by}.*\)\. Restore it"):
        PreferenceStore(path)


def test_quick_check_passes_on_a_sound_store(tmp_path):
    path = a_store(tmp_path / "prefs.db", melodies=400)
    with PreferenceStore(path) as store:
        assert store.counts()["melodies"] == 400
