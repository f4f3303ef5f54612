"""The compiled 16th writer gives exactly what the encodings' own ``encode`` gives."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mammad_envs.accompaniment import pick_random
from mammad_envs.data import load_accompaniments
from mammad_envs.encodings import ENCODINGS, CountEncoding, make_encoding
from mammad_envs.frames import SixteenthWriter
from mammad_envs.melody import HOLD, REST
from mammad_envs.vector_env import MelodyVectorEnv

EVENTS = np.concatenate([np.arange(48, 73), [HOLD, REST]])


class Unlinear:
    """Wraps an encoding and hides its linear form, so the writer calls ``encode``."""

    def __init__(self, encoding):
        self.encoding = encoding

    def __getattr__(self, name):
        return None if name == "linear" else getattr(self.encoding, name)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(n for n in ENCODINGS if make_encoding(n, 2).linear is not None)),
       batch=st.integers(1, 5),
       decay=st.sampled_from([0.0, 0.5, 0.9, 1.0]), data=st.data())
def test_compiled_writer_equals_encode(name, batch, decay, data):
    encoding = make_encoding(name, 24, **({"decay": decay} if name == "decay" else {}))
    accompaniments = load_accompaniments()
    compiled = SixteenthWriter(encoding, accompaniments, EVENTS, 24, batch)
    plain = SixteenthWriter(Unlinear(encoding), accompaniments, EVENTS, 24, batch)
    assert compiled.linear is not None and plain.linear is None
    choices = data.draw(st.lists(st.sampled_from([None, 0, 1, 2, 3, 4]), min_size=batch,
                                 max_size=batch))
    for writer in (compiled, plain):
        writer.reset(np.arange(batch), choices)
    for _ in range(24):
        actions = np.array(data.draw(st.lists(st.integers(0, len(EVENTS) - 1),
                                              min_size=batch, max_size=batch)))
        events, observations = compiled.write(actions)
        plain_events, plain_observations = plain.write(actions)
        np.testing.assert_array_equal(events, plain_events)
        np.testing.assert_array_equal(observations, plain_observations)
        assert observations.dtype == np.float32
    np.testing.assert_array_equal(compiled.melodies, plain.melodies)


def test_write_refuses_bad_actions_and_complete_melodies_and_changes_nothing():
    writer = SixteenthWriter(make_encoding("count", 2), load_accompaniments(), EVENTS, 2, 2)
    writer.reset(np.arange(2), [0, None])
    before = writer.observations.copy()
    with pytest.raises(ValueError, match="action 27 is out of range 0..26"):
        writer.write(np.array([0, 27]))
    np.testing.assert_array_equal(writer.observations, before)
    assert writer.current_step.tolist() == [0, 0]
    writer.write(np.array([0, 1]))
    writer.write(np.array([2, 3]))
    with pytest.raises(ValueError, match="melody 0 is complete"):
        writer.write(np.array([0, 0]))


def test_written_observations_are_independent_copies():
    writer = SixteenthWriter(make_encoding("count", 4), load_accompaniments(), EVENTS, 4, 1)
    writer.reset(np.arange(1), [None])
    _, first = writer.write(np.array([0]))
    first[:] = 99.0
    _, second = writer.write(np.array([0]))
    assert second[0, 48] == 2.0 and second.sum() == 2.0


class Squared(CountEncoding):
    """An encoding without a linear form: counts, squared (``linear`` is not inherited)."""

    name = "squared"

    def encode(self, previous, sounding, onsets):
        return (np.sqrt(previous) + onsets) ** 2


def test_an_encoding_without_a_linear_form_runs_in_both_envs(monkeypatch):
    assert Squared(4).linear is None and CountEncoding(4).linear == (1.0, 1.0, 0.0)
    monkeypatch.setitem(ENCODINGS, "squared", Squared)
    env = gym.make("MelodyEnv-v0", encoding="squared", accompaniment=None, reward=None)
    env.reset(seed=0)
    for _ in range(3):
        observation, *_ = env.step(env.unwrapped.pitch_to_action(60))
    assert observation[60] == 9.0
    vector = MelodyVectorEnv(2, encoding="squared", accompaniment=None)
    vector.reset(seed=0)
    for _ in range(3):
        observations, *_ = vector.step(np.array([60 - 21, 62 - 21]))
    assert observations[0, 60] == 9.0 and observations[1, 62] == 9.0


def test_pick_random_stays_in_range():
    assert pick_random(0.0, 5) == 0
    assert pick_random(np.nextafter(1.0, 0.0), 5) == 4
    np.testing.assert_array_equal(pick_random(np.array([0.19, 0.2, 0.99]), 5), [0, 1, 4])
