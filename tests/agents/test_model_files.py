import base64
import json
import pathlib
import zipfile

import cloudpickle
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from agents import make_agent
from agents.model_files import (
    ModelFileError,
    custom_objects_for,
    load_model,
    load_replay_buffer,
    pickled_entries,
    save_replay_buffer,
    saved_timesteps,
)

ENV = "MammadMelody-count-v0"
SMALL = {"n_steps": 16, "batch_size": 16, "n_envs": 1}


class Touch:
    """A pickle that creates a file when it is loaded: what a hostile model file would do."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def poison(model_file: pathlib.Path, key: str, marker: pathlib.Path) -> pathlib.Path:
    """Rewrites a model file with ``key`` holding a cloudpickled payload that touches marker."""
    with zipfile.ZipFile(model_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    payload = base64.b64encode(cloudpickle.dumps(Touch(marker))).decode()
    data[key] = {":type:": "<class 'Touch'>", ":serialized:": payload}
    members["data"] = json.dumps(data).encode()
    poisoned = model_file.with_name(f"poisoned_{key}.zip")
    with zipfile.ZipFile(poisoned, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return poisoned


@pytest.fixture(scope="module")
def ppo_file(tmp_path_factory):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("model") / "model.zip"
    model = make_agent("ppo", ENV, seed=0, hyperparams=SMALL)
    model.learn(32)
    model.save(path)
    return path


def template():
    return make_agent("ppo", ENV, seed=0, hyperparams=SMALL)


def test_the_poison_is_real(ppo_file, tmp_path):
    marker = tmp_path / "ran"
    PPO.load(poison(ppo_file, "evil", marker))  # what SB3 does without stand-ins
    assert marker.exists()


def test_a_pickled_entry_without_a_stand_in_is_refused(ppo_file, tmp_path):
    marker = tmp_path / "ran"
    poisoned = poison(ppo_file, "evil", marker)
    with pytest.raises(ModelFileError, match=r"poisoned_evil.zip.*\['evil'\].*--trust-pickle"):
        load_model(PPO, poisoned, template)
    assert not marker.exists()
    load_model(PPO, poisoned, template, trust_pickle=True)  # the explicit option unpickles it
    assert marker.exists()


def test_every_entry_of_our_files_is_rebuilt_not_unpickled(ppo_file, tmp_path):
    marker = tmp_path / "ran"
    poisoned = poison(ppo_file, "policy_class", marker)
    assert "policy_class" in pickled_entries(poisoned)
    model = load_model(PPO, poisoned, template)
    assert not marker.exists()
    original = PPO.load(ppo_file)
    observation = np.zeros((1, 128), dtype=np.float32)
    assert model.policy_class is original.policy_class
    assert np.array_equal(model.predict(observation, deterministic=True)[0],
                          original.predict(observation, deterministic=True)[0])
    assert custom_objects_for(ppo_file, template()).keys() == set(pickled_entries(ppo_file))


def test_damaged_files_give_clear_errors(ppo_file, tmp_path):
    content = ppo_file.read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(content[: len(content) // 2])
    with pytest.raises(ModelFileError, match="truncated.zip is not a readable model file"):
        load_model(PPO, truncated, template)
    flipped = bytearray(content)
    start = content.index(b"policy.pth") + 200  # inside a compressed member
    flipped[start: start + 8] = b"\x00" * 8
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match="damaged.zip"):
        load_model(PPO, damaged, template)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        saved_timesteps(tmp_path / "missing.zip")
    assert saved_timesteps(ppo_file) == 32


def test_replay_buffer_round_trip_without_pickle(tmp_path):
    torch.set_num_threads(1)
    model = make_agent("dqn", ENV, seed=0, hyperparams={"learning_starts": 10,
                                                        "buffer_size": 500})
    model.learn(120)
    path = save_replay_buffer(model, tmp_path / "buffer.npz")
    with np.load(path, allow_pickle=False) as stored:  # plain arrays only
        assert stored["observations"].shape[0] == model.replay_buffer.pos == 120
    other = make_agent("dqn", ENV, seed=1, hyperparams={"learning_starts": 10,
                                                        "buffer_size": 500})
    load_replay_buffer(other, path)
    assert other.replay_buffer.pos == 120 and not other.replay_buffer.full
    for name in ("observations", "next_observations", "actions", "rewards", "dones"):
        assert np.array_equal(getattr(other.replay_buffer, name),
                              getattr(model.replay_buffer, name))


def test_a_buffer_that_does_not_fit_is_refused_and_changes_nothing(tmp_path):
    model = make_agent("dqn", ENV, seed=0, hyperparams={"learning_starts": 10,
                                                        "buffer_size": 200})
    model.learn(50)
    path = save_replay_buffer(model, tmp_path / "buffer.npz")
    smaller = make_agent("dqn", ENV, seed=0, hyperparams={"buffer_size": 30,
                                                          "learning_starts": 10})
    before = smaller.replay_buffer.observations.copy()
    with pytest.raises(ModelFileError, match="does not fit this agent's replay buffer"):
        load_replay_buffer(smaller, path)
    assert np.array_equal(smaller.replay_buffer.observations, before)
    assert smaller.replay_buffer.pos == 0
    (tmp_path / "junk.npz").write_bytes(b"not a buffer")
    with pytest.raises(ModelFileError, match="junk.npz is not a readable replay buffer"):
        load_replay_buffer(model, tmp_path / "junk.npz")


def test_a_pickle_file_is_not_an_npz(tmp_path):
    model = make_agent("dqn", ENV, seed=0, hyperparams={"buffer_size": 100,
                                                        "learning_starts": 10})
    model.learn(20)
    model.save_replay_buffer(tmp_path / "sb3.pkl")  # SB3's own format, a pickle
    with pytest.raises(ModelFileError, match="not a readable replay buffer"):
        load_replay_buffer(model, tmp_path / "sb3.pkl")


def test_loading_a_ppo_run_for_inference_does_not_warn_about_its_minibatches(tmp_path):
    """The run trained 2 envs x 32 steps in minibatches of 64; loaded onto one env the template
    agent's rollout (32) is smaller than a minibatch, which SB3 warns about (the ppo.yml shape:
    32 envs x 32 steps in minibatches of 512)."""
    import warnings

    from agents.runs import read_config
    from agents.training import load_run_model
    from mammad_cli import main

    main(["train", "--agent", "ppo", "--env", ENV, "--env-kwargs", "steps=16", "--steps", "64",
          "--n-envs", "2", "--hyperparams", "n_steps=32", "batch_size=64", "--runs-dir",
          str(tmp_path), "--no-progress", "--eval-episodes", "2", "--samples", "0"])
    run = next(tmp_path.iterdir())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_run_model(run, run / "model.zip", read_config(run))
    assert model.batch_size == 64 and model.n_steps == 32  # the run's own, as saved
    assert not [w for w in caught if "mini-batch size" in str(w.message)], \
        [str(w.message) for w in caught]
