"""`--sw-from-mlflow`: before collection, the named increments' runs are pulled from MLflow into their stores.

Runs once per session, on the controller under pytest-xdist (workers collect what it wrote). A pull
that fails stops the session with one line naming the increment and what went wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..errors import SpecweaveError


def named_increments(config: pytest.Config) -> list[Path]:
    """The increments the command line names (a file or node id names its increment; a folder, those in it)."""
    from ..cli import find_increments
    from ..model.increment import is_increment_dir

    cwd = Path(config.invocation_params.dir)
    found: dict[Path, None] = {}
    for arg in config.args:
        path = Path(os.path.abspath(cwd / arg.split("::", 1)[0]))
        if path.is_file():
            path = path.parent
        if is_increment_dir(path):
            found[path] = None
            continue
        try:
            found.update(dict.fromkeys(find_increments(str(path), cwd)))
        except SpecweaveError:
            continue  # not increments: nothing to pull for it
    return list(found)


def pull_before_collection(session: pytest.Session) -> None:
    from ..tracking.mlflow_pull import pull_increment

    config = session.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for folder in named_increments(config):
        try:
            pulled = pull_increment(folder)
        except SpecweaveError as err:
            raise pytest.UsageError(f"--sw-from-mlflow: {folder.name}: {err}") from None
        if reporter is not None:
            changed = sum(1 for p in pulled if p.changed)
            reporter.write_line(f"{folder.name}: {changed} run(s) pulled from MLflow, "
                                f"{len(pulled) - changed} already in experiments/")
