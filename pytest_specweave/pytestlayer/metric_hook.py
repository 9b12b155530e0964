"""The pytest_specweave_metrics hook: a team's metrics registered at configure, forgotten at unconfigure.

Called from plugin.py only when a conftest.py or a plugin implements the hook. Each implementation's
answer (a `Metric` or a list of them) is registered under its source (the conftest.py relative to
the rootdir, or the plugin's name), so that a clash names both sides. A declaration that cannot be
used stops the run with a usage error: a metric silently missing would make its thresholds unreadable.

The `pytest-specweave` command runs no pytest configure: it calls `register_all` with the hooks of the
project's own conftest.py (project_hooks.py), the same way.
"""

from __future__ import annotations

import pytest

from ..errors import SpecweaveError
from .hook_calls import describe, given_config, hookimpls, shown

HOOK = "pytest_specweave_metrics"


class MetricsHookError(SpecweaveError):
    """An implementation of the hook raised, answered something else than Metrics, or a name clashed."""


def register(config: pytest.Config) -> list[str]:
    """At configure: every implementation's metrics registered; the names (to forget at unconfigure)."""
    try:
        return register_all(config)
    except MetricsHookError as error:
        raise pytest.UsageError(str(error)) from None


def register_all(config) -> list[str]:
    """Register the metrics of every implementation (config: a pytest.Config, or the command's ProjectHooks).

    Returns the names registered; raises MetricsHookError when a declaration cannot be used, leaving
    none of its registrations behind.
    """
    names: list[str] = []
    try:
        for impl in reversed(hookimpls(config, HOOK)):  # pluggy's order
            source = shown(config, describe(impl))
            _register_answer(_call(impl, config, source), source, names)
    except MetricsHookError:
        forget(names)
        raise
    return names


def forget(names: list[str]) -> None:
    from ..evaluation.custom_metrics import unregister_metric

    for name in names:
        unregister_metric(name)


def _call(impl, config, source: str):
    try:
        return impl.function(**{arg: given_config(config) for arg in impl.argnames if arg == "config"})
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
