"""Pruning the store's history: keep the last N runs of each experiment, drop the older ones.

Every rerun of an experiment moves its previous run to `history/run-K/` (store.py), arrays and
models included, so the store grows with every run. `prune_history` removes the oldest
`history/run-K/` folders of each experiment, keeping its current run and the N - 1 runs before it.
It never removes:

- an experiment's current run: the one verdicts judge and the summary shows;
- the run a promoted model came from (`models/model-vN.metadata.json`: `source_experiment`,
  `source_run`): its model file restores a version a fresh clone lacks;
- the evaluation ledger and the targets record (`evaluations.jsonl`, `targets.json`): a pruned run's
  scorings of the test data stay counted.

Stdlib only.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StoreError
from ._files import StoreLock, is_link, read_json
from .models import model_versions, read_metadata
from .store import FOLDER, RUN_DIR


@dataclass
class PruneResult:
    removed: list[Path] = field(default_factory=list)  # the history/run-K folders removed (or that would be)
    kept_for_models: list[Path] = field(default_factory=list)  # older runs kept: a promoted model came from them
    bytes_freed: int = 0

    def describe(self, dry_run: bool = False) -> str:
        """'removed 12 earlier runs (3.4 MB); kept 1 older run a promoted model came from'."""
        count = len(self.removed)
        verb = "would remove" if dry_run else "removed"
        text = (f"{verb} {count} earlier run{'s' * (count != 1)} ({self.bytes_freed / 1e6:.1f} MB)" if count
                else "no earlier run to remove")
        if self.kept_for_models:
            kept = len(self.kept_for_models)
            text += f"; kept {kept} older run{'s' * (kept != 1)} a promoted model came from"
        return text


def promoted_sources(increment_dir) -> set[tuple[str, int]]:
    """(experiment folder, run) of every promoted version's source."""
    sources = set()
    for version in model_versions(increment_dir):
        try:
            metadata = read_metadata(increment_dir, version)
        except StoreError:
            continue
        folder, run = metadata.get("source_experiment"), metadata.get("source_run")
        if isinstance(folder, str) and isinstance(run, int):
            sources.add((folder, run))
    return sources


def prune_history(increment_dir, keep: int, *, dry_run: bool = False) -> PruneResult:
    """Keep the last `keep` runs (>= 1: the current run and the keep - 1 before it) of each experiment.

    `dry_run`: say what would be removed, remove nothing. Runs under the store lock, so a run being
    archived meanwhile is never half removed.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be a whole number of runs, at least 1 (the current run), got {keep!r}")
    increment_dir = Path(increment_dir)
    root = increment_dir / "experiments"
    result = PruneResult()
    if not root.is_dir():
        return result
    protected = promoted_sources(increment_dir)
    with StoreLock(root):
        for folder in sorted(os.listdir(root)):
            history = root / folder / "history"
            if not FOLDER.match(folder) or is_link(root / folder) or is_link(history) or not history.is_dir():
                continue
            runs = sorted((int(m.group(1)), history / name) for name in os.listdir(history)
                          if (m := RUN_DIR.match(name)) and not is_link(history / name))
            older = runs[:max(len(runs) - (keep - 1), 0)]
            for run, path in older:
                if (folder, run) in protected or (folder, _recorded_run(path)) in protected:
                    result.kept_for_models.append(path)
                    continue
                result.bytes_freed += _size(path)
                result.removed.append(path)
                if not dry_run:
                    shutil.rmtree(path)
            if not dry_run and not os.listdir(history):
                os.rmdir(history)
    return result


def _recorded_run(path: Path):
    try:
        return read_json(path / "meta.json").get("run")
    except (OSError, ValueError, AttributeError):
        return None


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total

