"""LearnedReward: GAIL's (and AIRL's) saved reward network as a reward wrapper."""

import pickle

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("imitation", reason="needs the imitation extra (docs/install.md)")
import torch

import rewards
from agents import make_agent
from rewards.learned.term import LearnedReward
from rewards.reward_nets import (
    describe_space,
    load_reward_net,
    reward_file,
    space_from_description,
)

torch.set_num_threads(1)

ENV_ID = "MammadMelody-decay-v0"
GEN = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [32]}}
HYPERPARAMS = {
    "gail": {"n_envs": 2, "max_windows": 1, "demo_batch_size": 64, "gen_kwargs": GEN},
    "airl": {"n_envs": 2, "max_windows": 1, "demo_batch_size": 64, "gen_kwargs": GEN},
}
ACTIONS = [39, 88, 41, 89, 43, 43, 0, 89, 44, 39, 41, 88]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A GAIL and an AIRL agent trained 256 steps, saved; name -> (agent, reward path)."""
    folder = tmp_path_factory.mktemp("learned")
    result = {}
    for name, values in HYPERPARAMS.items():
        agent = make_agent(name, ENV_ID, seed=0, hyperparams=values)
        agent.learn(256)
        agent.save(folder / name)
        result[name] = (agent, folder / f"{name}_reward.pt")
    return result


def play(env, actions=ACTIONS, seed=3):
    obs, _ = env.reset(seed=seed)
    steps = []
    for action in actions:
        previous = obs
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append((previous, action, obs, terminated or truncated, reward, info))
    return steps


@pytest.mark.parametrize("name", ["gail", "airl"])
def test_term_is_the_networks_reward_test(saved, name):
    agent, path = saved[name]
    env = gym.make(ENV_ID, reward="gail", reward_kwargs={"gail": {"model": str(path)}})
    steps = play(env)
    terms = np.array([info["reward_terms"]["gail"] for *_, info in steps])
    expected = agent.reward_test.predict_processed(
        np.stack([s[0] for s in steps]), np.array([s[1] for s in steps]),
        np.stack([s[2] for s in steps]), np.array([s[3] for s in steps]))
    np.testing.assert_allclose(terms, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([s[4] for s in steps], terms, rtol=1e-6)  # no other reward
    if name == "gail":
        assert (terms > 0).all()  # -log(1 - D) = softplus(logit)
        # GAIL's reward_test is its reward_train: what the generator was trained on
        train = agent.trainer.reward_train.predict_processed(
            np.stack([s[0] for s in steps]), np.array([s[1] for s in steps]),
            np.stack([s[2] for s in steps]), np.array([s[3] for s in steps]))
        np.testing.assert_allclose(terms, train, rtol=1e-5, atol=1e-6)
    else:
        assert env.get_wrapper_attr("algorithm") == "airl"
    np.testing.assert_allclose([s[-1]["reward_terms"]["gail"] for s in play(env)], terms)


def test_composes_with_theory_and_rebuilds_from_spec(saved):
    _, path = saved["gail"]
    env = gym.make(ENV_ID, reward="theory+gail", reward_weights={"gail": 0.5},
                   reward_kwargs={"gail": {"model": str(path)}})
    alone = gym.make(ENV_ID, reward="gail", reward_kwargs={"gail": {"model": str(path)}})
    steps, single = play(env), play(alone)
    for (*_, reward, info), (*_, alone_info) in zip(steps, single, strict=True):
        assert sorted(info["reward_terms"]) == ["gail", "theory"]
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
        assert info["reward_terms"]["gail"] == pytest.approx(
            0.5 * alone_info["reward_terms"]["gail"], rel=1e-6)
    for spec in (env.spec, gym.envs.registration.EnvSpec.from_json(env.spec.to_json())):
        rebuilt = gym.make(spec)
        assert [w.name for w in rebuilt.spec.additional_wrappers] == ["TheoryReward",
                                                                      "LearnedReward"]
        again = play(rebuilt)
        np.testing.assert_allclose([s[4] for s in again], [s[4] for s in steps], rtol=1e-6)


def test_wrapper_by_hand_and_zip_path(saved):
    agent, path = saved["gail"]
    env = LearnedReward(gym.make(ENV_ID, reward=None), weight=2.0,
                        model=str(path).replace("_reward.pt", ".zip"))
    assert env.path == path and env.algorithm == "gail"
    first = play(env)[0]
    assert first[4] == pytest.approx(2.0 * agent.reward_test.predict_processed(
        first[0][None], np.array([first[1]]), first[2][None], np.array([False]))[0], rel=1e-5)
    with pytest.raises(RuntimeError, match="reset"):
        LearnedReward(gym.make(ENV_ID, reward=None).unwrapped, model=path).step(0)
    assert "gail" in rewards.REWARDS and rewards.parse_rewards("theory+gail") == ["theory",
                                                                                 "gail"]


def test_rejects_mismatched_spaces(saved):
    _, path = saved["gail"]
    kwargs = {"reward": "gail", "reward_kwargs": {"gail": {"model": str(path)}}}
    with pytest.raises(ValueError, match=r"Discrete\(90\).*Discrete\(38\)"):
        gym.make(ENV_ID, pitch_range=[48, 83], **kwargs)
    with pytest.raises(ValueError, match=r"Box\(0\.0, 128\.0.*Box\(0\.0, 1\.0"):
        gym.make(ENV_ID, encoding="binary", **kwargs)
    with pytest.raises(ValueError, match="trained on 'decay\\(0.9\\)' observations, but this "
                                         "env's encoding is 'count'"):
        gym.make(ENV_ID, encoding="count", **kwargs)
    with pytest.raises(ValueError, match="'decay\\(0.5\\)'"):
        gym.make(ENV_ID, decay=0.5, **kwargs)


def test_rejects_files_that_are_not_reward_networks(saved, tmp_path):
    kwargs = {"reward": "theory+gail"}
    text = tmp_path / "notes.pt"
    text.write_text("not weights")
    with pytest.raises(ValueError, match="is not a reward network saved by GAILAgent"):
        gym.make(ENV_ID, reward_kwargs={"gail": {"model": str(text)}}, **kwargs)
    pickled = tmp_path / "object.pt"
    pickled.write_bytes(pickle.dumps(np.random.default_rng(0), protocol=2))
    with pytest.raises(ValueError, match="weights_only=True"):
        load_reward_net(pickled)
    arbitrary = tmp_path / "arbitrary_reward.pt"
    torch.save({"format": "something else", "state_dict": {}}, arbitrary)
    with pytest.raises(ValueError, match="found 'something else'"):
        load_reward_net(arbitrary)
    broken = tmp_path / "broken_reward.pt"
    payload = torch.load(saved["gail"][1], weights_only=True)
    payload["state_dict"].popitem()
    torch.save(payload, broken)
    with pytest.raises(ValueError, match="damaged"):
        load_reward_net(broken)
    with pytest.raises(FileNotFoundError, match="no reward network"):
        load_reward_net(tmp_path / "missing.zip")
    with pytest.raises(ValueError, match="needs the saved reward network"):
        gym.make(ENV_ID, **kwargs)


def test_reward_file_and_space_descriptions():
    assert reward_file("runs/x/model.zip").as_posix() == "runs/x/model_reward.pt"
    assert reward_file("runs/x/model").as_posix() == "runs/x/model_reward.pt"
    assert reward_file("runs/x/model_reward.pt").as_posix() == "runs/x/model_reward.pt"
    env = gym.make(ENV_ID)
    for space in (env.observation_space, env.action_space):
        assert space_from_description(describe_space(space)) == space
    with pytest.raises(ValueError, match="Box and Discrete"):
        describe_space(gym.spaces.MultiBinary(3))
    with pytest.raises(ValueError, match="malformed"):
        space_from_description({"type": "Box", "shape": [2]})
