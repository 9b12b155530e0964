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
    """An experiment named after the running task: failed if the task item failed (raised, returned what
    cannot be logged, a fixture failed ...), else succeeded."""
    item = _increment_item(request, "experiment")
    element = item.sw_element
    store = ExperimentStore(item.sw_increment.path)
    experiment = store.open_run(_task_experiment_name(element.id, element.title), task=element.id)
    try:
        yield experiment
    finally:
        if not experiment.path.is_dir():
            pass  # the task removed the store: the task failed saying so, and there is nothing to write into
        elif getattr(item, "_sw_raised", False) or getattr(item, "_sw_failed", False):
            experiment.log_note(f"{element.id} failed: see the pytest report")
            experiment.finish("failed")
        else:
            experiment.finish()


def _task_experiment_name(task_id: str, title: str, words: int = 4) -> str:
    """`T-008` + the first words of its title: `T-008 Production deployment preparation latency`."""
    kept = [w for w in title.replace("(", " ").replace(")", " ").split() if any(c.isalnum() for c in w)]
    return " ".join([task_id, *kept[:words]])
