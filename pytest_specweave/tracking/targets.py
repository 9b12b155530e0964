"""The targets record: each success metric's and criterion's text as it was when first judged.

`experiments/targets.json` (schema "pytest-specweave/targets/1")::

    {"schema": "pytest-specweave/targets/1",
     "targets": {"SM-1":   {"text": "ROC AUC >= 0.85", "sha256": "…", "first_judged": "2025-01-02T10:00:04.512+00:00",
                            "file": "spec.md", "line": 8},
                 "TC-003": {"text": "latency < 50ms", "sha256": "…", "first_judged": "…", "file": "tests.md", "line": 5}}}

A target is recorded the first time it is judged and never updated: when its text later differs
(whitespace aside), its status says "changed" and shows the first text and date, so a target moved
after a result was seen is visible. A target removed from the markdown stays in the file.

Written atomically under the store lock. A file that cannot be read is kept aside as
`targets.json.unreadable-<time>` (nothing is lost), a TrackingWarning is issued, and the record
starts again.

Stdlib only.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from ._files import StoreLock, atomic_write, dump_json, inside, read_json, store_error
from .store import TrackingWarning, utc_now

TARGETS = "targets.json"
TARGETS_SCHEMA = "pytest-specweave/targets/1"


class Target(NamedTuple):
    """A target as written now: its id ("SM-1", "TC-003"), text, file name ("spec.md") and 1-based line."""

    id: str
    text: str
    file: str
    line: int | None


@dataclass(frozen=True)
class TargetStatus:
    id: str
    text: str  # as written now
    first_text: str | None  # as first judged (None: not recorded yet, only from target_statuses)
    first_judged: str | None  # ISO-8601 UTC
    changed: bool  # the text differs (whitespace aside) from the first one

    def as_json(self) -> dict:
        return {"id": self.id, "text": self.text, "first_text": self.first_text,
                "first_judged": self.first_judged, "changed": self.changed}


def normalized(text: str) -> str:
    """The text with runs of whitespace made one space and the ends trimmed."""
    return " ".join(str(text).split())


def text_hash(text: str) -> str:
    return hashlib.sha256(normalized(text).encode("utf-8")).hexdigest()


def targets_path(increment_dir) -> Path:
    return Path(increment_dir) / "experiments" / TARGETS


# ----------------------------------------------------------------------------------------------
# Reading


def _entry_ok(entry) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("text"), str)
            and isinstance(entry.get("sha256"), str) and isinstance(entry.get("first_judged"), str))


def _load(path: Path) -> tuple[dict[str, dict], str | None]:
    """(id -> entry, problem). A missing file is ({}, None); an unreadable one ({...what could be read}, why)."""
    try:
        doc = read_json(path)
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as err:
        return {}, str(getattr(err, "strerror", None) or err)
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), dict):
        return {}, 'not a JSON object with "targets"'
    schema = doc.get("schema")
    if not (isinstance(schema, str) and schema.startswith("pytest-specweave/targets/")):
        return {}, f"unknown schema {schema!r}"
    entries = {k: v for k, v in doc["targets"].items() if _entry_ok(v)}
    bad = sorted(k for k in doc["targets"] if k not in entries)
    return entries, (f"unreadable entries {', '.join(bad)}" if bad else None)


def read_targets(increment_dir) -> dict[str, dict]:
    """The recorded targets, id -> {"text", "sha256", "first_judged", "file", "line"} ({} when none or unreadable)."""
    return _load(targets_path(increment_dir))[0]


def _status(target: Target, entry: dict | None) -> TargetStatus:
    if entry is None:
        return TargetStatus(target.id, target.text, None, None, False)
    return TargetStatus(target.id, target.text, entry["text"], entry["first_judged"],
                        entry["sha256"] != text_hash(target.text))


def target_statuses(increment_dir, targets) -> list[TargetStatus]:
    """The statuses of `targets` against the record, without writing anything (an unrecorded target:
    first_text and first_judged None)."""
    recorded = read_targets(increment_dir)
    return [_status(t, recorded.get(t.id)) for t in map(_target, targets)]


def _target(value) -> Target:
    return value if isinstance(value, Target) else Target(*value)


# ----------------------------------------------------------------------------------------------
# Recording


def _iso(now) -> str:
    if now is None:
        return utc_now()
    if isinstance(now, datetime):
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        return now.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return str(now)


def _set_aside(path: Path, why: str) -> Path | None:
    """Move an unreadable targets.json to targets.json.unreadable-<time> (a new name each time)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.unreadable-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.unreadable-{stamp}-{n}")
    try:
        os.replace(path, aside)
    except OSError as err:
        raise store_error("set aside", path, err) from err
    warnings.warn(f"{path} could not be read ({why}); kept as {aside.name} and recorded again",
                  TrackingWarning, stacklevel=3)
    return aside


def record_targets(increment_dir, targets, *, now=None) -> list[TargetStatus]:
    """Record each target not yet recorded; return every target's status (in the order given).

    targets: Target tuples (id, text, file, line). An id already recorded keeps its first record
    (its status says whether the text changed since); a recorded id not given stays in the file.
    The file is written only when something was added or repaired. StoreError when it cannot be.
    """
    targets = [_target(t) for t in targets]
    root = Path(increment_dir) / "experiments"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise store_error("create", root, err) from err
    path = inside(root, TARGETS)  # a symlink pointing out of the store is refused
    when = _iso(now)
    with StoreLock(root):
        recorded, problem = _load(path)
        dirty = False
        if problem is not None:
            _set_aside(path, problem)
            dirty = True
        for target in targets:
            if target.id not in recorded:
                recorded[target.id] = {"text": target.text, "sha256": text_hash(target.text), "first_judged": when,
                                       "file": target.file, "line": target.line}
                dirty = True
        if dirty:
            atomic_write(path, dump_json({"schema": TARGETS_SCHEMA, "targets": recorded}))
    return [_status(t, recorded[t.id]) for t in targets]
