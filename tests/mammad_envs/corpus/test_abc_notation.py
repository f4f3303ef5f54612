"""Tests of the pure-Python parts of mammad_envs.corpus.abc_notation (no music21 needed)."""

from mammad_envs.corpus.abc_notation import split_tunes


def test_split_tunes():
    text = "% header\nX:1\nT:One\nK:G\nabc|\n\nX: 20\nT:Two\nK:D\ndef|\nX:x\nT:Three\n"
    tunes = split_tunes(text)
    assert [number for number, _ in tunes] == [1, 20, -1]
    assert tunes[0][1].startswith("X:1\nT:One") and "header" not in tunes[0][1]
    assert "T:Two" in tunes[1][1] and "T:One" not in tunes[1][1]
