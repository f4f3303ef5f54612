"""TheoryReward as a wrapper; reward composition through gym.make."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rewards
from mammad_envs.melody import HOLD
from rewards.base import RewardTerm, register_reward
from rewards.theory import RULES, RuleContext, register_rule
from rewards.theory import rules as R


def play(env, events, seed=0):
    env.reset(seed=seed)
    results = []
    for event in events:
        results.append(env.step(env.unwrapped.pitch_to_action(event)))
    return results


def test_registered_ids_default_to_the_theory_reward():
    env = gym.make("MammadMelody-count-v0", steps=8)
    (_, reward, _, _, info), *_ = play(env, [60])
    assert reward == info["reward_terms"]["theory"] == sum(info["theory_rules"].values())
    assert info["theory_rules"]["tonic"] == 3.0
    bare = gym.make("MammadMelody-count-v0", reward=None)
    (_, reward, _, _, info), *_ = play(bare, [60])
    assert reward == 0.0 and info["reward_terms"] == {}


def test_rewards_match_the_rule_functions_over_an_episode():
    rng = np.random.default_rng(3)
    events = list(rng.choice([60, 62, 64, 65, 67, 61, HOLD, -1], size=32))
    env = gym.make("MelodyEnv-v0", steps=32, pitch_range=[48, 83])
    results = play(env, events)
    context = RuleContext(steps=32, lowest=48)
    for t, (_, reward, _, _, info) in enumerate(results):
        composition = np.array(events[:t])
        expected = {name: rule(composition, int(events[t]), context)
                    for name, rule in R.BUILTIN_RULES.items()}
        assert info["theory_rules"] == pytest.approx(expected)
        assert reward == pytest.approx(sum(expected.values()))
    assert results[-1][2]  # terminated


def test_wrapper_with_key_rules_and_weights():
    base = gym.make("MammadMelody-binary-v0", reward=None, steps=16)
    env = rewards.TheoryReward(base, key="G major", rules=["key", "tonic"],
                               rule_weights={"tonic": 2.0}, weight=0.5)
    (_, reward, _, _, info), (_, reward2, _, _, info2) = play(env, [67, 65])
    assert info["theory_rules"] == {"key": 0.0, "tonic": 6.0} and reward == 3.0
    assert info2["theory_rules"] == {"key": -1.0, "tonic": 0.0} and reward2 == -0.5


def test_reset_clears_the_rule_state():
    env = gym.make("MelodyEnv-v0", steps=8, reward_kwargs={"theory": {"rules": ["leap"]}})
    play(env, [60, 67])
    (_, reward, _, _, _), = play(env, [74])[:1]
    assert reward == 0.0  # a new melody: no leap to double


def test_make_composes_and_rebuilds_from_spec():
    env = gym.make("MelodyEnv-v0", encoding="decay", reward="theory",
                   reward_weights={"theory": 2.0}, reward_kwargs={"theory": {"key": "A minor"}})
    (_, reward, _, _, info), = play(env, [69])
    assert info["reward_terms"]["theory"] == reward == 2.0 * sum(info["theory_rules"].values())
    rebuilt = gym.make(env.spec)
    (_, reward2, _, _, _), = play(rebuilt, [69])
    assert reward2 == reward
    wrapped = rewards.TheoryReward(gym.make("MammadMelody-binary-v0", reward=None),
                                   key="G major")
    again = gym.make(wrapped.spec)
    assert isinstance(again, rewards.TheoryReward) and again.context.key.name == "G major"


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped:UserWarning")
@pytest.mark.filterwarnings("ignore:.*env.seed to get variables:UserWarning")
@pytest.mark.parametrize("env_id", ["MammadMelody-binary-v0", "MelodyEnv-v0"])
def test_checkers_pass_with_rewards(env_id):
    env = gym.make(env_id)
    sb3_check_env(env, warn=False)
    gym_check_env(rewards.TheoryReward(gym.make(env_id, reward=None).unwrapped))


class Loudness(RewardTerm):
    """A user's own reward: higher pitches score more."""

    name = "loudness"

    def compute(self, step):
        return np.maximum(step.events, 0) / 127


def test_user_reward_registered_by_name():
    register_reward("test_loudness", Loudness)
    try:
        env = gym.make("MelodyEnv-v0", reward="theory+test_loudness",
                       reward_weights={"test_loudness": 10.0})
        (_, reward, _, _, info), = play(env, [127 - 19])  # 108, the top key
        assert info["reward_terms"]["loudness"] == pytest.approx(10 * 108 / 127)
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
        rebuilt = gym.make(env.spec)  # the generic wrapper records the reward's name
        assert play(rebuilt, [127 - 19])[0][1] == reward
        with pytest.raises(ValueError, match="exists already"):
            register_reward("test_loudness", Loudness)
        with pytest.raises(ValueError, match="must be a RewardTerm subclass"):
            register_reward("test_wrapper", gym.Wrapper)
    finally:
        rewards.REWARDS.pop("test_loudness")


def test_user_rule_in_the_theory_reward():
    register_rule("test_low", lambda composition, event, context: -2.0 if 0 <= event < 55 else 0)
    try:
        env = gym.make("MelodyEnv-v0", reward_kwargs={"theory": {"rules": ["test_low"]}})
        (_, reward, _, _, info), = play(env, [50])
        assert reward == -2.0 and info["theory_rules"] == {"test_low": -2.0}
    finally:
        RULES.pop("test_low")


@pytest.mark.parametrize("kwargs, message", [
    ({"reward": "theroy"}, "unknown reward 'theroy': choose among .*'theory'"),
    ({"reward": "theory+theory"}, r"named more than once"),
    ({"reward": 3}, "reward must be a name"),
    ({"reward_weights": {"note_rnn": 1.0}}, r"reward_weights names \['note_rnn'\]"),
    ({"reward_weights": {"theory": "big"}}, "must be a finite number, got 'big'"),
    ({"reward_weights": {"theory": float("nan")}}, "must be a finite number"),
    ({"reward_kwargs": {"theory": {"key": "H major"}}}, "unknown key 'H major'"),
    ({"reward_kwargs": {"theory": {"rules": ["kye"]}}}, r"unknown music-theory rule.*'kye'"),
    ({"reward_kwargs": {"theory": {"rule_weights": {"kye": 1}}}}, "rule_weights names 'kye'"),
    ({"reward_kwargs": {"theory": {"tonic": 200}}}, "tonic must be a MIDI pitch"),
    ({"reward_kwargs": {"theory": {"kye": "A minor"}}},
     r"reward_kwargs for 'theory'.*'kye'.*its arguments are \['weight', 'key', 'rules'"),
])
def test_bad_reward_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("MelodyEnv-v0", **kwargs)
