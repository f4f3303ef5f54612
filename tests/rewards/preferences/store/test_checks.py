"""Tests of the preference store's field limits and checks."""

from rewards.preferences import SOURCES


def test_sources_are_documented():
    assert set(SOURCES) == {"seed", "midi", "run", "policy", "model", "sampler"}
    assert all(SOURCES.values())
