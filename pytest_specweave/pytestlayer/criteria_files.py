"""The `pytest_specweave_criteria_files` hook: more files of an increment to collect criteria from.

Asked once per increment and process (the answer is kept for the session), by the collector, by
the controller that records the items' reports and writes the increment's reports. Imports pytest
and the standard library only: the plugin's entry module asks it while collecting.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..layout import INCREMENT_FILES
from .hook_calls import call_each, implemented

HOOK = "pytest_specweave_criteria_files"
_DECLARED = pytest.StashKey[dict]()  # increment folder -> the names declared for it


def criteria_files(config: pytest.Config, folder: Path) -> tuple[str, ...]:
    """The file names declared for the increment in `folder` (none when nobody implements the hook).

    A name of the increment's own files, or a name with a folder in it, is refused: the collection
    of the file being collected fails with that message alone (no traceback), and pytest (and each
    xdist worker) stops before running anything. Asked again, the names kept are answered.
    """
    if not implemented(config, HOOK):
        return ()
    folder = Path(os.path.abspath(folder))
    declared = config.stash.setdefault(_DECLARED, {})
    if folder not in declared:
        names: list[str] = []
        for answer in call_each(config, HOOK, increment_path=folder):
            for name in [answer] if isinstance(answer, (str, Path)) else answer:
                names.append(str(name))
        refused = [name for name in names if name in INCREMENT_FILES]
        nested = [name for name in names if Path(name).name != name or name in ("", ".", "..")]
        declared[folder] = tuple(dict.fromkeys(name for name in names if name not in refused + nested))
        if refused:
            raise pytest.Collector.CollectError(
                f"usage error: {HOOK} named {', '.join(refused)} for {folder.name}: the increment's own files "
                f"({', '.join(INCREMENT_FILES)}) are collected already; name other files")
        if nested:
            raise pytest.Collector.CollectError(
                f"usage error: {HOOK} named {', '.join(map(repr, nested))} for {folder.name}: give file names "
                "of the increment's folder (acceptance.md), without a folder")
    return declared[folder]


def is_criteria_file(config: pytest.Config, path: Path) -> bool:
    """Whether `path` is a file declared for the increment it lies in (the caller knows the folder is one)."""
    return path.name not in INCREMENT_FILES and path.name in criteria_files(config, path.parent)


def load_increment(config: pytest.Config, folder: Path):
    """The Increment in `folder`, with the criteria files declared for it."""
    from ..model.increment import Increment

    return Increment.load(folder, criteria_files=criteria_files(config, Path(folder)))
