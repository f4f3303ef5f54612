"""Moving a store's contents as JSON lines: :meth:`export_jsonl` and :meth:`import_jsonl`.

An import is bounded before anything is parsed: the file by ``max_bytes``
(:data:`MAX_IMPORT_BYTES` by default), each line by :data:`MAX_LINE_BYTES`, and every field by
the store's limits (:data:`~rewards.preferences.store.LIMITS`). A line nested too deeply for
Python's parser is refused like any malformed line, with the file and line number.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rewards.preferences.store import checks
from rewards.preferences.store.connection import StoreConnection
from rewards.preferences.store.records import Label, PreferenceStoreError, short, timestamp
from rewards.preferences.store.rows import (
    MELODY_COLUMNS,
    check_pair,
    insert_label,
    insert_melody,
    melody_from_row,
)
from rewards.preferences.store.schema import SCHEMA_VERSION

FORMAT = "mammad-envs/preferences"
"""The ``format`` of the header line of an exported JSON-lines file."""
MAX_IMPORT_BYTES = 32 * 2**20
"""Largest file :meth:`~StoreJsonl.import_jsonl` reads by default: 32 MiB, some 30,000 pairs
of 64-step melodies (an export of 10,000 such pairs is 10 MB). Its ``max_bytes`` argument
raises it. The whole file is one write transaction, which other writers wait for (up to their
``timeout``, 30 s by default); 32 MiB took about 15 s here."""
MAX_LINE_BYTES = 2**20
"""Longest line of an import (1 MiB): a melody of :data:`MAX_MELODY_STEPS` events and every
other field at its limit take under 400 KiB."""

_LINE_KEYS = {
    "header": ({"type", "format", "version"}, {"exported"}),
    "melody": ({"type", "id", "events", "source"}, {"accompaniment", "key", "ref", "created"}),
    "pair": ({"type", "token", "a", "b"}, {"created", "label"}),
}
"""Per line type: the keys it must have, and those it may have."""


class StoreJsonl(StoreConnection):
    """The JSON-lines methods of :class:`~rewards.preferences.store.PreferenceStore`."""

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
                for row in conn.execute(f"SELECT {MELODY_COLUMNS} FROM melodies ORDER BY id"):
                    melody = melody_from_row(row)
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

    def import_jsonl(self, path: str | os.PathLike[str], *,
                     max_bytes: int | None = MAX_IMPORT_BYTES) -> dict[str, int]:
        """Reads a file of :meth:`export_jsonl` into the store, in one transaction.

        Importing is idempotent: a melody already here (same events and context) is reused,
        a pair whose token is here is skipped if it has the same melodies, and a label already
        here is skipped if it is the same choice by the same labeler. Times and tokens are
        kept from the file.

        Args:
            path: The file.
            max_bytes: Refuse a larger file, before reading it (default
                :data:`MAX_IMPORT_BYTES`, 32 MiB); None for no limit.

        Returns:
            ``{"melodies": n, "pairs": n, "labels": n}`` that were new.

        Raises:
            PreferenceStoreError: Naming the file and size, if it is over ``max_bytes``; naming
                the line, if a line is malformed, over :data:`MAX_LINE_BYTES`, nested too
                deeply, has a field over its limit, or conflicts with the store (a token of
                other melodies, another label). Nothing is imported.
        """
        path = Path(path)
        if max_bytes is not None and (isinstance(max_bytes, bool) or
                                      not isinstance(max_bytes, int) or max_bytes < 1):
            raise PreferenceStoreError(f"max_bytes must be a positive number of bytes or None, "
                                       f"got {short(max_bytes)}")
        try:
            handle = path.open("rb")
        except OSError as error:
            raise PreferenceStoreError(f"cannot read {path}: {error}") from error
        with handle:
            size = os.fstat(handle.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise PreferenceStoreError(
                    f"{path} is {size:,} bytes, over the import limit of {max_bytes:,} bytes "
                    f"(MAX_IMPORT_BYTES): pass import_jsonl(..., max_bytes=...) a larger limit, "
                    f"or None for none, to import it")
            with self._write() as conn:
                return _import_lines(conn, _lines(handle, path, max_bytes), path)


def _lines(handle: IO[bytes], path: Path, max_bytes: int | None) -> Iterator[tuple[int, bytes]]:
    """The numbered lines of a file, each read only up to :data:`MAX_LINE_BYTES`."""
    total = 0
    number = 0
    while data := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        total += len(data)
        if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
            raise PreferenceStoreError(f"{path}, line {number}: longer than the limit of "
                                       f"{MAX_LINE_BYTES:,} bytes a line (MAX_LINE_BYTES)")
        if max_bytes is not None and total > max_bytes:  # it grew while being read
            raise PreferenceStoreError(f"{path} is over the import limit of {max_bytes:,} "
                                       f"bytes (MAX_IMPORT_BYTES) at line {number}")
        yield number, data


def _import_lines(conn: sqlite3.Connection, lines: Iterator[tuple[int, bytes]],
                  path: Path) -> dict[str, int]:
    added = {"melodies": 0, "pairs": 0, "labels": 0}
    ids: dict[int, int] = {}
    header = False
    for number, data in lines:
        try:
            entry = parse_line(data, first=not header)
            if entry is None:
                continue
            kind = entry["type"]
            if kind == "header":
                header = True
            elif kind == "melody":
                _import_melody(conn, entry, ids, added)
            elif kind == "pair":
                _import_pair(conn, entry, ids, added)
        except PreferenceStoreError as error:
            raise PreferenceStoreError(f"{path}, line {number}: {error}") from None
        except RecursionError:
            raise PreferenceStoreError(f"{path}, line {number}: nested too deeply to read (a "
                                       f"line of an export nests two levels)") from None
    if not header:
        raise PreferenceStoreError(f"{path} is empty: an export starts with a header "
                                   f"line of format {FORMAT!r}")
    return added


def _import_melody(conn: sqlite3.Connection, entry: dict[str, Any], ids: dict[int, int],
                   added: dict[str, int]) -> None:
    file_id = checks.check_id(entry["id"], "id")
    if file_id in ids:
        raise PreferenceStoreError(f"melody id {file_id} appears twice")
    events = checks.check_events(entry["events"], "events")
    accompaniment = checks.check_accompaniment(entry.get("accompaniment"))
    key = checks.check_key(entry.get("key"))
    source = checks.check_source(entry["source"])
    ref = checks.check_ref(entry.get("ref", ""))
    created = timestamp(entry.get("created"))
    before = conn.total_changes
    ids[file_id] = insert_melody(conn, events, accompaniment, key, source, ref, created)
    added["melodies"] += conn.total_changes > before


def _import_pair(conn: sqlite3.Connection, entry: dict[str, Any], ids: dict[int, int],
                 added: dict[str, int]) -> None:
    token = checks.check_token(entry["token"])
    melodies = []
    for side in ("a", "b"):
        file_id = checks.check_id(entry[side], side)
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
                                       f"labeler and time, got {short(label)}")
        label = Label(checks.check_choice(label.get("choice")),
                      checks.check_labeler(label.get("labeler")), timestamp(label.get("time")))
    row = conn.execute("SELECT melody_a, melody_b FROM pairs WHERE token = ?",
                       (token,)).fetchone()
    if row is None:
        check_pair(conn, a, b)
        conn.execute("INSERT INTO pairs (token, melody_a, melody_b, created) "
                     "VALUES (?, ?, ?, ?)", (token, a, b, created))
        added["pairs"] += 1
    elif tuple(row) != (a, b):
        raise PreferenceStoreError(f"pair {token!r} is already in the store with other "
                                   f"melodies ({row[0]}, {row[1]})")
    if label is not None:
        added["labels"] += insert_label(conn, token, label)


def parse_line(data: bytes, *, first: bool) -> dict[str, Any] | None:
    """One line of an export as a checked dict (None for a blank line).

    Args:
        data: The line.
        first: Whether it is the first line that is not blank (which must be the header).

    Raises:
        PreferenceStoreError: If the line is not an export's line of that place.
        RecursionError: If it nests too deeply for Python's JSON parser.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PreferenceStoreError(f"not UTF-8 text ({error})") from None
    if not text.strip():
        return None
    try:
        entry = json.loads(text)
    except ValueError as error:  # JSONDecodeError, or an integer of over 4,300 digits
        raise PreferenceStoreError(f"not JSON ({error})") from None
    if not isinstance(entry, dict) or entry.get("type") not in _LINE_KEYS:
        raise PreferenceStoreError(f"expected an object with a type among "
                                   f"{', '.join(_LINE_KEYS)}, got {short(text.strip())}")
    kind = entry["type"]
    required, optional = _LINE_KEYS[kind]
    missing = required - set(entry)
    unknown = set(entry) - required - optional
    if missing or unknown:
        problems = [f"missing {', '.join(sorted(missing))}" if missing else "",
                    f"unknown {', '.join(sorted(short(key) for key in unknown))}"
                    if unknown else ""]
        raise PreferenceStoreError(f"a {kind} line with keys {'; '.join(filter(None, problems))}")
    if (kind == "header") != first:
        raise PreferenceStoreError(f"the first line, and only it, is the header with format "
                                   f"{FORMAT!r}")
    if kind == "header" and (entry["format"] != FORMAT or entry["version"] != SCHEMA_VERSION):
        raise PreferenceStoreError(f"format {short(entry['format'])} version "
                                   f"{short(entry['version'])}; this version of "
                                   f"mammad-envs reads {FORMAT!r} version {SCHEMA_VERSION}")
    return entry

