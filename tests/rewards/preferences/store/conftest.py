"""The store fixture of the preference store's tests."""

import pytest

from rewards.preferences import PreferenceStore


@pytest.fixture
def store(tmp_path):
    with PreferenceStore(tmp_path / "prefs.db") as opened:
        yield opened

