"""The registry helper behind encodings, rewards, rules and agents."""

import pytest

from mammad_envs.registry import Registry, import_entry


def test_lazy_entries_load_once_and_are_kept():
    registry = Registry("shape", {"circle": "math:pi", "square": 4})
    assert registry["circle"] == "math:pi"  # not imported until used
    assert registry.load("circle") == pytest.approx(3.14159, abs=1e-5)
    assert registry["circle"] == registry.load("circle")
    assert registry.load("square") == 4 and sorted(registry) == ["circle", "square"]


def test_register_checks_names_and_entries():
    registry = Registry("encoding")
    registry.register("mine", 3, check=lambda e: isinstance(e, int), expected="an int")
    registry.register("later", "json:dumps", check=lambda e: False)  # lazy: checked on use
    with pytest.raises(ValueError, match="an encoding named 'mine' exists already"):
        registry.register("mine", 4)
    registry.register("mine", 5, overwrite=True)
    assert registry.load("mine") == 5
    for bad in ("my name", "_hidden", 3):
        with pytest.raises(ValueError, match="an encoding name must be an identifier"):
            registry.register(bad, 1)
    with pytest.raises(ValueError, match="encoding 'odd' must be an int or a 'module:"):
        registry.register("odd", "x", check=lambda e: isinstance(e, int), expected="an int")


def test_unknown_names_and_broken_entries():
    registry = Registry("reward", {"theory": 1}, hint=" (combine them with '+')")
    with pytest.raises(ValueError, match=r"unknown reward 'theroy': choose among \['theory'\] "
                                         r"\(combine them with '\+'\)"):
        registry.load("theroy")
    registry.register("broken", "json:no_such_function")
    with pytest.raises(ImportError, match="module 'json' has no attribute 'no_such_function'"):
        registry.load("broken")
    with pytest.raises(ImportError):
        import_entry("no_such_module_here:thing")
