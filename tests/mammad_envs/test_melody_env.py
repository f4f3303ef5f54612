"""MelodyEnv: hand-computed observations, actions, masks, info, errors, output."""

import numpy as np
import pytest

from mammad_envs import HOLD, REST
from mammad_envs.melody_env import MelodyEnv
from mammad_envs.midi import load_midi, read_midi_tracks

# 16ths 0..4: strike C5 (60... here MIDI 60), hold, rest, strike E (64), strike E again.
EVENTS = [60, HOLD, REST, 64, 64]


def play(env, events, seed=0, options=None):
    env.reset(seed=seed, options=options)
    observations, infos = [], []
    for event in events:
        obs, reward, terminated, truncated, info = env.step(env.pitch_to_action(event))
        assert reward == 0.0 and not truncated
        observations.append(obs)
        infos.append(info)
    return observations, infos


def nonzero(obs):
    return {int(p): float(obs[p]) for p in np.flatnonzero(obs)}


def test_binary_without_accompaniment():
    obs, _ = play(MelodyEnv("binary", accompaniment=None), EVENTS)
    assert [nonzero(o) for o in obs] == [{60: 1}, {60: 1}, {}, {64: 1}, {64: 1}]


def test_count_without_accompaniment():
    obs, _ = play(MelodyEnv("count", accompaniment=None), EVENTS)
    assert [nonzero(o) for o in obs] == [{60: 1}, {60: 1}, {60: 1}, {60: 1, 64: 1},
                                         {60: 1, 64: 2}]


def test_decay_without_accompaniment():
    obs, _ = play(MelodyEnv("decay", accompaniment=None, decay=0.5), EVENTS)
    assert [nonzero(o) for o in obs] == [{60: 1}, {60: 0.5}, {60: 0.25},
                                         {60: 0.125, 64: 1}, {60: 0.0625, 64: 1.5}]


# The "march" accompaniment: A minor bar, bass A2 (45) on 16ths 0-3 and 8-11, chord
# A3 C4 E4 (57, 60, 64) on 16ths 4-5 and 12-13.
def test_binary_with_accompaniment():
    obs, _ = play(MelodyEnv("binary", accompaniment="march"), EVENTS)
    assert [nonzero(o) for o in obs] == [
        {45: 1, 60: 1}, {45: 1, 60: 1}, {45: 1}, {45: 1, 64: 1}, {57: 1, 60: 1, 64: 1},
    ]


def test_count_with_accompaniment_counts_both_onsets():
    obs, _ = play(MelodyEnv("count", accompaniment="march"), EVENTS)
    assert nonzero(obs[3]) == {45: 1, 60: 1, 64: 1}
    assert nonzero(obs[4]) == {45: 1, 57: 1, 60: 2, 64: 3}


def test_decay_with_accompaniment():
    obs, _ = play(MelodyEnv("decay", accompaniment="march", decay=0.5), EVENTS)
    assert nonzero(obs[4]) == {45: 0.0625, 57: 1, 60: 1.0625, 64: 2.5}


def test_accompaniment_loops():
    env = MelodyEnv("binary", accompaniment="march", steps=40)
    obs, _ = play(env, [REST] + [HOLD] * 39)
    np.testing.assert_array_equal(obs[0], obs[32])  # the march loops every 2 bars
    assert nonzero(obs[16]) == {40: 1}  # bar 2: bass E2


@pytest.mark.parametrize("encoding", ["binary", "count", "decay", "binary_stack"])
def test_reset_observation_is_zero_and_melody_empty(encoding):
    env = MelodyEnv(encoding)
    play(env, EVENTS)
    obs, info = env.reset(seed=1)
    assert not obs.any() and env.melody.size == 0 and env.current_step == 0
    assert info["accompaniment"] in {"march", "rock", "alberti", "habanera", "bossa"}


