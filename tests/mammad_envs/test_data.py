"""The bundled melodies and accompaniments, and the expert demonstrations."""

import json

import gymnasium as gym
import numpy as np
import pytest

from mammad_envs.data import DATA_DIR, load_accompaniments, load_melodies
from mammad_envs.data.demonstrations import expert_trajectories, melody_windows
from mammad_envs.melody import HOLD, REST, canonical_melody
from mammad_envs.music import parse_key

NEEDS_IMITATION = "needs the imitation extra (docs/install.md)"
COLLECTIONS = {"O'Neill's Music of Ireland (1850)", "Ryan's Mammoth Collection (1883)"}


def test_ten_real_melodies_with_a_manifest():
    melodies = load_melodies()
    assert len(melodies) == 10
    assert len({m.title for m in melodies}) == 10
    manifest = json.loads((DATA_DIR / "melodies" / "manifest.json").read_text())
    for melody, entry in zip(melodies, manifest, strict=True):
        assert melody.title == entry["title"] and melody.path.name == entry["file"]
        assert melody.key in ("C major", "A minor")
        assert entry["collection"].startswith(("O'Neill", "Ryan", "miscFolk")) or \
            "miscFolk" in entry["corpus_path"]
        assert len(melody) == entry["steps"] == 16 * entry["bars"] >= 64
        np.testing.assert_array_equal(melody.notes, canonical_melody(melody.notes))
        pitches = melody.notes[melody.notes >= 0]
        assert 48 <= pitches.min() and pitches.max() <= 83
        scale = parse_key(melody.key).pitch_classes
        in_key = np.isin(pitches % 12, list(scale)).mean()
        assert in_key > 0.9, f"{melody.title}: only {in_key:.0%} of its notes in {melody.key}"
    assert {m.info["corpus_path"].split("/")[0] for m in melodies} == {
        "oneills1850", "ryansMammoth", "miscFolk"}


def test_melody_arrays_are_read_only():
    melody = load_melodies()[0]
    with pytest.raises(ValueError):
        melody.notes[0] = 60


def test_five_distinct_accompaniments():
    accompaniments = load_accompaniments()
    assert [a.name for a in accompaniments] == ["march", "rock", "alberti", "habanera", "bossa"]
    rhythms = set()
    for accompaniment in accompaniments:
        assert accompaniment.key in ("C major", "A minor")
        assert accompaniment.steps in (16, 32)
        onset_steps = accompaniment.onsets.any(axis=1)
        rhythms.add(tuple(onset_steps[:16]))
        scale = parse_key(accompaniment.key).scale_mask()
        # a bass line below C3 and chord tones above it; all diatonic but the leading tone of
        # A minor's dominant (G#)
        assert accompaniment.sounding[:, :48].any() and accompaniment.sounding[:, 48:].any()
        assert (accompaniment.sounding[:16].any(axis=0)).sum() >= 4
        chromatic = {p % 12 for p in np.flatnonzero(accompaniment.sounding.any(axis=0))
                     if not scale[p]}
        assert chromatic <= {8}
    assert len(rhythms) == 5, "every accompaniment has its own onset rhythm"


def test_melody_windows_restrike_a_held_note():
    melody = [60, HOLD, HOLD, HOLD, HOLD, 62, REST, HOLD, HOLD, HOLD]
    windows = melody_windows(melody, 4)
    np.testing.assert_array_equal(windows[0], [60, HOLD, HOLD, HOLD])
    np.testing.assert_array_equal(windows[1], [60, 62, REST, HOLD])
    assert len(windows) == 2  # the last partial window is dropped
    assert len(melody_windows(melody, 4, max_windows=1)) == 1


def test_expert_trajectories_replay_the_melodies():
    pytest.importorskip("imitation", reason=NEEDS_IMITATION)
    env = gym.make("MammadMelody-count-v0")
    trajectories = expert_trajectories(env, seed=7)
    windows = [w for m in load_melodies() for w in melody_windows(m.notes, 64)]
    assert len(trajectories) == len(windows) > 10
    for trajectory, window in zip(trajectories, windows, strict=True):
        assert trajectory.obs.shape == (65, 128) and trajectory.acts.shape == (64,)
        assert trajectory.terminal and len(trajectory.infos) == 64
        played = [env.unwrapped.action_to_pitch(a) for a in trajectory.acts]
        np.testing.assert_array_equal(played, window)
        assert [info["pitch"] for info in trajectory.infos] == list(window)
    # the count of the last observation includes every melody onset of the window
    last = trajectories[0]
    assert last.obs[-1].sum() >= (windows[0] >= 0).sum()
    again = expert_trajectories(gym.make("MammadMelody-count-v0"), seed=7)
    np.testing.assert_array_equal(again[3].obs, trajectories[3].obs)


def test_expert_trajectories_check_the_pitch_range():
    pytest.importorskip("imitation", reason=NEEDS_IMITATION)
    env = gym.make("MelodyEnv-v0", pitch_range=[60, 72], steps=16)
    with pytest.raises(ValueError, match="melody 0: pitch .* cannot be played.*60..72"):
        expert_trajectories(env, [[55] * 16])


def test_expert_trajectories_work_with_imitation():
    pytest.importorskip("imitation", reason=NEEDS_IMITATION)
    from imitation.data import rollout

    env = gym.make("MammadMelody-binary-v0", steps=32)
    trajectories = expert_trajectories(env, max_windows=1)
    transitions = rollout.flatten_trajectories(trajectories)
    assert len(transitions) == 32 * 10
    assert transitions.obs.shape == (320, 128)
