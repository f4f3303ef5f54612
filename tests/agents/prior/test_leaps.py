import numpy as np
import pytest

from agents.prior.leaps import LeapTracker
from rewards.theory.rules import leap_outcomes

PITCHES, LOWEST = 36, 48


def random_melodies(batch: int, steps: int, seed: int) -> np.ndarray:
    """Random walks over 36 pitches by steps and leaps, a fifth of the actions HOLD or REST."""
    rng = np.random.default_rng(seed)
    moves = rng.choice([-12, -9, -7, -2, -1, 1, 2, 7, 9, 12], size=(batch, steps))
    pitches = np.mod(18 + np.cumsum(moves, axis=1), PITCHES)
    silent = rng.random((batch, steps)) < 0.2
    return np.where(silent, PITCHES + rng.integers(2, size=(batch, steps)), pitches)


def test_the_tracker_replays_the_leap_rule_of_the_reward():
    tracker = LeapTracker(PITCHES)
    actions = random_melodies(2000, 32, seed=0)
    state = tracker.start(len(actions))
    outcomes = np.stack([tracker.advance(state, actions[:, step]) for step in range(32)],
                        axis=1)
    events = np.where(actions < PITCHES, actions + LOWEST, -1)
    expected = np.stack([leap_outcomes(melody) for melody in events])
    np.testing.assert_array_equal(outcomes, expected)
    assert (expected == 1).sum() > 50 and (expected == -1).sum() > 50


def test_the_features_show_the_pending_leap():
    tracker = LeapTracker(PITCHES)
    state = tracker.start(2)
    features = tracker.features(state)
    assert features.shape == (2, tracker.size) and not features.any()
    for action in (10, 20, 36):  # a pitch, a leap up of 10 semitones, HOLD
        tracker.advance(state, np.array([action, action]))
    features = tracker.features(state)
    blocks = features[0, :5 * PITCHES].reshape(5, PITCHES)
    assert blocks[0].argmax() == 20 and blocks[0].sum() == 1  # the previous pitch
    assert blocks[1].argmax() == 10 and blocks[1].sum() == 1  # a leap up from 10 is pending
    assert not blocks[2].any()  # no leap down
    assert blocks[3].argmax() == 20 and not blocks[4].any()
    np.testing.assert_array_equal(features[0, -4:], [1, 0, 0, 1 / 8])
    tracker.restart(state, np.array([True, False]))
    assert not tracker.features(state)[0].any() and tracker.features(state)[1].any()
    assert ((features >= 0) & (features <= 1)).all()


def test_bad_pitches_are_refused():
    with pytest.raises(ValueError, match="pitches must be >= 1, got 0"):
        LeapTracker(0)
