"""Every error class the project defines derives from MammadError."""

import ast
import importlib
from pathlib import Path

import pytest

from mammad_envs.errors import MammadError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mammad_envs", "rewards", "agents", "feedback", "mammad_cli", "benchmarks")


def error_classes():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                    yield pytest.param(module.removesuffix(".__init__"), node.name,
                                       id=f"{module}.{node.name}")


@pytest.mark.parametrize(("module", "name"), list(error_classes()))
def test_the_error_is_a_mammad_error(module, name):
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError as error:  # an optional extra that is not installed
        pytest.skip(f"{module} does not import here: {error}")
    assert issubclass(cls, MammadError), f"{module}.{name} does not derive from MammadError"
