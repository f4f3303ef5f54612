"""Every reward gives the same values on the scalar env and the vector env (one pipeline)."""

from importlib.util import find_spec

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rewards
from mammad_envs.compat import (
    VECTOR_ENTRY_POINT_MODE,
    final_episodes,
    make_vector,
    same_step_vector_kwargs,
)
from mammad_envs.infos import row_infos
from mammad_envs.melody_env import MelodyEnv
from mammad_envs.vector_env import MelodyVectorEnv
from rewards.compose import make_vector_env
from rewards.note_rnn import NoteRNN
from rewards.preferences.term import MelodyRewardNet
from rewards.reward_nets import build_reward_net, reward_net_kwargs, save_reward_net

torch.set_num_threads(1)
HAS_IMITATION = find_spec("imitation") is not None
KWARGS = {"encoding": "decay", "pitch_range": [48, 83]}


class Brightness(rewards.RewardTerm):
    """A user's reward with state: the pitches played so far, against the previous ones."""

    name = "test_brightness"

    def __init__(self, env, batch=1, weight=1.0, scale=1.0):
        super().__init__(env, batch, weight)
        self.scale = scale
        self.highest = np.zeros(batch)

    def reset(self, rows):
        self.highest[rows] = 0

    def compute(self, step):
        values = self.scale * np.where(step.events > self.highest, 1.0, -0.5)
        self.highest = np.maximum(self.highest, step.events)
        self.extras = {"test_brightness_parts": {"highest": self.highest.copy()}}
        return values


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    note_rnn = NoteRNN(embedding_dim=8, hidden_size=16).save(folder / "note_rnn.pt")
    preference = MelodyRewardNet(embedding_dim=8, hidden_size=8).save(folder / "pref.pt")
    if "test_brightness" not in rewards.REWARDS:
        rewards.register_reward("test_brightness", Brightness)
    models = {"note_rnn": {"model": str(note_rnn)}, "preference": {"model": str(preference)},
              "test_brightness": {"scale": 2.0}, "theory": {}}
    if HAS_IMITATION:  # the GAIL / AIRL reward networks are imitation's
        env = MelodyEnv(steps=6, **KWARGS)
        net = build_reward_net("gail", env.observation_space, env.action_space,
                               reward_net_kwargs("gail", {"hid_sizes": [16]}))
        gail = save_reward_net(folder / "gail_reward.pt", "gail", net,
                               reward_net_kwargs("gail", {"hid_sizes": [16]}), "decay(0.9)")
        models["gail"] = {"model": str(gail)}
    return models


def compare(vector, scalars, seed, actions, atol):
    observations, infos = vector.reset(seed=seed)
    for i, env in enumerate(scalars):
        observation, info = env.reset(seed=seed + i)
        np.testing.assert_array_equal(observations[i], observation)
    for row in actions:
        observations, rewards_, terminated, _, infos = vector.step(np.array(row))
        for i, env in enumerate(scalars):
            observation, reward, done, _, info = env.step(int(row[i]))
            assert terminated[i] == done
            vector_info = final_episodes(infos, [i])[1][0] if done else \
                row_infos(infos, [i], skip=("accompaniment",))[0]
            assert vector_info.keys() == info.keys()
            assert vector_info["reward_terms"].keys() == info["reward_terms"].keys()
            for name, value in info["reward_terms"].items():
                assert vector_info["reward_terms"][name] == pytest.approx(value, abs=atol), name
            for key in info.keys() - {"reward_terms"}:
                assert vector_info[key] == pytest.approx(info[key], abs=atol), key
            assert rewards_[i] == pytest.approx(reward, abs=atol)
            if done:
                np.testing.assert_array_equal(final_episodes(infos, [i])[0][0], observation)
                observation, _ = env.reset()
            np.testing.assert_array_equal(observations[i], observation)


@settings(max_examples=25, deadline=None)
@given(names=st.lists(st.sampled_from(["theory", "note_rnn", "preference", "gail",
                                       "test_brightness"]), min_size=1, max_size=5,
                      unique=True),
       weights=st.lists(st.sampled_from([1.0, 0.5, -2.0, 0.0]), min_size=5, max_size=5),
       mode=st.sampled_from(["final", "delta"]), n=st.integers(1, 4),
       seed=st.integers(0, 2**16), data=st.data())
def test_every_reward_is_the_same_on_both_envs(models, names, weights, mode, n, seed, data):
    names = [name for name in names if name in models]  # "gail" needs the imitation extra
    if not names:
        return
    reward_kwargs = {name: dict(models[name]) for name in names}
    if "preference" in reward_kwargs:
        reward_kwargs["preference"]["mode"] = mode
    if "theory" in reward_kwargs:
        reward_kwargs["theory"] = {"key": "A minor", "rule_weights": {"leap": 2.0}}
    kwargs = dict(KWARGS, steps=6, reward="+".join(names),
                  reward_weights=dict(zip(names, weights, strict=False)),
                  reward_kwargs=reward_kwargs)
    actions = data.draw(st.lists(st.lists(st.integers(0, 37), min_size=n, max_size=n),
                                 min_size=1, max_size=14))
    exact = set(names) <= {"theory", "test_brightness"}  # no float rounding of batched nets
    compare(make_vector_env(n, **kwargs), [gym.make("MelodyEnv-v0", **kwargs)
                                           for _ in range(n)], seed, actions,
            atol=0.0 if exact else 1e-5)


