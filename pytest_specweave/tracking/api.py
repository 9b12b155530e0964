"""The user-facing tracking API: track_experiment, track_model, and which increment they write to.

Which increment, in order:
1. `increment=` given: an id prefix ("0042"), a folder name or a path, resolved from the cwd;
2. inside pytest: the increment of the running item (`active_increment`, set by the pytest layer);
3. the environment variable PYTEST_SPECWEAVE_INCREMENT (a path; set for subprocesses and
   notebook kernels that a task starts; PYTEST_SPECWEAVE_TASK gives the task id);
4. the working directory or one of its parents is an increment folder (a notebook in
   increments/0042-x/notebooks/);
otherwise a SpecweaveError asks for `increment=`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from ..errors import SpecweaveError

ENV_INCREMENT = "PYTEST_SPECWEAVE_INCREMENT"
ENV_TASK = "PYTEST_SPECWEAVE_TASK"

_ACTIVE: ContextVar[tuple[Path, str | None] | None] = ContextVar("pytest_specweave_active_increment", default=None)



@contextmanager
def active_increment(increment_dir, task: str | None = None):
    """Within this block, track_experiment writes to `increment_dir` and records `task` (the pytest layer's hook)."""
    token = _ACTIVE.set((Path(increment_dir).resolve(), task))
    try:
        yield Path(increment_dir)
    finally:
        _ACTIVE.reset(token)


def _resolve(arg) -> Path:
    from ..model.increment import resolve_increment  # raises IncrementNotFound naming the candidates

    return Path(resolve_increment(arg, Path.cwd())).resolve()


def _enclosing(cwd: Path) -> Path | None:
    from ..model.increment import increment_of

    found = increment_of(cwd)
    return Path(found).resolve() if found is not None else None


def _current(increment=None) -> tuple[Path, str | None]:
    """(increment folder, task id or None) for a new experiment."""
    active = _ACTIVE.get()
    env = os.environ.get(ENV_INCREMENT)
    if increment is not None:
        path = _resolve(increment)
        if active is not None and active[0] == path:
            return path, active[1]
        if env and _resolve(env) == path:  # a notebook kernel started by a task, naming its increment
            return path, os.environ.get(ENV_TASK) or None
        return path, None
    if active is not None:
        return active
    if env:
        return _resolve(env), os.environ.get(ENV_TASK) or None
    cwd = Path.cwd()
    found = _enclosing(cwd)
    if found is not None:
        return found, None
    raise SpecweaveError(
        f"no increment to track into: {cwd} is not inside an increment folder"
        " (increments/NNNN-name/ holding spec.md, tasks.md or tests.md);"
        " pass increment='0042' (an id prefix, folder name or path) to track_experiment"
    )


def current_increment(increment=None) -> Path:
    """The increment folder an experiment started now would be written to (see the module docstring)."""
    return _current(increment)[0]


def _open(name, kind, baseline, increment, task):
    from .store import ExperimentStore

    path, active_task = _current(increment)
    return ExperimentStore(path).open_run(
        name, baseline=baseline, task=task if task is not None else active_task, kind=kind
    )


def track_experiment(name, *, baseline=False, increment=None, task=None):
    """Start an experiment run (status running) and return it; use it as a context manager.

    `with track_experiment("xgboost") as exp: exp.log_metric("rmse", 1.2)` — leaving the block
    finishes it (succeeded), an exception marks it failed (with a note) and propagates.
    """
    return _open(name, "experiment", baseline, increment, task)


def track_model(name, *, baseline=False, increment=None, task=None):
    """As track_experiment, for a model-producing run (meta.json "kind": "model")."""
    return _open(name, "model", baseline, increment, task)
