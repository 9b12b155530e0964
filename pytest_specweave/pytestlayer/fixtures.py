"""The bodies of the plugin's fixtures (`experiment`, `increment`, `spec`), imported when first used."""

from __future__ import annotations

import pytest

from ..tracking.store import ExperimentStore


def _increment_item(request: pytest.FixtureRequest, fixture: str):
    item = request.node
    if getattr(item, "sw_increment", None) is None:
        raise pytest.UsageError(
            f"the {fixture!r} fixture belongs to increment tasks and criteria (tasks.md, tests.md); "
            "elsewhere use pytest_specweave.track_experiment(name, increment=...)")
    return item


def item_increment(request: pytest.FixtureRequest):
    return _increment_item(request, "increment").sw_increment


def task_experiment(request: pytest.FixtureRequest):
    """An experiment named after the running task: failed if the task raised, else succeeded."""
    item = _increment_item(request, "experiment")
    element = item.sw_element
    store = ExperimentStore(item.sw_increment.path)
    experiment = store.open_run(f"{element.id} {element.title}"[:80], task=element.id)
    try:
        yield experiment
    finally:
        if getattr(item, "_sw_raised", False):
            experiment.log_note(f"{element.id} raised: see the pytest report for the traceback")
            experiment.finish("failed")
        else:
            experiment.finish()
