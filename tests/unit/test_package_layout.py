"""The platform is split by who uses it, and nothing imports in a circle.

- ``alliance_platform`` (the runtime every service imports) and ``alliance_contracts`` never import
  the operator tooling (``alliance_ops``) nor a service;
- a service imports the runtime and the contracts, never ``alliance_ops`` nor another service;
- no module of ours imports, directly or through others, a module that imports it back.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "alliance_platform": ROOT / "shared" / "alliance_platform",
    "alliance_contracts": ROOT / "shared" / "alliance_contracts",
    "alliance_ops": ROOT / "shared" / "ops" / "alliance_ops",
    **{f"alliance_{d.name}": d / f"alliance_{d.name}" for d in sorted((ROOT / "services").iterdir()) if d.is_dir()},
}
SERVICES = {name for name in PACKAGES if name not in ("alliance_platform", "alliance_contracts", "alliance_ops")}


def _module_name(package, path):
    relative = path.relative_to(PACKAGES[package]).with_suffix("")
    parts = [package, *relative.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports():
    """module -> the modules of ours it imports (at any depth of its code)."""
    graph = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            name = _module_name(package, path)
            is_package = path.name == "__init__.py"
            found = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = name.split(".") if is_package else name.split(".")[:-1]
                        base = base[: len(base) - node.level + 1]
                        target = ".".join([*base, node.module] if node.module else base)
                    else:
                        target = node.module
                    found.add(target)
                    found |= {f"{target}.{alias.name}" for alias in node.names}
            graph[name] = found
    ours = set(graph)
    return {module: {t for t in targets if t in ours and t != module} for module, targets in graph.items()}


GRAPH = _imports()


def _top(module):
    return module.split(".")[0]


def test_the_runtime_and_the_contracts_import_no_tooling_and_no_service():
    wrong = {
        (module, target)
        for module, targets in GRAPH.items()
        if _top(module) in ("alliance_platform", "alliance_contracts")
        for target in targets
        if _top(target) == "alliance_ops" or _top(target) in SERVICES
    }
    assert wrong == set()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_imports_the_runtime_and_the_contracts_only(service):
    wrong = {
        (module, target)
        for module, targets in GRAPH.items()
        if _top(module) == service
        for target in targets
        if _top(target) != service and _top(target) not in ("alliance_platform", "alliance_contracts")
    }
    assert wrong == set()


def test_no_import_cycles():
    # A module's package __init__ runs before it; an edge to one's own package is not a cycle.
    def edges(module):
        return {t for t in GRAPH[module] if not module.startswith(f"{t}.")}

    cycles, state = [], {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(edges(module)):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []
