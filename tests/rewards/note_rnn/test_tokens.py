"""Tests of the Note RNN's tokens: melodies to tokens and back."""

import numpy as np
import pytest
import torch

from mammad_envs.melody import HOLD, REST
from rewards.note_rnn.tokens import (
    HOLD_TOKEN,
    REST_TOKEN,
    START_TOKEN,
    melody_to_tokens,
    tokens_to_melody,
)


def test_tokens_round_trip():
    melody = np.array([HOLD, 21, 60, HOLD, REST, HOLD, 108], dtype=np.int16)
    tokens = melody_to_tokens(melody)
    assert tokens.tolist() == [HOLD_TOKEN, 0, 39, HOLD_TOKEN, REST_TOKEN, HOLD_TOKEN, 87]
    assert tokens_to_melody(tokens).tolist() == melody.tolist()
    assert tokens_to_melody(torch.tensor([[88, 89]])).tolist() == [[HOLD, REST]]


def test_bad_melodies_and_tokens_are_clear_value_errors():
    with pytest.raises(ValueError, match=r"melody\[1\] = 20 .*21\.\.108"):
        melody_to_tokens([60, 20, 62])
    with pytest.raises(ValueError, match="dtype"):
        melody_to_tokens(np.array([60.0, 62.0]))
    with pytest.raises(ValueError, match="-3"):
        melody_to_tokens([60, -3])
    with pytest.raises(ValueError, match="token"):
        tokens_to_melody([START_TOKEN])
    with pytest.raises(ValueError, match="integers"):
        tokens_to_melody(np.array([1.5]))
