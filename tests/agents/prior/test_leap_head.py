import numpy as np
import torch

from agents.prior.leap_head import SPAN, LeapHead
from agents.prior.leaps import LeapTracker

PITCHES = 36


def observation(actions: list[int], before: int = 5) -> torch.Tensor:
    """One observation: ``before`` zeros, the leap features after the actions, 3 zeros."""
    tracker = LeapTracker(PITCHES)
    state = tracker.start(1)
    for action in actions:
        tracker.advance(state, np.array([action]))
    return torch.as_tensor(np.concatenate([np.zeros(before), tracker.features(state)[0],
                                           np.zeros(3)]), dtype=torch.float32)[None]


def test_the_head_starts_at_zero():
    head = LeapHead(PITCHES, start=5)
    logits = head(torch.cat([observation([]), observation([10, 20, 36])]))
    assert logits.shape == (2, PITCHES + 2)
    assert not logits.any()


def test_each_pitch_gets_its_intervals_values_in_the_pending_leaps_table():
    head = LeapHead(PITCHES, start=5)
    buckets = torch.arange(-SPAN, SPAN + 1, dtype=torch.float32)
    with torch.no_grad():
        head.from_previous[1, 0] = buckets  # a leap up pending, 6 steps or fewer since
        head.from_leap[0] = 100 * buckets
        head.silent[1, 0] = torch.tensor([7.0, 8.0])
    logits = head(observation([10, 20, 36]))[0]  # a leap up from 10 to 20, then HOLD
    pitches = torch.arange(PITCHES)
    expected = (pitches - 20).clamp(-SPAN, SPAN) + 100 * (pitches - 10).clamp(-SPAN, SPAN)
    torch.testing.assert_close(logits[:PITCHES], expected.float())
    torch.testing.assert_close(logits[PITCHES:], torch.tensor([7.0, 8.0]))
    before_any_pitch = head(observation([36]))[0]
    assert not before_any_pitch[:PITCHES].any()
