"""Importing the code an increment links to, under a module name unique to that increment.

Every increment may have its own ``pipeline.py``: each increment folder becomes a package
``pytest_specweave_increments.<increment>``, so its modules never collide, relative imports between
them work, and a model pickled from an increment's own classes can be loaded back later.
"""

from __future__ import annotations

import ast
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


class LinkedSource:
    """What collection knows of a linked def without importing its module: the parameters pytest would
    inject (None when the source cannot tell, e.g. a name bound by an import)."""

    def __init__(self, argnames: tuple[str, ...] | None):
        self.argnames = argnames


_LITERALS = {ast.List: "list", ast.Dict: "dict", ast.Tuple: "tuple", ast.Set: "set", ast.JoinedStr: "str",
             ast.ListComp: "list", ast.DictComp: "dict", ast.SetComp: "set"}


def check_linked_source(file: Path, qualname: str | None) -> LinkedSource:
    """Check a link by reading its module's source (never importing it).

    Raises SourceError, with the messages of importing and resolving, when the file is missing, does
    not parse, binds no such name at its top level, or binds it to a literal that cannot be called.
    `qualname` None links the module itself (its `main()`, when it has one).
    """
    file = Path(file)
    if not file.is_file():
        raise SourceError(f"linked file {file.name} does not exist (looked in {file.parent})", file)
    if file.suffix != ".py":
        return LinkedSource(None)
    try:
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except SyntaxError as exc:
        raise SourceError(f"syntax error in {file.name}: {exc.msg}", file, exc.lineno) from exc
    except (ValueError, OSError, RecursionError, MemoryError):
        return LinkedSource(None)  # importing it will say why
    bindings, dynamic = _top_level_bindings(tree.body)
    name = qualname.split(".", 1)[0] if qualname else "main"
    found = bindings.get(name)
    if not found:
        if qualname is None or dynamic:
            return LinkedSource(None)
        defined = sorted(n for n, nodes in bindings.items() if not n.startswith("_") and _defines_callable(nodes[-1]))
        hint = f"; it defines: {', '.join(defined)}" if defined else ""
        raise SourceError(f"{file.name} has no callable {qualname!r}{hint}", file)
    last = found[-1]
    kind = _literal_kind(last) if len(found) == 1 else None
    if kind is not None:
        if qualname is None:
            return LinkedSource(())  # a `main` that is not callable: importing the module is the task
        if "." not in qualname:
            article = "an" if kind[:1].lower() in "aeiou" else "a"
            raise SourceError(f"{file.name}::{qualname} is {article} {kind}, not a function", file)
    if "." in (qualname or ""):
        return LinkedSource(None)
    return LinkedSource(_argnames(last))


def _top_level_bindings(body) -> tuple[dict[str, list], bool]:
    """Names bound at the module's top level (also inside if/try/with/for blocks), with their statements;
    and whether names may be bound in ways the source does not show (`import *`, a module __getattr__)."""
    bindings: dict[str, list] = {}
    dynamic = False

    def bind(name, node):
        bindings.setdefault(name, []).append(node)

    def targets(target, node):
        if isinstance(target, ast.Name):
            bind(target.id, node)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                targets(element.value if isinstance(element, ast.Starred) else element, None)

    def walk(statements):
        nonlocal dynamic
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(node.name, node)
                dynamic = dynamic or node.name == "__getattr__"
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    targets(target, node if isinstance(target, ast.Name) else None)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                if isinstance(node.target, ast.Name) and (not isinstance(node, ast.AnnAssign) or node.value):
                    bind(node.target.id, None)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        dynamic = True
                    else:
                        bind(alias.asname or alias.name.split(".")[0], None)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                if not isinstance(node, (ast.With, ast.AsyncWith)):
                    targets(node.target, None)
                else:
                    for item in node.items:
                        if item.optional_vars is not None:
                            targets(item.optional_vars, None)
                walk(node.body)
                walk(getattr(node, "orelse", []))
            elif isinstance(node, ast.If | ast.While):
                walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try | getattr(ast, "TryStar", ast.Try)):
                walk(node.body)
                for handler in node.handlers:
                    if handler.name:
                        bind(handler.name, None)
                    walk(handler.body)
                walk(node.orelse)
                walk(node.finalbody)
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    walk(case.body)
                dynamic = True  # capture patterns may bind names
            for child in ast.walk(node) if isinstance(node, (ast.Expr, ast.Assign, ast.If, ast.While)) else ():
                if isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                    bind(child.target.id, None)
                elif isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and \
                        child.func.id in ("globals", "exec", "setattr", "vars"):
                    dynamic = True

    walk(body)
    return bindings, dynamic


def _defines_callable(node) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    return isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)


def _literal_kind(node) -> str | None:
    """The type of the literal a plain `name = <literal>` binds, else None (callable or unknown)."""
    if not isinstance(node, ast.Assign):
        return None
    value = node.value
    if isinstance(value, ast.Constant):
        return type(value.value).__name__
    return next((kind for cls, kind in _LITERALS.items() if isinstance(value, cls)), None)


def _argnames(node) -> tuple[str, ...] | None:
    """The parameters pytest injects into a def (those without a default), or a class's __init__."""
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        if init is None:
            return () if not node.bases and not node.keywords else None
        names = _argnames(init)
        return names[1:] if names else names
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    with_default = {a.arg for a in positional[len(positional) - len(args.defaults):]} if args.defaults else set()
    names = [a.arg for a in args.args if a.arg not in with_default]
    names += [a.arg for a, default in zip(args.kwonlyargs, args.kw_defaults) if default is None]
    return tuple(names)
