"""Tests of the Note RNN's training data: the split by tune and the batches of windows."""

import numpy as np
import pytest
import torch

from rewards.note_rnn import NUM_CLASSES, START_TOKEN
from rewards.note_rnn.training_data import Tune, sample_batch, split_by_tune


def test_split_by_tune():
    train, val = split_by_tune(100, 0.1, seed=0)
    assert len(val) == 10 and len(train) == 90
    assert not set(train) & set(val)
    again = split_by_tune(100, 0.1, seed=0)
    np.testing.assert_array_equal(val, again[1])
    assert len(split_by_tune(10, 0.1, 0)[1]) == 1
    with pytest.raises(ValueError):
        split_by_tune(1, 0.1, 0)


def test_sample_batch_windows():
    tokens = np.arange(40) % NUM_CLASSES
    tunes = [Tune("a", "x", tokens, tokens, np.array([0, 16, 32]))]
    inputs, targets, mask = sample_batch(tunes, 16, 20, np.random.default_rng(0))
    assert inputs.shape == targets.shape == mask.shape == (16, 20)
    assert (inputs[:, 0] == START_TOKEN).all()
    torch.testing.assert_close(inputs[:, 1:], targets[:, :-1])
    assert set(targets[:, 0].tolist()) <= {0, 16, 32}
    short = targets[:, 0] == 32  # only 8 steps left in the tune
    assert (mask[short].sum(dim=1) == 8).all()
    assert (mask[~short].sum(dim=1) == 20).all()
