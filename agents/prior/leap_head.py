"""A term of a Note-RNN policy's logits learned per interval and state of the leap rule.

The residual MLP of :class:`~agents.prior.policy.NoteRNNPolicy` sees the leap rule's state as
one-hots of absolute pitches (:mod:`agents.prior.leaps`): to learn that a leap up after a
pending leap up is doubled, it must learn it again for every previous pitch, from a rare event.
:class:`LeapHead` learns it once per interval instead: each pitch's logit gets

    A[pending leap, more than six steps since it, clip(pitch - previous pitch, +-13)]
    + B[pending leap, clip(pitch - pitch the leap started from, +-13)]

(the pending leap: none, up or down; B only while one is pending), and HOLD and REST a value
per pending leap and steps since it. Every table starts at zero, so the policy still starts as
the Note-RNN.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SPAN", "LeapHead"]

SPAN = 13
"""Intervals are told apart up to an octave; larger ones share the last bucket each way."""


class LeapHead(nn.Module):
    """Logits per action from the leap features of an observation (see the module docstring).

    Args:
        pitches: The env's number of pitches (its actions before HOLD and REST).
        start: Where the leap features start in an observation.
    """

    def __init__(self, pitches: int, start: int) -> None:
        super().__init__()
        self.pitches, self.start = int(pitches), int(start)
        buckets = 2 * SPAN + 1
        self.from_previous = nn.Parameter(torch.zeros(3, 2, buckets))
        self.from_leap = nn.Parameter(torch.zeros(2, buckets))
        self.silent = nn.Parameter(torch.zeros(3, 2, 2))
        self.register_buffer("actions", torch.arange(self.pitches), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(batch, pitches + 2)`` the logits' term."""
        pitches = self.pitches
        leaps = features[:, self.start:self.start + 5 * pitches + 4]
        previous_hot, started_hot = leaps[:, :pitches], leaps[:, pitches:3 * pitches]
        flags = leaps[:, 5 * pitches:]
        pending = (flags[:, 0] + 2 * flags[:, 1]).round().long()  # 0 none, 1 up, 2 down
        late = flags[:, 2].round().long()
        previous = self._buckets(previous_hot.argmax(dim=1))
        played = previous_hot.sum(dim=1, keepdim=True)
        logits = self.from_previous[pending, late].gather(1, previous) * played
        started = started_hot.reshape(-1, 2, pitches).sum(dim=1)
        leapt_from = self._buckets(started.argmax(dim=1))
        logits = logits + self.from_leap[(pending - 1).clamp(min=0)].gather(1, leapt_from) * (
            started.sum(dim=1, keepdim=True))
        return torch.cat([logits, self.silent[pending, late]], dim=1)

    def _buckets(self, pitch: torch.Tensor) -> torch.Tensor:
        """``(batch, pitches)`` each action's interval bucket from the given pitch."""
        return (self.actions[None] - pitch[:, None]).clamp(-SPAN, SPAN) + SPAN
