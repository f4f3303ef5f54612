"""python -m benchmarks.midi_load, on a small file."""

import pytest

from benchmarks import midi_load
from mammad_envs.midi import load_midi


def test_the_benchmark_prints_its_rate_and_memory(capsys):
    assert midi_load.main(["--megabytes", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "file: 0.1 MB, 7,142 notes (14,285 messages), a melody of 61 16ths" in out
    assert " MB/s; peak memory " in out and "bytes per byte of file" in out


def test_the_file_is_ordinary_note_events(tmp_path):
    notes = midi_load.write_note_file(tmp_path / "n.mid", 0.001)
    assert notes == 142 and (tmp_path / "n.mid").stat().st_size == 22 + 7 * 142 + 4
    assert load_midi(tmp_path / "n.mid").tolist() == [83, 83]  # the top note of each 16th
    with pytest.raises(SystemExit):
        midi_load.main(["--megabytes", "17"])
