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

from mammad_envs.errors import MammadError
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


SOUNDFONT_VARIABLE = "MAMMAD_SOUNDFONT"
"""The environment variable naming a SoundFont file to use (checked first)."""

DEBIAN_PACKAGES = "fluidsynth timgm6mb-soundfont"
"""The Debian packages that give fluidsynth rendering (the ones CI installs)."""

ENGINES = ("auto", "fluidsynth", "numpy")
"""The audio engines :func:`render_wav` takes."""


class AudioEngineError(MammadError, ValueError, RuntimeError):
    """An audio engine that cannot run here.

    An unknown engine, fluidsynth without its program or a SoundFont, or ``$MAMMAD_SOUNDFONT``
    naming no file. A ``ValueError`` (a bad choice of the caller's) and, as before, a
    ``RuntimeError``.
    """


def find_soundfont() -> str | None:
    """The SoundFont to use: ``$MAMMAD_SOUNDFONT`` if set, else the first installed one, or None.

    Raises:
        AudioEngineError: If ``$MAMMAD_SOUNDFONT`` is set (not empty) but names no file: it is
            refused rather than silently replaced by another SoundFont.
    """
    chosen = os.environ.get(SOUNDFONT_VARIABLE, "")
    if chosen:
        if not Path(chosen).is_file():
            raise AudioEngineError(f"{SOUNDFONT_VARIABLE} names {chosen!r}, which is not a "
                                   f"file: point it at a SoundFont (.sf2) file, or unset it to "
                                   f"use an installed one ({', '.join(SOUNDFONTS)})")
        return chosen
    return next((path for path in SOUNDFONTS if Path(path).is_file()), None)


def missing_fluidsynth() -> str | None:
    """What fluidsynth rendering lacks here, in words, or None if nothing.

    Raises:
        AudioEngineError: As :func:`find_soundfont`.
    """
    return " and ".join(_missing_for_fluidsynth()) or None


def _missing_for_fluidsynth() -> list[str]:
    """The things fluidsynth rendering lacks here, each in words (empty if none)."""
    return [what for what, found in (("the fluidsynth program", shutil.which("fluidsynth")),
                                     ("a SoundFont", find_soundfont())) if not found]


def check_engine(engine: str) -> str:
    """Checks an audio engine before any work: cheap (a PATH lookup and a few file checks).

    Args:
        engine: ``"auto"``, ``"fluidsynth"`` or ``"numpy"``.

    Returns:
        The engine :func:`render_wav` will use: ``"fluidsynth"`` or ``"numpy"``.

    Raises:
        AudioEngineError: On an unknown engine; on ``"fluidsynth"`` when the program or a
            SoundFont is missing (naming the Debian packages); on ``"auto"`` or
            ``"fluidsynth"`` when ``$MAMMAD_SOUNDFONT`` names no file.
    """
    if engine not in ENGINES:
        raise AudioEngineError(f"unknown audio engine {engine!r}: choose one of "
                               f"{', '.join(ENGINES)}")
    if engine == "numpy":
        return "numpy"
    missing = _missing_for_fluidsynth()
    if missing and engine == "fluidsynth":
        verb = "are" if len(missing) > 1 else "is"
        raise AudioEngineError(f"audio engine 'fluidsynth' needs the fluidsynth program and a "
                               f"SoundFont, and {' and '.join(missing)} {verb} missing (Debian: "
                               f"apt-get install "
                               f"{DEBIAN_PACKAGES}; or set {SOUNDFONT_VARIABLE} to a .sf2 "
                               f"file); or choose the audio engine 'numpy'")
    return "numpy" if missing else "fluidsynth"


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
        AudioEngineError: As :func:`check_engine`, before anything is written.
        RuntimeError: If fluidsynth was asked for and fails.
    """
    used = check_engine(engine)
    accompaniment = list(accompaniment)
    if used == "fluidsynth":
        program, soundfont = shutil.which("fluidsynth"), find_soundfont()
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
