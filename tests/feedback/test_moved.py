"""The human-feedback loop moved to ``feedback/``: the old places say where it went (that the
layers below it import nothing of it is checked by tests/test_layering.py)."""

import importlib
import sys

import pytest

MOVED_MODULES = {
    "rewards.preferences.pool": "feedback.pool",
    "rewards.preferences.labelling": "feedback.labelling",
    "rewards.preferences.labelers": "feedback.labelers",
    "agents.rlhf": "feedback.rlhf",
}


@pytest.mark.parametrize(("old", "new"), MOVED_MODULES.items())
def test_an_old_module_names_its_new_place(old, new):
    sys.modules.pop(old, None)
    with pytest.raises(ImportError, match=f"{old} moved to {new}"):
        importlib.import_module(old)
    assert old not in sys.modules


@pytest.mark.parametrize("name", ["make_labeler", "SyntheticLabeler"])
def test_a_moved_name_of_rewards_preferences_names_its_new_place(name):
    with pytest.raises(ImportError, match=f"rewards.preferences.{name} moved to "
                                          f"feedback.labelers.{name}"):
        exec(f"from rewards.preferences import {name}", {})
    import rewards.preferences

    with pytest.raises(ImportError, match="from feedback.labelers import"):
        getattr(rewards.preferences, name)
    assert name not in rewards.preferences.__all__


def test_other_missing_names_are_attribute_errors():
    import rewards.preferences

    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        rewards.preferences.nothing_here  # noqa: B018
    assert not hasattr(rewards.preferences, "nothing_here")


def test_the_new_modules_import():
    for new in MOVED_MODULES.values():
        importlib.import_module(new)
