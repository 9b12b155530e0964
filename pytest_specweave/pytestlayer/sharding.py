"""`--sw-shard=i/N`: run one of N shares of the increments, as N CI jobs do between them.

Shards are whole increments (each increment's store is written by one job). The increments
collected are sorted by their path from the rootdir and dealt out in turn: the first to shard 1,
the second to shard 2, …, the (N+1)-th to shard 1 again. Every job collects the same increments,
so the N jobs share them out without talking to each other; tests that belong to no increment run
in shard 1 only. Items of the other shards are deselected (pytest counts them as such). A shard
left with nothing to run (more shards than increments) passes: pytest's "no tests ran" (exit code 5)
becomes 0 there, so that a CI matrix larger than the project does not fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
EMPTY = pytest.StashKey[bool]()  # every item collected belongs to another shard
EMPTY_ON_WORKER = "pytest_specweave_empty_shard"  # the same, in an xdist worker's workeroutput


def parse_shard(value: str) -> tuple[int, int]:
    """`2/3` -> (2, 3); a usage error naming the option for anything else."""
    match = _SHARD.match(value or "")
    if not match:
        raise pytest.UsageError(f"--sw-shard={value}: expected i/N, the shard i of N (1/3, 2/3, 3/3)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise pytest.UsageError(f"--sw-shard={value}: i/N needs 1 <= i <= N (1/3, 2/3, 3/3)")
    return index, count


def shard_of(folders, rootpath: Path, count: int) -> dict[Path, int]:
    """Each increment folder's shard (1-based): sorted by path from the rootdir, dealt out in turn."""
    def key(folder: Path) -> str:
        try:
            return folder.relative_to(rootpath).as_posix()
        except ValueError:
            return folder.as_posix()

    return {folder: position % count + 1 for position, folder in enumerate(sorted(set(folders), key=key))}


def select_shard(config: pytest.Config, items: list) -> None:
    """Deselect, in place, the items outside this shard (pytest_deselected reports them)."""
    from .items import increment_folder

    index, count = parse_shard(config.getoption("sw_shard"))
    folders = {item: increment_folder(item) for item in items}
    shards = shard_of([f for f in folders.values() if f is not None], config.rootpath, count)
    kept, dropped = [], []
    for item in items:
        folder = folders[item]
        wanted = index == 1 if folder is None else shards[folder] == index
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        config.stash[EMPTY] = not kept
        output = getattr(config, "workeroutput", None)
        if output is not None:
            output[EMPTY_ON_WORKER] = not kept


def receive_from_worker(config: pytest.Config, node) -> None:
    config.stash[EMPTY] = config.stash.get(EMPTY, True) and bool(node.workeroutput.get(EMPTY_ON_WORKER))


def finish(session: pytest.Session) -> None:
    """On the controller: a shard with nothing of its own to run passes, and writes its (empty) JSON
    report, which `pytest-specweave gather --report` expects of every shard."""
    config = session.config
    if not config.stash.get(EMPTY, False):
        return
    if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
    if config.getoption("sw_json"):
        from .session import write_json_report

        write_json_report(config, [], config.getoption("sw_json"))
