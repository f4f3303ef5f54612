"""BatchedNoteRNN and FoldedStep: the Note-RNN stepped for a batch of melodies."""

import numpy as np
import pytest
import torch

from mammad_envs.melody import HOLD, REST
from rewards.note_rnn import NoteRNN
from rewards.note_rnn.batched import FOLDED_LIMIT, BatchedNoteRNN, FoldedStep


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = NoteRNN(embedding_dim=8, hidden_size=16)
    return str(model.save(tmp_path_factory.mktemp("rnn") / "small.pt"))


def test_folded_step_equals_the_lstm_step(weights):
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


@pytest.mark.parametrize("batch", [1, 40, 1100])  # folded steps, and the fused LSTM
@pytest.mark.parametrize("overlap", [False, True])
def test_renormalised_steps_equal_the_full_distribution_renormalised(weights, batch, overlap):
    import rewards.note_rnn.batched as batched

    narrow = BatchedNoteRNN(48, 83, batch, weights, overlap=overlap)
    full = BatchedNoteRNN(21, 108, batch, weights, renormalise=False, overlap=overlap)
    assert narrow.folded == (batch * 16 < batched.FOLDED_LIMIT)
    allowed = np.r_[np.arange(48 - 21, 84 - 21), 88, 89]
    rng = np.random.default_rng(1)
    for _ in range(5):
        events = rng.choice([HOLD, REST, 48, 60, 83], size=batch)
        expected = full.log_probs[:, allowed] - torch.logsumexp(full.log_probs[:, allowed],
                                                                dim=-1, keepdim=True)
        tokens = np.where(events >= 0, events - 21, np.where(events == HOLD, 88, 89))
        columns = narrow.columns[tokens]
        np.testing.assert_allclose(narrow.score(events),
                                   expected.numpy()[np.arange(batch), columns], atol=1e-5)
        full.score(events)
    with pytest.raises(ValueError, match=r"events \[21\] are not among the env's actions"):
        narrow.score(np.r_[21, np.full(batch - 1, 60)])


def test_an_overlapping_batch_pickles_and_goes_on_alike(weights):
    import pickle

    lstm = BatchedNoteRNN(48, 83, 20, weights)
    assert lstm.overlap  # batches of 16 or more step in a background thread
    events = np.full(20, 60)
    lstm.score(events)  # leaves a step running
    clone = pickle.loads(pickle.dumps(lstm))
    np.testing.assert_array_equal(clone.score(events), lstm.score(events))
    lstm.restart(np.array([0, 3]))
    clone.restart(np.array([0, 3]))
    np.testing.assert_array_equal(clone.log_probs.numpy(), lstm.log_probs.numpy())
