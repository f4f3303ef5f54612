"""PreferenceReward and the reward-model interface."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from mammad_envs.melody import HOLD
from rewards.preferences.term import MelodyRewardNet, PreferenceReward


class HighIsGood:
    """A preference model: the mean pitch of the melody's notes."""

    def score(self, melodies):
        return np.array([np.mean([p for p in m if p >= 0] or [0.0]) for m in melodies])


def play(env, events):
    env.reset(seed=0)
    return [env.step(env.unwrapped.pitch_to_action(e)) for e in events]


def test_final_mode_scores_the_complete_melody_once():
    env = gym.make("MelodyEnv-v0", steps=4, reward="preference",
                   reward_kwargs={"preference": {"model": HighIsGood()}})
    results = play(env, [60, 64, HOLD, 68])
    assert [r[1] for r in results] == [0.0, 0.0, 0.0, 64.0]
    assert results[-1][4]["reward_terms"] == {"preference": 64.0}


def test_delta_mode_adds_up_to_the_final_score():
    env = PreferenceReward(gym.make("MelodyEnv-v0", steps=4, reward=None), HighIsGood(),
                           mode="delta", weight=2.0)
    rewards = [r[1] for r in play(env, [60, 64, HOLD, 68])]
    assert rewards == [120.0, 4.0, 0.0, 4.0]
    assert sum(rewards) == 2.0 * 64.0
    assert [r[1] for r in play(env, [60, 64, HOLD, 68])] == rewards  # reset forgets


def test_reward_net_scores_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    net = MelodyRewardNet(embedding_dim=8, hidden_size=8)
    melodies = [np.array([60, 62, HOLD]), np.array([72])]
    scores = net.score(melodies)
    assert scores.shape == (2,) and np.isfinite(scores).all()
    # a batch scores each melody as it would alone (padding does not leak)
    assert scores[1] == pytest.approx(net.score([melodies[1]])[0], abs=1e-6)
    path = net.save(tmp_path / "prefs.pt")
    loaded = MelodyRewardNet.load(path)
    np.testing.assert_allclose(loaded.score(melodies), scores, atol=1e-6)
    env = gym.make("MelodyEnv-v0", steps=3, reward="preference", accompaniment="march",
                   reward_kwargs={"preference": {"model": str(path)}})
    results = play(env, [60, 62, HOLD])
    over_march = net.score(melodies[:1], accompaniments=["march"])[0]
    assert results[-1][1] == pytest.approx(over_march, abs=1e-5)  # it sees the accompaniment
    assert over_march != pytest.approx(scores[0], abs=1e-6)
    assert gym.make(env.spec).spec.kwargs["reward"] == "preference"


def test_the_accompaniment_is_part_of_the_input_and_old_files_load(tmp_path):
    from rewards.preferences.reward_model import context_features

    march = context_features("march", 40)
    assert march.shape == (40, 13) and march[:, :12].any() and march[:, 12].any()
    assert not context_features(None, 5).any()
    with pytest.raises(ValueError, match="unknown accompaniment 'waltz'"):
        context_features("waltz", 4)
    torch.manual_seed(0)
    net = MelodyRewardNet(embedding_dim=8, hidden_size=8)
    melody = np.array([60, 62, HOLD, 64])
    by_accompaniment = {name: net.score([melody], accompaniments=[name])[0]
                        for name in ("march", "rock", None)}
    assert len(set(np.round(list(by_accompaniment.values()), 6))) == 3
    old = MelodyRewardNet(embedding_dim=8, hidden_size=8, context_size=0)
    state = {"format": "mammad-envs/melody-reward-net",
             "hyperparameters": {"embedding_dim": 8, "hidden_size": 8},  # an earlier file
             "state_dict": old.state_dict()}
    torch.save(state, tmp_path / "old.pt")
    loaded = MelodyRewardNet.load(tmp_path / "old.pt")
    np.testing.assert_allclose(loaded.score([melody], ["march"]), old.score([melody]))


def test_bad_models_and_modes(tmp_path):
    with pytest.raises(ValueError, match="needs a model"):
        gym.make("MelodyEnv-v0", reward="preference")
    with pytest.raises(ValueError, match="has no score"):
        PreferenceReward(gym.make("MelodyEnv-v0", reward=None), model=object())
    with pytest.raises(ValueError, match="unknown preference reward mode 'sum'"):
        PreferenceReward(gym.make("MelodyEnv-v0", reward=None), HighIsGood(), mode="sum")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        PreferenceReward(gym.make("MelodyEnv-v0", reward=None), str(tmp_path / "missing.pt"))
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt is not a preference model"):
        MelodyRewardNet.load(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="at least one event"):
        MelodyRewardNet().score([np.array([], dtype=int)])
