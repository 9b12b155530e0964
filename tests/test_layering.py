"""The layers' imports: the tracker knows nothing of the evaluation layer above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_specweave

PACKAGE = Path(pytest_specweave.__file__).parent
EVALUATION = "pytest_specweave.evaluation"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module of the package, relative ones resolved,
    inside functions too, and every string naming a module of the package passed to a call (import_module)."""
    package = ".".join(("pytest_specweave",) + path.relative_to(PACKAGE).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call):
            found += [(node.lineno, arg.value) for arg in node.args
                      if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                      and arg.value.startswith("pytest_specweave.")]
    return found


def test_the_import_reader_resolves_relative_imports():
    models = PACKAGE / "tracking" / "models.py"
    names = [name for _, name in imported_modules(models)]
    assert "pytest_specweave.tracking._files.atomic_write" in names  # from ._files import atomic_write
    assert "pytest_specweave.errors.StoreError" in names  # from ..errors import StoreError
    assert "pytest_specweave.linked_code.ensure_package" in names  # inside a function


def test_no_tracking_module_imports_the_evaluation_layer():
    modules = sorted((PACKAGE / "tracking").rglob("*.py"))
    assert len(modules) > 5
    offending = [f"{path.relative_to(PACKAGE).as_posix()}:{line}: {name}"
                 for path in modules for line, name in imported_modules(path)
                 if name == EVALUATION or name.startswith(EVALUATION + ".")]
    assert offending == []
