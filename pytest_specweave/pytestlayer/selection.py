"""Command-line paths that name an increment by its id prefix: `increments/0042` and the like."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..errors import IncrementNotFound
from ..model.increment import resolve_increment


def rewrite_increment_args(args: list[str], cwd: Path) -> dict[str, str]:
    """Map each arg whose path does not exist to the same arg with its increment folder spelled out.

    `increments/0042` -> `increments/0042-recommendation-model`, also with a file
    (`increments/0042/tasks.md`) or a node id (`increments/0042/tasks.md::T-003`) after it.
    Args that name no increment are left for pytest to report. An id prefix that matches no
    increment, or several, is a usage error naming the candidates (exit code 4).
    """
    rewritten: dict[str, str] = {}
    for arg in args:
        path, sep, node = arg.partition("::")
        parts = Path(path).parts
        for depth in range(1, len(parts) + 1):
            head = Path(*parts[:depth])
            if (cwd / head).exists():
                continue
            if not parts[depth - 1][:1].isdigit():
                break
            try:
                folder = resolve_increment(str(head), cwd)
            except IncrementNotFound as exc:
                raise pytest.UsageError(str(exc)) from None
            try:
                folder = folder.relative_to(cwd)
            except ValueError:
                pass
            rewritten[arg] = str(Path(folder, *parts[depth:])) + sep + node
            break
    return rewritten
