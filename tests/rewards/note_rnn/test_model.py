"""Tests of the Note RNN model and its shipped weights."""

import math
import pickle
from importlib import resources

import numpy as np
import pytest
import torch

from mammad_envs.data import load_melodies
from mammad_envs.melody import HOLD, REST
from rewards.note_rnn import (
    HOLD_TOKEN,
    NUM_CLASSES,
    REST_TOKEN,
    START_TOKEN,
    NoteRNN,
    melody_to_tokens,
)
from rewards.note_rnn import model as model_module


@pytest.fixture(scope="module")
def model():
    return NoteRNN.pretrained()


@pytest.fixture(scope="module")
def melodies():
    return [np.asarray(m.notes) for m in load_melodies()]


def test_shipped_weights_load(model):
    weights = resources.files("rewards.note_rnn") / "weights" / "note_rnn.pt"
    assert weights.is_file()
    assert weights.stat().st_size < 2_000_000
    assert (resources.files("rewards.note_rnn") / "weights" / "model_card.md").is_file()
    hp = model.hyperparameters
    e, h = hp["embedding_dim"], hp["hidden_size"]
    expected = 91 * e + 4 * h * (e + h + 2) + (h + 1) * NUM_CLASSES
    assert model.num_parameters() == expected
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert NoteRNN.pretrained() is model  # cached
    assert model.metadata["data"]["source"] == "folk"
    in_range = NoteRNN.pretrained("rl_tuner")
    assert in_range is not model and NoteRNN.pretrained("rl_tuner") is in_range
    assert (resources.files("rewards.note_rnn") / "weights" / "model_card_rl_tuner.md").is_file()
    assert model.metadata["hyperparameters"]["octave_shift"]
    assert not in_range.metadata["hyperparameters"].get("octave_shift", False)


def test_an_unknown_shipped_model_names_the_choices():
    with pytest.raises(ValueError, match="unknown shipped Note-RNN 'octaves'.*'default', "
                                         "'rl_tuner'"):
        NoteRNN.pretrained("octaves")


def test_bad_input_is_a_clear_value_error(model):
    with pytest.raises(ValueError, match=r"melody\[0\] = 109"):
        model.nll([[109]])
    with pytest.raises(ValueError, match="dtype"):
        model.log_prob([np.array([60.5])])
    with pytest.raises(ValueError, match="list of melodies"):
        model.nll(np.array([60, 62], dtype=np.int16))
    state = model.initial_state(1)
    with pytest.raises(ValueError, match="0..90"):
        model.step([91], state)
    with pytest.raises(ValueError, match="integers"):
        model.step(torch.tensor([1.0]), state)
    with pytest.raises(ValueError, match="batch size"):
        model.step([1, 2], state)


def test_step_matches_log_prob(model, melodies):
    melody = melodies[1][:96].copy()
    melody[0] = HOLD  # a leading HOLD is legal: token 88
    expected = model.log_prob([melody])[0]
    log_probs, state = model.start(1)
    assert log_probs.shape == (1, NUM_CLASSES)
    assert torch.allclose(log_probs.exp().sum(), torch.tensor(1.0), atol=1e-5)
    got = []
    for token in melody_to_tokens(melody):
        got.append(float(log_probs[0, token]))
        log_probs, state = model.step(torch.tensor([token]), state)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_step_batched_and_initial_state(model):
    state = model.initial_state(3)
    assert state[0].shape == (1, 3, model.hidden_size)
    log_probs, state = model.step([START_TOKEN] * 3, state)
    assert log_probs.shape == (3, NUM_CLASSES)
    torch.testing.assert_close(log_probs[0], log_probs[2])
    log_probs, _ = model.step(np.array([HOLD_TOKEN, 39, REST_TOKEN]), state)
    assert not torch.allclose(log_probs[0], log_probs[1])


