"""Increment folders: finding them, naming them, and loading what their markdown says.

An increment is a folder named `NNNN-slug` (or `NNNNE-slug`, `NNNNG-slug`…: SpecWeave's imported work) under `increments/` (this project's layout) or
`.specweave/increments/` (SpecWeave's), holding spec.md, tasks.md and/or tests.md. More files may be
read for criteria as tests.md is (`criteria_files`, e.g. acceptance.md): their criteria join tests.md's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import IncrementNotFound, SourceError
from ..layout import INCREMENT_FILES, INCREMENT_NAME
from .criteria import CriterionList, parse_criteria
from .skipped import Skipped
from .spec import Spec, parse_spec
from .tasks import TaskList, parse_tasks

# The folder rule (layout.py). A prefix `0002` also selects 0002E-slug, since SpecWeave counts 0002 and
# 0002E as the same number (they cannot coexist).
INCREMENT_DIR = INCREMENT_NAME
MARKDOWN_FILES = INCREMENT_FILES
# Folders inside an increment that hold data or outputs: never searched for tests.
DATA_DIRS = ("data", "models", "experiments", "notebooks", "mlruns")
SEARCHED = ("increments", os.path.join(".specweave", "increments"))
_MAX_LISTED = 20


@dataclass(eq=False)
class Increment:
    path: Path  # the folder
    id: str  # "0042"
    name: str  # "0042-recommendation-model"
    metadata: dict = field(default_factory=dict)  # metadata.json, or {}
    problems: list[SourceError] = field(default_factory=list)  # e.g. a broken metadata.json
    criteria_files: tuple[str, ...] = ()  # more files of the folder read for criteria as tests.md is

    @classmethod
    def load(cls, path: str | Path, criteria_files: tuple[str, ...] | list[str] = ()) -> Increment:
        """The increment in this folder; the same object while its files are unchanged.

        criteria_files: names of more markdown files in the folder (not spec.md, tasks.md or
        tests.md) whose criteria are read as tests.md's are, after them.
        """
        path = Path(os.path.abspath(path))
        match = INCREMENT_DIR.match(path.name)
        if match is None or not path.is_dir():
            raise IncrementNotFound(f"{path} is not an increment folder (expected a name like 0042-slug)")
        criteria_files = tuple(dict.fromkeys(criteria_files))
        own = [name for name in criteria_files if name in MARKDOWN_FILES or Path(name).name != name]
        if own:
            raise ValueError(f"criteria files must be other file names of the folder, not {', '.join(own)}")
        signature = _signature(path, criteria_files)
        cached = _CACHE.get((path, criteria_files))
        if cached is not None and cached[0] == signature:
            return cached[1]
        increment = cls(path, match.group(1), path.name, criteria_files=criteria_files)
        increment.metadata = increment._read_metadata()
        _CACHE[(path, criteria_files)] = (signature, increment)
        return increment

    @cached_property
    def spec(self) -> Spec | None:
        """spec.md parsed; None when there is none. An unreadable file is a problem of the Spec."""
        file = self.path / "spec.md"
        if not file.is_file():
            return None
        try:
            return parse_spec(file)
        except SourceError as error:
            return Spec(file, problems=[error])

    @cached_property
    def tasks(self) -> TaskList | None:
        file = self.path / "tasks.md"
        if not file.is_file():
            return None
        try:
            return parse_tasks(file)
        except SourceError as error:
            return TaskList(file, [], [error])

    @cached_property
    def criteria_lists(self) -> dict[str, CriterionList]:
        """The criteria of tests.md and of each criteria file, by file name (files that exist, in that order).

        A criterion id already given in an earlier file is a problem at its line, not a second criterion.
        """
        directions = self.spec.directions if self.spec is not None else None
        found: dict[str, CriterionList] = {}
        first: dict[str, str] = {}  # id -> "file:line" where it was given
        for name in ("tests.md", *self.criteria_files):
            file = self.path / name
            if not file.is_file():
                continue
            try:
                part = parse_criteria(file, directions)
            except SourceError as error:
                part = CriterionList(file, [], [error])
            kept = []
            for criterion in part.criteria:
                if criterion.id in first:
                    part.problems.append(SourceError(f"{criterion.id} is already a criterion of {first[criterion.id]}",
                                                     file, criterion.line))
                else:
                    first[criterion.id] = f"{name}:{criterion.line}"
                    kept.append(criterion)
            part.criteria = kept
            found[name] = part
        return found

    @cached_property
    def criteria(self) -> CriterionList | None:
        """Every criterion: tests.md's, then the criteria files' (each criterion keeps its own path)."""
        parts = list(self.criteria_lists.values())
        if len(parts) <= 1:
            return parts[0] if parts else None
        return CriterionList(parts[0].path, [c for part in parts for c in part.criteria],
                             [p for part in parts for p in part.problems],
                             [s for part in parts for s in part.skipped])

    @property
    def tracks_experiments(self) -> bool:
        """True when the increment has an experiments/ folder or any task or criterion links code."""
        if (self.path / "experiments").is_dir():
            return True
        if self.tasks is not None and any(task.link for task in self.tasks.tasks):
            return True
        return self.criteria is not None and any(criterion.link for criterion in self.criteria.criteria)

    @property
    def all_problems(self) -> list[SourceError]:
        """Every problem found in the increment's files, metadata.json first."""
        found = list(self.problems)
        for part in (self.spec, self.tasks, self.criteria):
            if part is not None:
                found.extend(part.problems)
        return found

    @property
    def skipped(self) -> list[Skipped]:
        """Every line of spec.md, tasks.md and tests.md shaped like an item that is none, with why."""
        found = []
        for part in (self.spec, self.tasks, self.criteria):
            if part is not None:
                found.extend(part.skipped)
        return found

    @property
    def title(self) -> str:
        return (self.spec.title if self.spec is not None else None) or self.name

    def _read_metadata(self) -> dict:
        file = self.path / "metadata.json"
        if not file.is_file():
            return {}
        try:
            text = file.read_bytes().decode("utf-8-sig")
            data = json.loads(text)
        except UnicodeDecodeError:
            self.problems.append(SourceError("metadata.json is not UTF-8 text", file, 1))
            return {}
        except json.JSONDecodeError as exc:
            self.problems.append(SourceError(f"metadata.json is not valid JSON: {exc.msg}", file, exc.lineno))
            return {}
        except (OSError, RecursionError, ValueError) as exc:
            self.problems.append(SourceError(f"metadata.json cannot be read: {exc}", file))
            return {}
        if not isinstance(data, dict):
            self.problems.append(SourceError("metadata.json must hold a JSON object", file, 1))
            return {}
        return data


