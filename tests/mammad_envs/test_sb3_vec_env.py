"""The SB3 VecEnv adapter of the batched env."""

import numpy as np
import pytest
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from mammad_envs.sb3_vec_env import MelodySB3VecEnv
from mammad_envs.vector_env import MelodyVectorEnv
from rewards import make_vector_env

torch.set_num_threads(1)
KWARGS = {"encoding": "count", "steps": 8, "pitch_range": [55, 75]}


def test_equals_a_dummy_vec_env_of_scalar_envs():
    batched = MelodySB3VecEnv(make_vector_env(3, **KWARGS))
    dummy = make_vec_env("MelodyEnv-v0", n_envs=3, seed=7, env_kwargs=KWARGS)
    batched.seed(7)
    np.testing.assert_array_equal(batched.reset(), dummy.reset())
    rng = np.random.default_rng(0)
    for _ in range(20):
        actions = rng.integers(0, 23, size=3)
        a = batched.step(actions)
        b = dummy.step(actions)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])
        for info_a, info_b in zip(a[3], b[3], strict=True):
            info_a, info_b = dict(info_a), dict(info_b)
            info_b.pop("episode", None)  # the Monitor's: MelodySB3VecEnv goes in a VecMonitor
            if "terminal_observation" in info_b:
                np.testing.assert_array_equal(info_a.pop("terminal_observation"),
                                              info_b.pop("terminal_observation"))
            assert info_a == info_b  # every key of the scalar env's info


def test_ppo_and_maskable_ppo_train_on_it():
    venv = MelodySB3VecEnv(make_vector_env(8, **KWARGS))
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=64, n_epochs=1, seed=0)
    before = [parameter.detach().clone() for parameter in model.policy.parameters()]
    model.learn(256)
    assert model.num_timesteps >= 256
    after = list(model.policy.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert np.isfinite(model.logger.name_to_value["train/value_loss"])
    masked = MelodySB3VecEnv(MelodyVectorEnv(4, mask_key="C major", **KWARGS))
    model = MaskablePPO("MlpPolicy", masked, n_steps=16, batch_size=32, n_epochs=1, seed=0)
    model.learn(128)
    assert np.isfinite(model.logger.name_to_value["train/value_loss"])
    assert len(masked.env_method("action_masks")) == 4


def test_unsupported_calls():
    venv = MelodySB3VecEnv(MelodyVectorEnv(2, **KWARGS))
    assert venv.get_attr("steps") == [8, 8]
    with pytest.raises(ValueError, match="wraps a MelodyVectorEnv"):
        MelodySB3VecEnv(2)
    with pytest.raises(AttributeError, match="cannot set 'steps'"):
        venv.set_attr("steps", 3)
    with pytest.raises(AttributeError, match="supports env_method\\('action_masks'\\) only"):
        venv.env_method("render")
