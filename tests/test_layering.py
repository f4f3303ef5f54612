"""The packages' layers (docs/architecture.md): each imports only the packages below it.

``mammad_envs`` <- ``rewards`` <- ``agents`` <- ``feedback`` <- ``mammad_cli`` <- ``benchmarks``;
``rewards`` imports no learner (stable-baselines3, sb3-contrib, imitation; only imitation's
reward networks, :data:`NETWORKS`). Checked twice: by
importing every module of a package in a fresh interpreter (what ``sys.modules`` then holds),
and over the source (every import, at any depth of a file). The module-level imports between
the project's modules form no circle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ORDER = ("mammad_envs", "rewards", "agents", "feedback", "mammad_cli", "benchmarks")
"""The project's packages, lowest first."""
LAYERS = [name for name in ORDER if (ROOT / name).is_dir()]
"""The packages that exist (``mammad_cli`` once it is created)."""

LEARNERS = ("stable_baselines3", "sb3_contrib", "imitation")
"""What ``rewards`` must not import: the learners live in ``agents``."""

NETWORKS = ("imitation.rewards", "imitation.util")
"""imitation's network definitions, the exception to :data:`LEARNERS`: ``rewards.reward_nets``
rebuilds a saved GAIL / AIRL reward network with them (inside a function, behind
``require_imitation``). They are models, not learners; imitation's algorithms stay out."""

MOVED_HERE = {"rewards.preferences.pool", "rewards.preferences.labelling",
              "rewards.preferences.labelers", "agents.rlhf", "agents.cli"}
"""Old places of moved modules: importing them raises an ImportError naming the new place."""

EXPECTED_UPWARD: set[tuple[str, str]] = set()
"""Known imports of a package above, ``(file, imported package)``, not yet removed: each entry
is an expected failure. The lead removes an entry once its fix is merged."""

EXPECTED_CYCLES: set[frozenset[str]] = set()
"""Known circles of module-level imports (their modules), not yet cut."""


def is_network_module(name: str) -> bool:
    """Whether a dotted name is one of :data:`NETWORKS` or below it."""
    return any(name == allowed or name.startswith(f"{allowed}.") for allowed in NETWORKS)


def forbidden(package: str) -> set[str]:
    """The top-level names ``package`` must not import: the packages above it (and, for
    ``rewards``, the learners)."""
    above = set(ORDER[ORDER.index(package) + 1:])
    return above | (set(LEARNERS) if package == "rewards" else set())


def module_name(path: Path) -> str:
    """The dotted name of a project file."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(package: str) -> list[Path]:
    """Every Python file of a package."""
    return sorted((ROOT / package).rglob("*.py"))


def absolute_imports(path: Path, nodes) -> set[str]:
    """The dotted names the import statements among ``nodes`` import, relative ones resolved
    (``from a import b`` gives ``a.b`` and ``a``: ``b`` may be a module or a name)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - node.level + 1]
                base = ".".join([*prefix, base] if base else prefix)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def module_level_imports(tree: ast.Module) -> list[ast.stmt]:
    """The import statements run when a module is imported (not in functions or classes, not
    under ``if TYPE_CHECKING:``)."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                pending.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)
        elif isinstance(node, ast.With):
            pending.extend(node.body)
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_no_module_imports_a_package_above_its_own(package):
    offenders = set()
    for path in sources(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {name.split(".")[0] for name in absolute_imports(path, ast.walk(tree))
                    if not (package == "rewards" and is_network_module(name))}
        for name in imported & forbidden(package):
            offenders.add((path.relative_to(ROOT).as_posix(), name))
    unexpected = sorted(offenders - EXPECTED_UPWARD)
    assert not unexpected, f"imports from a layer above (file, package): {unexpected}"


def test_expected_upward_imports_are_still_there():
    """An entry of EXPECTED_UPWARD that no longer happens must be removed from it."""
    still = set()
    for file, name in EXPECTED_UPWARD:
        path = ROOT / file
        if path.exists():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if name in {each.split(".")[0] for each in absolute_imports(path, ast.walk(tree))}:
                still.add((file, name))
    assert still == EXPECTED_UPWARD, f"fixed: remove {sorted(EXPECTED_UPWARD - still)}"


IMPORT_ALL = """
import importlib, json, sys
failed = {}
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except ImportError as error:  # an optional extra not installed, or a moved module's shim
        failed[name] = str(error)
print(json.dumps({"loaded": sorted({m.split(".")[0] for m in sys.modules}), "failed": failed}))
"""


@pytest.mark.parametrize("package", [name for name in LAYERS if name != LAYERS[-1]])
def test_importing_a_package_loads_nothing_above_it(package):
    names = [module_name(path) for path in sources(package)
             if module_name(path) not in MOVED_HERE
             and path.name != "__main__.py"]
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL, package, *names], cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=600)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    project_failures = {name: error for name, error in report["failed"].items()
                        if any(f"'{layer}" in error for layer in LAYERS)}
    assert not project_failures, f"modules that fail to import: {project_failures}"
    loaded_above = sorted(set(report["loaded"]) & forbidden(package))
    expected = {name for _, name in EXPECTED_UPWARD}
    assert not set(loaded_above) - expected, \
        f"importing every module of {package} loads {loaded_above}"


def import_graph() -> dict[str, set[str]]:
    """Each project module to the project modules its module-level imports run."""
    files = {module_name(path): path for layer in LAYERS for path in sources(layer)}
    graph = {}
    for name, path in files.items():
        nodes = module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {target for node in nodes for target in imported_modules(path, node, files)
                       if target != name}
    return graph


def imported_modules(path: Path, node: ast.Import | ast.ImportFrom, modules) -> set[str]:
    """The project modules one import statement names: ``from a import b`` names ``a.b`` if it
    is a module, else ``a``."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = next(iter(absolute_imports(path, [ast.ImportFrom(node.module, [], node.level)])))
    targets = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
               for alias in node.names}
    return targets & set(modules)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of a graph: one per strongly connected component of more than one node."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)  # other tests rely on the default depth
    return found


def test_module_level_imports_form_no_circle():
    found = [component for component in cycles(import_graph())
             if frozenset(component) not in EXPECTED_CYCLES]
    assert not found, f"import circles (modules of each): {found}"
