"""The experiment store: `<increment>/experiments/exp-NNN-slug/` folders, written and read.

Layout of one experiment folder (the latest run of that name)::

    exp-003-xgboost/
      meta.json          status, times, process, git, versions, inputs, seed, artifacts (META_SCHEMA)
      params.json        {"max_depth": 6, ...}  (values JSON cannot hold are stored as their repr())
      metrics.json       final values (METRICS_SCHEMA, below); written at finish, or rebuilt from
                         the journal when the run crashed
      logs/metrics.jsonl the journal: one JSON line per log_metric call (JOURNAL FORMAT, below)
      notes.md           log_note text, appended
      history/run-K/     an earlier run of the same name: its meta/params/metrics/notes/logs/artifacts
      <artifacts>        anything else: save_artifact, log_artifact, save_report (this run's only)

Beside the folders: `.counter` (the last number given: numbers are never reused, even after a
folder is deleted), `.lock` (the inter-process lock taken to give numbers and archive runs),
`evaluations.jsonl` (every scoring of evaluation data, see ledger.py) and `targets.json` (each
target's text as first judged, see targets.py).

METRICS SCHEMA ("pytest-specweave/metrics/1")::

    {"schema": "pytest-specweave/metrics/1",
     "metrics": {"precision@10": 0.26,
                 "rmse": {"value": 1.2, "ci": [1.1, 1.3], "level": 0.95},
                 "acc":  {"value": 0.8, "folds": [0.79, 0.81, 0.80], "std": 0.01,
                          "ci": [0.77, 0.83], "level": 0.95, "test_train_ratio": 0.25},
                 "loss": {"value": 0.31, "step": 99},
                 "model_size_bytes": {"value": 48213, "exact": true}}}

A metric is a number, or an object holding "value" and any of "ci" ([low, high]), "level" (of ci;
0.95 when absent), "folds" (per-fold values), "std" (sample std of the folds), "step" (the step
of the final value), "test_train_ratio" (with folds: n_test / n_train of the splits, from which
the fold interval is recomputed at any level; absent means k-fold, 1 / (folds - 1)), "exact" (true:
the value has no sampling error, such as a size in bytes; absent means false). Non-finite numbers anywhere are the strings "NaN", "Infinity", "-Infinity";
readers turn them back into floats. A file without "schema" is read as a flat {name: metric} map.

JOURNAL FORMAT (logs/metrics.jsonl), one line per call, appended with O_APPEND::

    {"key": "loss", "value": 0.31, "step": 99, "time": 1732621234.123}
    {"key": "rmse", "value": 1.2, "step": null, "time": ..., "ci": [1.1, 1.3], "level": 0.95}
    {"key": "model_size_bytes", "value": 48213.0, "step": null, "time": ..., "exact": true}
    {"key": "acc", "value": 0.8, "step": null, "time": ..., "folds": [...], "std": 0.01, "ci": [...],
     "level": 0.95, "test_train_ratio": 0.25}

The last line of a key gives its final value: metrics.json is exactly the replay of the journal.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import StoreError
from . import _runinfo
from ._files import (
    RESERVED,
    StoreLock,
    atomic_write,
    append_text,
    check_text,
    clean_text,
    dump_json,
    experiment_name,
    LINK_REFUSED,
    SymlinkRefused,
    is_link,
    read_bytes,
    read_json,
    refuse_link,
    remove_orphans,
    slugify,
    store_error,
    tag_float,
    untag_float,
)

METRICS_SCHEMA = "pytest-specweave/metrics/1"
META_SCHEMA = "pytest-specweave/meta/1"
JOURNAL = Path("logs") / "metrics.jsonl"
STATUSES = ("running", "succeeded", "failed", "crashed")
UNREADABLE = "unreadable"
KINDS = ("experiment", "model")

FOLDER = re.compile(r"^exp-(\d+)-(.+)$")
RUN_DIR = re.compile(r"^run-(\d+)$")
STAGING = ".staging-run-"  # history/.staging-run-K-PID: a run being archived


class TrackingWarning(UserWarning):
    """Something was stored in a degraded form, or a part of the store could not be read."""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------
# Metric values


@dataclass(frozen=True)
class MetricValue:
    value: float  # may be nan/inf
    ci: tuple[float, float] | None = None
    level: float | None = None  # of ci; 0.95 when a ci is given without one
    folds: tuple[float, ...] | None = None
    step: int | None = None  # the step of the final value, if logged with steps
    std: float | None = None  # sample std (ddof=1) of the folds, when folds were logged
    test_train_ratio: float | None = None  # n_test / n_train of the folds' splits; None: k-fold, 1/(folds - 1)
    exact: bool = False  # the value has no sampling error (a size in bytes, a parameter count)

    def __float__(self) -> float:
        return self.value


def encode_metric(value: float, step=None, ci=None, level=None, folds=None, std=None, test_train_ratio=None,
                  exact=False):
    """The metrics.json form of one final value: a number, or an object when it carries more."""
    if step is None and ci is None and folds is None and not exact:
        return tag_float(value)
    obj: dict = {"value": tag_float(value)}
    if ci is not None:
        obj["ci"] = [tag_float(ci[0]), tag_float(ci[1])]
        obj["level"] = 0.95 if level is None else level
    if folds is not None:
        obj["folds"] = [tag_float(v) for v in folds]
        if std is not None:
            obj["std"] = tag_float(std)
        if test_train_ratio is not None:
            obj["test_train_ratio"] = tag_float(test_train_ratio)
    if step is not None:
        obj["step"] = step
    if exact:
        obj["exact"] = True
    return obj


def decode_metric(obj) -> MetricValue:
    """metrics.json entry (or journal line) -> MetricValue. Raises ValueError/TypeError/KeyError if malformed."""
    if isinstance(obj, bool):
        raise TypeError("a boolean is not a metric value")
    if not isinstance(obj, dict):
        return MetricValue(untag_float(obj))
    value = untag_float(obj["value"])
    ci = obj.get("ci")
    level = obj.get("level")
    if ci is not None:
        if len(ci) != 2:
            raise ValueError("ci must be [low, high]")
        ci = (untag_float(ci[0]), untag_float(ci[1]))
        level = 0.95 if level is None else float(level)
    else:
        level = None
    folds = obj.get("folds")
    if folds is not None:
        folds = tuple(untag_float(v) for v in folds)
    std = obj.get("std")
    std = None if std is None else untag_float(std)
    step = obj.get("step")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
        step = int(step)
    ratio = obj.get("test_train_ratio")
    ratio = None if ratio is None else untag_float(ratio)
    exact = obj.get("exact", False)
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be true or false, got {exact!r}")
    return MetricValue(value, ci, level, folds, step, std, ratio, exact)


def metrics_document(encoded: dict) -> bytes:
    return dump_json({"schema": METRICS_SCHEMA, "metrics": encoded})


def decode_metrics_document(doc, path: Path, problems: list[str]) -> dict[str, MetricValue]:
    """The metrics of a metrics.json document; a bad entry is skipped and reported in `problems`."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    if "schema" in doc or isinstance(doc.get("metrics"), dict) and len(doc) <= 2:
        schema = doc.get("schema")
        if schema is not None and not str(schema).startswith("pytest-specweave/metrics/"):
            raise ValueError(f"unknown schema {schema!r}")
        entries = doc.get("metrics")
        if not isinstance(entries, dict):
            raise ValueError('"metrics" is not an object')
    else:
        entries = doc  # a hand-written flat {name: value} file
    out = {}
    for key, obj in entries.items():
        try:
            out[key] = decode_metric(obj)
        except (ValueError, TypeError, KeyError) as err:
            problems.append(f"{path}: metric {key!r} skipped ({type(err).__name__}: {err})")
    return out


