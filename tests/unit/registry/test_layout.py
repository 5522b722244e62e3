"""The registry keeps the layout every service shares: the same files in the same roles, its SQL in
``storage.py`` alone, rules in ``domain/`` without SQL or nameko, entrypoints of a line or two."""

import ast
import re
from pathlib import Path

import alliance_registry
from alliance_registry.service import RegistryService

PACKAGE = Path(alliance_registry.__file__).parent
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+(\s+AS\s+\w+)?\s+SET|DELETE\s+FROM)\b", re.S)


def _modules():
    return {path.relative_to(PACKAGE).as_posix(): path for path in PACKAGE.rglob("*.py")}


def _strings(path):
    return [
        n.value
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _imports(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_the_package_holds_the_shared_layout():
    top = {p.name for p in PACKAGE.iterdir() if not p.name.startswith("__pycache__")}
    assert top == {
        "__init__.py",
        "service.py",
        "schemas.py",
        "domain",
        "use_cases.py",
        "queries.py",
        "storage.py",
        "timers.py",
        "settings.py",
        "config.yaml",
        "migrations",
    }


def test_sql_is_written_in_storage_only():
    outside = {
        name: [text for text in _strings(path) if SQL.search(text)]
        for name, path in _modules().items()
        if name != "storage.py"
    }
    assert {name: found for name, found in outside.items() if found} == {}
    assert any(SQL.search(text) for text in _strings(PACKAGE / "storage.py"))  # the pattern does find SQL


def test_the_rules_use_neither_the_database_nor_nameko():
    wrong = {
        name: sorted(i for i in _imports(path) if i.split(".")[0] in ("nameko", "psycopg") or "storage" in i)
        for name, path in _modules().items()
        if name.startswith("domain/")
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def test_every_entrypoint_calls_one_use_case_or_query():
    tree = ast.parse((PACKAGE / "service.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == RegistryService.__name__]
    methods = [n for n in cls.body if isinstance(n, ast.FunctionDef)]
    assert methods and all(m.decorator_list for m in methods), "only entrypoints in the service class"
    for method in methods:
        (statement,) = method.body
        assert isinstance(statement, ast.Return) and isinstance(statement.value, ast.Call), method.name
        called = ast.unparse(statement.value.func)
        assert called.split(".")[0] in ("use_cases", "queries", "timers"), (method.name, called)
        assert called.split(".")[1] == method.name or method.name.startswith("handle_"), (method.name, called)
