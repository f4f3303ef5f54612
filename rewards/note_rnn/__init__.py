"""The Note RNN: a next-event LSTM over melody tokens, trained on public-domain folk tunes.

Modules: :mod:`~rewards.note_rnn.tokens` (melodies as tokens), :mod:`~rewards.note_rnn.model`
(the network, saving and loading), :mod:`~rewards.note_rnn.train` (the training script, with
:mod:`~rewards.note_rnn.training_data`, :mod:`~rewards.note_rnn.validation` and
:mod:`~rewards.note_rnn.model_card`).
``NoteRNN.pretrained()`` loads the shipped model (``weights/note_rnn.pt``, described in
``weights/model_card.md``); ``python -m rewards.note_rnn.train`` retrains it. See
``docs/note_rnn.md``.
"""

from rewards.note_rnn.model import NoteRNN
from rewards.note_rnn.tokens import (
    HOLD_TOKEN,
    NUM_CLASSES,
    REST_TOKEN,
    START_TOKEN,
    melody_to_tokens,
    tokens_to_melody,
)

__all__ = [
    "HOLD_TOKEN",
    "NUM_CLASSES",
    "REST_TOKEN",
    "START_TOKEN",
    "NoteRNN",
    "melody_to_tokens",
    "tokens_to_melody",
]
