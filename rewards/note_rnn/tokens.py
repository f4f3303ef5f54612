"""Melody tokens of the Note RNN, and conversions between melodies and tokens.

Tokens are the default env's actions (``MammadMelody``, pitch range 21..108):

=============  =================================================
token          meaning
=============  =================================================
``0 .. 87``    strike MIDI pitch ``21 + token`` (A0..C8)
``88``         :data:`~mammad_envs.melody.HOLD`
``89``         :data:`~mammad_envs.melody.REST`
``90``         START: input only, the state before the first event
=============  =================================================

The model predicts 90 classes (``0..89``). A melody of ``n`` events is scored as ``n`` steps:
step ``t`` reads ``[START, e_0, ..., e_{t-1}]`` and gives ``log p(e_t | e_0..e_{t-1})``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mammad_envs.events import PIANO_RANGE, event_index, indices_of
from mammad_envs.melody import HOLD, MELODY_DTYPE, REST, as_melody

__all__ = [
    "HIGHEST_PITCH",
    "HOLD_TOKEN",
    "INPUT_VOCABULARY",
    "LOWEST_PITCH",
    "NUM_CLASSES",
    "REST_TOKEN",
    "START_TOKEN",
    "melody_to_tokens",
    "tokens_to_melody",
]

LOWEST_PITCH: int = PIANO_RANGE[0]
"""MIDI pitch of token 0 (A0)."""
HIGHEST_PITCH: int = PIANO_RANGE[1]
"""MIDI pitch of token 87 (C8)."""
HOLD_TOKEN: int = 88
"""Token of :data:`~mammad_envs.melody.HOLD`."""
REST_TOKEN: int = 89
"""Token of :data:`~mammad_envs.melody.REST`."""
NUM_CLASSES: int = 90
"""Number of output classes (88 pitches, HOLD, REST): the default env's actions."""
START_TOKEN: int = 90
"""Input-only token: the state before the first event."""
INPUT_VOCABULARY: int = 91
"""Number of input tokens (the classes and START)."""
TOKEN_OF = event_index(LOWEST_PITCH, HIGHEST_PITCH, 0, HOLD_TOKEN, REST_TOKEN)
"""Each event's token (-1 for pitches outside 21..108), read with
:func:`mammad_envs.events.indices_of`."""


def melody_to_tokens(melody: Sequence[int] | np.ndarray) -> np.ndarray:
    """Converts a melody array to tokens.

    Args:
        melody: Pitches 21..108, HOLD (-2) or REST (-1), one per 16th (a leading HOLD is fine).

    Returns:
        An int64 array of tokens 0..89, same length.

    Raises:
        ValueError: If the melody is not a one-dimensional integer array, or an entry is not
            a pitch in 21..108, HOLD or REST (the message names the entry).
    """
    array = as_melody(melody)
    pitches = array >= 0
    bad = pitches & ((array < LOWEST_PITCH) | (array > HIGHEST_PITCH))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(f"melody[{index}] = {int(array[index])} is outside the Note RNN's "
                         f"pitch range {LOWEST_PITCH}..{HIGHEST_PITCH}")
    return indices_of(array, TOKEN_OF)


def tokens_to_melody(tokens: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
    """Converts tokens 0..89 back to a melody array.

    Args:
        tokens: Tokens, any shape.

    Returns:
        A melody array of the same shape (dtype :data:`~mammad_envs.melody.MELODY_DTYPE`).

    Raises:
        ValueError: If a token is not an integer in 0..89.
    """
    if isinstance(tokens, torch.Tensor):
        tokens = tokens.detach().cpu().numpy()
    array = np.asarray(tokens)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"tokens must be integers 0..{NUM_CLASSES - 1}, got dtype {array.dtype}")
    bad = (array < 0) | (array >= NUM_CLASSES)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"tokens[{', '.join(map(str, index))}] = {int(array[index])} is not a "
                         f"token 0..{NUM_CLASSES - 1}")
    melody = (array.astype(np.int64) + LOWEST_PITCH).astype(MELODY_DTYPE)
    melody[array == HOLD_TOKEN] = HOLD
    melody[array == REST_TOKEN] = REST
    return melody
