"""The Gymnasium 0.29 / 1.x differences, and the imitation extra's messages."""

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

from mammad_envs import compat
from mammad_envs.vector_env import MelodyVectorEnv


@pytest.fixture
def without_imitation(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "imitation" else real(name, *args))


def test_make_vector_builds_the_batched_env_on_this_gymnasium():
    envs = compat.make_vector("MammadMelody-decay-v0", 3, steps=2, reward="theory")
    assert isinstance(envs, MelodyVectorEnv) and envs.num_envs == 3
    assert envs.template.encoding.name == "decay" and envs.rewards == ["theory"]
    assert envs.spec.id == "MammadMelody-decay-v0"
    assert envs.observation_space.shape == (3, 128) and envs.single_action_space.n == 90
    if compat.GYMNASIUM_1:
        assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP


@pytest.mark.skipif(not compat.GYMNASIUM_1, reason="a simulation of 0.29 on 1.x; on 0.29 the "
                    "real custom mode runs in test_registration's make_vec tests")
def test_make_vector_gives_the_ids_kwargs_to_0_29s_custom_mode(monkeypatch):
    # Gymnasium 0.29's "custom" mode calls the vector entry point with vector_kwargs only (and
    # max_episode_steps); make_vector puts the id's kwargs (its encoding) there.
    from gymnasium.envs.registration import load_env_creator

    def make_vec_0_29(env_id, num_envs, vectorization_mode, vector_kwargs, **kwargs):
        assert vectorization_mode == "custom"
        monkeypatch.setattr(compat, "GYMNASIUM_1", True)  # the env itself: this Gymnasium's
        spec = gym.spec(env_id.rpartition(":")[2])  # 0.29 imports a "module:" prefix
        envs = load_env_creator(spec.vector_entry_point)(
            num_envs=num_envs, **{**vector_kwargs, "max_episode_steps": None})
        envs.recorded = {**spec.kwargs, **kwargs}  # what 0.29 writes into the env's spec
        return envs

    def make_vector_0_29(env_id, num_envs, **kwargs):
        monkeypatch.setattr(compat, "GYMNASIUM_1", False)
        return compat.make_vector(env_id, num_envs, **kwargs)

    monkeypatch.setattr(compat, "VECTOR_ENTRY_POINT_MODE", "custom")
    monkeypatch.setattr(gym, "make_vec", make_vec_0_29)
    envs = make_vector_0_29("MammadMelody-count-v0", 2, steps=2)
    assert envs.template.encoding.name == "count" and envs.rewards == ["theory"]
    assert envs.recorded == {"encoding": "count", "reward": "theory", "steps": 2}
    other = make_vector_0_29("mammad_envs:MammadMelody-decay-v0", 2, reward=None)
    assert other.template.encoding.name == "decay" and other.rewards == []


def test_final_episodes_read_this_gymnasiums_layout():
    envs = compat.make_vector("MelodyEnv-v0", 2, steps=1, reward="theory")
    envs.reset(seed=0)
    observations, _, terminated, _, infos = envs.step(np.array([39, 88]))
    assert terminated.all() and compat.FINAL_OBSERVATION in infos
    last_observations, last_infos = compat.final_episodes(infos, [0, 1])
    assert [info["pitch"] for info in last_infos] == [60, -2]
    assert last_observations[0][60] > 0 and not observations[0].any()  # the new episode's
    sync = gym.make_vec("MelodyEnv-v0", num_envs=2, vectorization_mode="sync",
                        vector_kwargs=compat.same_step_vector_kwargs(), steps=1)
    sync.reset(seed=0)
    _, _, _, _, sync_infos = sync.step(np.array([39, 88]))
    assert compat.final_episodes(sync_infos, [0, 1])[1] == last_infos


def test_the_imitation_extra_is_named_with_its_install_command(without_imitation):
    with pytest.raises(ImportError, match=r"expert_trajectories .* needs the imitation extra, "
                                          r"which is not installed: pip install -e "
                                          r"\"\.\[test,imitation\]\" -c constraints/gym029.txt"):
        from mammad_envs.data import expert_trajectories

        expert_trajectories(gym.make("MammadMelody-count-v0"))
    with pytest.raises(ImportError, match="the 'gail' reward .* needs the imitation extra"):
        gym.make("MammadMelody-count-v0", reward="gail")
    from agents.registry import agent_spec

    spec = agent_spec("gail")
    assert not spec.available and "constraints/gym029.txt" in spec.install_hint
    with pytest.raises(ImportError, match="agent 'gail' needs the imitation extra"):
        spec.load()
    assert agent_spec("ppo").available


def test_agents_lists_the_extra(without_imitation, capsys):
    from mammad_cli import main

    main(["agents"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "needs the imitation extra" in lines["gail"] and "needs" not in lines["ppo"]
