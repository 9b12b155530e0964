"""The pytest node id of an increment's item, as pytest prints it when run from a given folder.

pytest names an item `<its file, relative to the rootdir>::<item name>`, and an increment's items are
named by their ids (`T-001`, `TC-002`, `SM-1`). The rootdir is found by pytest's own rules (its
configuration files, the command-line paths, the working directory), so the same ones are used here.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path


def pytest_rootdir(args: list[str], cwd: Path) -> Path:
    """The rootdir of `pytest <args>` run in `cwd` (no -c, --rootdir or -o given)."""
    from _pytest.config.findpaths import determine_setup  # pytest's rule, not a copy of it

    wanted = {"inifile": None, "override_ini": None, "args": [str(cwd / a) for a in args],
              "rootdir_cmd_arg": None, "invocation_dir": cwd}
    accepted = inspect.signature(determine_setup).parameters
    return Path(determine_setup(**{k: v for k, v in wanted.items() if k in accepted})[0])


def node_id(file: Path, name: str, rootdir: Path) -> str:
    """`file` relative to the rootdir, in `/` form, then `::name`."""
    file = Path(os.path.abspath(file))
    try:
        relative = file.relative_to(rootdir).as_posix()
    except ValueError:
        relative = Path(os.path.relpath(file, rootdir)).as_posix()
    return f"{relative}::{name}"
