"""The public-domain folk collections of music21's corpus, converted and cached.

:func:`load_folk_corpus` converts every tune with the lenient rules
(:func:`~mammad_envs.corpus.convert.convert_lenient`) and caches the arrays, one ``.npz`` per
collection. music21 is imported inside the functions only: this module imports without it.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from mammad_envs.corpus.abc_notation import parse_abc, require_music21, split_tunes
from mammad_envs.corpus.convert import convert_lenient
from mammad_envs.corpus.grid import TuneError
from mammad_envs.melody import MELODY_DTYPE

logger = logging.getLogger(__name__)

__all__ = [
    "COLLECTIONS",
    "CorpusTune",
    "DEFAULT_COLLECTIONS",
    "FolkTune",
    "RULES_VERSION",
    "cache_path",
    "collection_name",
    "default_cache_dir",
    "folk_corpus_drops",
    "load_folk_corpus",
]

RULES_VERSION: int = 1
"""Version of the lenient rules; part of the cache key of :func:`load_folk_corpus`."""

DEFAULT_COLLECTIONS: tuple[str, ...] = ("oneills1850", "ryansMammoth", "miscFolk")
"""The public-domain collections of music21's corpus used for training data."""

COLLECTIONS = {
    "oneills1850": "O'Neill's Music of Ireland (1850)",
    "ryansMammoth": "Ryan's Mammoth Collection (1883)",
    "miscFolk/americanfifeopus.abc": "Colonial and Civil War American Fife Music (miscFolk)",
    "miscFolk/northumbrianminstrelsyopus.abc": "Northumbrian Minstrelsy (1882) (miscFolk)",
}
"""Human names of the source collections, by corpus path prefix."""


class FolkTune(NamedTuple):
    """One converted training tune: ``(title, collection, melody)``.

    Attributes:
        title: The tune's title (``T:`` field).
        collection: The collection it comes from (``"oneills1850"``, ...).
        melody: The melody array (C major / A minor, MIDI 48..83).
    """

    title: str
    collection: str
    melody: np.ndarray


@dataclass(frozen=True, eq=False)
class CorpusTune:
    """One converted training tune with its details.

    Attributes:
        title: The tune's title.
        collection: The collection it comes from.
        melody: The melody array.
        downbeats: Steps where a full bar starts (sorted).
        corpus_path: Path of its ABC file in music21's corpus.
        number: Its ``X:`` reference number.
        transposition: Semitones it was shifted by (key and octave).
    """

    title: str
    collection: str
    melody: np.ndarray = field(repr=False)
    downbeats: np.ndarray = field(repr=False)
    corpus_path: str
    number: int
    transposition: int


def collection_name(corpus_path: str) -> str:
    """The human name of the collection a corpus path belongs to.

    Args:
        corpus_path: Path of an ABC file in music21's corpus.

    Returns:
        The collection's name.

    Raises:
        KeyError: If the path is not in one of the public-domain collections.
    """
    for prefix, name in COLLECTIONS.items():
        if corpus_path.startswith(prefix):
            return name
    raise KeyError(f"{corpus_path!r} is not in a public-domain collection")


def _drop_reason(error: Exception) -> str:
    """A short category for a dropped tune, for the summary."""
    if not isinstance(error, TuneError):
        return "parse error"
    message = str(error)
    for prefix, reason in (("chord", "chord or double stop"), ("snapping", "collapsed by snapping"),
                           ("overlapping", "overlapping voices"), ("range", "range too wide"),
                           ("change of key", "change of key"), ("unsupported mode", "mode"),
                           ("key signature", "no key"), ("no key", "no key"),
                           ("too short", "too short"), ("no notes", "no notes")):
        if message.startswith(prefix):
            return reason
    if message.endswith("parts"):
        return "several parts"
    return "other"


def _corpus_files(collection: str) -> list[str]:
    """Corpus paths (relative, with ``/``) of a collection's ABC files, sorted."""
    # optional: the dataset extra (music21)
    from music21 import corpus

    if collection == "essenFolksong" or collection not in DEFAULT_COLLECTIONS:
        raise ValueError(f"unknown or excluded collection {collection!r}: choose from "
                         f"{DEFAULT_COLLECTIONS}")
    paths = []
    for path in corpus.getComposer(collection, fileExtensions=("abc",)):
        parts = Path(str(path)).parts
        paths.append("/".join(parts[parts.index(collection):]))
    return sorted(paths)


def _convert_collection(collection: str, progress: bool) -> dict[str, np.ndarray]:
    """Parses and converts every tune of a collection; the arrays stored in the cache."""
    # optional: the dataset extra (music21)
    from music21 import corpus

    files = _corpus_files(collection)
    jobs: list[tuple[str, int, str]] = []
    for corpus_path in files:
        text = Path(corpus.getWork(corpus_path)).read_text(encoding="utf-8", errors="replace")
        jobs.extend((corpus_path, number, tune) for number, tune in split_tunes(text))
    titles, paths, numbers, shifts, melodies, beats = [], [], [], [], [], []
    drops: Counter[str] = Counter()
    for corpus_path, number, tune in tqdm(jobs, desc=f"converting {collection}", unit="tune",
                                          disable=not progress):
        try:
            score = parse_abc(tune)
            converted = convert_lenient(score)
        except Exception as error:  # noqa: BLE001 (music21 raises many kinds on bad ABC)
            drops[_drop_reason(error)] += 1
            continue
        title = score.metadata.title if score.metadata and score.metadata.title else ""
        titles.append(title or f"{corpus_path} X:{number}")
        paths.append(corpus_path)
        numbers.append(number)
        shifts.append(converted["transposition"])
        melodies.append(converted["melody"])
        beats.append(converted["downbeats"])
    return {
        "titles": np.array(titles, dtype=str),
        "paths": np.array(paths, dtype=str),
        "numbers": np.array(numbers, dtype=np.int32),
        "transpositions": np.array(shifts, dtype=np.int32),
        "melodies": np.concatenate(melodies).astype(MELODY_DTYPE) if melodies
        else np.zeros(0, MELODY_DTYPE),
        "melody_lengths": np.array([m.size for m in melodies], dtype=np.int64),
        "downbeats": np.concatenate(beats).astype(np.int32) if beats else np.zeros(0, np.int32),
        "downbeat_counts": np.array([b.size for b in beats], dtype=np.int64),
        "drop_reasons": np.array(sorted(drops), dtype=str),
        "drop_counts": np.array([drops[r] for r in sorted(drops)], dtype=np.int64),
        "tunes_seen": np.array(len(jobs), dtype=np.int64),
    }


