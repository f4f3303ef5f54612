"""The Note RNN: a next-event LSTM over melody tokens, trained on public-domain folk tunes.

``NoteRNN.pretrained()`` loads the shipped model (``weights/note_rnn.pt``, described in
``weights/model_card.md``); ``python -m rewards.note_rnn.train`` retrains it. See
``docs/note_rnn.md``.
"""

from rewards.note_rnn.model import (
    HOLD_TOKEN,
    NUM_CLASSES,
    REST_TOKEN,
    START_TOKEN,
    NoteRNN,
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