def _json_object(path: Path, problems: list[str]) -> dict | None:
    """A JSON object from a file, or None with the reason appended to `problems`."""
    try:
        value = read_json(path)
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        return value
    except (OSError, ValueError) as err:
        problems.append(f"{path}: {err}")
        return None


def journal_entries(path: Path, key: str | None = None):
    """The valid lines of a journal as dicts, in logging order (only `key`'s when given), and then
    the count of lines that are not valid JSON (a write cut short by a full disk, say): the last
    item yielded is that count, an int."""
    bad = 0
    try:
        if is_link(path.parent):
            raise FileNotFoundError(path)  # a linked logs/ folder is never followed
        data = read_bytes(path)
    except OSError:
        yield 0
        return
    needle = json.dumps(key).encode() if key is not None else None
    loads = json.loads
    for line in data.splitlines():
        if not line.strip() or (needle is not None and needle not in line):
            continue
        try:
            entry = loads(line)
            k = entry.get("key")
            if not isinstance(k, str) or "value" not in entry:
                raise TypeError(entry)
            if not k.isascii():
                entry["key"] = clean_text(k)  # a lone surrogate (written by an older version) made visible
        except (ValueError, TypeError, AttributeError, RecursionError):
            bad += 1
            continue
        if key is None or entry["key"] == key:
            yield entry
    yield bad


