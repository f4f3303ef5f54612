"""python -m rewards.evaluate."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mammad_envs.midi import write_midi
from rewards import metrics
from rewards.evaluate import main


def test_midi_folder(tmp_path, capsys):
    melodies = [[60, 62, 64, 65, 67, 69, 71, 72], [69, 72, 76, -2, 74, 72, 71, -1]]
    for i, melody in enumerate(melodies):
        write_midi(tmp_path / f"{i}.mid", melody)
    (tmp_path / "notes.txt").write_text("ignored")
    table = main(["--midi", str(tmp_path), "--json", str(tmp_path / "out" / "stats.json")])
    expected = metrics.evaluate([np.array(m) for m in melodies])
    assert table == pytest.approx(expected, nan_ok=True)
    out = capsys.readouterr().out
    assert "| notes not in key |" in out and "2 compositions" in out
    saved = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert saved["compositions"] == 2


def test_bundled_windows():
    table = main(["--bundled", "--steps", "32"])
    assert table["compositions"] > 10 and table["notes not in key"] < 0.02


def test_note_rnn_samples(capsys):
    table = main(["--note-rnn", "64", "--steps", "16", "--seed", "3"])
    assert table["compositions"] == 64 and table["steps"] == 64 * 16


@pytest.mark.parametrize("args, message", [
    (["--midi", "nowhere"], "'nowhere' is not a folder"),
    (["--bundled", "--steps", "0"], "--steps must be positive"),
    (["--note-rnn", "0"], "--note-rnn needs a positive number"),
    (["--midi", "x", "--max-steps", "0"], "--max-steps must be positive"),
])
def test_bad_arguments(args, message, capsys):
    with pytest.raises(SystemExit):
        main(args)
    assert message in capsys.readouterr().err


def test_empty_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--midi", str(tmp_path)])
    assert "no MIDI files" in capsys.readouterr().err


def test_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "rewards.evaluate", "--bundled"],
                            capture_output=True, text=True, check=True)
    assert "compositions" in result.stdout


def bad_files(folder):
    """Writes four files that do not load; returns {name: reason}."""
    good = write_midi(folder / "good.tmp", [60, 62, 64, 65]).read_bytes()
    (folder / "good.tmp").unlink()
    (folder / "a_zero.mid").write_bytes(good[:12] + b"\x00\x00" + good[14:])  # 0 ticks per beat
    (folder / "b_cut.mid").write_bytes(good[:60])
    (folder / "c_text.mid").write_text("C D E F G\n")
    (folder / "d_smpte.midi").write_bytes(good[:12] + b"\xe7\x28" + good[14:])
    return {"a_zero.mid": "has 0 ticks per beat", "b_cut.mid": "is truncated",
            "c_text.mid": "is not a valid MIDI file", "d_smpte.midi": "uses SMPTE time code"}


def test_bad_midi_files_are_reported_and_skipped(tmp_path, capsys):
    melodies = [[60, 62, 64, 65, 67, 69, 71, 72], [69, 72, 76, -2, 74, 72, 71, -1]]
    for i, melody in enumerate(melodies):
        write_midi(tmp_path / f"{i}.mid", melody)
    reasons = bad_files(tmp_path)
    table = main(["--midi", str(tmp_path)])
    assert table == pytest.approx(metrics.evaluate([np.array(m) for m in melodies]), nan_ok=True)
    out, err = capsys.readouterr()
    assert f"MIDI files in {tmp_path}; 4 of 6 skipped" in out and "2 compositions" in out
    lines = err.splitlines()
    assert lines[0] == "skipped 4 of 6 MIDI files:" and len(lines) == 5
    for line, (name, reason) in zip(lines[1:], reasons.items(), strict=True):
        assert f"{name}' {reason}" in line


def test_length_cap_skips_long_files(tmp_path, capsys):
    write_midi(tmp_path / "short.mid", [60, 62, 64, 65])
    write_midi(tmp_path / "long.mid", [60, 62, 64, 65] * 4)
    assert main(["--midi", str(tmp_path), "--max-steps", "8"])["compositions"] == 1
    assert "long.mid' is too long: track 1 goes past 8 16ths" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--midi", str(tmp_path), "--max-steps", "8", "--steps", "9"])
    assert "--steps 9 is more than --max-steps 8" in capsys.readouterr().err


def test_folder_without_a_loadable_file(tmp_path, capsys):
    reasons = bad_files(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["--midi", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"none of the 4 MIDI files in '{tmp_path}' loads" in err
    assert all(f"{name}' {reason}" in err for name, reason in reasons.items())


def test_entries_that_are_not_midi_files_are_named_not_dropped(tmp_path, capsys):
    write_midi(tmp_path / "good.mid", [60, 62, 64, 65])
    (tmp_path / "loop.mid").symlink_to(tmp_path / "loop.mid")
    os.mkfifo(tmp_path / "pipe.mid")  # read, it would wait for a writer forever
    (tmp_path / "tunes.mid").mkdir()
    assert main(["--midi", str(tmp_path)])["compositions"] == 1
    err = capsys.readouterr().err
    assert err.startswith("skipped 3 of 4 MIDI files:")
    assert "loop.mid' cannot be read: Too many levels of symbolic links" in err
    assert "pipe.mid' is a FIFO (named pipe), not a MIDI file" in err
    assert "tunes.mid' is a directory, not a MIDI file" in err
