"""Tests of the validation scores: the n-gram baselines the Note RNN is compared with."""

import math

import numpy as np
import pytest

from rewards.note_rnn.validation import ngram_baselines


def test_ngram_baselines():
    train = [np.array([0, 88, 1, 88]), np.array([0, 88, 1, 88])]
    val = [np.array([0, 88, 1, 88])]
    result = ngram_baselines(train, val)
    # unigram with add-one: counts 2+1 for 0 and 1, 4+1 for 88, 1 for the other 87
    total = 3 + 3 + 5 + 87
    expected = -(2 * math.log(3 / total) + 2 * math.log(5 / total)) / 4
    assert result["unigram"]["nll"] == pytest.approx(expected)
    assert result["unigram"]["accuracy"] == 0.5  # always guesses HOLD
    assert result["bigram"]["accuracy"] == 1.0
    # every transition (START-0, 0-88, 88-1, 1-88) seen twice out of twice: (2 + 1) / (2 + 90)
    assert result["bigram"]["nll"] == pytest.approx(-math.log(3 / 92))
