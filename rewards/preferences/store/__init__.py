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
melodies differ in context, a field over its limit in :data:`LIMITS`) raises
:class:`PreferenceStoreError`, a ``ValueError``, with the database unchanged.
:meth:`PreferenceStore.export_jsonl` and :meth:`PreferenceStore.import_jsonl` move a store's
contents as JSON lines.

The modules, one job each:

* :mod:`~rewards.preferences.store.records`: the records (:class:`StoredMelody`,
  :class:`Pair`, :class:`Label`, :class:`Context`), the valid sources and choices, the errors;
* :mod:`~rewards.preferences.store.checks`: the field limits and the checks of every write;
* :mod:`~rewards.preferences.store.schema`: the SQL schema and opening a file;
* :mod:`~rewards.preferences.store.rows`: records to rows and back;
* :mod:`~rewards.preferences.store.connection`, ``reads``, ``writes`` and ``jsonl``: the parts
  of :class:`PreferenceStore`.
"""

from rewards.preferences.store import records
from rewards.preferences.store.checks import (
    LIMITS,
    MAX_ACCOMPANIMENT_LENGTH,
    MAX_KEY_LENGTH,
    MAX_LABELER_LENGTH,
    MAX_MELODY_STEPS,
    MAX_REF_LENGTH,
    MAX_TOKEN_LENGTH,
)
from rewards.preferences.store.jsonl import FORMAT, MAX_IMPORT_BYTES, MAX_LINE_BYTES, StoreJsonl
from rewards.preferences.store.reads import StoreReads
from rewards.preferences.store.records import *  # noqa: F403  (re-exports records.__all__)
from rewards.preferences.store.schema import APPLICATION_ID, SCHEMA_VERSION
from rewards.preferences.store.writes import StoreWrites


class PreferenceStore(StoreReads, StoreWrites, StoreJsonl):
    """A SQLite file of melodies, pairs and labels (see the module docstring).

    Open one store per process; threads may share it. Use it as a context manager, or call
    :meth:`close`.

    Args:
        path: The database file; created (with its folders) if missing. ``":memory:"`` is
            a throwaway store that only this object sees.
        timeout: Seconds a write waits for another process's transaction before failing.

    Raises:
        PreferenceStoreError: If the file is not SQLite, is another application's database,
            has another schema version, cannot be written (the file or its folder is
            read-only: a store has no read-only mode), or is damaged (``PRAGMA quick_check``
            at open), naming the file.
    """


__all__ = ["APPLICATION_ID", "FORMAT", "LIMITS", "MAX_ACCOMPANIMENT_LENGTH", "MAX_IMPORT_BYTES",
           "MAX_KEY_LENGTH", "MAX_LABELER_LENGTH", "MAX_LINE_BYTES", "MAX_MELODY_STEPS",
           "MAX_REF_LENGTH", "MAX_TOKEN_LENGTH", "SCHEMA_VERSION", "PreferenceStore",
           *records.__all__]
