"""create_increment: check the request, pick the number and slug, render, and write atomically.

Nothing is written until the title, the type, the folder and the number are known to be good and
every template has rendered. The files are then written into a temporary folder beside the target
(`.tmp-new-…`, a dot-folder that pytest never enters) which is renamed into place at the end: a
failure removes it, and an increments folder this call created, so nothing is left behind.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import SpecweaveError
from . import naming, rendering

DEFAULT_DIR = "increments"
SPECWEAVE_DIR = os.path.join(".specweave", "increments")


class ScaffoldError(SpecweaveError):
    """A request `new` refuses (bad title, type, folder or number); nothing was created."""


@dataclass
class Created:
    path: Path  # the new increment folder
    problem_type: str
    files: list[str] = field(default_factory=list)  # relative to `path`, posix


def choose_folder(directory: str | os.PathLike | None, cwd: Path) -> Path:
    """The increments folder: `directory` when given; else increments/ when it exists, else
    .specweave/increments/ when that exists (a SpecWeave project), else increments/ (created)."""
    if directory is not None:
        return Path(os.path.abspath(cwd / directory))  # cwd / an absolute path is that path
    if (cwd / DEFAULT_DIR).is_dir() or not (cwd / SPECWEAVE_DIR).is_dir():
        return cwd / DEFAULT_DIR
    return cwd / SPECWEAVE_DIR


def check_title(title: str) -> str:
    stripped = (title or "").strip()
    if not stripped:
        raise ScaffoldError('the title is empty: name the increment, e.g. pytest-specweave new "fraud detection" '
                            "--type classification")
    if any(ord(c) < 32 or ord(c) == 127 for c in stripped):
        raise ScaffoldError(f"the title {stripped!r} holds a line break or a control character: give a one-line title")
    return stripped


def check_type(problem_type: str) -> str:
    key = (problem_type or "").strip().lower()
    if key not in rendering.PROBLEM_TYPES:
        raise ScaffoldError(f"unknown --type {problem_type!r}: expected one of {', '.join(rendering.PROBLEM_TYPES)}")
    return key


def _shown(path: Path, cwd: Path) -> str:
    """`path` for messages: relative to the working directory when inside it, else absolute."""
    return path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else path.as_posix()


# spec.md reads a heading that says Success Metrics, Success Criteria or Model Requirements as the
# start of a section of metrics, down to the next heading of its level: spec.md's title heading must
# not, or every list item below it would be read as a threshold. A no-break space between the two
# words keeps the title as it reads.
_SECTION_WORDS = re.compile(r"\b(success)[ \t]+(metrics?|criteria)\b|\b(model)[ \t]+(requirements)\b", re.IGNORECASE)


def heading_title(title: str) -> str:
    return _SECTION_WORDS.sub(lambda m: "\u00a0".join(w for w in m.groups() if w), title)


def template_values(name: str, number: str, slug: str, title: str, problem_type: str, location: str,
                    now: datetime) -> dict[str, str]:
    now = now.astimezone(timezone.utc)
    return {
        "increment": name,
        "number": number,
        "slug": slug,
        "title": title,
        "title_yaml": json.dumps(title, ensure_ascii=False),  # a YAML double-quoted scalar
        "heading_title": heading_title(title),  # the title for spec.md's heading (see heading_title)
        "problem_type": problem_type,
        "created": now.date().isoformat(),
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "location": location,  # how to name the folder on the command line, e.g. increments/0043-fraud
    }


def create_increment(title: str, problem_type: str, *, directory: str | os.PathLike | None = None,
                     number: str | int | None = None, cwd: str | os.PathLike | None = None,
                     now: datetime | None = None) -> Created:
    """Scaffold increment `NNNN-slug` of `problem_type` into the increments folder; see choose_folder.

    `number` forces the id (1 to 9999); by default it is naming.next_number. Raises ScaffoldError,
    with nothing created, for an empty title, a title that makes no folder name, an unknown type, a
    number in use, or a target that exists.
    """
    cwd = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    title = check_title(title)
    problem_type = check_type(problem_type)
    slug = naming.slugify(title)
    if not slug:
        raise ScaffoldError(f"the title {title!r} has no ASCII letter or digit to name a folder with "
                            "(increment folders are NNNN-slug, the slug in lowercase ASCII)")
    folder = choose_folder(directory, cwd)
    if folder.name != "increments":
        raise ScaffoldError(f"--dir {os.fspath(directory)!r}: increments are collected from a folder named "
                            "increments (increments/, .specweave/increments/, or e.g. services/api/increments/)")
    if folder.exists() and not folder.is_dir():
        raise ScaffoldError(f"{_shown(folder, cwd)} is not a folder")
    used = naming.increment_numbers(folder)
    if number is None:
        value = max(used, default=0) + 1
        if value > naming.MAX_NUMBER:
            raise ScaffoldError(f"{_shown(folder, cwd)} has used every number up to {naming.MAX_NUMBER}")
    else:
        value = naming.parse_number(str(number))
        if value is None:
            raise ScaffoldError(f"--id {number!r} is not an increment number: expected 1 to {naming.MAX_NUMBER}, "
                                "e.g. 43 or 0043")
    ident = f"{value:04d}"
    target = folder / f"{ident}-{slug}"
    if target.exists():
        raise ScaffoldError(f"{_shown(target, cwd)} already exists")
    if value in used:
        taken = ", ".join(_shown(p, cwd) for p in used[value])
        raise ScaffoldError(f"increment number {ident} is in use ({taken}): leave out --id for the next free number")

    # How the files name the folder on a command line: from the working directory, or (a folder
    # elsewhere) from its increments folder, never an absolute path of this machine.
    location = _shown(target, cwd) if target.is_relative_to(cwd) else f"{folder.name}/{target.name}"
    values = template_values(target.name, ident, slug, title, problem_type, location,
                             now or datetime.now(timezone.utc))
    try:
        files = rendering.render(problem_type, values)
    except rendering.TemplateProblem as problem:
        raise ScaffoldError(f"the {problem_type} templates cannot be rendered: {problem}") from problem
    write_atomically(target, files)
    return Created(target, problem_type, list(files))


def write_atomically(target: Path, files: dict[str, bytes]) -> None:
    """Write `files` (relative posix path -> bytes) as the new folder `target`, all or nothing."""
    created_parents = _make_parents(target.parent)
    staging = None
    try:
        folder = target.parent / f".tmp-new-{target.name}-{os.getpid()}-{secrets.token_hex(4)}"
        folder.mkdir()  # the umask's mode, as the renamed folder should have (mkdtemp's is 0700)
        staging = folder
        for relative, data in files.items():
            _write_file(staging / relative, data)
        if target.exists():  # made by someone else meanwhile: never replace it
            raise ScaffoldError(f"{target} already exists")
        os.rename(staging, target)
        staging = None
    except BaseException as error:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for parent in reversed(created_parents):
            try:
                parent.rmdir()
            except OSError:
                break
        if isinstance(error, OSError):
            raise ScaffoldError(f"cannot create {target}: {error}; nothing was created") from error
        raise


def _make_parents(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it created, outermost first (to remove them on failure)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    created = []
    try:
        for path in reversed(missing):
            path.mkdir()
            created.append(path)
    except OSError as error:
        for path in reversed(created):
            try:
                path.rmdir()
            except OSError:
                break
        raise ScaffoldError(f"cannot create {missing[0]}: {error}; nothing was created") from error
    return created


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
