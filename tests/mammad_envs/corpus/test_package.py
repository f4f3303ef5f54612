"""Tests of the mammad_envs.corpus package: its re-exports and its imports without music21."""

import subprocess
import sys

import pytest

import mammad_envs.corpus as corpus

SUBMODULES = ("abc_notation", "convert", "folk", "grid", "keys")


def test_module_imports_without_music21():
    code = ("import sys; sys.modules['music21'] = None; import mammad_envs.corpus as c; "
            "assert c.key_target(2, 'major') == (-2, 'C major')")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodules_import_without_music21(name):
    code = f"import sys; sys.modules['music21'] = None; import mammad_envs.corpus.{name}"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_are_re_exported():
    for name in corpus.__all__:
        assert getattr(corpus, name) is not None
    assert corpus.TuneError is corpus.grid.TuneError
    assert corpus.load_folk_corpus is corpus.folk.load_folk_corpus