def replay_journal(path: Path) -> tuple[dict[str, MetricValue], float | None, int]:
    """Final value of every key in a journal, the time of its last line, and the count of bad lines."""
    metrics: dict[str, MetricValue] = {}
    last = None
    bad = 0
    for entry in journal_entries(path):
        if isinstance(entry, int):
            bad += entry
            break
        try:
            metrics[entry["key"]] = decode_metric(entry)
        except (ValueError, TypeError, KeyError, AttributeError):
            bad += 1
            continue
        t = entry.get("time")
        if isinstance(t, (int, float)):
            last = t
    return metrics, last, bad


def read_series(path: Path, key: str) -> list[tuple[int, float, float | None]]:
    """[(step, value, time)] of one key, in logging order; a missing step is the line's index."""
    out = []
    for entry in journal_entries(path, key):
        if isinstance(entry, int):
            break
        try:
            value = untag_float(entry["value"])
        except (ValueError, TypeError):
            continue
        step = entry.get("step")
        out.append((len(out) if step is None else step, value, entry.get("time")))
    return out


def _canonical_fallback(name: str) -> str:
    name = name.strip().lower().replace("_at_", "@").replace("-at-", "@")
    return re.sub(r"[\s_\-]", "", name)


def _same_metric(a: str, b: str) -> bool:
    try:
        from ..model.metric_names import same_metric

        return same_metric(a, b)
    except (ImportError, NotImplementedError):
        return _canonical_fallback(a) == _canonical_fallback(b)


# ----------------------------------------------------------------------------------------------
# Records


@dataclass
class ExperimentRecord:
    """Read-only view of one experiment folder (its latest run)."""

    folder: str  # "exp-003-xgboost"
    number: int  # 3
    name: str  # "xgboost"
    path: Path
    status: str  # running | succeeded | failed | crashed | unreadable (see ExperimentStore.records)
    baseline: bool
    task: str | None  # "T-004"
    params: dict
    metrics: dict[str, MetricValue]  # keys as logged
    meta: dict  # all of meta.json
    notes: str  # notes.md text ("" if none)
    artifacts: list[str]  # paths relative to the folder, excluding the store's own files
    started: str | None  # ISO-8601 UTC
    ended: str | None
    duration_s: float | None
    history: list[dict]  # earlier runs' meta (oldest first)
    kind: str = "experiment"  # "experiment" | "model"
    run: int = 1  # 1 for the first run of this name, K+1 after K earlier runs
    problems: list[str] = field(default_factory=list)  # what could not be read, each naming the path
    _interrupted: bool = field(default=False, repr=False, compare=False)  # an archive step was cut short

    def metric(self, name: str) -> MetricValue | None:
        """The metric logged under `name`, matched exactly, then as the same metric (`Precision@10` ~ `precision_at_10`)."""
        if name in self.metrics:
            return self.metrics[name]
        for key, value in self.metrics.items():
            if _same_metric(key, name):
                return value
        return None

    def series(self, name: str) -> list[tuple[int, float, float | None]]:
        """Per-step history of a metric from the journal: [(step, value, unix time)], logging order."""
        journal = self.path / JOURNAL
        out = read_series(journal, name)
        if not out:
            for key in self.metrics:
                if key != name and _same_metric(key, name):
                    return read_series(journal, key)
        return out

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def read_artifact(self, name: str) -> bytes:
        """An artifact's bytes ('model.pkl', 'model-selection.json'), checked against the sha256 that
        meta.json recorded when it was saved; StoreError when it is not recorded, missing or changed."""
        import hashlib

        artifacts = self.meta.get("artifacts") if isinstance(self.meta.get("artifacts"), dict) else {}
        entry = artifacts.get(name)
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(expected, str):
            recorded = ", ".join(sorted(artifacts)) or "none"
            raise StoreError(f"{self.path / 'meta.json'} records no artifact {name!r} (recorded: {recorded})")
        path = self.path / name
        try:
            data = path.read_bytes()
        except OSError as err:
            raise store_error("read", path, err) from err
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise StoreError(f"refusing to read {path}: its sha256 {digest} differs from {expected} recorded in"
                             f" {self.path / 'meta.json'} (the file changed after it was saved)")
        return data

    def load_dict(self, name: str):
        """A JSON artifact (`log_dict`), parsed, after the sha256 check of `read_artifact`."""
        data = self.read_artifact(name)
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise StoreError(f"{self.path / name} is not JSON: {err}") from None


