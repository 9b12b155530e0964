"""The pytest_specweave_metrics hook: a team's metrics registered at configure, forgotten at unconfigure.

Called from plugin.py only when a conftest.py or a plugin implements the hook. Each implementation's
answer (a `Metric` or a list of them) is registered under its source (the conftest.py relative to
the rootdir, or the plugin's name), so that a clash names both sides. A declaration that cannot be
used stops the run with a usage error: a metric silently missing would make its thresholds unreadable.

The `pytest-specweave` command runs no pytest configure: `load_project_metrics` registers what the
project's own conftest.py (next to `increments/`) declares, the same way.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ..errors import SpecweaveError
from .hook_calls import describe, shown

HOOK = "pytest_specweave_metrics"


class MetricsHookError(SpecweaveError):
    """An implementation of the hook raised, answered something else than Metrics, or a name clashed."""


def register(config: pytest.Config) -> list[str]:
    """Register every implementation's metrics; the names registered (to forget at unconfigure)."""
    names: list[str] = []
    try:
        for impl in reversed(getattr(config.hook, HOOK).get_hookimpls()):  # pluggy's order
            source = shown(config, describe(impl))
            _register_answer(_call(impl.function, impl.argnames, config, source), source, names)
    except MetricsHookError as error:
        forget(names)
        raise pytest.UsageError(str(error)) from None
    return names


def load_project_metrics(project: Path) -> list[str]:
    """Register what `project`/conftest.py's pytest_specweave_metrics answers (config is None there)."""
    from .project_hooks import ProjectConftestError, import_project_conftest

    path = project / "conftest.py"
    names: list[str] = []
    if not path.is_file() or HOOK not in path.read_text(encoding="utf-8", errors="replace"):
        return names
    try:
        module = import_project_conftest(project)
    except ProjectConftestError as error:
        raise MetricsHookError(str(error)) from None
    function = getattr(module, HOOK, None)
    if callable(function):
        argnames = tuple(inspect.signature(function).parameters)
        try:
            _register_answer(_call(function, argnames, None, "conftest.py"), "conftest.py", names)
        except MetricsHookError:
            forget(names)
            raise
    return names


def forget(names: list[str]) -> None:
    from ..evaluation.custom_metrics import unregister_metric

    for name in names:
        unregister_metric(name)


def _call(function, argnames, config, source: str):
    try:
        return function(**{arg: config for arg in argnames if arg == "config"})
    except Exception as error:  # noqa: BLE001 - said as a usage error naming the conftest.py
        raise MetricsHookError(f"{HOOK} in {source} raised {type(error).__name__}: {error}") from None


def _register_answer(answer, source: str, names: list[str]) -> None:
    from ..evaluation.custom_metrics import Metric, MetricNameClash, register_metric

    for metric in _as_list(answer):
        if not isinstance(metric, Metric):
            raise MetricsHookError(f"{HOOK} in {source} returned {type(metric).__name__}; expected a"
                                   " pytest_specweave.Metric or a list of them")
        try:
            register_metric(metric, source)
        except MetricNameClash as clash:
            raise MetricsHookError(str(clash)) from None
        names.append(metric.name)


def _as_list(answer) -> list:
    if answer is None:
        return []
    return list(answer) if isinstance(answer, (list, tuple)) else [answer]
