"""Whole episodes on the batched env: the same melodies and returns as scalar envs give."""

import gymnasium as gym
import numpy as np
import pytest

from agents.rollouts import (
    QSoftmax,
    UniformRandom,
    chunk_sizes,
    is_value_based,
    play_episodes,
    sampling_player,
)
from rewards import make_vector_env

KWARGS = {"encoding": "count", "steps": 12, "pitch_range": [55, 75], "reward": "theory"}


class ObservationPolicy:
    """A deterministic agent: its action is a function of the observation alone."""

    def predict(self, observations, state=None, episode_start=None, deterministic=False):
        observations = np.asarray(observations)
        weights = np.arange(1, observations.shape[-1] + 1)
        return (observations @ weights).astype(np.int64) % 23, None


class MaskedPolicy(ObservationPolicy):
    """Takes action masks, as MaskablePPO does: plays the highest legal action."""

    def predict(self, observations, state=None, episode_start=None, deterministic=False,
                action_masks=None):
        assert action_masks.shape == (len(observations), 23)
        return np.array([np.flatnonzero(mask)[-1] for mask in action_masks]), None


def scalar_episodes(policy, episodes, seed=0):
    melodies, returns, accompaniments = [], [], []
    for k in range(episodes):
        env = gym.make("MelodyEnv-v0", **KWARGS)
        observation, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            action, _ = policy.predict(observation[None])
            observation, reward, done, _, _ = env.step(int(action[0]))
            total += reward
        melodies.append(env.unwrapped.melody)
        returns.append(total)
        accompaniments.append(env.unwrapped.accompaniment)
    return melodies, accompaniments, returns


@pytest.mark.parametrize("batch", [64, 3])  # one chunk; several, the last one smaller
def test_same_episodes_as_scalar_envs(batch):
    policy = ObservationPolicy()
    melodies, accompaniments, returns = play_episodes(
        policy, lambda n: make_vector_env(n, **KWARGS), 7, batch=batch, seed=5)
    expected = scalar_episodes(policy, 7, seed=5)
    assert [m.tolist() for m in melodies] == [m.tolist() for m in expected[0]]
    assert [a.name if a else None for a in accompaniments] == \
        [a.name if a else None for a in expected[1]]
    assert returns == expected[2]


def test_masked_agents_get_the_masks():
    kwargs = dict(KWARGS, mask_key="C major")
    melodies, _, _ = play_episodes(MaskedPolicy(), lambda n: make_vector_env(n, **kwargs), 2)
    assert {int(pitch) for melody in melodies for pitch in melody} == {-1}  # REST: the last


def test_chunks():
    assert chunk_sizes(10_000) == [1000] * 10
    assert chunk_sizes(7, 3) == [3, 3, 1]
    assert chunk_sizes(1) == [1]
    with pytest.raises(ValueError, match="must be positive"):
        chunk_sizes(0)


def untrained(name):
    """A freshly built (untrained) agent of the registry on a small env."""
    from agents import make_agent

    small = {"buffer_size": 1000} if name in ("dqn", "qrdqn") else {"n_envs": 2}
    return make_agent(name, "MelodyEnv-v0", seed=0, env_kwargs=KWARGS, hyperparams=small)


@pytest.mark.parametrize("name", ["dqn", "qrdqn"])
def test_value_based_agents_sample_the_softmax_of_their_q_values(name):
    model = untrained(name)
    player = sampling_player(model, seed=3)
    assert isinstance(player, QSoftmax) and is_value_based(model)
    observations = np.random.default_rng(0).random((4000, 128)).astype(np.float32)
    observations[:] = observations[0]  # one state, 4,000 draws
    q_values = player.q_values(observations[:1])[0]
    expected = np.exp(q_values - q_values.max())
    actions, _ = player.predict(observations)
    frequencies = np.bincount(actions, minlength=len(q_values)) / len(actions)
    assert np.abs(frequencies - expected / expected.sum()).max() < 0.03
    greedy, _ = player.predict(observations[:5], deterministic=True)
    sb3_greedy, _ = model.predict(observations[:5], deterministic=True)
    np.testing.assert_array_equal(greedy, sb3_greedy)


def test_q_softmax_follows_exp_q_on_known_values():
    class Net:
        def __call__(self, tensor):
            return tensor

    class Policy:
        def obs_to_tensor(self, observations):
            import torch

            return torch.as_tensor(observations), True

    q_values = np.log(np.array([[0.7, 0.2, 0.1]] * 20000))
    model = type("DQNLike", (), {"policy": Policy(), "q_net": Net()})()
    actions, _ = QSoftmax(model, seed=0).predict(q_values)
    assert np.allclose(np.bincount(actions, minlength=3) / len(actions), [0.7, 0.2, 0.1],
                       atol=0.01)


def test_policy_agents_play_themselves():
    model = untrained("ppo")
    assert sampling_player(model) is model and not is_value_based(model)
    random = UniformRandom(23, seed=0)
    assert sampling_player(random) is random
