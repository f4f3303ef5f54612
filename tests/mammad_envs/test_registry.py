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


def test_item_assignment_goes_through_the_checks():
    registry = Registry("encoding", {"binary": 1}, check=lambda e: isinstance(e, int),
                        expected="an int")
    for bad in ("my name", "_hidden", 3):
        with pytest.raises(ValueError, match="an encoding name must be an identifier"):
            registry[bad] = 1
    with pytest.raises(ValueError, match="encoding 'odd' must be an int or a 'module:"):
        registry["odd"] = "x"
    with pytest.raises(ValueError, match="must be an int"):
        registry.update(also_odd=2.5)
    registry["binary"] = 2  # assignment replaces, as on a dict
    registry["lazy"] = "math:tau"
    assert registry.load("binary") == 2 and registry.load("lazy") == pytest.approx(6.28318, 1e-5)
    assert sorted(registry) == ["binary", "lazy"] and "odd" not in registry
    assert registry.pop("lazy") == pytest.approx(6.28318, 1e-5) and len(registry) == 1


def test_indirect_entries_and_the_registries_of_the_project():
    registry = Registry("shape")
    registry.register("circle", indirect="math:pi")
    assert registry["circle"] == "math:pi" and registry.get("square") is None
    with pytest.raises(ValueError, match="either an entry or indirect="):
        registry.register("square", 4, indirect="math:pi")
    from agents.registry import AGENTS
    from mammad_envs.encodings import ENCODINGS
    from rewards.base import REWARDS
    from rewards.theory.rules import RULES

    for project_registry, name in ((ENCODINGS, "binary"), (REWARDS, "theory"), (RULES, "leap"),
                                   (AGENTS, "ppo")):
        with pytest.raises(ValueError, match="must be"):
            project_registry["test_not_an_entry"] = 42
        assert "test_not_an_entry" not in project_registry and name in project_registry


def test_import_entry_looks_in_the_working_folder_last_only_when_asked(tmp_path, monkeypatch):
    import sys

    from mammad_envs.registry import EntryImportError

    (tmp_path / "entry_of_the_working_folder.py").write_text("VALUE = 7\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    with pytest.raises(EntryImportError, match="cannot import 'entry_of_the_working_folder'"):
        import_entry("entry_of_the_working_folder:VALUE")
    assert import_entry("entry_of_the_working_folder:VALUE", working_folder_last=True) == 7
    assert sys.path[-1] == str(tmp_path)
    with pytest.raises(ImportError, match="is not 'module:attribute'"):
        import_entry("json")