# ----------------------------------------------------------------------------------------------
# The store


class ExperimentStore:
    """All experiments of one increment: `<increment_dir>/experiments/`.

    Safe for many processes at once (pytest-xdist workers, parallel notebooks): numbers are given
    under an inter-process lock, every JSON file is replaced atomically, and the journal is
    appended line by line.
    """

    def __init__(self, increment_dir):
        self.increment_dir = Path(increment_dir)
        self.root = self.increment_dir / "experiments"

    def __repr__(self) -> str:
        return f"ExperimentStore({str(self.increment_dir)!r})"

    # -- writing -------------------------------------------------------------------------------

    def lock(self) -> StoreLock:
        self._ensure_root()
        return StoreLock(self.root)

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise store_error("create", self.root, err) from err

    def open_run(self, name, *, baseline=False, task=None, kind="experiment"):
        """Start a run of experiment `name`: status running, its folder allocated or reused.

        A new name gets the next number. A name already in the store (same slug, same name up to
        case) *of the same task* reuses the latest such folder: that folder's previous run (params,
        metrics, meta, notes, logs and artifacts) moves to `history/run-K/`. Another task's
        experiment of the same name is never replaced: this task's run gets its own folder (the
        next number, the same slug). If that previous run is still running in a live
        process (or on another host, where liveness cannot be known), the new run gets a new folder
        instead, so that two live runs never share files; readers take the highest number as the
        latest run of a name.
        """
        from .experiment import Experiment

        name = experiment_name(name)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if task is not None:
            task = check_text("task", task if isinstance(task, str) else str(task))
        slug = slugify(name)
        baseline = bool(baseline) or name.lower().startswith("baseline")
        commit, dirty = _runinfo.git_info(self.increment_dir)
        packages = _runinfo.package_versions()
        identity = _runinfo.process_identity()
        self._ensure_root()

        with StoreLock(self.root):
            remove_orphans(self.root, recurse=False)  # temporary files and folders of killed writers
            folders = self._scan()
            reuse = self._reusable_folder(folders, name, slug, task)
            if reuse is not None:
                number, path, old = reuse
                run = self._archive(path, old) + 1
                folder = path.name
            else:
                number = self._next_number(folders)
                folder = f"exp-{number:03d}-{slug}"
                path = self.root / folder
                run = 1
            meta = {
                "schema": META_SCHEMA,
                "kind": kind,
                "name": name,
                "slug": slug,
                "folder": folder,
                "number": number,
                "run": run,
                "status": "running",
                "baseline": baseline,
                "task": task,
                "increment": self.increment_dir.name,
                "started": utc_now(),
                "ended": None,
                "duration_s": None,
                **identity,
                "git_commit": commit,
                "git_dirty": dirty,
                "python": _runinfo.python_version(),
                "platform": sys.platform,
                "packages": packages,
                "seed": None,
                "inputs": [],
                "artifacts": {},
            }
            if reuse is not None:
                try:
                    (path / "logs").mkdir(exist_ok=True)
                except OSError as err:
                    raise store_error("create", path / "logs", err) from err
                atomic_write(path / "meta.json", dump_json(meta))
            else:
                self._create_folder(path, meta)
            return Experiment(self, path, meta)

    def discard_new_folder(self, path: Path, number: int) -> None:
        """Remove the folder of a first run that recorded nothing (Experiment.discard_if_empty). Its number is
        given back when it is still the last one given: the run never existed, so no number is reused."""
        import shutil

        with StoreLock(self.root):
            try:
                shutil.rmtree(path)
            except FileNotFoundError:
                pass
            except OSError as err:
                raise store_error("remove the empty run", path, err) from err
            counter = self.root / ".counter"
            try:
                last = int(counter.read_text(encoding="ascii").strip() or 0)
            except (OSError, ValueError):
                return
            if last == number and not any(n >= number for n, _, _ in self._scan()):
                atomic_write(counter, f"{number - 1}\n".encode("ascii"))

    def _reusable_folder(self, folders, name: str, slug: str, task: str | None = None):
        """(number, path, meta) of the latest folder of this name and task whose run is not live, or None.

        A folder of the same name recorded by another task (meta.json "task") is that task's
        experiment: it is never reused here, whatever its number.
        """
        wanted = name.casefold()
        for number, fslug, folder in reversed(folders):
            if fslug != slug:
                continue
            path = self.root / folder
            if is_link(path):
                continue  # never written through
            try:
                meta = read_json(path / "meta.json")
            except (OSError, ValueError):
                continue  # unreadable: never overwrite evidence
            if not isinstance(meta, dict) or str(meta.get("name", "")).casefold() != wanted:
                continue
            if meta.get("task") != task:
                continue  # another task's experiment of the same name: never replaced
            if meta.get("status") == "running":
                alive = _runinfo.owner_alive(meta, str(path))
                if alive is not False:
                    return None  # live here, or elsewhere: a new folder
                meta = self._crash(path, meta)
            self._recover(path, meta)  # an archive step a killed process left half done
            remove_orphans(path)  # temporary files of killed writers
            return number, path, meta
        return None

    def _next_number(self, folders) -> int:
        counter = self.root / ".counter"
        try:
            last = int(counter.read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            last = 0
        top = max((n for n, _, _ in folders), default=0)
        number = max(last, top) + 1
        atomic_write(counter, f"{number}\n".encode("ascii"))
        return number

    def _create_folder(self, path: Path, meta: dict) -> None:
        """Create the folder under a temporary name and rename it: it appears complete or not at all."""
        tmp = self.root / f".tmp-{path.name}-{os.getpid()}"
        try:
            (tmp / "logs").mkdir(parents=True)
            atomic_write(tmp / "meta.json", dump_json(meta))
            os.rename(tmp, path)
        except (OSError, StoreError) as err:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(err, StoreError):
                raise
            raise store_error("create", path, err) from err

    def _archive(self, path: Path, meta: dict) -> int:
        """Move the current run to history/run-K/ (its store files and its artifacts); return K.

        The folder then holds only the new run, so a stale artifact never passes for a new one.
        Crash-safe: the run is gathered in `history/.staging-run-K-PID` and renamed to run-K in one
        step; a kill before that leaves the staging folder, which the next open (or read) moves
        back (`_recover`). Symbolic links are never followed: a linked history folder is refused
        (StoreError), a linked file or folder of the run is moved as the link it is.
        """
        k = meta.get("run")
        k = k if isinstance(k, int) and k > 0 else 1
        history = path / "history"
        refuse_link(path, "archive a run in")
        refuse_link(history, "archive the previous run into")
        while os.path.lexists(history / f"run-{k}"):
            k += 1
        dest = history / f"run-{k}"
        stage = history / f"{STAGING}{k}-{os.getpid()}"
        try:
            history.mkdir(exist_ok=True)
            refuse_link(history, "archive the previous run into")
            stage.mkdir()
            atomic_write(stage / "meta.json", dump_json(meta))
            # the metrics last, so that a reader never sees this run without them
            names = [n for n in os.listdir(path)
                     if n not in RESERVED and n != "meta.json" and not n.startswith(".")]
            names += ["params.json", "notes.md", "evidence", "metrics.json", "logs"]
            for name in names:
                src = path / name
                if os.path.lexists(src):
                    os.replace(src, stage / name)
            os.rename(stage, dest)
        except OSError as err:
            raise store_error("archive the previous run into", dest, err) from err
        return k

    def _recover(self, path: Path, meta: dict | None = None) -> bool:
        """Undo an archive step that a killed process left half done (caller holds the store lock).

        A staging folder in history/ goes back into the folder (the previous run is whole again);
        a history run that is the folder's own current run (killed after the rename, before the
        new run's meta.json) moves back too; an empty history/run-K (left by older versions) is
        removed. Returns True when something was repaired.
        """
        import shutil

        history = path / "history"
        if is_link(path) or is_link(history) or not history.is_dir():
            return False
        repaired = False
        try:
            entries = os.listdir(history)
        except OSError:
            return False
        if meta is None:
            try:
                meta = read_json(path / "meta.json")
            except (OSError, ValueError):
                meta = None
        for entry in sorted(entries):
            src = history / entry
            if is_link(src) or not src.is_dir():
                continue
            if entry.startswith(STAGING):
                self._move_back(src, path)
                shutil.rmtree(src, ignore_errors=True)
                repaired = True
            elif RUN_DIR.match(entry):
                try:
                    inner = os.listdir(src)
                except OSError:
                    continue
                if not inner:
                    try:
                        os.rmdir(src)
                        repaired = True
                    except OSError:
                        pass
                    continue
                if isinstance(meta, dict) and meta.get("status") != "running" and "meta.json" in inner:
                    try:
                        archived = read_json(src / "meta.json")
                    except (OSError, ValueError):
                        continue
                    if archived == meta:  # the folder's current run, archived by a run that never began
                        self._move_back(src, path)
                        shutil.rmtree(src, ignore_errors=True)
                        repaired = True
        return repaired

    @staticmethod
    def _move_back(src: Path, path: Path) -> None:
        for name in os.listdir(src):
            if name == "meta.json":
                continue
            dest = path / name
            if name == "logs" and dest.is_dir() and not is_link(dest):
                try:
                    os.rmdir(dest)  # the new run's empty logs/
                except OSError:
                    continue
            if not os.path.lexists(dest):
                try:
                    os.replace(src / name, dest)
                except OSError:
                    pass

    # -- crashes -------------------------------------------------------------------------------

    def mark_crashed(self) -> list[str]:
        """Mark `crashed` every run left `running` by a process that is gone (same host).

        Its metrics.json is rebuilt from the journal, so nothing logged is lost. A run whose process
        still runs, or that runs on another host, is left alone. Returns the folders marked.
        """
        if not self.root.is_dir():
            return []
        candidates = []
        for _, _, path in self._folders():
            if is_link(path):
                continue
            try:
                meta = read_json(path / "meta.json")
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict) and meta.get("status") == "running":
                if _runinfo.owner_alive(meta, str(path)) is False:
                    candidates.append(path)
        return self._mark(candidates)

    def _mark(self, paths: list[Path]) -> list[str]:
        marked = []
        if not paths:
            return marked
        with StoreLock(self.root):
            for path in paths:
                if is_link(path):
                    continue
                try:
                    meta = read_json(path / "meta.json")
                except (OSError, ValueError):
                    continue
                if (isinstance(meta, dict) and meta.get("status") == "running"
                        and _runinfo.owner_alive(meta, str(path)) is False):
                    self._crash(path, meta)
                    marked.append(path.name)
        return marked

    def _crash(self, path: Path, meta: dict) -> dict:
        """Rebuild metrics.json from the journal and mark the run crashed (caller holds the lock)."""
        journal = path / JOURNAL
        metrics, last_time, bad = replay_journal(journal)
        encoded = {
            k: encode_metric(m.value, m.step, m.ci, m.level, m.folds, m.std, m.test_train_ratio, m.exact)
            for k, m in metrics.items()
        }
        atomic_write(path / "metrics.json", metrics_document(encoded))
        signs = [last_time or 0.0]
        for name in ("meta.json", "params.json", "notes.md", str(JOURNAL)):
            try:
                signs.append(os.lstat(path / name).st_mtime)
            except OSError:
                pass
        ended = max(signs)
        started = parse_iso(meta.get("started"))
        new = dict(meta)
        new["status"] = "crashed"
        new["ended"] = iso_utc(ended)
        new["duration_s"] = round(max(0.0, ended - started), 3) if started is not None else None
        detected = utc_now()
        reason = f"process {meta.get('pid')} on {meta.get('host')} ended while the run was running"
        new["crash"] = {"detected": detected, "reason": reason, "journal_lines_skipped": bad}
        atomic_write(path / "meta.json", dump_json(new))
        try:
            append_text(path / "notes.md", f"\n**Crashed** (detected {detected}): {reason}.\n")
        except StoreError:
            pass
        return new

    # -- reading -------------------------------------------------------------------------------

    def _scan(self) -> list[tuple[int, str, str]]:
        """(number, slug, folder name) of every experiment folder, by number."""
        out = []
        try:
            entries = os.scandir(self.root)
        except (FileNotFoundError, NotADirectoryError):
            return out
        except OSError as err:
            raise store_error("read", self.root, err) from err
        match = FOLDER.match
        with entries:
            for entry in entries:
                m = match(entry.name)
                if m and entry.is_dir():
                    out.append((int(m.group(1)), m.group(2), entry.name))
        out.sort()
        return out

    def _folders(self) -> list[tuple[int, str, Path]]:
        """(number, slug, path) of every experiment folder, by number."""
        root = self.root
        return [(number, slug, root / name) for number, slug, name in self._scan()]

    def records(self) -> list[ExperimentRecord]:
        """Every experiment folder, sorted by number; runs left running by a dead process are marked crashed first.

        Tolerant by design: a folder whose meta.json (or, with no journal to rebuild from,
        metrics.json/params.json) is missing or corrupt is still returned, with status
        "unreadable" and `problems` naming each path and error, and a TrackingWarning is issued.
        Reports then show it instead of silently dropping an experiment; judging ignores it, as it
        ignores every status but "succeeded". A corrupt metrics.json with an intact journal is
        rebuilt from the journal (status kept, problem noted).
        """
        folders = self._folders()
        recs = [self._read(number, path) for number, _, path in folders]
        dead = [
            r.path
            for r in recs
            if r.status == "running" and _runinfo.owner_alive(r.meta, str(r.path)) is False
        ]
        if dead:
            try:
                marked = set(self._mark(dead))
            except StoreError as err:  # a store that cannot be locked (read-only, a linked .lock) is still read
                marked = set()
                for r in recs:
                    if r.path in dead:
                        r.problems.append(f"not marked crashed: {err}")
            if marked:
                recs = [self._read(r.number, r.path) if r.folder in marked else r for r in recs]
        interrupted = [r for r in recs if r._interrupted]
        if interrupted:
            try:
                with StoreLock(self.root):
                    repaired = {r.folder for r in interrupted if self._recover(r.path)}
            except StoreError as err:
                repaired = set()
                for r in interrupted:
                    r.problems.append(f"an interrupted archive step was not repaired: {err}")
            if repaired:
                recs = [self._read(r.number, r.path) if r.folder in repaired else r for r in recs]
        for r in recs:
            for problem in r.problems:
                warnings.warn(f"experiment store: {problem}", TrackingWarning, stacklevel=2)
        return recs

    def read(self, folder: str) -> ExperimentRecord:
        """One experiment folder by its folder name ('exp-003-xgboost')."""
        m = FOLDER.match(folder)
        path = self.root / folder
        if not m or not path.is_dir():
            raise StoreError(f"no experiment folder {path}")
        return self._read(int(m.group(1)), path)

    def find(self, name: str) -> ExperimentRecord | None:
        """The latest run of an experiment named `name` ('xgboost', 'exp-003-xgboost', or a folder name)."""
        recs = self.records()
        for r in recs:
            if r.folder == name:
                return r
        try:
            wanted = experiment_name(name).casefold()
        except (TypeError, ValueError):
            return None
        slug = slugify(experiment_name(name))
        for r in reversed(recs):
            if r.name.casefold() == wanted or r.folder.split("-", 2)[-1] == slug:
                return r
        return None

    def latest(self, *, task: str | None = None, name: str | None = None,
               artifact: str | None = None) -> ExperimentRecord:
        """The latest succeeded experiment of `task` (`"T-005"`) and/or `name`, holding `artifact` when
        given: how a later task finds what an earlier one saved. StoreError, saying which task to run,
        when there is none."""
        wanted = experiment_name(name).casefold() if name is not None else None
        found = [r for r in self.records() if r.succeeded
                 and (task is None or (r.task or "").upper() == task.upper())
                 and (wanted is None or r.name.casefold() == wanted or r.folder == name)
                 and (artifact is None or artifact in r.artifacts)]
        if not found:
            what = " ".join(x for x in (task, repr(name) if name else None) if x) or "any"
            holding = f" with {artifact}" if artifact else ""
            hint = f": run {task} first" if task else ""
            raise StoreError(f"no succeeded {what} experiment{holding} in {self.root}{hint}")
        return max(found, key=lambda r: (parse_iso(r.started) or 0.0, r.number))

    def _read(self, number: int, path: Path) -> ExperimentRecord:
        problems: list[str] = []
        unreadable = False
        try:
            if is_link(path):
                raise SymlinkRefused(path)
            names = set(os.listdir(path))
        except OSError as err:
            names = set()
            problems.append(f"{path}: {err.strerror or err}")
            unreadable = True

        meta: dict = {}
        if "meta.json" in names:
            meta = _json_object(path / "meta.json", problems)
            unreadable = unreadable or meta is None
        elif not unreadable:
            problems.append(f"{path / 'meta.json'}: missing")
            unreadable = True

        params: dict = {}
        if "params.json" in names:
            params = _json_object(path / "params.json", problems)
            unreadable = unreadable or params is None
        meta, params = meta or {}, params or {}

        metrics: dict[str, MetricValue] = {}
        has_journal = "logs" in names and not is_link(path / "logs") and (path / JOURNAL).is_file()
        if "metrics.json" in names:
            try:
                metrics = decode_metrics_document(read_json(path / "metrics.json"), path / "metrics.json", problems)
            except (OSError, ValueError) as err:
                if has_journal:
                    problems.append(f"{path / 'metrics.json'}: {err}; metrics rebuilt from {path / JOURNAL}")
                    metrics = replay_journal(path / JOURNAL)[0]
                else:
                    problems.append(f"{path / 'metrics.json'}: {err}")
                    unreadable = True
        elif has_journal:
            metrics, _, bad = replay_journal(path / JOURNAL)  # running, or not yet marked crashed
            if bad:
                problems.append(f"{path / JOURNAL}: {bad} line(s) skipped (cut short, not JSON, too deeply"
                                " nested, or not a metric)")

        notes = ""
        if "notes.md" in names:
            try:
                notes = read_bytes(path / "notes.md").decode("utf-8", errors="replace")
            except OSError as err:
                problems.append(f"{path / 'notes.md'}: {err.strerror or err}")

        artifacts = _list_artifacts(path, names)
        interrupted = False
        history = []
        if "history" in names:
            history, interrupted = _read_history(path / "history", problems)
            interrupted = interrupted or (meta.get("status") != "running" and meta in history)

        m = FOLDER.match(path.name)
        name = meta.get("name") if isinstance(meta.get("name"), str) else clean_text(m.group(2) if m else path.name)
        status = meta.get("status") if isinstance(meta.get("status"), str) else UNREADABLE
        if unreadable:
            status = UNREADABLE
        task = meta.get("task")
        run = meta.get("run")
        duration = meta.get("duration_s")
        baseline = meta.get("baseline")
        if baseline is None:
            baseline = name.lower().startswith("baseline")
        elif not isinstance(baseline, bool):
            problems.append(f"{path / 'meta.json'}: \"baseline\" is {baseline!r:.40}, not true or false; read as false")
            baseline = False
        kind = meta.get("kind")
        return ExperimentRecord(
            folder=clean_text(path.name),
            number=number,
            name=name,
            path=path,
            status=status,
            baseline=baseline,
            task=task if isinstance(task, str) else None,
            params=params,
            metrics=metrics,
            meta=meta,
            notes=notes,
            artifacts=artifacts,
            started=meta.get("started") if isinstance(meta.get("started"), str) else None,
            ended=meta.get("ended") if isinstance(meta.get("ended"), str) else None,
            duration_s=float(duration) if isinstance(duration, (int, float)) else None,
            history=history,
            kind=kind if kind in KINDS else "experiment",
            run=run if isinstance(run, int) else 1,
            problems=[clean_text(p) for p in problems],
            _interrupted=interrupted,
        )


