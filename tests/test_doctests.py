"""Runs the ``>>>`` examples of the docstrings, one test per module.

A module whose examples need an optional extra (imitation) is skipped, with the reason, when
the extra is missing. The registries an example adds to (rules, agents) are restored after it.
"""

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = [
    "mammad_envs.errors",
    "mammad_envs.registry",
    "mammad_envs.sb3_vec_env",
    "rewards.base",
    "rewards.compose",
    "rewards.learned.term",
    "rewards.metrics",
    "rewards.note_rnn.term",
    "rewards.theory.rules",
    "rewards.theory.term",
    "agents.registry",
    "agents.imitation.adversarial",
    "feedback.labelers",
]
"""Every module with ``>>>`` examples (``test_every_module_with_examples_is_listed`` checks)."""

NEEDS_IMITATION = {"agents.imitation.adversarial"}
"""Modules that import the imitation extra."""

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mammad_envs", "rewards", "agents", "feedback", "mammad_cli")


@pytest.fixture
def restored_registries():
    from agents.registry import AGENTS
    from rewards.theory.rules import RULES

    saved = [(registry, dict(registry)) for registry in (AGENTS, RULES)]
    yield
    for registry, entries in saved:
        registry.clear()
        registry.update(entries)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, restored_registries):
    if name in NEEDS_IMITATION:
        pytest.importorskip("imitation", reason=f"{name} needs the imitation extra")
    module = importlib.import_module(name)
    tests = [test for test in doctest.DocTestFinder().find(module, name) if test.examples]
    assert tests, f"{name} has no >>> examples: remove it from MODULES"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples of {name} failed"


def test_every_module_with_examples_is_listed():
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if ">>> " in path.read_text(encoding="utf-8"):
                parts = path.relative_to(ROOT).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found.add(".".join(parts))
    assert found == set(MODULES)