def test_info_and_melody():
    env = MelodyEnv(steps=20, accompaniment=None)
    _, infos = play(env, EVENTS + [HOLD] * 12 + [62])
    assert infos[0] == {"step": 0, "bar": 0, "beat": 0, "sixteenth": 0, "pitch": 60,
                        "reward_terms": {}}
    assert infos[17] == {"step": 17, "bar": 1, "beat": 0, "sixteenth": 1, "pitch": 62,
                         "reward_terms": {}}
    assert infos[1]["pitch"] == HOLD and infos[2]["pitch"] == REST
    np.testing.assert_array_equal(env.melody, EVENTS + [HOLD] * 12 + [62])


def test_episode_terminates_after_steps():
    env = MelodyEnv(steps=5)
    env.reset(seed=0)
    flags = [env.step(env.hold_action)[2] for _ in range(5)]
    assert flags == [False] * 4 + [True]
    with pytest.raises(RuntimeError, match="complete"):
        env.step(0)
    np.testing.assert_array_equal(env.melody, [HOLD] * 5)


def test_action_mapping():
    env = MelodyEnv()
    assert env.action_space.n == 90
    assert env.action_to_pitch(0) == 21 and env.action_to_pitch(87) == 108
    assert env.action_to_pitch(88) == HOLD and env.action_to_pitch(89) == REST
    for action in range(90):
        assert env.pitch_to_action(env.action_to_pitch(action)) == action
    narrow = MelodyEnv(pitch_range=[48, 83])
    assert narrow.action_space.n == 38 and narrow.pitch_to_action(60) == 12
    with pytest.raises(ValueError, match="pitch 84 cannot be played.*48..83"):
        narrow.pitch_to_action(84)
    with pytest.raises(ValueError, match="action 38 is out of range"):
        narrow.action_to_pitch(38)


def test_action_masks():
    assert MelodyEnv().action_masks().all()
    env = MelodyEnv(pitch_range=(60, 72), mask_key="G major")
    mask = env.action_masks()
    playable = [env.action_to_pitch(a) for a in np.flatnonzero(mask)]
    assert playable == [60, 62, 64, 66, 67, 69, 71, 72, HOLD, REST]
    mask[:] = False
    assert env.action_masks().sum() == 10  # a copy: the env's mask is unchanged


def test_reset_option_overrides_accompaniment_for_one_episode():
    env = MelodyEnv(accompaniment=None)
    assert env.reset(options={"accompaniment": "rock"})[1]["accompaniment"] == "rock"
    assert env.reset()[1]["accompaniment"] is None
    assert env.reset(options={"accompaniment": 2})[1]["accompaniment"] == "alberti"


def test_random_accompaniment_follows_the_seed():
    env = MelodyEnv()
    names = [env.reset(seed=seed)[1]["accompaniment"] for seed in range(30)]
    assert len(set(names)) == 5
    assert names == [env.reset(seed=seed)[1]["accompaniment"] for seed in range(30)]


