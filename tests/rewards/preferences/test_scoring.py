import gymnasium as gym
import numpy as np
import pytest

from mammad_envs.melody import HOLD, REST
from rewards.preferences.scoring import reward_scores


def replay(melody, accompaniment, reward="theory"):
    env = gym.make("MelodyEnv-v0", steps=len(melody), accompaniment=accompaniment,
                   reward=reward)
    env.reset(seed=0)
    return sum(env.step(env.unwrapped.pitch_to_action(int(e)))[1] for e in melody)


def test_scores_equal_an_episode_of_the_scalar_env():
    rng = np.random.default_rng(0)
    melodies = [rng.choice(np.r_[55:80, HOLD, REST], size) for size in (8, 8, 12)]
    accompaniments = ["march", None, "rock"]
    scores = reward_scores(melodies, "theory+note_rnn", accompaniments)
    for melody, accompaniment, score in zip(melodies, accompaniments, scores, strict=True):
        assert score == pytest.approx(replay(melody, accompaniment, "theory+note_rnn"),
                                      rel=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown reward"):
        reward_scores([np.array([60])], "theroy")
    with pytest.raises(ValueError, match="melody 0 has 5 at step 1, which this env cannot write"):
        reward_scores([np.array([60, 5])], "theory")
    with pytest.raises(ValueError, match="got 2 accompaniments for 1 melodies"):
        reward_scores([np.array([60])], "theory", ["march", None])
