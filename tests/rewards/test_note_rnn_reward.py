"""NoteRNNReward: incremental log-probabilities, renormalisation, composition."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import rewards
from mammad_envs.melody import HOLD, REST
from rewards.note_rnn import NoteRNN
from rewards.note_rnn_reward import NoteRNNReward


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
    allowed = env.lstm.log_probs[0, env.tokens]
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


def test_vector_reward_equals_scalar_rewards(weights):
    from rewards.note_rnn_reward import NoteRNNVectorReward

    def make(reward):
        return lambda: gym.make("MelodyEnv-v0", steps=5, pitch_range=[48, 83], reward=reward,
                                reward_kwargs={"note_rnn": {"model": weights}}
                                if reward == "theory+note_rnn" else None)

    scalar = [make("theory+note_rnn")() for _ in range(3)]
    vector = NoteRNNVectorReward(gym.vector.SyncVectorEnv([make("theory") for _ in range(3)]),
                                 model=weights)
    vector.reset(seed=[0, 1, 2])
    for i, env in enumerate(scalar):
        env.reset(seed=i)
    rng = np.random.default_rng(0)
    for step in range(12):  # over two episode ends (autoreset inside the vector env)
        actions = rng.integers(0, 38, size=3)
        _, rewards, terminated, _, infos = vector.step(actions)
        for i, env in enumerate(scalar):
            _, reward, done, _, info = env.step(actions[i])
            assert rewards[i] == pytest.approx(reward, abs=1e-5), (step, i)
            assert done == terminated[i]
            vector_terms = infos["final_info"][i]["reward_terms"] if done else \
                infos["reward_terms"][i]
            assert vector_terms["note_rnn"] == pytest.approx(info["reward_terms"]["note_rnn"],
                                                             abs=1e-5)
            if done:
                env.reset()


def test_vector_reward_exposes_the_spaces_without_warnings(weights, recwarn):
    from rewards.note_rnn_reward import NoteRNNVectorReward

    envs = NoteRNNVectorReward(gym.vector.SyncVectorEnv(
        [lambda: gym.make("MelodyEnv-v0", steps=4) for _ in range(2)]), model=weights)
    envs.reset(seed=0)
    envs.step(envs.action_space.sample())
    assert envs.single_action_space.n == 90
    assert not [w for w in recwarn if "deprecated" in str(w.message)]


def test_folded_step_equals_the_lstm_step(weights):
    from rewards.note_rnn_reward import FoldedStep

    model = NoteRNN.load(weights)
    step = FoldedStep(model)
    tokens = torch.randint(0, 91, (7,), generator=torch.Generator().manual_seed(0))
    log_probs, state = model.start(7)
    hidden, cell = state[0][0], state[1][0]
    for _ in range(5):
        expected, state = model.step(tokens, state)
        log_probs, hidden, cell = step(tokens, hidden, cell)
        torch.testing.assert_close(log_probs, expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(hidden, state[0][0], atol=1e-6, rtol=0)
        torch.testing.assert_close(cell, state[1][0], atol=1e-6, rtol=0)
        tokens = torch.argmax(log_probs, dim=-1)


def test_large_batches_use_the_fused_lstm_and_agree(weights):
    from rewards.note_rnn_reward import FOLDED_LIMIT, BatchedNoteRNN

    big = FOLDED_LIMIT // 16 + 1  # the test model has 16 cells
    fused, folded = BatchedNoteRNN(21, 108, big, weights), BatchedNoteRNN(21, 108, 1, weights)
    assert not fused.folded and folded.folded
    rng = np.random.default_rng(0)
    for _ in range(6):
        event = int(rng.choice([HOLD, REST, 60, 64, 67]))
        many = fused.score(np.full(big, event))
        one = folded.score(np.array([event]))
        np.testing.assert_allclose(many, one[0], atol=1e-5)
    with pytest.raises(ValueError, match=r"pitches 21..108, HOLD or REST, got \[5\]"):
        folded.score(np.array([5]))
