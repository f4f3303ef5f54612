"""The reward plan: a spec, its weights and arguments parsed once; the envs build from it."""

import pickle

import gymnasium as gym
import pytest

import mammad_envs  # noqa: F401  (registers the ids)
from rewards import base
from rewards.base import RewardPlan, parse_rewards, plan_rewards, reward_plan
from rewards.compose import make_melody_env, make_vector_env


def test_a_plan_holds_the_ordered_rewards_and_their_arguments():
    plan = plan_rewards(["note_rnn", "theory"], {"theory": 2},
                        {"theory": {"key": "G major"}, "note_rnn": None})
    assert plan.names == ("note_rnn", "theory") and plan.spec == "note_rnn+theory"
    assert list(plan) == [("note_rnn", {}), ("theory", {"key": "G major", "weight": 2.0})]
    assert plan.weights == {"theory": 2.0} and plan.kwargs == {"theory": {"key": "G major"}}
    assert plan.env_kwargs() == {"reward": "note_rnn+theory", "reward_weights": {"theory": 2.0},
                                 "reward_kwargs": {"theory": {"key": "G major"}}}
    next(iter(plan))[1]["weight"] = 9.0  # a copy: the plan stays as built
    assert plan.weights == {"theory": 2.0} and pickle.loads(pickle.dumps(plan)) == plan
    assert plan_rewards(None) == RewardPlan() and RewardPlan().spec is None
    assert plan_rewards(plan) is plan
    with pytest.raises(ValueError, match="a RewardPlan holds its weights"):
        plan_rewards(plan, {"theory": 1.0})


def test_the_old_functions_read_the_plan():
    assert parse_rewards("theory + note_rnn") == ["theory", "note_rnn"]
    assert reward_plan("theory", {"theory": 3}) == [("theory", {"weight": 3.0})]
    with pytest.raises(ValueError, match=r"reward\(s\) \['theory'\] named more than once"):
        plan_rewards("theory+theory")
    with pytest.raises(ValueError, match="unknown reward 'tune'"):
        plan_rewards("theory+tune")


def test_both_envs_build_from_a_plan_without_parsing_again(monkeypatch):
    plan = plan_rewards("theory", {"theory": 2.0}, {"theory": {"key": "A minor"}})
    calls = []
    real = base._reward_names
    monkeypatch.setattr(base, "_reward_names",
                        lambda reward: calls.append(reward) or real(reward))
    env = make_melody_env(plan, steps=4)
    envs = make_vector_env(2, reward=plan, steps=4)
    made = gym.make("MammadMelody-count-v0", reward=plan, steps=4)
    assert calls == []
    made.reset(seed=0)
    assert env.weight == 2.0 and made.step(39)[4]["reward_terms"].keys() == {"theory"}
    assert envs.rewards == ["theory"] and envs.reward_terms[0].weight == 2.0
    make_vector_env(2, reward="theory", steps=4)
    assert calls == ["theory"]  # a spec is parsed once per env


def test_each_reward_family_sits_in_its_term_module_and_the_old_paths_re_export():
    import importlib

    for name, family in (("theory", "theory"), ("note_rnn", "note_rnn"),
                         ("preference", "preferences"), ("gail", "learned")):
        assert base.reward_class(name).__module__ == f"rewards.{family}.term"
    for old, family, names in (
            ("note_rnn_reward", "note_rnn", ("NoteRNNReward", "NoteRNNTerm")),
            ("preference", "preferences", ("PreferenceReward", "PreferenceTerm",
                                           "MelodyRewardNet")),
            ("learned_reward", "learned", ("LearnedReward", "LearnedTerm"))):
        shim = importlib.import_module(f"rewards.{old}")
        term = importlib.import_module(f"rewards.{family}.term")
        for name in names:
            assert getattr(shim, name) is getattr(term, name)


def test_an_env_spec_holding_a_plan_survives_json():
    """Imitation agents save their env's spec as JSON and rebuild the env from it."""
    from gymnasium.envs.registration import EnvSpec

    plan = plan_rewards("theory", {"theory": 2.0}, {"theory": {"key": "A minor"}})
    env = gym.make("MammadMelody-count-v0", reward=plan, steps=4)
    again = gym.make(EnvSpec.from_json(env.spec.to_json()))
    again.reset(seed=0)
    assert again.step(45)[4]["reward_terms"].keys() == {"theory"}
    assert plan_rewards({"entries": [["theory", [["weight", 2.0], ["key", "A minor"]]]]}) == plan
    with pytest.raises(ValueError, match="a saved reward plan must hold"):
        plan_rewards({"entries": [["theory"]]})