def test_nll_is_the_mean_of_per_step_log_probs(model, melodies):
    batch = [melodies[0], melodies[3][:17], melodies[5][:1], np.zeros(0, dtype=np.int16),
             melodies[4]]
    per_step = model.log_prob(batch)
    assert [len(p) for p in per_step] == [len(m) for m in batch]
    assert per_step[3].size == 0
    assert all(p.dtype == np.float64 and (p <= 0).all() for p in per_step)
    expected = -np.concatenate(per_step).mean()
    assert model.nll(batch) == pytest.approx(expected, abs=1e-9)
    # padding does not change a melody's scores
    alone = model.log_prob([melodies[3][:17]])[0]
    np.testing.assert_allclose(alone, per_step[1], atol=1e-5)
    with pytest.raises(ValueError, match="no steps"):
        model.nll([[]])


def test_nll_of_real_melodies_is_far_below_uniform(model, melodies):
    nll = model.nll(melodies)
    assert nll < math.log(NUM_CLASSES) - 3.0
    assert 0.0 < model.accuracy(melodies) <= 1.0


def test_sample_is_deterministic_for_a_seed(model):
    first = model.sample(4, 48, seed=7)
    assert first.shape == (4, 48)
    assert first.dtype == np.int16
    np.testing.assert_array_equal(first, model.sample(4, 48, seed=7))
    assert not np.array_equal(first, model.sample(4, 48, seed=8))
    assert set(np.unique(first)) <= {HOLD, REST} | set(range(21, 109))
    assert model.sample(0, 5, seed=0).shape == (0, 5)
    assert model.sample(3, 0, seed=0).shape == (3, 0)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(1, 4, temperature=0.0)


def test_sample_scored_gives_sample_s_melodies_and_log_prob_s_scores(model):
    melodies, scores = model.sample_scored(16, 24, temperature=0.8, seed=3)
    np.testing.assert_array_equal(melodies, model.sample(16, 24, temperature=0.8, seed=3))
    assert scores.shape == (16, 24) and scores.dtype == np.float64
    np.testing.assert_allclose(scores, np.stack(model.log_prob(melodies)), atol=1e-5)
    empty, nothing = model.sample_scored(0, 5, seed=0)
    assert empty.shape == nothing.shape == (0, 5)


def test_sample_temperature(model):
    cold = model.sample(32, 64, temperature=0.3, seed=1)
    hot = model.sample(32, 64, temperature=3.0, seed=1)
    assert model.nll(list(cold)) < model.nll(list(hot)) - 1.0
    distinct_pitches = len(set(hot[hot >= 0].tolist()))
    assert distinct_pitches > len(set(cold[cold >= 0].tolist()))


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    small = NoteRNN(embedding_dim=4, hidden_size=8)
    path = small.save(tmp_path / "small.pt", {"note": "test"})
    loaded = NoteRNN.load(path)
    assert loaded.hyperparameters == small.hyperparameters
    assert loaded.metadata == {"note": "test"}
    melody = [60, HOLD, 62, REST]
    np.testing.assert_allclose(loaded.log_prob([melody])[0], small.log_prob([melody])[0])


def test_load_uses_weights_only(tmp_path, monkeypatch):
    path = NoteRNN(embedding_dim=4, hidden_size=8).save(tmp_path / "small.pt")
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    NoteRNN.load(path)
    assert calls and calls[0].get("weights_only") is True


class _Payload:
    """Not a tensor or plain container: only plain pickle can load it."""


def test_pickle_only_file_is_rejected(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"format": model_module.FORMAT, "payload": _Payload()}, path)
    with pytest.raises(ValueError, match="pickled.pt"):
        NoteRNN.load(path)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps(_Payload(), protocol=2))
    with pytest.raises(ValueError, match="plain.pkl"):
        NoteRNN.load(plain)


def test_missing_or_corrupt_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        NoteRNN.load(tmp_path / "nothing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="corrupt.pt"):
        NoteRNN.load(corrupt)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="other.pt"):
        NoteRNN.load(other)


def test_forward_shapes_and_grad():
    small = NoteRNN(embedding_dim=4, hidden_size=8, dropout=0.1)
    logits, (h, c) = small(torch.full((2, 5), START_TOKEN))
    assert logits.shape == (2, 5, NUM_CLASSES)
    assert h.shape == c.shape == (1, 2, 8)
    logits.sum().backward()
    assert small.output.weight.grad is not None
