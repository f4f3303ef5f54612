"""MelodyVectorEnv gives exactly what N scalar envs give."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mammad_envs.compat import final_episodes
from mammad_envs.infos import row_infos
from mammad_envs.vector_env import MelodyVectorEnv


def scalar_envs(n, **kwargs):
    return [gym.make("MelodyEnv-v0", **kwargs) for _ in range(n)]


def compare(vector, scalars, seed, actions):
    observations, infos = vector.reset(seed=seed)
    for i, env in enumerate(scalars):
        observation, info = env.reset(seed=seed + i)
        np.testing.assert_array_equal(observations[i], observation)
        assert infos["accompaniment"][i] == info["accompaniment"]
    for row in actions:
        observations, rewards, terminated, truncated, infos = vector.step(np.array(row))
        assert not rewards.any()
        for i, env in enumerate(scalars):
            observation, reward, done, cut, info = env.step(int(row[i]))
            assert terminated[i] == done and truncated[i] == cut
            if done:
                last_observations, last_infos = final_episodes(infos, [i])
                np.testing.assert_array_equal(last_observations[0], observation)
                assert last_infos[0] == info
                observation, info = env.reset()
                assert infos["accompaniment"][i] == info["accompaniment"]
            else:
                assert row_infos(infos, [i], skip=("accompaniment",))[0] == info
            np.testing.assert_array_equal(observations[i], observation)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), seed=st.integers(0, 2**16),
       encoding=st.sampled_from(["binary", "count", "decay", "binary_stack"]),
       accompaniment=st.sampled_from(["random", None, "march"]),
       steps=st.integers(1, 20), data=st.data())
def test_equals_bare_scalar_envs(n, seed, encoding, accompaniment, steps, data):
    kwargs = {"encoding": encoding, "accompaniment": accompaniment, "steps": steps,
              "pitch_range": [55, 75]}
    length = data.draw(st.integers(1, 3 * steps + 2))
    actions = data.draw(st.lists(st.lists(st.integers(0, 22), min_size=n, max_size=n),
                                 min_size=length, max_size=length))
    compare(MelodyVectorEnv(n, **kwargs), scalar_envs(n, reward=None, **kwargs), seed, actions)


def test_infos_follow_gymnasiums_vector_layout():
    envs = MelodyVectorEnv(3, steps=2)
    envs.reset(seed=0)
    _, _, _, _, infos = envs.step(np.array([0, 1, 2]))
    for key in ("step", "bar", "beat", "sixteenth", "pitch", "reward_terms"):
        assert infos[f"_{key}"].tolist() == [True] * 3
    assert infos["pitch"].tolist() == [21, 22, 23] and infos["reward_terms"] == {}
    _, _, terminated, _, infos = envs.step(np.array([0, 1, 2]))
    assert terminated.all() and infos["_final_info"].all()
    last = final_episodes(infos, [1])[1][0]
    assert last["step"] == 1 and last["pitch"] == 22
    assert not infos["_step"].any()  # every env restarted: the step keys are the final ones


def test_unseeded_reset_continues_like_scalar_envs():
    vector, scalars = MelodyVectorEnv(3, steps=2), scalar_envs(3, steps=2, reward=None)
    vector.reset(seed=7)
    for i, env in enumerate(scalars):
        env.reset(seed=7 + i)
    for _ in range(80):  # more resets than the vector env draws ahead at once
        _, infos = vector.reset()
        assert list(infos["accompaniment"]) == [env.reset()[1]["accompaniment"]
                                                for env in scalars]


def test_bad_arguments():
    for bad in (0, -3, 2.0, True, "2"):
        with pytest.raises(ValueError, match=f"num_envs must be a positive integer, got {bad!r}"):
            MelodyVectorEnv(bad)
    assert MelodyVectorEnv(np.int64(2)).num_envs == 2
    with pytest.raises(ValueError, match="at most MAX_STEPS = 4096.*got 100000"):
        MelodyVectorEnv(1024, steps=100_000)  # refused before the buffers are allocated
    with pytest.raises(ValueError, match=r"encoding 'count' takes no argument\(s\) \['decay'\]"):
        MelodyVectorEnv(2, encoding="count", decay=0.5)
    with pytest.raises(ValueError, match="unknown encoding 'onehot'"):
        MelodyVectorEnv(2, encoding="onehot")
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['reward'\]"):
        MelodyVectorEnv(2, reward="theory")  # rewards are composed by rewards.make_vector_env
    envs = MelodyVectorEnv(2)
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        envs.step(np.array([1, 2]))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="actions must be 2 integers"):
        envs.step(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"actions must lie in 0..89"):
        envs.step(np.array([1, 90]))
    with pytest.raises(ValueError, match="2 seeds for 3 envs|3 seeds for 2 envs"):
        envs.reset(seed=[1, 2, 3])
