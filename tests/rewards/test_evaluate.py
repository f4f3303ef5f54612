"""python -m rewards.evaluate."""

import json
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
