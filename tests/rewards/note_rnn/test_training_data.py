"""Tests of the Note RNN's training data: the split by tune and the batches of windows."""

import numpy as np
import pytest
import torch

from rewards.note_rnn import HOLD_TOKEN, NUM_CLASSES, REST_TOKEN, START_TOKEN
from rewards.note_rnn.training_data import Tune, octave_shifts, sample_batch, split_by_tune


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


def test_octave_shifts_keep_the_pitches_in_range():
    # tokens 27..62 are MIDI 48..83, the range of the training tunes
    np.testing.assert_array_equal(octave_shifts(np.array([27, 88, 62, 89])), [-24, -12, 12, 24])
    np.testing.assert_array_equal(octave_shifts(np.array([0, 87])), [])
    np.testing.assert_array_equal(octave_shifts(np.array([12, 75])), [-12, 12])
    np.testing.assert_array_equal(octave_shifts(np.array([11, 76])), [])
    np.testing.assert_array_equal(octave_shifts(np.array([80])), [-72, -60, -48, -36, -24, -12])
    np.testing.assert_array_equal(octave_shifts(np.array([HOLD_TOKEN, REST_TOKEN])), [])


def _one_window_tune(length: int = 24) -> Tune:
    """A tune whose only window start is step 0: every sampled window is the same events."""
    tokens = np.array([27, 88, 88, 62, 89, 40, 88, 50] * (length // 8))
    return Tune("a", "x", tokens, tokens, np.array([0]))


def test_octave_shift_augmentation_moves_whole_windows_by_octaves():
    tune = _one_window_tune()
    inputs, targets, mask = sample_batch([tune], 400, 24, np.random.default_rng(1),
                                         keep_octave=0.25)
    assert mask.all()
    targets = targets.numpy()
    assert ((targets >= 0) & (targets < NUM_CLASSES)).all()
    pitch = tune.tokens < HOLD_TOKEN
    np.testing.assert_array_equal(targets[:, ~pitch], np.broadcast_to(tune.tokens[~pitch],
                                                                      (400, (~pitch).sum())))
    shifts = targets[:, pitch] - tune.tokens[pitch]
    assert (shifts == shifts[:, :1]).all()  # one shift per window
    row_shifts = shifts[:, 0]
    assert set(row_shifts.tolist()) == {-24, -12, 0, 12, 24}
    assert 0.15 < np.mean(row_shifts == 0) < 0.35  # kept with probability 0.25
    torch.testing.assert_close(inputs[:, 1:], torch.from_numpy(targets[:, :-1]))
    assert (inputs[:, 0] == START_TOKEN).all()


def test_octave_decay_draws_nearer_octaves_more_often():
    tune = _one_window_tune()  # can move by -24, -12, 12 or 24

    def shift_counts(decay):
        _, targets, _ = sample_batch([tune], 2000, 24, np.random.default_rng(0),
                                     keep_octave=0.0, octave_decay=decay)
        shifts = targets.numpy()[:, 0] - tune.tokens[0]
        return {shift: int(np.sum(shifts == shift)) for shift in (-24, -12, 12, 24)}

    uniform = shift_counts(1.0)
    assert all(400 < count < 600 for count in uniform.values())
    near = shift_counts(0.25)  # weights 1/4, 1, 1, 1/4: 10%, 40%, 40%, 10%
    assert 700 < near[-12] < 900 and 700 < near[12] < 900
    assert 120 < near[-24] < 280 and 120 < near[24] < 280
    with pytest.raises(ValueError, match="octave_decay"):
        sample_batch([tune], 2, 8, np.random.default_rng(0), keep_octave=0.5, octave_decay=0.0)


def test_octave_shift_augmentation_is_deterministic_under_the_seed():
    tokens = np.array([30, 88, 45, 89, 60, 88, 55, 40] * 10)
    tunes = [Tune("a", "x", tokens, tokens, np.array([0, 16, 32])),
             Tune("b", "x", tokens[::-1], tokens[::-1].copy(), np.array([0, 8]))]
    first = sample_batch(tunes, 32, 20, np.random.default_rng(7), keep_octave=0.5)
    again = sample_batch(tunes, 32, 20, np.random.default_rng(7), keep_octave=0.5)
    for a, b in zip(first, again, strict=True):
        torch.testing.assert_close(a, b)
    other = sample_batch(tunes, 32, 20, np.random.default_rng(8), keep_octave=0.5)
    assert not torch.equal(first[1], other[1])


def test_octave_shift_augmentation_off():
    tune = _one_window_tune()
    _, targets, _ = sample_batch([tune], 50, 24, np.random.default_rng(0))  # default: off
    assert (targets.numpy() == tune.tokens).all()
    # keep_octave=1 draws no extra random numbers: the batches of a run without augmentation
    tokens = np.array([30, 88, 45, 89, 60, 88, 55, 40] * 10)
    tunes = [Tune("a", "x", tokens, tokens, np.array([0, 16, 32, 48]))]
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(3):
        for a, b in zip(sample_batch(tunes, 8, 20, rng_a),
                        sample_batch(tunes, 8, 20, rng_b, keep_octave=1.0), strict=True):
            torch.testing.assert_close(a, b)
    # keep_octave=0: every window that can move does
    _, moved, _ = sample_batch([tune], 50, 24, np.random.default_rng(0), keep_octave=0.0)
    assert (moved.numpy()[:, 0] != tune.tokens[0]).all()
    with pytest.raises(ValueError, match="keep_octave"):
        sample_batch([tune], 2, 8, np.random.default_rng(0), keep_octave=1.5)


def test_windows_that_cannot_move_stay():
    tokens = np.array([0, 88, 87, 89] * 4)  # A0 and C8: no octave shift fits
    tune = Tune("a", "x", tokens, tokens, np.array([0]))
    _, targets, _ = sample_batch([tune], 10, 16, np.random.default_rng(0), keep_octave=0.0)
    assert (targets.numpy() == tokens).all()
