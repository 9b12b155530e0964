"""The project an increment belongs to: where its linked code may live and where its docs are written.

The project of `<project>/increments/0042-x` (or `<project>/.specweave/increments/0042-x`) is the
nearest folder, from `<project>` up to the pytest rootdir when the rootdir encloses it, that holds a
project marker (`.git`, `pyproject.toml`, `setup.cfg`, `setup.py`, `tox.ini`, `pytest.ini`); when
none does, `<project>` itself. Never a folder above the rootdir: running pytest from a parent folder
(whose rootdir is then the common ancestor) does not make that parent the project.
"""

from __future__ import annotations

from pathlib import Path

MARKERS = (".git", "pyproject.toml", "setup.cfg", "setup.py", "tox.ini", "pytest.ini")


def increments_holder(increment_dir: Path) -> Path:
    """The folder holding `increments/`, or `.specweave/` in SpecWeave's layout."""
    holder = Path(increment_dir).absolute().parent.parent
    return holder.parent if holder.name == ".specweave" else holder


def project_root(increment_dir: Path, rootdir: Path | None = None) -> Path:
    """The project folder of an increment (see the module docstring)."""
    holder = increments_holder(increment_dir)
    bound = Path(rootdir).absolute() if rootdir is not None else holder
    if not holder.is_relative_to(bound):
        bound = holder
    folder = holder
    while True:
        if any((folder / marker).exists() for marker in MARKERS):
            return folder
        if folder == bound or folder.parent == folder:
            return holder
        folder = folder.parent


def outside(path: Path, roots) -> bool:
    """Whether `path`, symlinks resolved, lies outside every one of `roots`."""
    resolved = Path(path).resolve()
    return not any(resolved.is_relative_to(Path(root).resolve()) for root in roots)
