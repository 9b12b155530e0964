"""The hooks of a project's own conftest.py, for the `pytest-specweave` command (it runs no pytest session).

`ProjectHooks(project)` imports `project/conftest.py` (once per process) and stands in for the
`pytest.Config` that the plugin's hook callers take: its hooks are that conftest.py's
`pytest_specweave_*` functions and nothing else's (no other plugin is loaded), and an
implementation's `config` argument is given None. So `pytest-specweave summary` reads the criteria
files, asks the promotion veto and notes and adds the report sections that a pytest run would.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pluggy
import pytest

from ..errors import SpecweaveError

PREFIX = "pytest_specweave_"


class ProjectConftestError(SpecweaveError):
    """The project's conftest.py could not be imported."""


def import_project_conftest(project: Path):
    """`project`/conftest.py as a module, imported once per process; None when there is none."""
    path = Path(project).absolute() / "conftest.py"
    if not path.is_file():
        return None
    module_name = f"pytest_specweave_project_conftest_{abs(hash(str(path.resolve())))}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent))
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # noqa: BLE001 - said in one line naming the file
            raise ProjectConftestError(f"{path.name} could not be imported to read its pytest_specweave hooks:"
                                       f" {type(error).__name__}: {error}") from None
        finally:
            sys.path.remove(str(path.parent))
        sys.modules[module_name] = module
    return module


class _Hooks(pluggy.PluginManager):
    """Takes a conftest.py's unmarked pytest_specweave_* functions, as pytest takes its pytest_* ones."""

    def parse_hookimpl_opts(self, plugin, name: str):
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(PREFIX) and callable(getattr(plugin, name, None)):
            return {}
        return opts


class ProjectHooks:
    """What the hook callers use of a pytest.Config (hook, stash, rootpath), for one project's conftest.py."""

    passed_to_hooks = None  # what an implementation's `config` argument is given

    def __init__(self, project: Path):
        from .. import hookspecs

        self.rootpath = Path(project).absolute()
        self.stash = pytest.Stash()
        self.pluginmanager = _Hooks("pytest")
        self.pluginmanager.add_hookspecs(hookspecs)
        module = import_project_conftest(self.rootpath) if _names_hooks(self.rootpath / "conftest.py") else None
        if module is not None:
            self.pluginmanager.register(module, str(self.rootpath / "conftest.py"))
        self.hook = self.pluginmanager.hook


def _names_hooks(conftest: Path) -> bool:
    """Whether a conftest.py mentions any of the plugin's hooks (one that does not is not imported)."""
    try:
        return PREFIX in conftest.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
