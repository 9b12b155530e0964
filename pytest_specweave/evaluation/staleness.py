"""Stale verdicts: judged on an experiment that a task of this run should have made again, but did not
(the task failed, or did not run because a task it depends on failed). Such a verdict is the earlier
run's: it says so, and never counts as a pass of this run.

Plain Python: knows verdicts and the store's records, nothing of pytest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..tracking.store import parse_iso


@dataclass(frozen=True)
class UnfinishedTask:
    """A task of this run that did not make its experiments again."""

    id: str
    start: float  # when its item began in this run (seconds since the epoch)
    why: str  # "failed", "did not run (dependency T-001 failed)"


def unfinished_tasks(results) -> dict[str, UnfinishedTask]:
    """Task id -> UnfinishedTask, from (id, outcome, message, start) of this run's task items."""
    found = {}
    for task_id, outcome, message, start in results:
        if start is None:
            continue
        if outcome == "failed":
            found[task_id] = UnfinishedTask(task_id, start, "failed")
        elif outcome == "skipped" and str(message).startswith("dependency"):
            found[task_id] = UnfinishedTask(task_id, start, f"did not run ({message})")
    return found


def stale_because(verdict, records, unfinished: dict[str, UnfinishedTask]) -> str | None:
    """Why `verdict` is stale ("stale: exp-002-logreg is from an earlier run (run 1, 2026-12-02 10:15 UTC);
    T-002 failed this run"), or None: it judged (or compared with) an experiment of an unfinished task
    that started before that task's item did in this run."""
    if not unfinished:
        return None
    by_folder = {r.folder: r for r in records}
    for folder in (verdict.experiment, getattr(verdict, "reference_experiment", None)):
        record = by_folder.get(folder) if folder else None
        task = unfinished.get(record.task or "") if record is not None else None
        started = parse_iso(record.started) if task is not None else None
        if started is not None and started < task.start:
            when = record.started[:16].replace("T", " ") + " UTC"
            return f"stale: {folder} is from an earlier run (run {record.run}, {when}); {task.id} {task.why} this run"
    return None