_CACHE: dict[Path, tuple[tuple, Increment]] = {}


def _signature(path: Path, criteria_files: tuple[str, ...] = ()) -> tuple:
    """What changes when any file the model reads changes."""
    signature = []
    for name in (*MARKDOWN_FILES, *criteria_files, "metadata.json"):
        try:
            stat = (path / name).stat()
            signature.append((name, stat.st_mtime_ns, stat.st_size))
        except OSError:
            signature.append((name, None))
    return tuple(signature)


def is_increment_dir(path: str | Path) -> bool:
    """A folder named `NNNN-slug` that holds spec.md, tasks.md or tests.md."""
    path = Path(path)
    return (
        INCREMENT_DIR.match(path.name) is not None
        and path.is_dir()
        and any((path / name).is_file() for name in MARKDOWN_FILES)
    )


def increment_of(path: str | Path) -> Path | None:
    """The increment folder that a file or folder lies in (or is), else None."""
    path = Path(os.path.abspath(path))
    for candidate in (path, *path.parents):
        if is_increment_dir(candidate):
            return candidate
    return None


def resolve_increment(arg: str | Path, cwd: str | Path) -> Path:
    """The increment folder that a command-line argument names.

    Accepted: a full path or name (`increments/0042-recommendation-model`), and a prefix of a folder
    name (`0042`, `0042-rec`, `increments/0042`, `.specweave/increments/0042`). A bare prefix is
    looked up in the working directory, `increments/` and `.specweave/increments/`; a prefix with a
    folder in front of it only in that folder. Raises IncrementNotFound naming the candidates when
    nothing matches or several folders do.
    """
    cwd = Path(os.path.abspath(cwd))
    given = Path(os.path.expanduser(str(arg)))
    full = Path(os.path.abspath(cwd / given))
    if full.is_dir() and INCREMENT_DIR.match(full.name):
        return full
    prefix = full.name
    if str(arg).rstrip("/\\") in ("", ".", "..") or not prefix:
        raise IncrementNotFound(f"{arg!r} does not name an increment")
    if len(given.parts) > 1 or given.is_absolute():
        roots = [full.parent]
    else:
        roots = [cwd, *(cwd / folder for folder in SEARCHED)]
    matches = [
        folder for root in roots for folder in _increment_folders(root) if folder.name.startswith(prefix)
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = _listing(matches, cwd)
        raise IncrementNotFound(f"{arg!r} matches several increments: {listed}; give more of the name")
    existing = [folder for root in roots for folder in _increment_folders(root)]
    where = " or ".join(_shown(root, cwd) + "/" for root in roots)
    if not existing:
        raise IncrementNotFound(f"no increment matches {arg!r}: there are no increment folders in {where}")
    raise IncrementNotFound(f"no increment matches {arg!r}; increments in {where}: {_listing(existing, cwd)}")


def _increment_folders(root: Path) -> list[Path]:
    try:
        return sorted(entry for entry in root.iterdir() if INCREMENT_DIR.match(entry.name) and entry.is_dir())
    except OSError:
        return []


def _listing(folders: list[Path], cwd: Path) -> str:
    shown = [_shown(folder, cwd) for folder in folders[:_MAX_LISTED]]
    if len(folders) > _MAX_LISTED:
        shown.append(f"… and {len(folders) - _MAX_LISTED} more")
    return ", ".join(shown)


def _shown(path: Path, cwd: Path) -> str:
    try:
        shown = str(path.relative_to(cwd))
        return "." if shown == "." else shown
    except ValueError:
        return str(path)
