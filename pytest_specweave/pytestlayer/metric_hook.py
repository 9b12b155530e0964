"""The pytest_specweave_metrics hook: a team's metrics registered at configure, forgotten at unconfigure.

Called from plugin.py only when a conftest.py or a plugin implements the hook. Each implementation's
answer (a `Metric` or a list of them) is registered under its source (the conftest.py relative to
the rootdir, or the plugin's name), so that a clash names both sides. A declaration that cannot be
used stops the run with a usage error: a metric silently missing would make its thresholds unreadable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .hook_calls import describe

HOOK = "pytest_specweave_metrics"


def register(config: pytest.Config) -> list[str]:
    """Register every implementation's metrics; the names registered (to forget at unconfigure)."""
    from ..evaluation.custom_metrics import Metric, MetricNameClash, register_metric

    names: list[str] = []
    try:
        for impl in reversed(getattr(config.hook, HOOK).get_hookimpls()):  # pluggy's order
            source = _source(config, impl)
            try:
                answer = impl.function(**{arg: config for arg in impl.argnames if arg == "config"})
            except Exception as error:  # noqa: BLE001 - said as a usage error naming the conftest.py
                raise pytest.UsageError(f"{HOOK} in {source} raised {type(error).__name__}: {error}") from None
            for metric in _as_list(answer):
                if not isinstance(metric, Metric):
                    raise pytest.UsageError(f"{HOOK} in {source} returned {type(metric).__name__}; expected a"
                                            " pytest_specweave.Metric or a list of them")
                try:
                    register_metric(metric, source)
                except MetricNameClash as clash:
                    raise pytest.UsageError(str(clash)) from None
                names.append(metric.name)
    except pytest.UsageError:
        forget(names)
        raise
    return names


def forget(names: list[str]) -> None:
    from ..evaluation.custom_metrics import unregister_metric

    for name in names:
        unregister_metric(name)


def _as_list(answer) -> list:
    if answer is None:
        return []
    return list(answer) if isinstance(answer, (list, tuple)) else [answer]


def _source(config: pytest.Config, impl) -> str:
    where = describe(impl)
    try:
        return Path(where).relative_to(config.rootpath).as_posix()
    except ValueError:
        return where