def _list_artifacts(path: Path, names: set[str]) -> list[str]:
    out = []
    for name in names:
        if name in RESERVED or name.startswith("."):
            continue
        p = path / name
        if p.is_dir() and not p.is_symlink():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel = Path(dirpath).relative_to(path).as_posix()
                out.extend(clean_text(f"{rel}/{fn}") for fn in filenames if not fn.startswith("."))
        else:
            out.append(clean_text(name))
    out.sort()
    return out


def _read_history(history: Path, problems: list[str]) -> tuple[list[dict], bool]:
    """(earlier runs' meta, oldest first; True when an archive step was cut short there)."""
    runs = []
    interrupted = False
    if is_link(history):
        problems.append(f"{history}: {LINK_REFUSED}")
        return [], False
    try:
        entries = os.listdir(history)
    except OSError:
        return [], False
    for entry in entries:
        if entry.startswith(STAGING):
            interrupted = True
            continue
        m = RUN_DIR.match(entry)
        if not m:
            continue
        try:
            if not os.listdir(history / entry):
                interrupted = True
                continue
        except OSError:
            pass
        try:
            meta = read_json(history / entry / "meta.json")
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as err:
            problems.append(f"{history / entry / 'meta.json'}: {err}")
            meta = {"run": int(m.group(1)), "status": UNREADABLE}
        runs.append((int(m.group(1)), meta))
    runs.sort(key=lambda t: t[0])
    return [meta for _, meta in runs], interrupted
