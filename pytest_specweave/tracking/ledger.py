"""The evaluation ledger: every time a run scored the evaluation (test) data, one line.

`experiments/evaluations.jsonl` is append-only. Whenever a run records the hash of its evaluation
targets (`Experiment.log_input(..., role="eval_targets")`, which `compute_metrics(...,
experiment=exp)` calls), one line is appended per (run, sha256)::

    {"sha256": "9f2c…", "experiment": "exp-003-xgboost", "run_started": "2025-01-02T10:00:00.000+00:00",
     "time": "2025-01-02T10:00:04.512+00:00", "baseline": false}

Scorings that happened outside the tracker (a pilot run, a notebook, an earlier version of the
code) are recorded with `pytest_specweave.record_outside_scoring` (append_outside_scoring here): a line with `"outside": true`, a label in place
of the experiment folder and a note saying what was scored, when and with what result.

Lines are never rewritten: a run that later fails, or that a later run of the same name moves to
`history/`, stays counted. That is the point: the ledger answers "how many times was the test set
scored before this result was kept?", including the scorings that were thrown away.

Each line is written with one write() on an O_APPEND descriptor under the store lock, so lines of
concurrent writers (pytest-xdist workers, parallel notebooks) neither interleave nor get lost, and
a line reaches the OS when it is logged. Readers skip what they cannot parse (a line cut short by
a crash, garbage): they never raise on what a writer left.

Stdlib only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ._files import StoreLock, inside, store_error, write_all
from .store import parse_iso

LEDGER = "evaluations.jsonl"
EVAL_TARGETS_ROLE = "eval_targets"  # the log_input role whose hash is counted


@dataclass(frozen=True)
class Evaluation:
    """One scoring of an evaluation data set (one line of the ledger)."""

    sha256: str
    experiment: str  # the folder: "exp-003-xgboost"
    run_started: str | None  # the run's meta "started" (ISO-8601 UTC): tells runs of one folder apart
    time: str | None  # when it was scored (ISO-8601 UTC)
    baseline: bool
    outside: bool = False  # recorded with record_outside_scoring: `experiment` is then its label
    note: str | None = None


@dataclass(frozen=True)
class TestDataUse:
    """How often one evaluation data set was scored."""

    __test__ = False  # not a pytest test class

    sha256: str
    count: int  # scorings on record
    experiments: int  # distinct experiment folders that scored it
    since: int | None  # scorings at or after `since_time`; None when no time was given
    outside: tuple[str, ...] = ()  # labels of the scorings recorded as outside the tracker

    def as_json(self) -> dict:
        return {"sha256": self.sha256, "count": self.count, "experiments": self.experiments,
                "since_targets_fixed": self.since, **({"outside": list(self.outside)} if self.outside else {})}


def ledger_path(increment_dir) -> Path:
    return Path(increment_dir) / "experiments" / LEDGER


# ----------------------------------------------------------------------------------------------
# Writing


def append_evaluation(store_root: Path, entry: dict) -> None:
    """Append one ledger line to `store_root/evaluations.jsonl` (StoreError when it cannot).

    Under the store lock: when the file does not end with a newline (a writer died mid-line), the
    new line starts on a fresh one, so the torn line costs only itself.
    """
    store_root = Path(store_root)
    path = inside(store_root, LEDGER)  # a symlink pointing out of the store is refused
    line = json.dumps(entry, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")) + "\n"
    data = line.encode("utf-8")
    with StoreLock(store_root):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as err:
            raise store_error("open", path, err) from err
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    data = b"\n" + data
            write_all(fd, data)
        except OSError as err:
            raise store_error("append to", path, err) from err
        finally:
            os.close(fd)


def evaluation_entry(experiment, sha256: str, time: str) -> dict:
    """The ledger line of a run (an Experiment) scoring data whose hash is `sha256`."""
    meta = experiment.meta
    return {"sha256": str(sha256), "experiment": experiment.folder, "run_started": meta.get("started"),
            "time": time, "baseline": bool(experiment.baseline)}


# ----------------------------------------------------------------------------------------------
# Reading


def _evaluation(obj) -> Evaluation | None:
    if not isinstance(obj, dict):
        return None
    sha, experiment = obj.get("sha256"), obj.get("experiment")
    if not isinstance(sha, str) or not sha or not isinstance(experiment, str):
        return None
    started, time = obj.get("run_started"), obj.get("time")
    note = obj.get("note")
    return Evaluation(sha, experiment, started if isinstance(started, str) else None,
                      time if isinstance(time, str) else None, obj.get("baseline") is True,
                      obj.get("outside") is True, note if isinstance(note, str) else None)


def read_evaluations(increment_dir) -> list[Evaluation]:
    """Every readable line of the increment's ledger, in file order ([] when there is none).

    A torn last line, a line that is not JSON, or JSON that is not a ledger entry is skipped.
    """
    try:
        with open(ledger_path(increment_dir), "rb") as f:
            data = f.read()
    except OSError:
        return []
    out = []
    loads = json.loads
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            entry = _evaluation(loads(line))
        except (ValueError, RecursionError):
            continue
        if entry is not None:
            out.append(entry)
    return out


def evaluation_counts(increment_dir) -> dict[str, int]:
    """sha256 -> how many times data with that hash was scored."""
    counts: dict[str, int] = {}
    for entry in read_evaluations(increment_dir):
        counts[entry.sha256] = counts.get(entry.sha256, 0) + 1
    return counts


def _entries(source) -> list[Evaluation]:
    return source if isinstance(source, list) else read_evaluations(source)


def evaluations_since(source, sha256: str, since: str) -> int:
    """How many times data with hash `sha256` was scored at or after the ISO time `since`.

    `source`: an increment folder, or the list read_evaluations returned (to read the ledger once).
    A line whose time cannot be read is counted (when in doubt, the count errs high).
    """
    limit = parse_iso(since)
    count = 0
    for entry in _entries(source):
        if entry.sha256 != sha256:
            continue
        t = parse_iso(entry.time)
        if limit is None or t is None or t >= limit:
            count += 1
    return count


def test_data_use(source, sha256: str, since: str | None = None) -> TestDataUse:
    """Scorings of one data set: the count, the experiments, and (given `since`) the count since then."""
    entries = [e for e in _entries(source) if e.sha256 == sha256]
    return TestDataUse(sha256, len(entries), len({e.experiment for e in entries if not e.outside}),
                       evaluations_since(entries, sha256, since) if since else None,
                       tuple(dict.fromkeys(e.experiment for e in entries if e.outside)))


def earlier_data_use(source, sha256: str) -> list[TestDataUse]:
    """Scorings of the evaluation data sets first scored before the data hashed `sha256` was
    (in ledger order), one TestDataUse each: what was looked at before fresh data replaced it."""
    entries = _entries(source)
    first = next((i for i, e in enumerate(entries) if e.sha256 == sha256), len(entries))
    earlier = dict.fromkeys(e.sha256 for e in entries[:first])
    return [test_data_use(entries, sha) for sha in earlier]


# ----------------------------------------------------------------------------------------------
# Scorings outside the tracker


def append_outside_scoring(increment_dir, sha256: str, *, label: str, note: str, when: str | None = None,
                           baseline: bool = False) -> Evaluation:
    """Append the ledger line of a scoring of the data hashed `sha256` that no tracked run logged
    (`pytest_specweave.record_outside_scoring` is the public way in: it also hashes y_true).

    `label` stands where a tracked line has its experiment folder; the line carries
    `"outside": true`, the note, and `when` (ISO-8601) when known. The same label for the same data
    again adds nothing: the existing line is returned. ValueError on a missing label or note, a
    malformed hash or time.
    """
    from .store import utc_now

    label, note = str(label).strip(), str(note).strip()
    if not label or not note:
        raise ValueError("record_outside_scoring needs a label (what scored the data: 'pilot A') and a note"
                         " (what was scored, and what came out)")
    if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
        raise ValueError(f"sha256 must be 64 lowercase hex digits (a hash from the ledger), got {sha256!r}")
    if when is not None and parse_iso(str(when)) is None:
        raise ValueError(f"when must be an ISO-8601 time or date (2026-11-26, 2026-11-26T17:06Z), got {when!r}")
    for entry in read_evaluations(increment_dir):
        if entry.outside and entry.sha256 == sha256 and entry.experiment == label:
            return entry
    line = {"sha256": sha256, "experiment": label, "run_started": None,
            "time": None if when is None else str(when), "baseline": bool(baseline), "outside": True,
            "note": note, "recorded": utc_now()}
    store_root = ledger_path(increment_dir).parent
    store_root.mkdir(parents=True, exist_ok=True)
    append_evaluation(store_root, line)
    return _evaluation(line)


test_data_use.__test__ = False  # not a pytest test function
