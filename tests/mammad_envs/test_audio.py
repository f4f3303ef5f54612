"""WAV rendering: the numpy synthesiser and Debian's fluidsynth."""

import os
import re
import wave

import numpy as np
import pytest

from mammad_envs import audio
from mammad_envs.melody import HOLD, REST
from mammad_envs.midi import Note


def read_wav(path):
    with wave.open(str(path)) as file:
        assert file.getnchannels() == 1 and file.getsampwidth() == 2
        frames = file.readframes(file.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(float) / 32767, file.getframerate()


def test_synthesiser_plays_the_right_pitch_for_the_right_time(tmp_path):
    melody = [69] + [HOLD] * 7 + [REST] + [HOLD] * 7  # A4 for half a bar, then silence
    path, engine = audio.render_wav(tmp_path / "a.wav", melody, bpm=120, engine="numpy")
    samples, rate = read_wav(path)
    assert engine == "numpy" and rate == audio.SAMPLE_RATE
    assert len(samples) == pytest.approx((16 * 0.125 + 0.5) * rate, abs=2)
    first = samples[: rate // 2]
    spectrum = np.abs(np.fft.rfft(first))
    assert np.fft.rfftfreq(len(first), 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=3)
    assert np.abs(samples[int(1.3 * rate):int(1.9 * rate)]).max() < 0.01  # the rest is silent


def test_accompaniment_is_mixed_in():
    quiet = audio.synthesise([REST] * 8, [Note(48, 0, 8)])
    assert np.abs(quiet).max() > 0.5  # normalised, so the lone chord is audible
    assert audio.synthesise([REST] * 8).max() == 0.0


def fluidsynth_or_skip():
    """Skips the test when fluidsynth or a SoundFont is missing, except under CI (``$CI``)."""
    missing = audio.missing_fluidsynth()
    if missing and not os.environ.get("CI"):
        pytest.skip(f"fluidsynth rendering needs {missing} (Debian: apt-get install "
                    f"{audio.DEBIAN_PACKAGES}); CI installs them and runs this test")


def test_fluidsynth_renders_with_a_soundfont(tmp_path):
    fluidsynth_or_skip()
    assert audio.check_engine("fluidsynth") == "fluidsynth"
    path, engine = audio.render_wav(tmp_path / "f.wav", [60, 64, 67, HOLD], [Note(48, 0, 4)],
                                    engine="fluidsynth")
    assert engine == "fluidsynth"
    with wave.open(str(path)) as file:
        frames = file.readframes(file.getnframes())
        width = file.getsampwidth()
    assert len(frames) > 0 and np.abs(np.frombuffer(frames, dtype=f"<i{width}")).max() > 0


def hide_fluidsynth(monkeypatch, tmp_path, program=False, soundfont=False):
    """Fakes what this machine has, whatever it really has: the fluidsynth program on PATH
    (``program``) and a SoundFont (``soundfont``, an empty file named by ``$MAMMAD_SOUNDFONT``);
    the SoundFonts of Debian's packages are hidden either way."""
    found = "/usr/bin/fluidsynth" if program else None
    monkeypatch.setattr(audio.shutil, "which", lambda name: found)
    monkeypatch.setattr(audio, "SOUNDFONTS", (str(tmp_path / "not-installed.sf2"),))
    monkeypatch.delenv(audio.SOUNDFONT_VARIABLE, raising=False)
    if soundfont:
        font = tmp_path / "font.sf2"
        font.write_bytes(b"")
        monkeypatch.setenv(audio.SOUNDFONT_VARIABLE, str(font))


def test_auto_falls_back_to_numpy(tmp_path, monkeypatch):
    hide_fluidsynth(monkeypatch, tmp_path)
    assert audio.render_wav(tmp_path / "x.wav", [60])[1] == "numpy"
    with pytest.raises(RuntimeError, match="needs the fluidsynth program and a SoundFont"):
        audio.render_wav(tmp_path / "y.wav", [60], engine="fluidsynth")
    with pytest.raises(ValueError, match="unknown audio engine 'midi'"):
        audio.render_wav(tmp_path / "z.wav", [60], engine="midi")


def test_fluidsynth_test_is_skipped_without_fluidsynth_except_under_ci(monkeypatch, tmp_path):
    hide_fluidsynth(monkeypatch, tmp_path, soundfont=True)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs the fluidsynth program.*CI installs"):
        fluidsynth_or_skip()
    monkeypatch.setenv("CI", "true")
    fluidsynth_or_skip()  # runs, and fails on the missing program


def test_check_engine_names_what_is_missing_and_the_packages(monkeypatch, tmp_path):
    hide_fluidsynth(monkeypatch, tmp_path, soundfont=True)
    with pytest.raises(ValueError, match="the fluidsynth program is missing .*apt-get install "
                                         "fluidsynth timgm6mb-soundfont"):
        audio.check_engine("fluidsynth")
    assert audio.check_engine("auto") == "numpy" and audio.check_engine("numpy") == "numpy"
    hide_fluidsynth(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match="and the fluidsynth program and a SoundFont are "
                                         "missing .*apt-get install"):
        audio.check_engine("fluidsynth")
    hide_fluidsynth(monkeypatch, tmp_path, program=True)
    with pytest.raises(ValueError, match="and a SoundFont is missing .*timgm6mb-soundfont"):
        audio.check_engine("fluidsynth")
    hide_fluidsynth(monkeypatch, tmp_path, program=True, soundfont=True)
    assert audio.check_engine("fluidsynth") == audio.check_engine("auto") == "fluidsynth"
    with pytest.raises(ValueError, match="unknown audio engine 'midi': choose one of auto, "
                                         "fluidsynth, numpy"):
        audio.check_engine("midi")


@pytest.mark.parametrize("name", ["missing.sf2", "."])
def test_a_soundfont_variable_naming_no_file_is_refused(monkeypatch, tmp_path, name):
    path = str(tmp_path / name)
    monkeypatch.setenv("MAMMAD_SOUNDFONT", path)
    message = re.escape(f"MAMMAD_SOUNDFONT names '{path}', which is not a file")
    with pytest.raises(ValueError, match=message):
        audio.find_soundfont()
    for engine in ("auto", "fluidsynth"):
        with pytest.raises(ValueError, match="MAMMAD_SOUNDFONT names"):
            audio.render_wav(tmp_path / "x.wav", [60], engine=engine)
    assert not (tmp_path / "x.wav").exists()
    assert audio.render_wav(tmp_path / "y.wav", [60], engine="numpy")[1] == "numpy"
