"""What a pytest session saw but did not collect: folders that look like increments and lines shaped
like tasks, criteria or success metrics (model/skipped.py), said once at the end of the run.

Collection records them; under pytest-xdist each worker collects and sends its records in its
`workeroutput`, and the controller keeps one of each, so `-n 2` says what a plain run says.
Folders are listed one line each; lines are counted, and listed with `-v` or `-rs` (like skip
reasons). The JSON report (`--sw-json`) carries them all.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..model.skipped import INCREMENT_FILES, SET_ASIDE, Skipped, folder_skipped, sort_key
from ..plugin import SKIPPED as _RECORDS
from ..plugin import SKIPPED_FROM_WORKER as WORKER_KEY


def record(config: pytest.Config, records) -> None:
    found = config.stash.setdefault(_RECORDS, {})
    for item in records:
        found.setdefault((item.path, item.line, item.reason), item)


def records(config: pytest.Config) -> list[Skipped]:
    return sorted(config.stash.get(_RECORDS, {}).values(), key=sort_key)


def record_named_folders(config: pytest.Config) -> None:
    """Command-line folders in `increments/` that look like increments but are none (pytest walks
    only what is below a named path, so only the name says why nothing was collected)."""
    for arg in config.args:
        path = Path(os.path.abspath(os.path.join(config.invocation_params.dir, arg.split("::", 1)[0])))
        if path.name in INCREMENT_FILES and path.is_file():
            path = path.parent
        if path.parent.name == "increments" or path.parent.name in SET_ASIDE:
            found = folder_skipped(path)
            if found is not None:
                record(config, [found])


def send_to_controller(config: pytest.Config) -> None:
    """On an xdist worker: the records go back with the worker's output."""
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output[WORKER_KEY] = [item.as_json(_relative(config.rootpath, item.path)) for item in records(config)]


def receive_from_worker(config: pytest.Config, node) -> None:
    output = getattr(node, "workeroutput", None) or {}
    record(config, [Skipped.from_json(data, config.rootpath) for data in output.get(WORKER_KEY, ())])


def terminal_lines(terminalreporter) -> None:
    config = terminalreporter.config
    found = records(config)
    if not found:
        return
    lines = [item for item in found if item.line is not None]
    for item in found:
        if item.line is not None:
            continue
        shown = _relative(config.invocation_params.dir, item.path)
        if item.path.name in SET_ASIDE:  # `skipped 3 archived increments under increments/_archive (…)`
            head, _, tail = item.reason.partition(" (")
            terminalreporter.write_line(f"specweave: skipped {head} under {shown} ({tail}")
        else:
            terminalreporter.write_line(f"specweave: {shown} is no increment: it {item.reason}", yellow=True)
    if not lines:
        return
    noun = "line" if len(lines) == 1 else "lines"
    title = f"specweave: {len(lines)} {noun} not read as tasks, criteria or success metrics"
    if config.getoption("verbose", 0) > 0 or "s" in getattr(terminalreporter, "reportchars", ""):
        terminalreporter.write_sep("-", title)
        for item in lines:
            where = f"{_relative(config.invocation_params.dir, item.path)}:{item.line}"
            terminalreporter.write_line(f"{where}: {item.reason}: {item.text}")
    else:
        terminalreporter.write_line(f"{title} (-rs or -v lists them)")


def json_entries(config: pytest.Config) -> list[dict]:
    entries = []
    for item in records(config):
        entry = item.as_json(_relative(config.rootpath, item.path))
        entry["increment"] = item.path.parent.name if item.line is not None else None
        entries.append(entry)
    return entries


def _relative(base: Path, path: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, base)).as_posix()
