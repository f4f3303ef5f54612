"""MelodyVectorEnv gives exactly what N scalar envs give."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mammad_envs.vector_env import MelodyVectorEnv


def scalar_envs(n, **kwargs):
    return [gym.make("MelodyEnv-v0", **kwargs) for _ in range(n)]


def compare(vector, scalars, seed, actions, atol=0.0):
    observations, infos = vector.reset(seed=seed)
    for i, env in enumerate(scalars):
        observation, info = env.reset(seed=seed + i)
        np.testing.assert_array_equal(observations[i], observation)
        assert infos["accompaniment"][i] == info["accompaniment"]
    for row in actions:
        observations, rewards, terminated, truncated, infos = vector.step(np.array(row))
        for i, env in enumerate(scalars):
            observation, reward, done, cut, info = env.step(int(row[i]))
            assert terminated[i] == done and truncated[i] == cut
            if done:
                np.testing.assert_array_equal(infos["final_observation"][i], observation)
                final = infos["final_info"][i]
                if atol:
                    assert final["pitch"] == info["pitch"] and final["step"] == info["step"]
                    for name, value in info["reward_terms"].items():
                        assert final["reward_terms"][name] == pytest.approx(value, abs=atol)
                else:  # the whole info: timing, pitch, reward terms and theory rules
                    assert final == info
                observation, info = env.reset()
                assert infos["accompaniment"][i] == info["accompaniment"]
            else:
                assert infos["pitch"][i] == info["pitch"] and infos["bar"][i] == info["bar"]
                for name, value in info["reward_terms"].items():
                    assert infos["reward_terms"][name][i] == pytest.approx(value, abs=atol)
                if "theory_rules" in info:
                    for name, value in info["theory_rules"].items():
                        assert infos["theory_rules"][name][i] == value
            np.testing.assert_array_equal(observations[i], observation)
            if atol:
                assert rewards[i] == pytest.approx(reward, abs=atol)
            else:
                assert rewards[i] == reward


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), seed=st.integers(0, 2**16),
       encoding=st.sampled_from(["binary", "count", "decay"]),
       accompaniment=st.sampled_from(["random", None, "march"]),
       steps=st.integers(1, 20), reward=st.sampled_from(["theory", None]), data=st.data())
def test_equals_scalar_envs_with_the_theory_reward(n, seed, encoding, accompaniment, steps,
                                                   reward, data):
    kwargs = {"encoding": encoding, "accompaniment": accompaniment, "steps": steps,
              "pitch_range": [55, 75], "reward": reward}
    length = data.draw(st.integers(1, 3 * steps + 2))
    actions = data.draw(st.lists(st.lists(st.integers(0, 22), min_size=n, max_size=n),
                                 min_size=length, max_size=length))
    compare(MelodyVectorEnv(n, **kwargs), scalar_envs(n, **kwargs), seed, actions)


def test_equals_scalar_envs_with_weighted_theory_and_note_rnn():
    kwargs = {"encoding": "decay", "steps": 12, "reward": "theory+note_rnn",
              "reward_weights": {"theory": 0.5, "note_rnn": 2.0},
              "reward_kwargs": {"theory": {"key": "A minor"}}}
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 90, size=(30, 3))
    compare(MelodyVectorEnv(3, **kwargs), scalar_envs(3, **kwargs), 5, actions, atol=1e-5)


def test_unseeded_reset_continues_like_scalar_envs():
    vector, scalars = MelodyVectorEnv(3, steps=2), scalar_envs(3, steps=2)
    vector.reset(seed=7)
    for i, env in enumerate(scalars):
        env.reset(seed=7 + i)
    for _ in range(80):  # more resets than the vector env draws ahead at once
        _, infos = vector.reset()
        assert list(infos["accompaniment"]) == [env.reset()[1]["accompaniment"]
                                                for env in scalars]


def test_make_vec_custom_returns_it():
    envs = gym.make_vec("MammadMelody-count-v0", num_envs=8, vectorization_mode="custom",
                        vector_kwargs={"steps": 16})
    assert isinstance(envs, MelodyVectorEnv) and envs.num_envs == 8
    assert envs.template.encoding.name == "count" and envs.spec.id == "MammadMelody-count-v0"
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (8, 128)
    any_encoding = gym.make_vec("MelodyEnv-v0", num_envs=2, vectorization_mode="custom",
                                vector_kwargs={"encoding": "decay"})
    assert any_encoding.template.encoding.name == "decay"


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        MelodyVectorEnv(0)
    with pytest.raises(ValueError, match="unknown encoding 'onehot'"):
        MelodyVectorEnv(2, encoding="onehot")
    with pytest.raises(ValueError, match=r"batches the rewards .*\['preference'\]"):
        MelodyVectorEnv(2, reward="theory+preference")
    from mammad_envs.vector_env import make_vector_env

    with pytest.raises(ValueError, match="max_episode_steps"):
        make_vector_env(2, max_episode_steps=10)
    envs = MelodyVectorEnv(2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="actions must be 2 integers"):
        envs.step(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"actions must lie in 0..89"):
        envs.step(np.array([1, 90]))
    with pytest.raises(ValueError, match="2 seeds for 3 envs|3 seeds for 2 envs"):
        envs.reset(seed=[1, 2, 3])
