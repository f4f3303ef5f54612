"""Tests of mammad_envs.corpus.folk: the collection rules and the cache work without music21.

``require_music21`` is replaced by a fixed version where a test exercises the rules or the
cache rather than music21; only the test that lists music21's corpus needs music21 itself.
"""

import importlib.metadata
import re

import numpy as np
import pytest

from mammad_envs.corpus import folk
from mammad_envs.corpus.convert import MIN_STEPS_LENIENT
from mammad_envs.melody import HOLD, MELODY_DTYPE, REST


@pytest.fixture
def fake_music21(monkeypatch):
    """music21 "9.9.9" as far as the cache key goes; converting (which needs it) fails loudly."""
    monkeypatch.setattr(folk, "require_music21", lambda: "9.9.9")

    def no_conversion(collection, progress):
        raise AssertionError(f"{collection} was converted instead of read from the cache")

    monkeypatch.setattr(folk, "_convert_collection", no_conversion)
    return "9.9.9"


@pytest.mark.parametrize("collection", ["essenFolksong", "essenFolksong/han1", "bach"])
def test_load_folk_corpus_never_takes_essen(collection, tmp_path, fake_music21):
    with pytest.raises(ValueError, match=f"unknown or excluded collection {collection!r}"):
        folk.load_folk_corpus((collection,), tmp_path, progress=False)
    assert not list(tmp_path.iterdir())  # refused before any cache file is written


def test_corpus_listing_never_takes_essen():
    pytest.importorskip("music21", reason="listing music21's corpus needs music21 (the dataset "
                                          "extra)")
    with pytest.raises(ValueError, match="essenFolksong"):
        folk._corpus_files("essenFolksong")
    files = folk._corpus_files("miscFolk")
    assert files and all(path.startswith("miscFolk/") and path.endswith(".abc")
                         for path in files)


def test_missing_music21_is_a_clear_import_error(monkeypatch, tmp_path):
    real_version = importlib.metadata.version

    def version(name):
        if name == "music21":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    for call in (lambda: folk.load_folk_corpus(("miscFolk",), tmp_path),
                 lambda: folk.folk_corpus_drops(("miscFolk",), tmp_path),
                 lambda: folk.cache_path("miscFolk", tmp_path)):
        with pytest.raises(ImportError, match=re.escape("pip install -e '.[dataset]'")):
            call()


def converted_arrays():
    """What ``_convert_collection`` caches, for two tunes and two dropped ones."""
    first = np.array([60, HOLD, 62, REST], MELODY_DTYPE)
    second = np.array([67, 65, 64, HOLD, HOLD, 60], MELODY_DTYPE)
    return {
        "titles": np.array(["First", "Second"]),
        "paths": np.array(["miscFolk/americanfifeopus.abc"] * 2),
        "numbers": np.array([3, 7], np.int32),
        "transpositions": np.array([0, -7], np.int32),
        "melodies": np.concatenate([first, second]),
        "melody_lengths": np.array([4, 6], np.int64),
        "downbeats": np.array([0, 0, 4], np.int32),
        "downbeat_counts": np.array([1, 2], np.int64),
        "drop_reasons": np.array(["chord or double stop", "parse error"]),
        "drop_counts": np.array([1, 1], np.int64),
        "tunes_seen": np.array(4, np.int64),
    }


