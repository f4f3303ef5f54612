"""Whole episodes on the batched env: the same melodies and returns as scalar envs give."""

import gymnasium as gym
import numpy as np
import pytest

from agents.rollouts import chunk_sizes, play_episodes
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
