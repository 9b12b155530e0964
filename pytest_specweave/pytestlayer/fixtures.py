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
    """An experiment named after the running task, opened when the task first uses it: failed if the task item
    failed (raised, returned what cannot be logged, a fixture failed ...), else succeeded. A task that never
    used it, or recorded nothing in it, leaves no experiment of its own (its code tracked its own)."""
    item = _increment_item(request, "experiment")
    element = item.sw_element
    store = ExperimentStore(item.sw_increment.path)
    experiment = TaskExperiment(lambda: store.open_run(_task_experiment_name(element.id, element.title),
                                                       task=element.id))
    existed = store.root.is_dir()
    try:
        yield experiment
    finally:
        failed = getattr(item, "_sw_raised", False) or getattr(item, "_sw_failed", False)
        removed = existed and not store.root.is_dir()  # by the task: it failed saying so
        if failed and experiment.sw_opened is None and not removed:
            experiment.sw_open()  # a failure is a finding: on record even when the task logged nothing
        run = experiment.sw_opened
        if run is None:
            pass
        elif not run.path.is_dir():
            pass  # the task removed the store: the task failed saying so, and there is nothing to write into
        elif failed:
            run.log_note(f"{element.id} failed: see the pytest report")
            run.finish("failed")
        elif not run.discard_if_empty():
            run.finish()


class TaskExperiment:
    """The `experiment` fixture's value: the task's Experiment (tracking/experiment.py), opened on first use."""

    def __init__(self, opener):
        self._opener = opener
        self._run = None

    @property
    def sw_opened(self):
        """The Experiment once opened, else None."""
        return self._run

    def sw_open(self):
        if self._run is None:
            self._run = self._opener()
        return self._run

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_opener", "_run"):
            raise AttributeError(name)
        return getattr(self.sw_open(), name)

    def __enter__(self):
        return self.sw_open().__enter__()

    def __exit__(self, *exc_info):
        return self.sw_open().__exit__(*exc_info)

    def __repr__(self) -> str:
        return repr(self._run) if self._run is not None else "<Experiment of the running task, not opened yet>"


TITLE_LENGTH = 40  # characters of the title an experiment name keeps (whole words)
# Words a phrase may begin with: a title is cut before one rather than after it.
_LINKING_WORDS = frozenset("a an and at by for from in into of on or over the to using via vs with without".split())


def _task_experiment_name(task_id: str, title: str, length: int = TITLE_LENGTH) -> str:
    """`T-008` + the title, cut at a phrase boundary when longer than `length` characters:
    `T-002 Train logistic regression on the scaled features` -> `T-002 Train logistic regression`."""
    words, boundaries = [], []
    for raw in title.split():
        if raw.startswith(("(", "[")) or (words and words[-1][1]):
            boundaries.append(len(words))  # a parenthesis opens, or the word before ended a clause
        word = raw.strip("()[]")
        if any(c.isalnum() for c in word):
            words.append((word.rstrip(",;:."), word.endswith((",", ";", ":", ")", "]")) or raw.endswith((")", "]"))))
    if len(" ".join(w for w, _ in words)) > length:
        kept = []
        for word, _ in words:
            if len(" ".join([*kept, word])) > length and kept:
                break
            kept.append(word)
        cuts = [i for i in range(1, len(kept)) if i in boundaries
                or (kept[i].lower() in _LINKING_WORDS and kept[i - 1].lower() not in _LINKING_WORDS)]
        if cuts and cuts[-1] >= 2:
            kept = kept[:cuts[-1]]
        while len(kept) > 1 and kept[-1].lower() in _LINKING_WORDS:
            kept.pop()
        chosen = kept
    else:
        chosen = [w for w, _ in words]
    return " ".join([task_id, *chosen])
