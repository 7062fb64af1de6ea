"""The shape of the package stays one a newcomer can find their way in.

Read from the source with ``ast`` (nothing is imported): modules and
functions stay small, no module reaches into another's private names, the
import graph has no cycle, and the pure core never imports the shell.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

import milestonebill

ROOT = Path(milestonebill.__file__).parent
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80
#: The shell: everything that does I/O or runs the core for a user (``rendering``
#: presents the core's values to clients; nothing in the core may depend on it).
SHELL = ("engine", "stores", "gateways", "integrations", "cli", "testing", "rendering",
         "__main__")


def _module_name(path: Path) -> str:
    parts = ["milestonebill", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module ``name`` (a module or a name inside one) belongs to."""
    while name not in modules() and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(tree: ast.Module) -> Iterator[tuple[str, str | None]]:
    """``(module, imported name)`` for every milestonebill import, lazy ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("milestonebill"):
            assert node.module is not None
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("milestonebill"):
                    yield alias.name, None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, tree in modules().items():
        deps = set()
        for module, imported in _imports(tree):
            full = f"{module}.{imported}" if imported else module
            deps.add(full if full in modules() else _resolve(module))
        deps.discard(name)
        graph[name] = deps
    return graph


def _is_shell(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[1] in SHELL


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_module_is_under_the_size_a_reader_can_hold(name: str) -> None:
    tree = modules()[name]
    last = max((getattr(n, "end_lineno", 0) or 0 for n in ast.walk(tree)), default=0)
    assert last <= MAX_MODULE_LINES, f"{name} has {last} lines"


def test_every_function_is_under_eighty_lines() -> None:
    long = [f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for name, tree in modules().items() for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_no_module_imports_another_modules_private_names() -> None:
    found = []
    for name, tree in modules().items():
        package = name if name in _packages() else name.rsplit(".", 1)[0]
        for module, imported in _imports(tree):
            if imported is None or not imported.startswith("_"):
                continue
            # A package's private submodules are its own implementation.
            if f"{module}.{imported}" in modules() and module == package:
                continue
            found.append(f"{name}: from {module} import {imported}")
    assert found == []


def _packages() -> set[str]:
    return {_module_name(p.parent / "__init__.py") for p in ROOT.rglob("__init__.py")}


def test_the_import_graph_has_no_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_core_never_imports_the_shell() -> None:
    graph = _graph()
    found = {name: sorted(d for d in deps if _is_shell(d)) for name, deps in graph.items()
             if not _is_shell(name) and name != "milestonebill"}
    assert {k: v for k, v in found.items() if v} == {}
