"""NoteRNNReward: incremental log-probabilities, renormalisation, composition."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import rewards
from mammad_envs.melody import HOLD, REST
from rewards.note_rnn import NoteRNN
from rewards.note_rnn.term import NoteRNNReward


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = NoteRNN(embedding_dim=8, hidden_size=16)
    return str(model.save(tmp_path_factory.mktemp("rnn") / "small.pt"))


EVENTS = [60, 62, HOLD, 64, REST, HOLD, 67, 65, 64, 62, 60, HOLD]


def play(env, events, seed=0):
    env.reset(seed=seed)
    return [env.step(env.unwrapped.pitch_to_action(e))[4]["reward_terms"]["note_rnn"]
            for e in events]


def test_terms_equal_a_full_sequence_forward_pass(weights):
    env = gym.make("MelodyEnv-v0", reward="note_rnn",
                   reward_kwargs={"note_rnn": {"model": weights}})
    terms = play(env, EVENTS)
    full = NoteRNN.load(weights).log_prob([np.array(EVENTS)])[0]
    np.testing.assert_allclose(terms, full, atol=1e-5)
    np.testing.assert_allclose(play(env, EVENTS), terms, atol=1e-6)  # reset restarts the LSTM


def test_a_shipped_model_by_name():
    """``model="rl_tuner"`` scores with that shipped model, the default with the other."""
    melody = [72, HOLD, 76, 79, HOLD, 84, REST, 72]  # an octave above RL Tuner's range
    terms = {}
    for name in (None, "rl_tuner"):
        chosen = {} if name is None else {"model": name}
        env = gym.make("MelodyEnv-v0", reward="note_rnn",
                       reward_kwargs={"note_rnn": {**chosen, "renormalise": False}})
        terms[name] = play(env, melody)
        expected = NoteRNN.pretrained(name or "default").log_prob([np.array(melody)])[0]
        np.testing.assert_allclose(terms[name], expected, atol=1e-4)
    assert sum(terms[None]) > sum(terms["rl_tuner"])  # the default knows the octave above


def test_an_unknown_model_name_lists_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match="octaves .*'default', 'rl_tuner'"):
        gym.make("MelodyEnv-v0", reward="note_rnn",
                 reward_kwargs={"note_rnn": {"model": "octaves"}})


def test_weight_scales_the_term(weights):
    env = gym.make("MelodyEnv-v0", reward="note_rnn", reward_weights={"note_rnn": 0.5},
                   reward_kwargs={"note_rnn": {"model": weights}})
    env.reset(seed=0)
    _, reward, _, _, info = env.step(env.unwrapped.pitch_to_action(60))
    full = NoteRNN.load(weights).log_prob([np.array([60])])[0][0]
    assert reward == pytest.approx(0.5 * full, abs=1e-5) == info["reward_terms"]["note_rnn"]


def test_narrow_pitch_range_renormalises(weights):
    env = NoteRNNReward(gym.make("MelodyEnv-v0", reward=None, pitch_range=[48, 83]).unwrapped,
                        model=weights)
    env.reset(seed=0)
    allowed = env.lstm.log_probs[0]  # over the env's actions only
    assert allowed.shape == (len(env.tokens),)
    assert torch.logsumexp(allowed, 0).item() == pytest.approx(0.0, abs=1e-5)
    model = NoteRNN.load(weights)
    terms = play(env, EVENTS)
    full = model.log_prob([np.array(EVENTS)])[0]
    assert all(term > raw for term, raw in zip(terms, full, strict=True))  # more mass each step
    plain = NoteRNNReward(gym.make("MelodyEnv-v0", reward=None, pitch_range=[48, 83]).unwrapped,
                          model=weights, renormalise=False)
    np.testing.assert_allclose(play(plain, EVENTS), full, atol=1e-5)


def test_composes_with_theory_and_rebuilds(weights):
    env = gym.make("MammadMelody-decay-v0", reward="theory+note_rnn",
                   reward_weights={"theory": 2.0},
                   reward_kwargs={"note_rnn": {"model": weights}})
    env.reset(seed=0)
    _, reward, _, _, info = env.step(env.unwrapped.pitch_to_action(60))
    terms = info["reward_terms"]
    assert set(terms) == {"theory", "note_rnn"} and reward == pytest.approx(sum(terms.values()))
    assert terms["theory"] == 2.0 * sum(info["theory_rules"].values())
    rebuilt = gym.make(env.spec)
    rebuilt.reset(seed=0)
    assert rebuilt.step(rebuilt.unwrapped.pitch_to_action(60))[1] == pytest.approx(reward)


def test_pickle_and_checker(weights):
    import pickle

    from stable_baselines3.common.env_checker import check_env

    env = gym.make("MelodyEnv-v0", reward="note_rnn",
                   reward_kwargs={"note_rnn": {"model": weights}})
    check_env(env, warn=False)
    env.reset(seed=1)
    env.step(40)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.step(41)[1] == pytest.approx(env.step(41)[1])


def test_bad_arguments(weights, tmp_path):
    with pytest.raises(ValueError, match="scores pitches 21..108; this env plays 0..127"):
        gym.make("MelodyEnv-v0", reward="note_rnn", pitch_range=[0, 127])
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        gym.make("MelodyEnv-v0", reward="note_rnn",
                 reward_kwargs={"note_rnn": {"model": str(tmp_path / "nowhere.pt")}})
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt is not a valid Note-RNN weights file"):
        rewards.NoteRNNReward(gym.make("MelodyEnv-v0", reward=None),
                              model=str(tmp_path / "junk.pt"))
