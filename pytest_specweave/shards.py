"""`pytest-specweave gather`: the stores and reports of N shard jobs brought into one checkout.

Each shard job (`pytest increments/ --sw-shard=i/N --sw-json report.json`) runs whole increments
and writes their stores and reports; its copy of the project (or an artifact holding its
`increments/` folder) is a shard folder. Gather compares each shard's increment folders with the
checkout's: an increment whose files differ was run by that shard, and its new and changed files
(experiments/, models/, the summary and its charts, targets, …) are copied in as they are. A file
is never removed. Two shards that both changed one increment are an error: shards run whole
increments, so that means the jobs did not share the same increments out.

The shards' JSON reports are merged into one, as one run of every increment writes it: the
increments sorted by path, the folders and lines passed over said once.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecweaveError
from .layout import INCREMENT_NAME

REPORT_SCHEMA = "pytest-specweave/report/1"  # pytestlayer/session.py writes it


@dataclass
class Gathered:
    """What gather did: increment folder -> the shard folder it came from, and the files copied of each."""

    sources: dict[Path, Path] = field(default_factory=dict)
    copied: dict[Path, list[Path]] = field(default_factory=dict)
    not_run: list[Path] = field(default_factory=list)
    report: dict | None = None

    @property
    def failed(self) -> list[str]:
        """The increments the merged report says failed."""
        if self.report is None:
            return []
        return [entry["name"] for entry in self.report["increments"] if entry.get("status") == "failed"]


def shard_increments(shard: Path, names: set[str]) -> dict[str, Path]:
    """The increment folders of a shard folder, by name: in its increments/ (or .specweave/increments/),
    or at its top when the shard folder is an artifact of the increments folder itself."""
    if not shard.is_dir():
        raise SpecweaveError(f"{shard}: no such folder (a shard's copy of the project or of its increments/)")
    for holder in (shard / "increments", shard / ".specweave" / "increments", shard):
        try:
            found = {p.name: p for p in holder.iterdir() if p.is_dir() and INCREMENT_NAME.match(p.name)}
        except OSError:
            continue
        if found:
            unknown = sorted(set(found) - names)
            if unknown:
                raise SpecweaveError(f"{holder / unknown[0]}: the checkout has no increment of that name")
            return found
    return {}


def _files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def changed_files(source: Path, target: Path) -> list[Path]:
    """The files of `source` that `target` lacks or holds with other bytes (relative paths)."""
    return [relative for relative in _files(source)
            if not (target / relative).is_file() or not filecmp.cmp(source / relative, target / relative, shallow=False)]


def gather(shards: list[Path], increments: list[Path], report: str | None = None) -> Gathered:
    """Copy into `increments` (the checkout's increment folders) what each shard changed of them; merge
    the shards' JSON reports found at `report` (relative to each shard folder) when given."""
    by_name = {folder.name: folder for folder in increments}
    changes: dict[Path, list[tuple[Path, Path, list[Path]]]] = {}
    for shard in shards:
        for name, source in sorted(shard_increments(shard, set(by_name)).items()):
            files = changed_files(source, by_name[name])
            if files:
                changes.setdefault(by_name[name], []).append((shard, source, files))
    for target, found in sorted(changes.items()):
        if len(found) > 1:
            raise SpecweaveError(f"{target.name} was run by more than one shard ({', '.join(str(s) for s, _, _ in found)}): "
                                 "each shard job must run the same command with its own --sw-shard=i/N")
    result = Gathered()
    if report is not None:  # read before anything is copied: a missing report leaves the checkout as it was
        result.report = merge_reports([_read_report(shard / report) for shard in shards])
    for target, found in sorted(changes.items()):
        shard, source, files = found[0]
        for relative in files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / relative, target / relative)
        result.sources[target], result.copied[target] = shard, files
    result.not_run = [folder for folder in increments if folder not in changes]
    return result


def _read_report(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecweaveError(f"{path}: no JSON report: did this shard's job finish (pytest … --sw-json)?") from None
    except (OSError, ValueError) as error:
        raise SpecweaveError(f"{path}: not a JSON report: {error}") from None
    if not isinstance(data, dict) or data.get("schema") != REPORT_SCHEMA:
        raise SpecweaveError(f"{path}: not a pytest-specweave JSON report (schema {REPORT_SCHEMA})")
    return data


def merge_reports(reports: list[dict]) -> dict:
    """One report of every shard's increments, as one run of them all writes it."""
    increments: dict[str, dict] = {}
    skipped: dict[str, dict] = {}
    for data in reports:
        for entry in data.get("increments", []):
            if entry["path"] in increments:
                raise SpecweaveError(f"{entry['path']} is in more than one shard's report: each shard job must run "
                                     "the same command with its own --sw-shard=i/N")
            increments[entry["path"]] = entry
        for entry in data.get("skipped", []):
            skipped.setdefault(json.dumps(entry, sort_keys=True), entry)
    return {
        "schema": REPORT_SCHEMA,
        "increments": [increments[path] for path in sorted(increments, key=lambda p: Path(p).parts)],
        "skipped": sorted(skipped.values(), key=lambda e: (e["file"], e.get("line") or 0, e["reason"])),
    }


def write_report(report: dict, path: Path) -> Path:
    from .tracking._files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False).encode() + b"\n")
    return path
