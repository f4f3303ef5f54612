"""Property tests: any action sequence keeps the env consistent."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mammad_envs.melody import note_events
from mammad_envs.melody_env import MelodyEnv

ACCOMPANIMENTS = st.sampled_from([None, "march", "rock", "alberti", "habanera", "bossa"])
ACTIONS = st.lists(st.integers(0, 89), min_size=1, max_size=48)


def replay(encoding, accompaniment, actions, **kwargs):
    env = MelodyEnv(encoding, steps=len(actions), accompaniment=accompaniment, **kwargs)
    env.reset(seed=0)
    observations, flags = [], []
    for action in actions:
        obs, _, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        flags.append((terminated, truncated))
    return env, observations, flags


@settings(max_examples=40, deadline=None)
@given(encoding=st.sampled_from(["binary", "count", "decay", "binary_stack"]),
       accompaniment=ACCOMPANIMENTS, actions=ACTIONS)
def test_observations_stay_in_space_and_length_is_exact(encoding, accompaniment, actions):
    env, observations, flags = replay(encoding, accompaniment, actions)
    assert all(env.observation_space.contains(obs) for obs in observations)
    assert flags == [(False, False)] * (len(actions) - 1) + [(True, False)]
    assert len(env.melody) == len(actions)


def expected_counts(env):
    """Onsets recounted from the melody and the accompaniment's notes."""
    counts = np.zeros(128)
    for pitch, _, _ in note_events(env.melody):
        counts[pitch] += 1
    if env.accompaniment is not None:
        for note in env.accompaniment.notes_until(len(env.melody)):
            counts[note.pitch] += 1
    return counts


@settings(max_examples=40, deadline=None)
@given(accompaniment=ACCOMPANIMENTS, actions=ACTIONS)
def test_count_equals_the_onsets_replayed(accompaniment, actions):
    env, observations, _ = replay("count", accompaniment, actions)
    np.testing.assert_array_equal(observations[-1], expected_counts(env))


@settings(max_examples=40, deadline=None)
@given(accompaniment=ACCOMPANIMENTS, actions=ACTIONS, frames=st.integers(1, 5))
def test_binary_stack_is_the_last_binary_observations(accompaniment, actions, frames):
    _, snapshots, _ = replay("binary", accompaniment, actions)
    _, stacked, _ = replay("binary_stack", accompaniment, actions,
                           encoding_kwargs={"frames": frames})
    for t, observation in enumerate(stacked):
        assert observation.shape == (frames * 128,)
        for k in range(frames):
            block = observation[k * 128:(k + 1) * 128]
            if t - k >= 0:
                np.testing.assert_array_equal(block, snapshots[t - k])
            else:
                assert not block.any()


@settings(max_examples=40, deadline=None)
@given(accompaniment=ACCOMPANIMENTS, actions=ACTIONS, decay=st.floats(0.0, 1.0))
def test_decay_never_exceeds_count(accompaniment, actions, decay):
    _, counts, _ = replay("count", accompaniment, actions)
    _, decays, _ = replay("decay", accompaniment, actions, decay=decay)
    for count, decayed in zip(counts, decays, strict=True):
        assert (decayed <= count).all()
        assert (decayed >= 0).all()


@settings(max_examples=40, deadline=None)
@given(accompaniment=ACCOMPANIMENTS, actions=ACTIONS)
def test_binary_marks_the_sounding_melody_note(accompaniment, actions):
    env, observations, _ = replay("binary", accompaniment, actions)
    for pitch, start, end in note_events(env.melody):
        for step in range(start, end):
            assert observations[step][pitch] == 1
