"""No import circle among parkops modules, function-level imports included.

A function-local import is how a circle is usually hidden (it works until someone moves it to
the top); imports under ``if TYPE_CHECKING:`` never run and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "plugins"


def module_names(root: Path) -> dict[str, Path]:
    """Module name -> file, for every module of the ``parkops`` package under ``root``."""
    modules = {}
    for path in sorted((root / "parkops").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Modules imported anywhere under ``node`` (functions too), skipping ``if TYPE_CHECKING:`` blocks;
    ``from a import b`` as ``a:b``."""
    found: list[str] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            found += [name for item in child.orelse for name in _imports(item, module, is_package)]
            continue
        if isinstance(child, ast.Import):
            found += [alias.name for alias in child.names]
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - child.level + 1]
                source = ".".join(base + ([child.module] if child.module else []))
            else:
                source = child.module or ""
            found += [f"{source}:{alias.name}" for alias in child.names]
        found += _imports(child, module, is_package)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """parkops module -> the parkops modules it imports (``from a import b``: ``a.b`` when a module, else ``a``)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for name in _imports(tree, module, path.name == "__init__.py"):
            source, _, imported = name.partition(":")
            targets.add(f"{source}.{imported}" if f"{source}.{imported}" in modules else source)
        # Parent packages a module's import runs first are not edges: a package's __init__
        # importing its own submodules is no circle.
        graph[module] = {target for target in targets if target in modules and target != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_function_level_imports() -> None:
    graph = import_graph(PACKAGE_ROOT)
    # dag_factory imports parkops.pipeline.tasks inside its task functions only.
    assert "parkops.pipeline.tasks" in graph["parkops.dag_factory"]
    assert "parkops.feeds.definition" in graph["parkops.feeds"]


def test_no_import_cycle_among_parkops_modules() -> None:
    assert cycles(import_graph(PACKAGE_ROOT)) == []


def test_a_cycle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "parkops"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from parkops.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from parkops import a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from parkops import a\n")
    assert cycles(import_graph(tmp_path)) == [["parkops.a", "parkops.b"]]
