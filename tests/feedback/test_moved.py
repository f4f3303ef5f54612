"""The human-feedback loop moved to ``feedback/``: the old places say where it went, and the
layers below it import nothing of it (``rewards.preferences`` imports no learner)."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MOVED_MODULES = {
    "rewards.preferences.pool": "feedback.pool",
    "rewards.preferences.labelling": "feedback.labelling",
    "rewards.preferences.labelers": "feedback.labelers",
    "agents.rlhf": "feedback.rlhf",
}
COMMAND_LINE = {"agents/cli.py"}
"""The ``mammad`` command line: above every package (it imports feedback's commands lazily)."""


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


def imported_modules(path):
    """Top-level names of every module a file imports (at any depth of the file)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(("package", "forbidden"), [
    ("mammad_envs", {"feedback", "agents", "rewards"}),
    ("rewards", {"feedback", "agents"}),
    ("agents", {"feedback"}),
    ("rewards/preferences", {"stable_baselines3", "sb3_contrib"}),
])
def test_no_package_below_feedback_imports_it(package, forbidden):
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        found = imported_modules(path) & forbidden
        if found and relative not in COMMAND_LINE:
            offenders[relative] = sorted(found)
    assert not offenders, f"imports from a layer above: {offenders}"


def test_rewards_preferences_loads_no_learner():
    code = ("import sys; import rewards.preferences; "
            "from rewards.preferences import reward_model, scoring, store, training; "
            "print(sorted(m for m in ('agents', 'feedback', 'stable_baselines3', 'sb3_contrib')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"
