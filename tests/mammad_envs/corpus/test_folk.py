"""Tests of the pure-Python parts of mammad_envs.corpus.folk (no music21 needed)."""

import pytest

from mammad_envs.corpus import folk


def test_load_folk_corpus_never_takes_essen(tmp_path):
    with pytest.raises((ValueError, ImportError)):
        folk.load_folk_corpus(("essenFolksong",), tmp_path)


def test_cache_path_is_keyed_by_versions(tmp_path):
    path = folk.cache_path("miscFolk", tmp_path, music21_version="9.9.9")
    assert path.parent == tmp_path
    assert "9.9.9" in path.name and f"rules-{folk.RULES_VERSION}" in path.name


def test_collection_name():
    assert folk.collection_name("oneills1850/0001-0050.abc").startswith("O'Neill")
    with pytest.raises(KeyError):
        folk.collection_name("essenFolksong/han1.abc")
