"""What the reader saw but did not read: a line shaped like a task, criterion or success metric that
is no item, or a folder in `increments/` that looks like an increment but is none.

A skipped record is a decision, not an error: `pytest-specweave list` and pytest show them (with
their file, line and reason) so that nothing is left out silently, and nothing fails because of one.
Standard library only: the pytest plugin imports this module while it walks `increments/`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..layout import INCREMENT_FILES, INCREMENT_NAME, SET_ASIDE

_SHOWN_TEXT = 100


@dataclass(frozen=True)
class Skipped:
    path: Path  # the file holding the line, or the folder skipped
    line: int | None  # 1-based; None for a folder
    reason: str
    text: str = ""  # the line as written (clipped), or the folder's name

    @property
    def kind(self) -> str:
        return "folder" if self.line is None else "line"

    def as_json(self, path: str) -> dict:
        """The record with its path as the caller shows it (relative to the project or the working folder)."""
        return {"kind": self.kind, "file": path, "line": self.line, "reason": self.reason, "text": self.text}

    @classmethod
    def from_json(cls, data: dict, root: Path) -> Skipped:
        return cls(root / data["file"], data["line"], data["reason"], data["text"])


def line_skipped(path: Path, lineno: int, text: str, reason: str) -> Skipped:
    text = text.strip()
    if len(text) > _SHOWN_TEXT:
        text = text[: _SHOWN_TEXT - 1] + "…"
    return Skipped(path, lineno, reason, text)


def holds_increment_files(folder: Path) -> bool:
    return any(os.path.isfile(os.path.join(folder, name)) for name in INCREMENT_FILES)


def folder_skipped(folder: Path) -> Skipped | None:
    """Why a folder in `increments/` (or in its `_archive/`, `_abandoned/`, `_paused/`) is no increment,
    when it looks like one: its name is NNNN-slug but it holds no spec.md, tasks.md or tests.md, or it
    holds them under another name (`42-x`, `0042_x`, `J-12-jira-import`). None for an increment, and
    for a folder that looks like none (`_templates`, `docs`)."""
    folder = Path(folder)
    parent = folder.parent
    in_increments = parent.name == "increments" or (parent.name in SET_ASIDE and parent.parent.name == "increments")
    if not in_increments or not folder.is_dir() or folder.name in SET_ASIDE:
        return None
    name = folder.name
    named = INCREMENT_NAME.match(name) is not None
    holds = holds_increment_files(folder)
    if named and holds:
        return None
    if named:
        return Skipped(folder, None, "holds no spec.md, tasks.md or tests.md", name)
    if not holds:
        return None
    return Skipped(folder, None, f"holds {_files_in(folder)} but is not named NNNN-slug ({_name_problem(name)})", name)


def _files_in(folder: Path) -> str:
    return ", ".join(name for name in INCREMENT_FILES if (folder / name).is_file())


def _name_problem(name: str) -> str:
    number = re.match(r"^(\d+)([A-Za-z]*)([-_. ]?)", name)
    if number is None:
        return "it does not start with a four-digit number"
    digits, letters, separator = number.groups()
    if len(digits) != 4:
        return f"{len(digits)} digits where SpecWeave writes four"
    if letters and (len(letters) > 1 or not letters.isupper()):
        return f"{letters!r} after the number: SpecWeave writes one capital letter there (0002E, 0002G) or none"
    if not separator:
        return "no dash after the number"
    if separator != "-":
        return f"{separator!r} after the number where a dash belongs"
    return "the name after the dash must start with a letter or digit"


def set_aside_skipped(folder: Path, count: int) -> Skipped:
    """The record of an `_archive/`, `_abandoned/` or `_paused/` folder whose increments a run skipped."""
    noun = "increment" if count == 1 else "increments"
    return Skipped(folder, None, f"{count} {SET_ASIDE[folder.name]} {noun} (name one to run it)", folder.name)


def sort_key(record: Skipped) -> tuple:
    return (str(record.path), record.line or 0, record.reason)
