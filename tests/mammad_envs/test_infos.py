"""The one info layout: the scalar env's dict is the vector layout's row."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mammad_envs.infos import add_term, row_infos, single_info, step_infos


@given(step=st.integers(0, 255), event=st.integers(-2, 127))
def test_single_info_is_the_row_of_a_batch_of_one(step, event):
    assert single_info(step, event) == row_infos(step_infos(np.array([step]),
                                                            np.array([event])), [0])[0]


def test_rows_keep_every_key_and_drop_what_an_env_lacks():
    infos = step_infos(np.array([3, 17]), np.array([60, -2]))
    add_term(infos, "theory", np.array([1.5, -1.0]), {"theory_rules": {"key": np.array([0., -1.])}})
    infos["accompaniment"] = np.array([None, "march"], dtype=object)
    infos["_accompaniment"] = np.array([False, True])
    first, second = row_infos(infos, [0, 1])
    assert first == {"step": 3, "bar": 0, "beat": 0, "sixteenth": 3, "pitch": 60,
                     "reward_terms": {"theory": 1.5}, "theory_rules": {"key": 0.0}}
    assert second["bar"] == 1 and second["accompaniment"] == "march"
    assert row_infos(infos, [1], skip=("accompaniment", "theory_rules"))[0].keys() == {
        "step", "bar", "beat", "sixteenth", "pitch", "reward_terms"}