def default_cache_dir() -> Path:
    """``$MAMMAD_ENVS_CACHE`` or ``~/.cache/mammad_envs``."""
    return Path(os.environ.get("MAMMAD_ENVS_CACHE", Path.home() / ".cache" / "mammad_envs"))


def cache_path(collection: str, cache_dir: str | Path | None = None,
               music21_version: str | None = None) -> Path:
    """The cache file of one converted collection.

    Args:
        collection: Collection name.
        cache_dir: Cache folder (default :func:`default_cache_dir`).
        music21_version: Key of the cache (default: the installed version).

    Returns:
        ``<cache_dir>/folk_<collection>_music21-<version>_rules-<RULES_VERSION>.npz``.
    """
    version = music21_version or require_music21()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return folder / f"folk_{collection}_music21-{version}_rules-{RULES_VERSION}.npz"


def _load_collection(collection: str, cache_dir: str | Path | None, progress: bool,
                     refresh: bool) -> dict[str, np.ndarray]:
    """The cached arrays of one collection, converting and caching it first if needed."""
    path = cache_path(collection, cache_dir)
    if path.exists() and not refresh:
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, KeyError):
            pass  # a corrupt cache is rebuilt
    started = time.perf_counter()
    arrays = _convert_collection(collection, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    os.replace(temporary, path)
    if progress:
        logger.info(f"{collection}: {len(arrays['titles'])} of {int(arrays['tunes_seen'])} tunes "
                    f"kept in {time.perf_counter() - started:.0f} s, cached in {path}")
    return arrays


def _iter_collection(collection: str, arrays: dict[str, np.ndarray]) -> Iterator[CorpusTune]:
    melody_ends = np.cumsum(arrays["melody_lengths"])
    beat_ends = np.cumsum(arrays["downbeat_counts"])
    for index, title in enumerate(arrays["titles"]):
        melody = arrays["melodies"][melody_ends[index] - arrays["melody_lengths"][index]:
                                    melody_ends[index]].copy()
        beats = arrays["downbeats"][beat_ends[index] - arrays["downbeat_counts"][index]:
                                    beat_ends[index]].copy()
        yield CorpusTune(str(title), collection, melody, beats, str(arrays["paths"][index]),
                         int(arrays["numbers"][index]), int(arrays["transpositions"][index]))


def load_folk_corpus(collections: Sequence[str] = DEFAULT_COLLECTIONS,
                     cache_dir: str | Path | None = None, *, details: bool = False,
                     progress: bool = True, refresh: bool = False
                     ) -> list[FolkTune] | list[CorpusTune]:
    """Every tune of the public-domain collections that converts with the lenient rules.

    The first call parses the ABC files with music21 (a few minutes for all three
    collections, with a progress bar) and caches the converted arrays, one ``.npz`` per
    collection keyed by music21's version and :data:`RULES_VERSION`; later calls read the
    cache in well under a second.

    Args:
        collections: Collection names among :data:`DEFAULT_COLLECTIONS` (never Essen).
        cache_dir: Cache folder (default ``$MAMMAD_ENVS_CACHE`` or ``~/.cache/mammad_envs``).
        details: Return :class:`CorpusTune` records (with downbeats, source and
            transposition) instead of ``(title, collection, melody)`` tuples.
        progress: Show a progress bar while converting and log a summary (at INFO).
        refresh: Convert again even if a cache exists.

    Returns:
        The tunes in collection and file order.

    Raises:
        ImportError: If music21 is not installed.
        ValueError: If a collection is unknown or excluded.
    """
    require_music21()
    tunes: list[CorpusTune] = []
    for collection in collections:
        if collection not in DEFAULT_COLLECTIONS:
            raise ValueError(f"unknown or excluded collection {collection!r}: choose from "
                             f"{DEFAULT_COLLECTIONS}")
        arrays = _load_collection(collection, cache_dir, progress, refresh)
        tunes.extend(_iter_collection(collection, arrays))
    if details:
        return tunes
    return [FolkTune(tune.title, tune.collection, tune.melody) for tune in tunes]


def folk_corpus_drops(collections: Sequence[str] = DEFAULT_COLLECTIONS,
                      cache_dir: str | Path | None = None) -> dict[str, dict[str, int]]:
    """How many tunes of each collection the lenient rules dropped, and why.

    Args:
        collections: Collection names.
        cache_dir: Cache folder (converted first if needed, as :func:`load_folk_corpus`).

    Returns:
        ``{collection: {"seen": n, "kept": k, reason: count, ...}}``.
    """
    require_music21()
    result = {}
    for collection in collections:
        arrays = _load_collection(collection, cache_dir, progress=True, refresh=False)
        counts = {"seen": int(arrays["tunes_seen"]), "kept": len(arrays["titles"])}
        counts.update({str(reason): int(count) for reason, count
                       in zip(arrays["drop_reasons"], arrays["drop_counts"], strict=True)})
        result[collection] = counts
    return result
