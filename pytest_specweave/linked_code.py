"""Importing the code an increment links to, under a module name unique to that increment.

Every increment may have its own ``pipeline.py``: each increment folder becomes a package
``pytest_specweave_increments.<increment>``, so its modules never collide, relative imports between
them work, and a model pickled from an increment's own classes can be loaded back later.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from pathlib import Path

from .errors import SourceError

ROOT_PACKAGE = "pytest_specweave_increments"


def package_name(increment_dir: Path) -> str:
    """`increments/0042-recommendation-model` -> `pytest_specweave_increments.i0042_recommendation_model`."""
    ident = re.sub(r"\W", "_", Path(increment_dir).name)
    return f"{ROOT_PACKAGE}.i{ident}"


def ensure_package(increment_dir: Path) -> str:
    """Register the increment's package (idempotent) and return its dotted name."""
    increment_dir = Path(increment_dir).resolve()
    root = sys.modules.get(ROOT_PACKAGE)
    if root is None:
        root = types.ModuleType(ROOT_PACKAGE, "Packages of increments' linked code.")
        root.__path__ = []
        sys.modules[ROOT_PACKAGE] = root
    name = package_name(increment_dir)
    package = sys.modules.get(name)
    if package is None or list(getattr(package, "__path__", [])) != [str(increment_dir)]:
        for stale in [m for m in sys.modules if m.startswith(name + ".")]:
            del sys.modules[stale]  # another folder of the same name was imported before
        package = types.ModuleType(name, f"Linked code of increment {increment_dir.name}.")
        package.__path__ = [str(increment_dir)]
        sys.modules[name] = package
        setattr(root, name.rsplit(".", 1)[1], package)
    return name


def import_linked_module(increment_dir: Path, file: Path) -> types.ModuleType:
    """Import `file` as a module of its increment's package (or by location when it lies outside).

    Raises SourceError naming the file (and line, for a syntax error) when it cannot be imported;
    any other exception raised while the module runs propagates with the user's own traceback.
    """
    file = Path(file)
    if not file.is_file():
        raise SourceError(f"linked file {file.name} does not exist (looked in {file.parent})", file)
    increment_dir = Path(increment_dir).resolve()
    resolved = file.resolve()
    if not resolved.is_relative_to(increment_dir):
        return _import_by_location(resolved)
    package = ensure_package(increment_dir)
    parts = resolved.relative_to(increment_dir).with_suffix("").parts
    for depth in range(1, len(parts)):
        _ensure_subpackage(package, increment_dir, parts[:depth])
    name = ".".join([package, *parts])
    try:
        return importlib.import_module(name)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise SourceError(f"syntax error in {file.name}: {exc.msg}", file, exc.lineno) from exc


def _ensure_subpackage(package: str, increment_dir: Path, parts: tuple[str, ...]) -> None:
    """Folders inside an increment (`src/`) act as packages even without an __init__.py."""
    name = ".".join([package, *parts])
    if name in sys.modules:
        return
    folder = increment_dir.joinpath(*parts)
    if (folder / "__init__.py").is_file():
        importlib.import_module(name)
        return
    module = types.ModuleType(name)
    module.__path__ = [str(folder)]
    sys.modules[name] = module


def _import_by_location(file: Path) -> types.ModuleType:
    """A link relative to the rootdir: imported under a name derived from its path."""
    ident = re.sub(r"\W", "_", str(file.with_suffix("")))
    name = f"{ROOT_PACKAGE}._outside.{ident}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise SourceError(f"syntax error in {file.name}: {exc.msg}", file, exc.lineno) from exc
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def resolve_callable(module: types.ModuleType, qualname: str, file: Path):
    """`train` or `Trainer.run` inside `module`; SourceError listing what the module does define."""
    target = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            defined = sorted(
                n for n, v in vars(module).items()
                if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
            )
            hint = f"; it defines: {', '.join(defined)}" if defined else ""
            raise SourceError(f"{Path(file).name} has no callable {qualname!r}{hint}", file)
    if not callable(target):
        kind = type(target).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise SourceError(f"{Path(file).name}::{qualname} is {article} {kind}, not a function", file)
    return target
