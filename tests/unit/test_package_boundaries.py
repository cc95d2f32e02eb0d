"""What the runtime code may import: never the developer tools, never the operators' CLI module."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
# What the runtime image runs: the package in the wheel, the UI plugin module beside it, the DAG files.
RUNTIME_FILES = sorted([*(PROJECT / "plugins").rglob("*.py"), *(PROJECT / "dags").rglob("*.py")])


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            # ``from parkops import cli`` names the module in the alias.
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def offenders(forbidden: str, exempt: Path | None = None) -> list[str]:
    return [
        f"{path.relative_to(PROJECT)}: {module}"
        for path in RUNTIME_FILES
        if path != exempt
        for module in sorted(imported_modules(path))
        if module == forbidden or module.startswith(f"{forbidden}.")
    ]


def test_runtime_code_never_imports_the_developer_tools():
    # tools/parkops_tools is not in the wheel nor needed by the image: an import would fail there.
    assert RUNTIME_FILES
    assert offenders("parkops_tools") == []


def test_runtime_code_never_imports_the_operators_cli():
    # parkops.cli only prints; what it shows as data lives in runtime modules (e.g. parkops.ops.health).
    assert offenders("parkops.cli", exempt=PROJECT / "plugins" / "parkops" / "cli.py") == []
