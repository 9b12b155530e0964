"""Calling the plugin's own hooks (hookspecs.py): only when someone implements them, one implementation at a time.

Each implementation is called on its own, so that one that raises is reported as a
`SpecweaveHookWarning` naming it (its plugin or conftest.py, and the exception) while the others'
answers are still kept, and nothing the plugin was doing stops.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from ..errors import SpecweaveHookWarning


def implemented(config: pytest.Config, name: str) -> bool:
    """Whether any plugin or conftest.py implements the hook (cheap: nothing is built when none does)."""
    caller = getattr(config.hook, name, None)
    return caller is not None and bool(caller.get_hookimpls())


def call_each(config: pytest.Config, name: str, **kwargs: Any) -> list[Any]:
    """The answers (None left out) of every implementation of hook `name`, in pluggy's order.

    `config` is passed to the hook too; `kwargs` are its other arguments. An implementation that
    raises is reported as a warning and left out.
    """
    caller = getattr(config.hook, name)
    kwargs["config"] = config
    answers = []
    for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last registered first
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
    caller = getattr(config.hook, name)
    kwargs["config"] = config
    for impl in reversed(caller.get_hookimpls()):
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
