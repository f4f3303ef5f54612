"""Rendering melodies to WAV.

Debian's fluidsynth with a SoundFont when present, else a small numpy synthesiser (additive
tones with an envelope) that needs nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from mammad_envs.melody import STEPS_PER_BEAT, note_events
from mammad_envs.midi import Note, write_midi

SAMPLE_RATE = 22050
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
"""Where Debian's SoundFont packages put their files (fluid-soundfont-gm, timgm6mb-soundfont)."""


def find_soundfont() -> str | None:
    """The first SoundFont found (``$MAMMAD_SOUNDFONT`` first), or None."""
    candidates = [os.environ.get("MAMMAD_SOUNDFONT", ""), *SOUNDFONTS]
    return next((path for path in candidates if path and Path(path).is_file()), None)


def synthesise(melody: Sequence[int] | np.ndarray, accompaniment: Iterable[Note] = (),
               bpm: float = 120.0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Renders a melody and its accompaniment with additive tones; float32 in [-1, 1].

    Each note is a fundamental plus two quieter harmonics with a short attack and an
    exponential decay; the accompaniment plays softer than the melody.

    Args:
        melody: A melody array.
        accompaniment: Accompaniment notes.
        bpm: Tempo.
        sample_rate: Samples per second.

    Returns:
        Mono audio, one second of silence-free tail included for the last note's release.
    """
    step_seconds = 60.0 / bpm / STEPS_PER_BEAT
    notes = [(p, s, e, 0.5) for p, s, e in note_events(melody)]
    notes += [(n.pitch, n.start, n.end, 0.25) for n in accompaniment]
    length = max([len(melody)] + [end for _, _, end, _ in notes])
    audio = np.zeros(int((length * step_seconds + 0.5) * sample_rate) + 1, dtype=np.float64)
    for pitch, start, end, loudness in notes:
        frequency = 440.0 * 2 ** ((pitch - 69) / 12)
        duration = (end - start) * step_seconds + 0.1
        t = np.arange(int(duration * sample_rate)) / sample_rate
        tone = sum(amp * np.sin(2 * np.pi * frequency * k * t)
                   for k, amp in ((1, 1.0), (2, 0.3), (3, 0.15)))
        envelope = np.minimum(t / 0.01, 1.0) * np.exp(-3.0 * t)
        envelope[-int(0.1 * sample_rate):] *= np.linspace(1, 0, int(0.1 * sample_rate))
        first = int(start * step_seconds * sample_rate)
        audio[first:first + len(t)] += loudness * tone * envelope
    peak = np.abs(audio).max()
    return (audio / peak * 0.9 if peak > 0 else audio).astype(np.float32)


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Writes mono float audio as 16-bit PCM WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(pcm.tobytes())
    return path


def render_wav(path: str | os.PathLike, melody: Sequence[int] | np.ndarray,
               accompaniment: Iterable[Note] = (), bpm: float = 120.0,
               engine: str = "auto") -> tuple[Path, str]:
    """Renders a melody (and accompaniment) to a WAV file.

    Args:
        path: The WAV file to write.
        melody: A melody array.
        accompaniment: Accompaniment notes.
        bpm: Tempo.
        engine: ``"fluidsynth"``, ``"numpy"`` or ``"auto"`` (fluidsynth when both the program
            and a SoundFont are installed).

    Returns:
        ``(path, engine used)``.

    Raises:
        ValueError: On an unknown engine.
        RuntimeError: If fluidsynth was asked for but is missing or fails.
    """
    if engine not in ("auto", "fluidsynth", "numpy"):
        raise ValueError(f"unknown audio engine {engine!r}: choose auto, fluidsynth or numpy")
    accompaniment = list(accompaniment)
    soundfont = find_soundfont()
    program = shutil.which("fluidsynth")
    if engine == "fluidsynth" and not (program and soundfont):
        raise RuntimeError("fluidsynth rendering needs the fluidsynth program and a SoundFont "
                           "(Debian: apt-get install fluidsynth fluid-soundfont-gm)")
    if engine != "numpy" and program and soundfont:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            midi = write_midi(Path(folder) / "melody.mid", melody, accompaniment, bpm=bpm)
            result = subprocess.run([program, "-ni", "-F", str(path), "-r", str(SAMPLE_RATE),
                                     soundfont, str(midi)], capture_output=True, text=True)
        if result.returncode == 0 and path.is_file():
            return path, "fluidsynth"
        if engine == "fluidsynth":
            raise RuntimeError(f"fluidsynth failed: {result.stderr.strip()[-500:]}")
    return write_wav(path, synthesise(melody, accompaniment, bpm)), "numpy"
