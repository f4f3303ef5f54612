"""The agent registry, make_agent and the YAML hyperparameters."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from agents import AGENTS, agent_spec, list_agents, make_agent, register_agent
from agents.hyperparams import load_hyperparams, parse_overrides, resolve

torch.set_num_threads(1)
SB3_AGENTS = ["dqn", "qrdqn", "ppo", "a2c", "recurrent_ppo", "maskable_ppo"]
ENCODINGS = ["MammadMelody-binary-v0", "MammadMelody-count-v0", "MammadMelody-decay-v0"]
SMOKE = {"dqn": {"learning_starts": 32, "n_envs": 1}, "qrdqn": {"learning_starts": 32},
         "a2c": {"n_envs": 2}}


def parameters(model):
    """The trained networks' parameters (a DQN's target network moves without training)."""
    return [parameter.detach().clone() for key, parameter in model.policy.named_parameters()
            if "_target." not in key]


def changed(before, after):
    """Whether training moved any parameter (a learn that never updates leaves them all)."""
    return any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_builtin_agents():
    names = [spec.name for spec in list_agents()]
    assert names[:10] == ["dqn", "qrdqn", "ppo", "a2c", "recurrent_ppo", "maskable_ppo",
                          "note_rnn_ppo", "gail", "airl", "bc"]
    assert agent_spec("recurrent_ppo").policy == "MlpLstmPolicy"


@pytest.mark.parametrize("env_id", ENCODINGS)
@pytest.mark.parametrize("name", SB3_AGENTS)
def test_every_sb3_agent_trains_and_predicts(name, env_id):
    hyperparams = SMOKE.get(name, {"n_steps": 32, "batch_size": 32, "n_envs": 2})
    model = make_agent(name, env_id, seed=0, hyperparams=hyperparams,
                       env_kwargs={"steps": 16})
    before = parameters(model)
    model.learn(256)
    assert model.num_timesteps >= 256
    assert changed(before, parameters(model)), f"{name} never updated its policy"
    env = gym.make(env_id, steps=16)
    observation, _ = env.reset(seed=0)
    action, _ = model.predict(observation, deterministic=True)
    assert env.action_space.contains(int(action))


def test_maskable_ppo_respects_the_scale_mask():
    model = make_agent("maskable_ppo", "MammadMelody-count-v0", seed=0,
                       hyperparams={"n_steps": 32, "batch_size": 32, "n_envs": 1},
                       env_kwargs={"steps": 16, "mask_key": "C major"})
    model.learn(64)
    env = gym.make("MammadMelody-count-v0", steps=16, mask_key="C major")
    observation, _ = env.reset(seed=0)
    masks = env.unwrapped.action_masks()
    actions = [int(model.predict(observation, action_masks=masks)[0]) for _ in range(50)]
    assert all(masks[a] for a in actions)


def test_make_agent_with_an_env_instance():
    env = gym.make("MammadMelody-binary-v0", steps=16)
    model = make_agent("ppo", env, seed=1, hyperparams={"n_steps": 32, "batch_size": 32})
    assert isinstance(model, PPO) and model.n_steps == 32


def test_yaml_env_entries_override_default(tmp_path):
    path = tmp_path / "ppo.yml"
    path.write_text("default:\n  n_steps: 128\n  gamma: 0.9\n"
                    "MammadMelody-count-v0:\n  n_steps: 64\n")
    assert load_hyperparams("ppo", "MammadMelody-count-v0", path) == {"n_steps": 64, "gamma": 0.9}
    assert load_hyperparams("ppo", "MammadMelody-binary-v0", path) == {"n_steps": 128,
                                                                     "gamma": 0.9}
    import yaml

    from agents.hyperparams import hyperparams_file

    bundled = yaml.safe_load(hyperparams_file("ppo").read_text())["default"]
    assert load_hyperparams("ppo", "x", None)["n_envs"] == bundled["n_envs"]  # the bundled file
    path.write_text("- not a mapping\n")
    with pytest.raises(ValueError, match="expected env ids"):
        load_hyperparams("ppo", "x", path)


def test_a_hyperparameter_file_is_bounded_and_named(tmp_path, monkeypatch):
    import os

    import yaml

    from agents.hyperparams import MAX_YAML_BYTES

    path = tmp_path / "ppo.yml"
    path.write_text("default:\n  n_steps: [64\n")
    with pytest.raises(ValueError, match="ppo.yml is not valid YAML .ParserError"):
        load_hyperparams("ppo", "x", path)
    path.write_text("default:\n  n_steps: 64\n")
    with pytest.raises(ValueError, match=r"hyperparameter file '.*ppo.yml' is 23 bytes, over the "
                                         r"limit of 22 \(max_bytes, default "
                                         r"agents.hyperparams.MAX_YAML_BYTES\)"):
        load_hyperparams("ppo", "x", path, max_bytes=22)
    assert load_hyperparams("ppo", "x", path, max_bytes=23) == {"n_steps": 64}
    monkeypatch.setattr(yaml, "safe_load", lambda text: pytest.fail("parsed"))
    with open(path, "wb") as file:  # sparse: over the limit, nothing written
        file.truncate(MAX_YAML_BYTES + 1)
    with pytest.raises(ValueError, match="is 1,048,577 bytes, over the limit of 1,048,576"):
        load_hyperparams("ppo", "x", path)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(ValueError, match=r"ppo.yml' is a FIFO \(named pipe\), not a "
                                         r"hyperparameter file"):
        load_hyperparams("ppo", "x", path)
    with pytest.raises(FileNotFoundError, match="hyperparameter file '.*missing.yml' does not "
                                                "exist"):
        load_hyperparams("ppo", "x", tmp_path / "missing.yml")


def test_yaml_strings_are_never_evaluated(tmp_path):
    values = parse_overrides(["learning_rate=__import__('os').getcwd()",
                              "policy_kwargs={net_arch: [32], activation_fn: tanh}",
                              "clip_range=lin_0.2", "gamma=0.5"])
    assert values["gamma"] == 0.5
    with pytest.raises(ValueError, match="neither a number nor lin_"):
        resolve(values)
    del values["learning_rate"]
    resolved = resolve(values)
    assert resolved["policy_kwargs"]["activation_fn"] is torch.nn.Tanh
    assert resolved["clip_range"](0.5) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown activation_fn 'sigmoidish'"):
        resolve({"policy_kwargs": {"activation_fn": "sigmoidish"}})
    with pytest.raises(ValueError, match="is not name=value"):
        parse_overrides(["gamma"])


def test_bad_hyperparameter_is_a_clear_error():
    with pytest.raises(ValueError, match="agent 'ppo' rejected its hyperparameters"):
        make_agent("ppo", "MammadMelody-count-v0", hyperparams={"n_stepz": 3})


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown agent 'pop': choose among"):
        agent_spec("pop")
    with pytest.raises(ValueError, match="unknown env 'Melody-v9'"):
        make_agent("ppo", "Melody-v9")


def test_register_your_own_agent():
    class MyPPO(PPO):
        pass

    try:
        register_agent("test_my_ppo", MyPPO, description="PPO, my way")
        model = make_agent("test_my_ppo", "MammadMelody-count-v0",
                           hyperparams={"n_steps": 32, "batch_size": 32, "n_envs": 1},
                           env_kwargs={"steps": 16})
        assert isinstance(model, MyPPO)
        with pytest.raises(ValueError, match="exists already"):
            register_agent("test_my_ppo", MyPPO)
        register_agent("test_my_ppo", "stable_baselines3:A2C", overwrite=True)
        assert agent_spec("test_my_ppo").load().__name__ == "A2C"
    finally:
        AGENTS.pop("test_my_ppo", None)


def test_protocol_is_checked():
    class NotAnAgent:
        def learn(self, total_timesteps):
            return self

    with pytest.raises(TypeError, match=r"lacks \['predict', 'save', 'load'\]"):
        register_agent("test_bad", NotAnAgent)
    with pytest.raises(ValueError, match="must be 'module:Class'"):
        register_agent("test_bad", "no_colon")
    try:
        register_agent("test_missing", "no_such_package_xyz:Agent")
        with pytest.raises(ImportError, match="needs 'no_such_package_xyz'"):
            agent_spec("test_missing").load()
    finally:
        AGENTS.pop("test_missing", None)
    assert "test_bad" not in AGENTS


def test_predictions_are_valid_actions_for_a_batch():
    model = make_agent("a2c", "MammadMelody-decay-v0", seed=0, hyperparams={"n_envs": 1},
                       env_kwargs={"steps": 16})
    observations = np.zeros((5, 128), dtype=np.float32)
    actions, _ = model.predict(observations)
    assert actions.shape == (5,) and ((0 <= actions) & (actions < 90)).all()
