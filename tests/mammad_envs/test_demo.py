"""The quickstart demo."""

import subprocess
import sys

import numpy as np
import pytest

from mammad_envs.demo import compose, main
from mammad_envs.midi import load_midi, read_midi_tracks
from mammad_envs.music import parse_key


def test_demo_writes_midi_and_png(tmp_path, capsys):
    main(["--out", str(tmp_path), "--seed", "1", "--accompaniment", "rock"])
    out = capsys.readouterr().out
    assert "wrote" in out and "|1" in out and "over 'rock'" in out
    melody = load_midi(tmp_path / "melody.mid")
    assert len(melody) == 64
    pitches = melody[melody >= 0]
    assert np.isin(pitches % 12, list(parse_key("C major").pitch_classes)).all()
    assert {t.name for t in read_midi_tracks(tmp_path / "melody.mid")} >= {"melody",
                                                                         "accompaniment"}
    assert (tmp_path / "melody.png").read_bytes()[:4] == b"\x89PNG"


def test_compose_is_deterministic():
    a = compose(seed=5, steps=32).unwrapped
    b = compose(seed=5, steps=32).unwrapped
    np.testing.assert_array_equal(a.melody, b.melody)
    assert a.accompaniment is b.accompaniment


def test_demo_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--accompaniment", "polka"])
    assert "unknown accompaniment 'polka'" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mammad_envs.demo", "--out", str(tmp_path),
                             "--accompaniment", "none", "--steps", "16"],
                            capture_output=True, text=True, check=True)
    assert (tmp_path / "melody.mid").exists() and "wrote" in result.stdout


def test_help_names_the_module(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m mammad_envs.demo [-h]")
    result = subprocess.run([sys.executable, "-m", "mammad_envs.demo", "--help"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("usage: python -m mammad_envs.demo")
