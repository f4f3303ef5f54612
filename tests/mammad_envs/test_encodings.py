"""Encodings on hand-made frames, without an env."""

import numpy as np
import pytest

from mammad_envs.encodings import ENCODINGS, CountEncoding, DecayEncoding, make_encoding


def frame(sounding=(), onsets=()):
    s = np.zeros(128, dtype=bool)
    s[list(sounding)] = True
    o = np.zeros(128, dtype=np.uint8)
    for pitch in onsets:
        o[pitch] += 1
    return s, o


def run(encoding, frames):
    obs = encoding.initial()
    out = []
    for sounding, onsets in frames:
        obs = encoding.encode(obs, sounding, onsets)
        out.append(obs)
    return out


FRAMES = [frame({60, 45}, [60, 45]), frame({60, 45}), frame({45}), frame({64}, [64, 64])]


def test_registry_has_the_three_encodings_and_the_stacked_binary():
    assert sorted(ENCODINGS) == ["binary", "binary_stack", "count", "decay"]


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_initial_observation_is_zero_and_in_space(name):
    encoding = make_encoding(name, steps=8)
    obs = encoding.initial()
    width = 4 * 128 if name == "binary_stack" else 128
    assert obs.shape == (width,) and obs.dtype == np.float32 and not obs.any()
    assert encoding.space().contains(obs) and encoding.space().shape == (width,)
    batch = encoding.initial((3,))
    assert batch.shape == (3, width) and not batch.any()


def test_binary_is_the_snapshot_of_the_last_frame():
    out = run(make_encoding("binary", 4), FRAMES)
    assert set(np.flatnonzero(out[0])) == {45, 60}
    assert set(np.flatnonzero(out[1])) == {45, 60}
    assert set(np.flatnonzero(out[2])) == {45}
    assert set(np.flatnonzero(out[3])) == {64}
    assert out[3].max() == 1.0


def test_binary_stack_shows_the_last_frames_latest_first():
    out = run(make_encoding("binary_stack", 4, frames=3), FRAMES)
    snapshots = run(make_encoding("binary", 4), FRAMES)
    assert out[0].shape == (3 * 128,)
    np.testing.assert_array_equal(out[0][:128], snapshots[0])
    assert not out[0][128:].any()  # nothing before the first 16th
    for t in range(2, len(FRAMES)):
        for k in range(3):
            np.testing.assert_array_equal(out[t][k * 128:(k + 1) * 128], snapshots[t - k])
    assert out[3].max() == 1.0


@pytest.mark.parametrize("frames", [0, -1, 2.5, True, "4"])
def test_binary_stack_refuses_a_bad_number_of_frames(frames):
    with pytest.raises(ValueError, match=f"frames must be an integer >= 1, got {frames!r}"):
        make_encoding("binary_stack", 4, frames=frames)


def test_binary_stack_of_one_frame_is_binary():
    one = run(make_encoding("binary_stack", 4, frames=1), FRAMES)
    for stacked, snapshot in zip(one, run(make_encoding("binary", 4), FRAMES), strict=True):
        np.testing.assert_array_equal(stacked, snapshot)


def test_count_adds_onsets_only():
    out = run(make_encoding("count", 4), FRAMES)
    assert out[1][60] == 1 and out[1][45] == 1  # a held note adds nothing
    assert out[3][64] == 2 and out[3][60] == 1 and out[3].sum() == 4


def test_decay_weighs_older_onsets_less():
    out = run(make_encoding("decay", 4, decay=0.5), FRAMES)
    assert out[0][60] == 1.0
    assert out[2][60] == 0.25
    assert out[3][60] == 0.125 and out[3][45] == 0.125 and out[3][64] == 2.0


def test_decay_one_equals_count_and_zero_is_last_onsets():
    counts = run(make_encoding("count", 4), FRAMES)
    ones = run(make_encoding("decay", 4, decay=1.0), FRAMES)
    zeros = run(make_encoding("decay", 4, decay=0.0), FRAMES)
    np.testing.assert_array_equal(counts[-1], ones[-1])
    np.testing.assert_array_equal(zeros[-1], FRAMES[-1][1].astype(np.float32))


def test_encodings_work_on_batches():
    encoding = make_encoding("count", 4)
    batch = encoding.initial((3,))
    sounding = np.zeros((3, 128), dtype=bool)
    onsets = np.zeros((3, 128), dtype=np.uint8)
    onsets[np.arange(3), [60, 62, 64]] = 1
    batch = encoding.encode(encoding.encode(batch, sounding, onsets), sounding, onsets)
    assert batch.shape == (3, 128)
    assert batch[0, 60] == batch[1, 62] == batch[2, 64] == 2


def test_high_bounds_counts():
    assert make_encoding("binary", 64).space().high.max() == 1
    assert make_encoding("count", 64, max_onsets=2).space().high.max() == 128
    assert make_encoding("decay", 64, max_onsets=2).space().high.max() == 128


def test_bad_names_and_decays():
    with pytest.raises(ValueError, match="unknown encoding 'onehot'.*binary.*count.*decay"):
        make_encoding("onehot", 4)
    for bad in (-0.1, 1.5, "0.9", True):
        with pytest.raises(ValueError, match="decay must be a number in \\[0, 1\\]"):
            DecayEncoding(4, decay=bad)


class Clipped(CountEncoding):
    """A user's encoding with its own argument: counts, clipped at ``ceiling``."""

    name = "clipped"
    linear = None

    def __init__(self, steps, max_onsets=2, ceiling=2.0):
        super().__init__(steps, max_onsets)
        self.ceiling = ceiling

    def encode(self, previous, sounding, onsets):
        return np.minimum(previous + onsets, self.ceiling)


def test_a_registered_encoding_takes_its_own_arguments():
    import gymnasium as gym

    from mammad_envs.encodings import register_encoding

    register_encoding("test_clipped", Clipped)
    try:
        env = gym.make("MelodyEnv-v0", encoding="test_clipped", accompaniment=None,
                       reward=None, encoding_kwargs={"ceiling": 3.0})
        env.reset(seed=0)
        for _ in range(5):
            observation, *_ = env.step(env.unwrapped.pitch_to_action(60))
        assert observation[60] == 3.0
        with pytest.raises(ValueError, match=r"takes no argument\(s\) \['floor'\]; its "
                                             r"arguments: \['ceiling'\]"):
            make_encoding("test_clipped", 4, floor=1.0)
        with pytest.raises(ValueError, match="must be an Encoding subclass"):
            register_encoding("test_bad", dict)
        with pytest.raises(ValueError, match="exists already"):
            register_encoding("test_clipped", Clipped)
    finally:
        ENCODINGS.pop("test_clipped")
    assert make_encoding("decay", 4, decay=0.5).decay == 0.5  # decay is the class's own
    with pytest.raises(ValueError, match=r"encoding 'count' takes no argument\(s\) \['decay'\]; "
                                         r"its arguments: none; encodings that take them: "
                                         r"\['decay'\]"):
        make_encoding("count", 4, decay=0.5)
    with pytest.raises(ValueError, match=r"encoding 'decay' takes no argument\(s\) \['floor'\]; "
                                         r"its arguments: \['decay'\]$"):
        make_encoding("decay", 4, floor=0.5)
