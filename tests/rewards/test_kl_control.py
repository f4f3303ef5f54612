"""The KL-control recipe of docs/rewards.md runs with off-the-shelf PPO."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback


class RecordRewards(BaseCallback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def _on_step(self):
        for reward, info in zip(self.locals["rewards"], self.locals["infos"], strict=True):
            self.seen.append((float(reward), dict(info["reward_terms"]),
                              sum(info["theory_rules"].values())))
        return True


def test_psi_learning_objective_with_ppo():
    c = 0.5
    env = gym.make("MammadMelody-count-v0", steps=32, pitch_range=[48, 83],
                   reward="theory+note_rnn", reward_weights={"theory": 1 / c})
    model = PPO("MlpPolicy", env, ent_coef=1.0, normalize_advantage=False, gamma=0.5,
                n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    recorder = RecordRewards()
    model.learn(128, callback=recorder)
    assert len(recorder.seen) == 128
    for reward, terms, theory in recorder.seen:
        assert set(terms) == {"theory", "note_rnn"}
        assert terms["theory"] == pytest.approx(theory / c)
        assert terms["note_rnn"] <= 0.0  # a log-probability
        assert reward == pytest.approx(theory / c + terms["note_rnn"], rel=1e-6)
    recorded = model.logger.name_to_value  # the last update's values (not yet dumped)
    assert "train/entropy_loss" in recorded and "train/policy_gradient_loss" in recorded
    assert np.isfinite(recorded["train/entropy_loss"]) and recorded["train/entropy_loss"] < 0.0
    assert np.isfinite(recorded["train/policy_gradient_loss"])