@pytest.mark.parametrize("kwargs, message", [
    ({"encoding": "onehot"}, "unknown encoding 'onehot'"),
    ({"accompaniment": "polka"}, "unknown accompaniment 'polka'.*march.*bossa"),
    ({"accompaniment": 5}, "unknown accompaniment 5"),
    ({"mask_key": "H major"}, "unknown key 'H major'"),
    ({"steps": 0}, "steps must be a positive integer of at most MAX_STEPS = 4096.*got 0"),
    ({"steps": 4097}, "steps must be a positive integer of at most MAX_STEPS = 4096.*got 4097"),
    ({"steps": 10**9}, "at most MAX_STEPS = 4096.*got 1000000000"),
    ({"steps": 8.0}, "steps must be a positive integer.*got 8.0"),
    ({"steps": True}, "steps must be a positive integer.*got True"),
    ({"decay": "x"}, r"encoding 'binary' takes no argument\(s\) \['decay'\]; its arguments: "
                     r"none; encodings that take them: \['decay'\]"),
    ({"encoding": "count", "decay": 0.5}, r"encoding 'count' takes no argument\(s\) \['decay'\]"),
    ({"encoding": "count", "encoding_kwargs": {"decay": 0.5}}, r"'count' takes no argument"),
    ({"encoding": "decay", "decay": "x"}, r"decay must be a number in \[0, 1\], got 'x'"),
    ({"encoding": "decay", "decay": 1.5}, r"decay must be a number in \[0, 1\], got 1.5"),
    ({"encoding": "decay", "decay": 0.5, "encoding_kwargs": {"decay": 0.8}},
     "decay is given twice"),
    ({"encoding": "decay", "encoding_kwargs": [0.8]}, "encoding_kwargs must be a mapping"),
    ({"pitch_range": (60, 59)}, "pitch_range must be two MIDI pitches"),
    ({"pitch_range": (0, 128)}, "pitch_range must be two MIDI pitches"),
    ({"render_mode": "human"}, "unknown render_mode 'human'"),
    ({"tempo": 90}, r"unknown argument\(s\) \['tempo'\].*valid arguments"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MelodyEnv(**kwargs)


def test_steps_up_to_the_cap_and_the_decay_default():
    from mammad_envs.melody_env import MAX_STEPS

    env = MelodyEnv("count", steps=MAX_STEPS, accompaniment=None)
    assert env.observation_space.high.max() == 2 * MAX_STEPS
    assert MelodyEnv("decay").encoding.decay == np.float32(0.9)
    assert MelodyEnv("decay", encoding_kwargs={"decay": 0.5}).encoding.decay == 0.5


@pytest.mark.parametrize("action", [90, -1, 1.0, "3", None, True, np.array([1, 2])])
def test_invalid_action_leaves_state_unchanged(action):
    env = MelodyEnv("count", accompaniment="rock")
    obs, _ = play(env, EVENTS)
    melody = env.melody
    with pytest.raises(ValueError, match="action"):
        env.step(action)
    np.testing.assert_array_equal(env.melody, melody)
    next_obs = env.step(env.pitch_to_action(67))[0]
    expected, _ = play(MelodyEnv("count", accompaniment="rock"), EVENTS + [67])
    np.testing.assert_array_equal(next_obs, expected[-1])


def test_numpy_integer_actions_are_accepted():
    env = MelodyEnv()
    env.reset(seed=0)
    env.step(np.int64(39))
    env.step(np.array(40))
    np.testing.assert_array_equal(env.melody, [60, 61])


def test_bad_reset_options():
    env = MelodyEnv()
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['tempo'\]"):
        env.reset(options={"tempo": 3})
    with pytest.raises(ValueError, match="unknown accompaniment 'x'"):
        env.reset(options={"accompaniment": "x"})


def test_step_before_reset_is_an_error():
    with pytest.raises(RuntimeError, match="reset"):
        MelodyEnv().step(0)


def test_to_midi_writes_melody_and_accompaniment(tmp_path):
    env = MelodyEnv(accompaniment="alberti", steps=32)
    play(env, EVENTS)
    path = env.to_midi(tmp_path / "out" / "melody.mid", bpm=90)
    np.testing.assert_array_equal(load_midi(path), EVENTS)
    tracks = {track.name: track for track in read_midi_tracks(path)}
    accompaniment = tracks["accompaniment"].notes
    assert accompaniment and max(note.end for note in accompaniment) == 5


def test_render_ansi_and_rgb():
    env = MelodyEnv(accompaniment="march", render_mode="ansi")
    play(env, EVENTS)
    text = env.render()
    lines = {line.split()[0]: line.split()[1] for line in text.splitlines()[1:]}
    assert lines["C4"] == "|#=..o"  # melody onset, held, then the chord's C4
    assert lines["E4"] == "|...##"
    assert lines["A2"] == "|oooo."
    env = MelodyEnv(render_mode="rgb_array", steps=32, accompaniment=None)
    play(env, [60] * 4)
    image = env.render()
    assert image.shape == (88 * 3, 32 * 6, 3) and image.dtype == np.uint8
    row = (108 - 60) * 3
    assert tuple(image[row, 6]) == (214, 39, 40)  # the melody onset colour at C4, 16th 1