def test_converts_once_then_reads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(folk, "require_music21", lambda: "9.9.9")
    calls = []

    def convert(collection, progress):
        calls.append(collection)
        return converted_arrays()

    monkeypatch.setattr(folk, "_convert_collection", convert)
    first = folk.load_folk_corpus(("miscFolk",), tmp_path, details=True, progress=False)
    assert calls == ["miscFolk"]
    assert [path.name for path in tmp_path.iterdir()] == [
        folk.cache_path("miscFolk", tmp_path).name]
    again = folk.load_folk_corpus(("miscFolk",), tmp_path, details=True, progress=False)
    assert calls == ["miscFolk"]  # read from the cache, not converted again
    for tunes in (first, again):
        assert [(t.title, t.number, t.transposition) for t in tunes] == [("First", 3, 0),
                                                                          ("Second", 7, -7)]
        assert tunes[0].melody.tolist() == [60, HOLD, 62, REST]
        assert tunes[1].melody.tolist() == [67, 65, 64, HOLD, HOLD, 60]
        assert [t.downbeats.tolist() for t in tunes] == [[0], [0, 4]]
        assert all(t.melody.dtype == MELODY_DTYPE and t.collection == "miscFolk" for t in tunes)
    plain = folk.load_folk_corpus(("miscFolk",), tmp_path, progress=False)
    assert [type(t) for t in plain] == [folk.FolkTune] * 2 and plain[1].title == "Second"
    assert folk.folk_corpus_drops(("miscFolk",), tmp_path) == {"miscFolk": {
        "seen": 4, "kept": 2, "chord or double stop": 1, "parse error": 1}}
    folk.load_folk_corpus(("miscFolk",), tmp_path, progress=False, refresh=True)
    assert calls == ["miscFolk", "miscFolk"]


def test_a_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr(folk, "require_music21", lambda: "9.9.9")
    monkeypatch.setattr(folk, "_convert_collection", lambda collection, progress:
                        converted_arrays())
    folk.cache_path("miscFolk", tmp_path).write_bytes(b"not a zip file")
    tunes = folk.load_folk_corpus(("miscFolk",), tmp_path, progress=False)
    assert [t.title for t in tunes] == ["First", "Second"]
    with np.load(folk.cache_path("miscFolk", tmp_path)) as data:
        assert list(data["titles"]) == ["First", "Second"]


def on_disk_caches():
    """The collections cached in the default cache folder, with the music21 version keyed."""
    found = {}
    for collection in folk.DEFAULT_COLLECTIONS:
        pattern = f"folk_{collection}_music21-*_rules-{folk.RULES_VERSION}.npz"
        for path in sorted(folk.default_cache_dir().glob(pattern)):
            found[collection] = path.name.split("_music21-")[1].split("_rules-")[0]
    return found


def test_the_cached_corpus_keeps_the_lenient_rules(monkeypatch):
    caches = on_disk_caches()
    if not caches:
        pytest.skip(f"no folk corpus cached in {folk.default_cache_dir()} (python -m "
                    "rewards.note_rnn.train --data folk builds it, with music21)")
    for collection, version in caches.items():
        monkeypatch.setattr(folk, "require_music21", lambda version=version: version)
        monkeypatch.setattr(folk, "_convert_collection", None)  # a conversion would fail
        tunes = folk.load_folk_corpus((collection,), details=True, progress=False)
        assert tunes, collection
        for tune in tunes:
            melody = tune.melody
            pitches = melody[melody >= 0]
            assert pitches.size and pitches.min() >= 48 and pitches.max() <= 83, tune.title
            assert np.isin(melody[melody < 0], [HOLD, REST]).all(), tune.title
            assert melody.size >= MIN_STEPS_LENIENT, tune.title
            beats = tune.downbeats
            assert (np.diff(beats) > 0).all() and (beats < melody.size).all(), tune.title
            assert tune.corpus_path.startswith(collection) and "essen" not in tune.corpus_path
            folk.collection_name(tune.corpus_path)  # a public-domain collection


def test_cache_path_is_keyed_by_versions(tmp_path):
    path = folk.cache_path("miscFolk", tmp_path, music21_version="9.9.9")
    assert path.parent == tmp_path
    assert "9.9.9" in path.name and f"rules-{folk.RULES_VERSION}" in path.name


def test_collection_name():
    assert folk.collection_name("oneills1850/0001-0050.abc").startswith("O'Neill")
    with pytest.raises(KeyError):
        folk.collection_name("essenFolksong/han1.abc")