def test_make_vec_in_every_mode_for_every_id(models):
    reward_kwargs = {"note_rnn": models["note_rnn"]}
    for env_id in ("MammadMelody-binary-v0", "MammadMelody-count-v0",
                   "MammadMelody-decay-v0", "MelodyEnv-v0"):
        results = {}
        for mode in (VECTOR_ENTRY_POINT_MODE, "sync", "async"):
            kwargs = {"steps": 4, "reward": "theory+note_rnn", "reward_kwargs": reward_kwargs}
            envs = make_vector(env_id, 2, **kwargs) if mode == VECTOR_ENTRY_POINT_MODE else \
                gym.make_vec(env_id, num_envs=2, vectorization_mode=mode,
                             vector_kwargs=same_step_vector_kwargs(), **kwargs)
            observations, _ = envs.reset(seed=3)
            steps = [envs.step(np.array([5, 88])) for _ in range(5)]
            results[mode] = (observations, [step[1] for step in steps])
            assert envs.spec.id == env_id
            envs.close()
        for mode in ("sync", "async"):
            np.testing.assert_array_equal(results[mode][0], results[VECTOR_ENTRY_POINT_MODE][0])
            np.testing.assert_allclose(results[mode][1], results[VECTOR_ENTRY_POINT_MODE][1],
                                       atol=1e-5)


def test_make_vec_custom_returns_a_vector_env():
    envs = make_vector("MammadMelody-count-v0", 8, steps=16)
    assert isinstance(envs, MelodyVectorEnv) and envs.num_envs == 8
    assert envs.template.encoding.name == "count" and envs.spec.id == "MammadMelody-count-v0"
    assert envs.rewards == ["theory"]
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (8, 128)
    any_encoding = make_vector("MelodyEnv-v0", 2, encoding="decay", reward=None)
    assert any_encoding.template.encoding.name == "decay" and any_encoding.rewards == []


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_episode_steps"):
        make_vector_env(2, max_episode_steps=10)
    with pytest.raises(ValueError, match=r"unknown reward 'tune'"):
        make_vector_env(2, reward="theory+tune")
    with pytest.raises(ValueError, match=r"reward_kwargs for 'theory': unknown argument\(s\) "
                                         r"\['kee'\]; its arguments are \['weight', 'key'"):
        make_vector_env(2, reward_kwargs={"theory": {"kee": "G major"}})
    with pytest.raises(ValueError, match="built for 1 envs, not 2"):
        MelodyVectorEnv(2, reward_terms=rewards.build_terms(MelodyEnv(), 1, "theory"))


@pytest.mark.parametrize("kwargs, message", [
    ({"reward_weights": [1, 2]}, r"reward_weights must be a mapping from reward name to number.*"
                                 r"\['theory'\]; got \[1, 2\]"),
    ({"reward_weights": "theory"}, "reward_weights must be a mapping.*got 'theory'"),
    ({"reward_weights": {1: 2.0}}, r"reward_weights must be a mapping.*got \{1: 2.0\}"),
    ({"reward_weights": {"theory": "x"}}, "the weight of reward 'theory' must be a finite "
                                          "number, got 'x'"),
    ({"reward_weights": {"note_rnn": 1}}, r"reward_weights names \['note_rnn'\], which are not "
                                          r"among the rewards \['theory'\]"),
    ({"reward_kwargs": [1]}, r"reward_kwargs must be a mapping from reward name to a mapping"),
    ({"reward_kwargs": {"theory": 3}}, r"reward_kwargs\['theory'\] must be a mapping of the "
                                       r"reward's arguments.*got 3"),
])
def test_bad_reward_weights_and_kwargs_are_refused_on_both_envs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("MammadMelody-count-v0", reward="theory", **kwargs)
    with pytest.raises(ValueError, match=message):
        make_vector_env(2, reward="theory", **kwargs)


def test_the_environment_docs_name_the_registered_entry_points():
    from pathlib import Path

    from mammad_envs import registration

    docs = (Path(__file__).resolve().parents[2] / "docs" / "environment.md").read_text()
    entry = docs.split("| Entry point | ", 1)[1].split("\n", 1)[0]
    assert f"`{registration.ENTRY_POINT}`" in entry
    vector = docs.split("| Vector entry point | ", 1)[1].split("\n", 1)[0]
    assert f"`{registration.VECTOR}`" in vector


@pytest.mark.slow
def test_the_env_package_imports_no_reward():
    import subprocess
    import sys

    code = ("import sys, mammad_envs, mammad_envs.melody_env, mammad_envs.vector_env, "
            "mammad_envs.sb3_vec_env; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rewards'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
