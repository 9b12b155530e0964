"""Calling the plugin's own hooks (hookspecs.py): only when someone implements them, one implementation at a time.

Each implementation is called on its own, so that one that raises is reported as a
`SpecweaveHookWarning` naming it (its plugin or conftest.py, and the exception) while the others'
answers are still kept, and nothing the plugin was doing stops.

The hooks the controller asks for the session (CONTROLLER_HOOKS) are taken only from plugins and
the conftest.py files pytest loads at start-up: an xdist controller collects nothing, so it never
loads a conftest.py that pytest finds only while collecting (`increments/0001-x/conftest.py` under
`pytest increments/`). Such an implementation is left out in every process, with a warning when
its conftest.py is loaded, so that a run gives the same reports with `-n 2` as without.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from ..errors import SpecweaveHookWarning
from ..plugin import STARTUP_CONFTESTS, conftest_file

CONTROLLER_HOOKS = ("pytest_specweave_criteria_files", "pytest_specweave_promotion_veto",
                    "pytest_specweave_promotion_notes", "pytest_specweave_report_sections")


def late_controller_hooks(config: pytest.Config, plugin, file: str) -> None:
    """Warn about the controller hooks of a conftest.py (`file`) registered after start-up: they are left out."""
    for name in CONTROLLER_HOOKS:
        if callable(getattr(plugin, name, None)):
            warnings.warn(SpecweaveHookWarning(
                f"{name} in {shown(config, file)} is not asked: pytest loads that conftest.py only while collecting,"
                " and an xdist controller never does. Move it to the rootdir's conftest.py (the hook is given the"
                " increment's path) or a plugin, or name that increment's folder on the command line"),
                stacklevel=2)


def hookimpls(config: pytest.Config, name: str) -> list:
    """The hook's implementations, in pluggy's order; a controller hook's without those of late conftest.py files."""
    caller = getattr(config.hook, name, None)
    if caller is None:
        return []
    impls = caller.get_hookimpls()
    startup = config.stash.get(STARTUP_CONFTESTS, None)
    if name in CONTROLLER_HOOKS and startup is not None:
        impls = [impl for impl in impls if (file := conftest_file(impl.plugin)) is None or file in startup]
    return impls


def given_config(config) -> pytest.Config | None:
    """What an implementation's `config` argument is given: the config, or None for the command (project_hooks.py)."""
    return getattr(config, "passed_to_hooks", config)


def implemented(config: pytest.Config, name: str) -> bool:
    """Whether any plugin or conftest.py implements the hook (cheap: nothing is built when none does)."""
    return bool(hookimpls(config, name))


def shown(config, where: str) -> str:
    """A conftest.py as the reports name it, relative to the rootdir (the same text wherever the run is);
    anything else (a plugin's name) as it is."""
    try:
        return Path(where).relative_to(config.rootpath).as_posix()
    except ValueError:
        return where


def call_each(config: pytest.Config, name: str, **kwargs: Any) -> list[Any]:
    """The answers (None left out) of every implementation of hook `name`, in pluggy's order.

    `config` is passed to the hook too; `kwargs` are its other arguments. An implementation that
    raises is reported as a warning and left out.
    """
    kwargs["config"] = given_config(config)
    answers = []
    for impl in reversed(hookimpls(config, name)):  # pluggy calls the last registered first
        args = {arg: kwargs[arg] for arg in impl.argnames}
        try:
            answer = impl.function(**args)
        except Exception as error:  # noqa: BLE001 - a team's hook must not stop the run
            warn(impl, name, error)
            continue
        if answer is not None:
            answers.append(answer)
    return answers


def call_first(config: pytest.Config, name: str, **kwargs: Any) -> tuple[Any, str | None]:
    """(answer, who) of the first implementation to answer (firstresult hooks); (None, None) when none does.

    An implementation that raises is reported and skipped: a caller for whom a silent skip is unsafe
    (a veto) checks `implemented` and decides itself.
    """
    kwargs["config"] = given_config(config)
    for impl in reversed(hookimpls(config, name)):
        args = {arg: kwargs[arg] for arg in impl.argnames}
        try:
            answer = impl.function(**args)
        except Exception as error:  # noqa: BLE001
            warn(impl, name, error)
            continue
        if answer is not None:
            return answer, describe(impl)
    return None, None


def describe(impl) -> str:
    """Where an implementation lives: the conftest.py's path or the plugin's name."""
    plugin = impl.plugin
    file = getattr(plugin, "__file__", None)
    return str(file) if file else impl.plugin_name


def warn(impl, name: str, error: BaseException) -> None:
    warnings.warn(SpecweaveHookWarning(f"{name} in {describe(impl)} raised {type(error).__name__}: {error}"),
                  stacklevel=2)
