"""One run of an experiment: what the user logs, written to its folder as it is logged.

Made by ExperimentStore.open_run (or track_experiment); usable as a context manager. Every
log_metric call appends one line to logs/metrics.jsonl through an O_APPEND descriptor (no Python
buffering: a SIGKILL loses nothing already logged); params.json and meta.json are replaced
atomically when they change; metrics.json and the final meta.json are written by finish().

Once its final record is written, a run tells the listeners of tracking/events.py (the MLflow
mirror, the pytest layer's experiment-finished hook); the tracker knows nothing of what they do.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
import warnings
from pathlib import Path

from ..errors import StoreError
from ..settings import confidence_level
from . import _runinfo, events
from ._files import (
    RESERVED,
    HashingWriter,
    append_text,
    atomic_write,
    check_text,
    clean_text,
    create_new,
    dump_json,
    inside,
    open_append,
    plain_text,
    safe_relpath,
    sha256_file,
    sha256_tree,
    slugify,
    store_error,
    tag_float,
    tmp_name,
    write_all,
)
from .ledger import EVAL_TARGETS_ROLE, LEDGER, append_evaluation, evaluation_entry
from .store import JOURNAL, TrackingWarning, encode_metric, metrics_document, utc_now

FINAL_STATUSES = ("succeeded", "failed")
# How per-unit evidence columns make a metric (evaluation/evidence.py computes them).
EVIDENCE_FOLDER = "evidence"  # the store's own: per-unit evidence, never listed as an artifact
EVIDENCE_COMBINES = ("mean", "ratio", "f1", "sqrt_mean", "r2", "roc_auc", "pr_auc")
INPUT_EXAMPLE = "input_example.pkl"
RUN_ENVIRONMENT = ("python", "platform", "packages", "git_commit", "git_dirty")  # meta.json: where a run ran

# Who is told when a run finishes (the MLflow mirror, the pytest layer's hook): tracking/events.py.
FINISH_CALLBACKS = events.LISTENERS


def on_finish(callback) -> None:
    """Register `callback(experiment)` to run after every experiment of this process finishes (once each)."""
    events.on_finish(callback)


_now = time.time
_NONFINITE_JSON = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def check_test_train_ratio(ratio) -> float:
    """`test_train_ratio` as a positive finite float (n_test / n_train: 0.25 for 5-fold CV)."""
    try:
        number = float(ratio)
    except (TypeError, ValueError):
        raise ValueError(f"test_train_ratio must be a positive number (n_test / n_train), got {ratio!r}") from None
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"test_train_ratio must be a positive finite number (n_test / n_train), got {number}")
    return number


def cv_interval(folds: list[float], mean: float, std: float, level: float = 0.95,
                test_train_ratio: float | None = None) -> tuple[float, float, float] | None:
    """The interval on the mean of per-fold values, Nadeau–Bengio corrected, as (low, high, level); None when there is none.

    mean ± t(1 - (1 - level)/2, J - 1) · √((1/J + n_test/n_train) · s²), with J the number of
    folds and s = `std` their sample std (ddof=1). `test_train_ratio` is n_test/n_train of the
    splits; None means k-fold, where each fold tests on 1/J of the rows and trains on the rest:
    1 / (J - 1).

    Why not the plain t-interval mean ± t · s/√J: that treats the J fold scores as independent,
    but every two folds' models were trained on mostly the same rows, so their scores move
    together and s understates how much the mean would change on new data; the plain interval is
    too narrow (about 89% coverage at a nominal 95% for a high-variance model). The correction of
    Nadeau and Bengio (2003, "Inference for the generalization error") adds n_test/n_train to
    1/J, widening the interval by the share of data the folds have in common.

    None for fewer than two folds, a non-finite mean or std, or when scipy is not installed (then
    log_cv stores the folds, mean and std without an interval). Written as the metric's
    "ci"/"level" in metrics.json and the journal; the judge recomputes it from the folds and the
    stored ratio at the run's `--sw-confidence`.
    """
    n = len(folds)
    ratio = 1.0 / (n - 1) if test_train_ratio is None and n > 1 else test_train_ratio
    if ratio is not None:
        ratio = check_test_train_ratio(ratio)
    if n < 2 or not (math.isfinite(mean) and math.isfinite(std)) or not 0.0 < level < 1.0:
        return None
    try:
        from scipy.stats import t
    except ImportError:
        return None
    half = float(t.ppf(0.5 + level / 2.0, n - 1)) * math.sqrt((1.0 / n + ratio) * std * std)
    return mean - half, mean + half, float(level)


def _input_location(path: Path, increment_dir: Path) -> dict:
    """Where an input file is, without this machine's folders: relative to the increment (`data/x.csv`),
    else to the project holding it (`../../shared/x.csv`), else inside an installed package
    (`statsmodels/datasets/elec_equip/elec_equip.csv`, with "package" and its version); an absolute
    path only when it is none of these (a data mount the team shares)."""
    try:
        return {"path": clean_text(path.relative_to(increment_dir).as_posix())}
    except ValueError:
        pass
    from ..project import project_root

    if increment_dir.parent.name == "increments" or increment_dir.parent.parent.name == "increments":
        root = project_root(increment_dir)
        if root in path.parents:
            return {"path": clean_text(Path(os.path.relpath(path, increment_dir)).as_posix())}
    import sys
    import sysconfig

    paths = sysconfig.get_paths()
    bases = {Path(p).resolve() for p in (paths.get("purelib"), paths.get("platlib")) if p}
    bases |= {Path(p).resolve() for p in sys.path if p.endswith("-packages")}
    for base in sorted(bases, key=lambda b: -len(b.parts)):
        if base in path.parents:
            from ._runinfo import distribution_version

            inside = path.relative_to(base).as_posix()
            package = inside.split("/", 1)[0]
            return {"path": clean_text(inside), "package": package, "package_version": distribution_version(package)}
    return {"path": clean_text(path.as_posix())}


def _number(key, value) -> float:
    """A metric value as float: int, float, numpy scalars, Decimal, anything with __float__."""
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"metric {key!r}: value must be a number, got {type(value).__name__} {value!r:.60}")
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        raise TypeError(
            f"metric {key!r}: value must be a number, got {type(value).__module__}.{type(value).__qualname__}"
            if type(value).__module__ != "builtins"
            else f"metric {key!r}: value must be a number, got {type(value).__name__}"
        ) from None


def _step(key, step) -> int:
    try:
        import operator

        return operator.index(step)
    except TypeError:
        raise TypeError(f"metric {key!r}: step must be an integer, got {type(step).__name__}") from None


def _float_json(x: float) -> str:
    if x - x == 0.0:
        return repr(x)
    return _NONFINITE_JSON[repr(x)]


class _NotJSON(Exception):
    pass


class _BadValue(Exception):
    """A value that neither JSON nor its repr() can hold: the caller names the key in a ValueError."""


_BIG_INT_BITS = 13_000  # below ~3,900 digits: always convertible to text (the default limit is 4,300)


def _int_value(value: int) -> int:
    value = int(value)
    if value.bit_length() > _BIG_INT_BITS:
        try:
            str(value)
        except ValueError:
            raise _BadValue(
                f"an integer of about {int(value.bit_length() * 0.30103)} digits is too large to store (Python"
                f" converts at most {sys.get_int_max_str_digits()} digits to text); store it as a float or a string"
            ) from None
    return value


def _text_value(value: str) -> str:
    try:
        return check_text("text", value)
    except ValueError as err:
        raise _BadValue(str(err)) from None


def _jsonable(value, depth: int = 0):
    """value as JSON-ready data; non-finite floats tagged; raises _NotJSON when JSON cannot hold it,
    _BadValue when nothing can (text that is not valid Unicode, an integer too large for text)."""
    if depth > 50:
        raise _NotJSON
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text_value(value)
    if isinstance(value, int):
        return _int_value(value)
    if isinstance(value, float):
        return tag_float(float(value))
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        item = value.item()
        if type(item).__module__ == "numpy" or not isinstance(item, (int, float, bool, str, type(None), complex)):
            raise _NotJSON
        return _jsonable(item, depth + 1)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str):
                key = _text_value(k)
            elif k is None or isinstance(k, (bool, int, float)):
                key = json.dumps(_int_value(k) if isinstance(k, int) else k)
            else:
                raise _NotJSON
            out[key] = _jsonable(v, depth + 1)
        return out
    raise _NotJSON


def evidence_columns(what: str, values, combine: str):
    """Per-unit values as the (n, c) float array an evidence file holds; ValueError/TypeError naming `what`."""
    import numpy as np

    if combine not in EVIDENCE_COMBINES:
        raise ValueError(f"{what}: combine must be one of {', '.join(EVIDENCE_COMBINES)}, got {combine!r}")
    try:
        columns = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: values must be numbers, one per unit") from None
    if columns.ndim == 1:
        columns = columns[:, None]
    if columns.ndim != 2 or columns.shape[0] == 0:
        raise ValueError(f"{what}: values must be (n,) or (n, columns) with n > 0, got shape {columns.shape}")
    if not np.all(np.isfinite(columns)):
        raise ValueError(f"{what}: values must be finite (found NaN or infinity)")
    return columns


def read_evidence(data: bytes) -> dict:
    """An evidence file (`log_evidence` writes it) as log_evidence's arguments: metric, values (n, c), combine,
    units, groups, block_length, unit. ValueError, TypeError or KeyError when it is not one."""
    import io

    import numpy as np

    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        header = json.loads(str(archive["header"]))
        if not isinstance(header, dict) or not isinstance(header.get("metric"), str):
            raise ValueError('its header must be a JSON object naming the "metric"')
        combine = str(header.get("combine", "mean"))
        return {"metric": header["metric"], "values": evidence_columns("evidence", archive["columns"], combine),
                "combine": combine, "units": archive["units"] if "units" in archive.files else None,
                "groups": archive["groups"] if "groups" in archive.files else None,
                "block_length": header.get("block_length"), "unit": str(header.get("unit", "rows"))}


class Experiment:
    """A running (or finished) experiment. See ExperimentStore.open_run and track_experiment."""

    def __init__(self, store, path: Path, meta: dict):
        self.store = store
        self.path = Path(path)
        self.increment_dir = store.increment_dir
        self.name: str = meta["name"]
        self.folder: str = meta["folder"]
        self.number: int = meta["number"]
        self.baseline: bool = meta["baseline"]
        self.task: str | None = meta["task"]
        self.kind: str = meta["kind"]
        self.run: int = meta["run"]
        self.finished = False
        self._meta = meta
        self._status = "running"
        self._t0 = time.monotonic()
        self._params: dict = {}
        self._final: dict[str, tuple] = {}
        self._keyjson: dict[str, str] = {}
        self._lock = threading.RLock()
        self._journal = self.path / JOURNAL
        self._broken = False  # a journal write was cut short: start the next line on a new one
        self._notes_started = False
        self._evaluated: set[str] = set()  # eval_targets hashes this run put in the evaluation ledger
        self._owner = os.getpid()
        self._fd = open_append(self._journal)
        _runinfo.OPEN_RUNS[str(self.path)] = self
        _install_atexit()

    def __repr__(self) -> str:
        return f"<Experiment {self.folder} run {self.run} {self.status}>"

    # -- context manager -------------------------------------------------------------------------

    def __enter__(self) -> "Experiment":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish()
            return False
        import traceback

        line = plain_text(clean_text(traceback.format_exception_only(exc_type, exc)[-1].strip()))
        frames = traceback.extract_tb(tb) if tb is not None else []
        where = clean_text(f"{frames[-1].filename}:{frames[-1].lineno}") if frames else None
        try:
            self.log_note(f"**Failed**: `{line}`" + (f" at {where}" if where else ""))
            with self._lock:
                self._meta["error"] = line
                self._meta["error_at"] = where
            self.finish("failed")
        except StoreError as err:  # never hide the user's exception behind ours
            warnings.warn(f"{self.folder}: could not record the failure: {err}", TrackingWarning, stacklevel=2)
        return False

    # -- status ------------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """'running' until finished (or what set_status asked for), then the final status."""
        return self._status

    def set_status(self, status: str) -> None:
        """Ask for the final status ('succeeded' or 'failed'); after finish, rewrites the record."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, got {status!r}")
        with self._lock:
            if self.finished:
                self._check_not_superseded()
                if status != self._status:
                    meta = dict(self._meta, status=status)
                    atomic_write(self.path / "meta.json", dump_json(meta))
                    self._meta = meta
            self._status = status

    def _check_not_superseded(self) -> None:
        """After finish, the folder may hold a later run of the same name: never write into it."""
        from ._files import read_json

        try:
            run = read_json(self.path / "meta.json").get("run")
        except (OSError, ValueError, AttributeError):
            run = None
        if run != self.run:
            raise StoreError(
                f"{self.folder}: run {self.run} is finished and the folder now holds run {run};"
                f" its record is in {self.path / 'history' / f'run-{self.run}'}"
            )

    def finish(self, status: str | None = None) -> None:
        """Write metrics.json and the final meta.json. Status: `status`, else what set_status said, else succeeded.

        Idempotent. If a write fails (StoreError), the run stays open and finish may be retried.
        """
        if status is not None and status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, got {status!r}")
        with self._lock:
            if self.finished:
                if status is not None:
                    self.set_status(status)
                return
            final = status or (self._status if self._status != "running" else "succeeded")
            self._finalize(final)
        if events.LISTENERS:
            events.finished(self)

    def _finalize(self, final: str, extra: dict | None = None) -> None:
        encoded = {key: encode_metric(*entry) for key, entry in self._final.items()}
        atomic_write(self.path / "metrics.json", metrics_document(encoded))
        meta = dict(self._meta, status=final, ended=utc_now(), duration_s=round(time.monotonic() - self._t0, 3))
        if extra:
            meta.update(extra)
        atomic_write(self.path / "meta.json", dump_json(meta))
        self._meta = meta
        self._status = final
        self.finished = True
        fd, self._fd = self._fd, -1
        try:
            os.close(fd)
        except OSError:
            pass
        if _runinfo.OPEN_RUNS.get(str(self.path)) is self:
            del _runinfo.OPEN_RUNS[str(self.path)]

    def discard_if_empty(self) -> bool:
        """Finish a run that recorded nothing by removing it, as if it had never started; True when removed.

        Nothing recorded: no metric, param, note, input, seed, artifact or model, and no file of its own
        in its folder. Only a first run is removed (a folder with earlier runs in its history keeps
        its record); the number it was given is given back when no later one was.
        """
        with self._lock:
            if self.finished or self.run != 1 or not self._recorded_nothing():
                return False
            fd, self._fd = self._fd, -1
            try:
                os.close(fd)
            except OSError:
                pass
            self.store.discard_new_folder(self.path, self.number)
            self.finished = True
            self._status = "discarded"
            if _runinfo.OPEN_RUNS.get(str(self.path)) is self:
                del _runinfo.OPEN_RUNS[str(self.path)]
        return True

    def _recorded_nothing(self) -> bool:
        meta = self._meta
        if self._final or self._params or self._notes_started or self._evaluated:
            return False
        if meta.get("inputs") or meta.get("artifacts") or meta.get("model") or meta.get("evidence") \
                or meta.get("seed") is not None:
            return False
        try:
            names = set(os.listdir(self.path))
            journal = (self.path / JOURNAL).stat().st_size
        except OSError:
            return False
        return names <= {"meta.json", "logs"} and journal == 0 and os.listdir(self.path / "logs") == [JOURNAL.name]

    def _abandon(self) -> None:
        """At interpreter exit: a run never finished is recorded as crashed (as a later reader would)."""
        with self._lock:
            if self.finished or self._owner != os.getpid():
                return
            reason = "the process exited without finishing the run (use `with track_experiment(...)` or call finish())"
            try:
                self.log_note(f"**Crashed**: {reason}.")
                self._finalize("crashed", {"crash": {"detected": utc_now(), "reason": reason}})
            except StoreError:
                return
        if events.LISTENERS:
            events.finished(self)

    # -- metrics -----------------------------------------------------------------------------------

    def _key(self, key) -> str:
        if not isinstance(key, str):
            raise TypeError(f"metric key must be a string, got {type(key).__name__} {key!r:.60}")
        if not key:
            raise ValueError("metric key must not be empty")
        check_text("metric key", key)
        kj = self._keyjson[key] = json.dumps(key)
        return kj

    def log_metric(self, key, value, step=None, *, ci=None, level=None, exact=False) -> None:
        """Log one value. The line reaches the OS before this returns; the last value of a key is final.

        `ci=(low, high)` (with `level`, default 0.95) makes verdicts on this metric interval-aware.
        `exact=True` declares that the value has no sampling error (a size in bytes, a parameter
        count, a count of rows): stored as "exact": true, so that a gate asking for an interval
        can judge it on its value; it cannot be combined with ci.
        NaN and infinities are stored (as the JSON strings "NaN", "Infinity", "-Infinity").
        """
        try:
            kj = self._keyjson[key]
        except (KeyError, TypeError):
            kj = self._key(key)
        if type(value) is not float:
            value = _number(key, value)
        if step is None:
            sj = "null"
        else:
            if type(step) is not int:
                step = _step(key, step)
            sj = repr(step)
        vj = repr(value) if value - value == 0.0 else _float_json(value)
        if exact:
            if exact is not True:
                raise TypeError(f"metric {key!r}: exact must be True or False, got {exact!r:.60}")
            if ci is not None or level is not None:
                raise ValueError(f"metric {key!r}: an exact value has no sampling error: give exact=True or ci, not both")
            line = f'{{"key":{kj},"value":{vj},"step":{sj},"time":{_now()!r},"exact":true}}\n'
            entry = (value, step, None, None, None, None, None, True)
        elif ci is None:
            if level is not None:
                raise ValueError(f"metric {key!r}: level given without ci")
            line = f'{{"key":{kj},"value":{vj},"step":{sj},"time":{_now()!r}}}\n'
            entry = (value, step, None, None, None, None)
        else:
            lo, hi, level = self._interval(key, ci, level)
            line = (
                f'{{"key":{kj},"value":{vj},"step":{sj},"time":{_now()!r},'
                f'"ci":[{_float_json(lo)},{_float_json(hi)}],"level":{level!r}}}\n'
            )
            entry = (value, step, (lo, hi), level, None, None)
        if self._broken:
            line = "\n" + line
            self._broken = False
        data = line.encode()
        try:
            n = os.write(self._fd, data)
            if n != len(data):  # only when the disk fills up mid-line
                write_all(self._fd, data[n:])
        except OSError as err:
            self._write_failed(err)
        self._final[key] = entry

    def _write_failed(self, err: OSError):
        if self.finished:
            raise StoreError(
                f"experiment {self.folder} is finished ({self._status}): log metrics before finish()"
                " or inside its `with` block"
            ) from None
        self._broken = True
        raise store_error("append to", self._journal, err) from err

    def _interval(self, key, ci, level) -> tuple[float, float, float]:
        try:
            lo, hi = ci
        except (TypeError, ValueError):
            raise TypeError(f"metric {key!r}: ci must be a pair (low, high), got {ci!r:.60}") from None
        lo, hi = _number(key, lo), _number(key, hi)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"metric {key!r}: ci bounds must be finite numbers, got ({lo}, {hi})")
        if lo > hi:
            raise ValueError(f"metric {key!r}: ci low {lo} is above high {hi}")
        level = 0.95 if level is None else _number(key, level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"metric {key!r}: level must be between 0 and 1, got {level}")
        return lo, hi, level

    def log_metrics(self, mapping, step=None) -> None:
        """Log several metrics at one step; every value is checked before any is written."""
        if not hasattr(mapping, "items"):
            raise TypeError(f"log_metrics takes a mapping {{name: value}}, got {type(mapping).__name__}")
        items = list(mapping.items())
        checked = []
        for key, value in items:
            try:
                known = key in self._keyjson
            except TypeError:  # unhashable: _key says what is wrong
                known = False
            if not known:
                self._key(key)
            checked.append((key, value if type(value) is float else _number(key, value)))
        for key, value in checked:
            self.log_metric(key, value, step)

    def log_cv(self, key, fold_values, *, test_train_ratio=None) -> None:
        """Per-fold values of a cross-validated metric: value = mean, std = sample std (ddof=1), folds kept.

        test_train_ratio: n_test / n_train, the size of each split's test rows over its training
        rows (their means when splits differ). Not given: k-fold is assumed, n_test / n_train =
        1 / (J - 1) for J folds (0.25 for 5-fold). Given, it is stored with the folds.
        With two or more finite folds (and scipy installed) the Nadeau–Bengio corrected t-interval
        on the mean, at the run's confidence level, is stored as the metric's ci/level (see
        `cv_interval`: the folds' training sets overlap, so the interval is wider than a plain
        t-interval over the folds), so verdicts on it are interval-aware.
        """
        kj = self._key(key)
        folds = [_number(f"{key}[fold {i}]", v) for i, v in enumerate(fold_values)]
        if not folds:
            raise ValueError(f"metric {key!r}: log_cv needs at least one fold value")
        ratio = None if test_train_ratio is None else check_test_train_ratio(test_train_ratio)
        n = len(folds)
        if all(v - v == 0.0 for v in folds):
            mean = math.fsum(folds) / n
            std = math.sqrt(math.fsum((v - mean) ** 2 for v in folds) / (n - 1)) if n > 1 else 0.0
        else:
            mean = sum(folds) / n
            std = math.nan
        interval = cv_interval(folds, mean, std, confidence_level(), test_train_ratio=ratio)
        extra = ""
        ci = level = None
        if interval is not None:
            lo, hi, level = interval
            ci = (float(lo), float(hi))
            level = float(level)
            extra = f',"ci":[{_float_json(ci[0])},{_float_json(ci[1])}],"level":{level!r}'
        if ratio is not None:
            extra += f',"test_train_ratio":{ratio!r}'
        line = (
            f'{{"key":{kj},"value":{_float_json(mean)},"step":null,"time":{_now()!r},'
            f'"folds":[{",".join(_float_json(v) for v in folds)}],"std":{_float_json(std)}{extra}}}\n'
        )
        if self._broken:
            line = "\n" + line
            self._broken = False
        data = line.encode()
        try:
            write_all(self._fd, data)
        except OSError as err:
            self._write_failed(err)
        self._final[key] = (mean, None, ci, level, tuple(folds), std, ratio)

    @property
    def metrics(self) -> dict[str, float]:
        """Final values logged so far."""
        return {key: entry[0] for key, entry in self._final.items()}

    # -- params ------------------------------------------------------------------------------------

    def _param_value(self, key: str, value):
        try:
            return _jsonable(value)
        except _BadValue as err:
            raise ValueError(f"param {key!r}: {err}") from None
        except (_NotJSON, RecursionError, ValueError):
            text = repr(value)
            warnings.warn(
                f"{self.folder}: param {key!r} ({type(value).__name__}) cannot be stored as JSON;"
                f" stored as its repr(): {text[:80]}",
                TrackingWarning,
                stacklevel=3,
            )
            return text

    def log_param(self, key, value) -> None:
        self.log_params({key: value})

    def log_params(self, mapping) -> None:
        """Record parameters (params.json is rewritten atomically at each call); nothing is written when one is refused."""
        if not hasattr(mapping, "items"):
            raise TypeError(f"log_params takes a mapping {{name: value}}, got {type(mapping).__name__}")
        with self._lock:
            params = dict(self._params)
            for key, value in mapping.items():
                key = check_text("param key", key if isinstance(key, str) else str(key))
                params[key] = self._param_value(key, value)
            atomic_write(self.path / "params.json", dump_json(params))
            self._params = params

    @property
    def params(self) -> dict:
        return dict(self._params)

    # -- meta: inputs, seed, artifacts ---------------------------------------------------------------

    @property
    def meta(self) -> dict:
        return dict(self._meta)

    def _update_meta(self, **changes) -> None:
        with self._lock:
            meta = dict(self._meta, **changes)
            if not self.finished:
                meta["status"] = "running"
            atomic_write(self.path / "meta.json", dump_json(meta))
            self._meta = meta

    def record_origin(self, origin: dict, *, mlflow: dict | None = None, started: str | None = None,
                      ended: str | None = None, environment: dict | None = None) -> None:
        """Record where a run brought in from elsewhere came from (meta.json "origin"; "mlflow" when it is an
        MLflow run, as the mirror records one), when it ran there (ISO-8601 UTC) and, in place of this
        process's, its training environment (RUN_ENVIRONMENT keys; those not given become unknown). Allowed after finish."""
        changes: dict = {"origin": _jsonable(origin)}
        if environment is not None:
            changes.update({key: _jsonable(environment.get(key, {} if key == "packages" else None))
                            for key in RUN_ENVIRONMENT})
        if mlflow is not None:
            changes["mlflow"] = _jsonable(mlflow)
        if started is not None:
            changes["started"] = started
        if ended is not None:
            changes["ended"] = ended
        if started is not None and ended is not None:
            from .store import parse_iso

            t0, t1 = parse_iso(started), parse_iso(ended)
            if t0 is not None and t1 is not None:
                changes["duration_s"] = round(max(t1 - t0, 0.0), 3)
        with self._lock:
            if self.finished:
                self._check_not_superseded()
            self._update_meta(**changes)

    def set_seed(self, seed) -> None:
        """Record the random seed, and seed `random` (and numpy's and torch's global generators if imported)."""
        import random

        seeded = []
        try:
            random.seed(seed)
            seeded.append("random")
        except TypeError:
            pass
        np = sys.modules.get("numpy")
        if np is not None:
            try:
                np.random.seed(seed)
                seeded.append("numpy")
            except Exception:
                pass
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                torch.manual_seed(seed)
                seeded.append("torch")
            except Exception:
                pass
        try:
            stored = _jsonable(seed)
        except (_NotJSON, _BadValue):
            try:
                stored = clean_text(repr(seed))
            except ValueError:
                stored = f"<{type(seed).__name__} too large to store>"
        self._update_meta(seed=stored, seeded=seeded)

    def log_input(self, path_or_array, *, role: str = "train") -> str:
        """Record the sha256 of a data file, folder, bytes, numpy array or pandas object in meta.json["inputs"].

        Returns the hex digest. Logging the same role and path again replaces that entry.
        """
        entry = {"role": check_text("log_input role", str(role))}
        obj = path_or_array
        if isinstance(obj, (str, os.PathLike)):
            p = Path(obj)
            if not p.is_absolute():
                p = Path.cwd() / p
            if not p.exists():
                raise FileNotFoundError(f"log_input: no such file or folder {p}")
            if p.is_dir():
                digest, size, count = sha256_tree(p)
                entry.update(kind="dir", files=count)
            else:
                digest, size = sha256_file(p)
                entry["kind"] = "file"
            entry.update(_input_location(p.resolve(), self.increment_dir.resolve()))
            entry["bytes"] = size
            if entry["kind"] == "file":
                self._note_dvc_version(p, entry)
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            import hashlib

            data = bytes(obj)
            digest = hashlib.sha256(data).hexdigest()
            entry.update(kind="bytes", bytes=len(data))
        else:
            digest, info = _hash_data_object(obj)
            entry.update(info)
        entry["sha256"] = digest
        entry["logged"] = utc_now()
        with self._lock:
            inputs = [
                e
                for e in self._meta.get("inputs", [])
                if not (e.get("role") == entry["role"] and e.get("path") == entry.get("path") and e.get("kind") == entry["kind"])
            ]
            inputs.append(entry)
            self._update_meta(inputs=inputs)
        if entry["role"] == EVAL_TARGETS_ROLE:
            self._note_evaluation(digest, entry["logged"])
        return digest

    def _note_dvc_version(self, path: Path, entry: dict) -> None:
        """The file's DVC version beside its sha256 (tracking.dvc_versions), and a note when it changed since
        the previous run or the file differs from it."""
        from .dvc_versions import changed_versions, dvc_version

        version = dvc_version(path)
        if version is None:
            return
        entry["dvc"] = version
        if version.get("matches") is False:
            self.log_note(f"{entry['path']} differs from the version {version['file']} records (md5 "
                          f"{version['md5'][:12]}…): `dvc add` it, or `dvc checkout` the recorded one")
        if self.run > 1:
            from ._files import read_json

            try:
                previous = read_json(self.path / "history" / f"run-{self.run - 1}" / "meta.json")
            except (OSError, ValueError):
                previous = None
            note = changed_versions((previous or {}).get("inputs") if isinstance(previous, dict) else None, entry)
            if note:
                self.log_note(note)

    def _note_evaluation(self, digest: str, when: str) -> None:
        """One line in experiments/evaluations.jsonl per hash of evaluation data this run scored.

        Never breaks the run: a ledger that cannot be written is a TrackingWarning.
        """
        with self._lock:
            if digest in self._evaluated:
                return
            self._evaluated.add(digest)
            try:
                append_evaluation(self.store.root, evaluation_entry(self, digest, when))
            except Exception as err:  # noqa: BLE001 - the ledger never breaks tracking
                self._evaluated.discard(digest)
                warnings.warn(f"{self.folder}: could not record the evaluation in {LEDGER}: {err}",
                              TrackingWarning, stacklevel=4)

    def _record_artifact(self, rel: str, digest: str, size: int, **extra) -> None:
        with self._lock:
            artifacts = dict(self._meta.get("artifacts", {}))
            artifacts[rel] = {"sha256": digest, "bytes": size, "saved": utc_now(), **extra}
            self._update_meta(artifacts=artifacts)

    def _destination(self, filename) -> tuple[str, Path]:
        rel = safe_relpath(filename)
        dest = inside(self.path, rel)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise store_error("create", dest.parent, err) from err
        return rel, dest

    def save_artifact(self, obj, filename) -> Path:
        """Pickle `obj` into the folder as `filename` (atomically); its sha256 goes to meta.json["artifacts"]."""
        import pickle

        rel, dest = self._destination(filename)
        tmp = tmp_name(dest)
        try:
            with os.fdopen(create_new(tmp), "wb") as f:
                writer = HashingWriter(f)
                pickle.dump(obj, writer, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, dest)
        except OSError as err:
            _unlink(tmp)
            raise store_error("write", dest, err) from err
        except BaseException:
            _unlink(tmp)
            raise
        self._record_artifact(
            rel, writer.hash.hexdigest(), writer.size, format="pickle",
            **{"class": f"{type(obj).__module__}.{type(obj).__qualname__}"},
        )
        return dest

    def log_model(self, obj, filename="model.pkl", *, algorithm=None, framework=None, input_example=None) -> Path:
        """Save this run's model: pickled as `filename` (as save_artifact), and recorded as *the* model.

        meta.json["model"] holds {file, sha256, bytes, algorithm, framework, class}: the algorithm
        defaults to the class name, the framework is guessed from the class's module (sklearn,
        xgboost, lightgbm, torch, ...). `input_example` (a few rows of model input) is pickled
        beside it as input_example.pkl; the MLflow mirror infers the model's signature from it.
        When the run is the judged experiment, `promote_best_model` copies this file to
        models/model-vN.pkl. Without log_model, an artifact saved as `model*.pkl` is the model.
        """
        from .models import class_path, guess_framework

        dest = self.save_artifact(obj, filename)
        rel = dest.relative_to(self.path).as_posix()
        entry = self._meta["artifacts"][rel]
        cls = class_path(obj)
        model = {
            "file": rel,
            "sha256": entry["sha256"],
            "bytes": entry["bytes"],
            "algorithm": str(algorithm) if algorithm is not None else type(obj).__name__,
            "framework": str(framework) if framework is not None else guess_framework(cls),
            "class": cls,
        }
        if input_example is not None:
            example = self.save_artifact(input_example, INPUT_EXAMPLE)
            model["input_example"] = example.relative_to(self.path).as_posix()
        self._update_meta(model=model)
        return dest

    def log_artifact(self, path, name=None) -> Path:
        """Copy a file (or folder) into the experiment folder, as `name` or its own name; records its sha256.

        A file already inside the folder is recorded where it is.
        """
        src = Path(path)
        if not src.exists():
            raise FileNotFoundError(f"log_artifact: no such file or folder {src}")
        here = self.path.resolve()
        resolved = src.resolve()
        if here in resolved.parents and name is None:
            rel = resolved.relative_to(here).as_posix()
            if rel.split("/")[0] in RESERVED:
                raise ValueError(f"log_artifact: {src} is one of the store's own files")
            dest = resolved
        else:
            rel, dest = self._destination(name if name is not None else src.name)
            try:
                if src.is_dir():
                    _copy_tree(src, dest)
                else:
                    _copy_file(src, dest)
            except OSError as err:
                raise StoreError(f"cannot copy {src} to {dest}: {err.strerror or err}") from err
        try:
            if dest.is_dir():
                digest, size, count = sha256_tree(dest)
                self._record_artifact(rel, digest, size, kind="dir", files=count)
            else:
                digest, size = sha256_file(dest)
                self._record_artifact(rel, digest, size)
        except OSError as err:
            raise store_error("read", dest, err) from err
        return dest

    def save_report(self, filename, markdown: str) -> Path:
        """Write a markdown (or any text) file into the folder, atomically; recorded with its sha256."""
        rel, dest = self._destination(filename)
        import hashlib

        data = check_text(f"report {filename!r}:", str(markdown)).encode("utf-8")
        atomic_write(dest, data)
        self._record_artifact(rel, hashlib.sha256(data).hexdigest(), len(data), kind="report")
        return dest

    def log_dict(self, dictionary, filename) -> Path:
        """Save a mapping (or list) as a JSON artifact (`filename`, sorted keys), recorded with its sha256:
        what one task hands the next (`model-selection.json`), read back with `ExperimentRecord.load_dict`."""
        import json

        try:
            text = json.dumps(dictionary, indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as err:
            raise TypeError(f"log_dict({filename!r}): the value is not plain JSON ({err})") from None
        return self.save_report(filename, text + "\n")

    def log_predictions(self, y_true, y_pred=None, *, y_score=None, index=None, name="predictions",
                        merge=False) -> Path:
        """Save a model's predictions on the evaluation rows as `<name>.npz`, for the report's charts.

        y_true: the targets (n,); y_pred: predicted labels or values (n,); y_score: scores (n,) or
        class probabilities (n, n_classes); index: the rows' time index (forecasting; taken from
        y_true when it is a pandas Series with a datetime or period index). Arrays, lists, pandas
        and torch objects are accepted. The file is a compressed numpy archive holding the arrays
        given under those names plus `n_total` (rows before sampling); above MAX_PREDICTION_ROWS
        rows a deterministic random sample of that many rows is kept, in row order. Written
        atomically; recorded in meta.json["artifacts"] (kind "predictions", rows, rows_total).
        merge=True: when the file already holds the same y_true (and index), the arrays not given
        now are kept from it (so that labels and scores logged by two calls end up together).
        compute_metrics and bootstrap_ci call this when given `experiment=`.
        """
        import io

        import numpy as np

        arrays = {"y_true": _prediction_array(y_true, "y_true")}
        for key, value in (("y_pred", y_pred), ("y_score", y_score)):
            if value is not None:
                arrays[key] = _prediction_array(value, key)
        if index is None:
            index = _time_index(y_true)
        if index is not None:
            arrays["index"] = _prediction_array(index, "index")
        total = len(arrays["y_true"])
        if total == 0:
            raise ValueError("log_predictions: y_true is empty")
        for key, arr in arrays.items():
            if len(arr) != total:
                raise ValueError(f"log_predictions: y_true has {total} rows but {key} has {len(arr)}")
        if total > MAX_PREDICTION_ROWS:
            keep = np.sort(np.random.default_rng(0).choice(total, MAX_PREDICTION_ROWS, replace=False))
            arrays = {key: arr[keep] for key, arr in arrays.items()}
        filename = str(name) if str(name).endswith(".npz") else f"{name}.npz"
        rel, dest = self._destination(filename)
        if merge and dest.is_file():
            arrays = _merged_predictions(dest, arrays)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, n_total=np.int64(total), **arrays)
        data = buffer.getvalue()
        atomic_write(dest, data)
        import hashlib

        self._record_artifact(rel, hashlib.sha256(data).hexdigest(), len(data), kind="predictions",
                              rows=int(len(arrays["y_true"])), rows_total=int(total))
        return dest

    def log_evidence(self, metric, values, *, combine="mean", units=None, groups=None, block_length=None,
                     unit="rows") -> Path:
        """Keep the per-unit values a metric was computed from, so that verdicts can put an interval on it.

        values: (n,) per-unit values whose mean is the metric (combine="mean"), or (n, c) columns
        for another combiner (EVIDENCE_COMBINES: ratio = sum of column 0 / sum of column 1, as
        precision is; sqrt_mean as rmse; f1; r2; roc_auc/pr_auc with columns (is positive, score)).
        units: an id per unit (user, customer, row id): two experiments evaluated on the same ids
        are compared pair by pair. groups: a cluster id per unit (card, household) when units of
        one cluster are not independent: intervals then resample clusters. block_length: the
        rows are a time series in time order, resampled in blocks of this many consecutive rows.
        unit: what a row is, for the report ("users", "customers"). The metric's value itself is
        logged as usual with log_metric; written as evidence/<metric>-<hash of the name>.npz.
        """
        import io

        import numpy as np

        self._key(metric)
        key = metric
        columns = evidence_columns(f"log_evidence {key!r}", values, combine)
        arrays = {"columns": columns}
        if np.all((columns == 0) | (columns == 1)):
            arrays["columns"] = columns.astype(np.bool_)
        for name, ids in (("units", units), ("groups", groups)):
            if ids is None:
                continue
            ids = np.asarray(ids.to_numpy() if hasattr(ids, "to_numpy") else ids)
            if ids.ndim != 1 or len(ids) != columns.shape[0]:
                raise ValueError(f"log_evidence {key!r}: {name} must hold one id per unit ({columns.shape[0]}), "
                                 f"got shape {ids.shape}")
            if ids.dtype == object or ids.dtype.kind not in "biuUS":
                ids = ids.astype(str)
            arrays[name] = ids
        if block_length is not None:
            block_length = _step(key, block_length)
            if block_length < 1:
                raise ValueError(f"log_evidence {key!r}: block_length must be at least 1, got {block_length}")
        header = {"metric": key, "combine": combine, "block_length": block_length, "unit": str(unit),
                  "rows": int(columns.shape[0])}
        import hashlib

        buffer = io.BytesIO()
        np.savez_compressed(buffer, header=np.array(json.dumps(header)), **arrays)
        data = buffer.getvalue()
        rel = f"{EVIDENCE_FOLDER}/{slugify(key)}-{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}.npz"
        dest = inside(self.path, rel)
        try:
            dest.parent.mkdir(exist_ok=True)
        except OSError as err:
            raise store_error("create", dest.parent, err) from err
        atomic_write(dest, data)
        with self._lock:
            kept = dict(self._meta.get("evidence", {}))
            kept[rel] = {"metric": key, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                         "rows": int(columns.shape[0])}
            self._update_meta(evidence=kept)
        return dest

    # -- notes -------------------------------------------------------------------------------------

    def log_note(self, text) -> None:
        """Append a paragraph to notes.md (reaches the OS at once; allowed after finish too)."""
        text = check_text("note", str(text)).rstrip("\n")
        with self._lock:
            if self.finished:
                self._check_not_superseded()
            prefix = "\n" if self._notes_started or _nonempty(self.path / "notes.md") else ""
            append_text(self.path / "notes.md", f"{prefix}{text}\n")
            self._notes_started = True


MAX_PREDICTION_ROWS = 100_000


def _prediction_array(values, what: str):
    """A 1-D or 2-D numpy array of numbers, booleans, strings or datetimes (no Python objects)."""
    import numpy as np

    if hasattr(values, "detach") and hasattr(values, "numpy"):
        values = values.detach().cpu().numpy()  # a torch tensor
    if hasattr(values, "to_timestamp") and hasattr(values, "freq") and hasattr(values, "to_numpy"):
        values = values.to_timestamp()  # a pandas PeriodIndex
    arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if arr.dtype.kind == "O":
        import numbers

        values = arr.ravel().tolist()
        if not all(v is None or isinstance(v, (str, numbers.Real)) for v in values):
            raise ValueError(f"log_predictions: {what} must hold numbers, labels or dates, one per row (got "
                             f"{type(next(v for v in values if not isinstance(v, (str, numbers.Real))) ).__name__})")
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
        arr = arr.astype(float) if numeric else arr.astype(str)
    if arr.dtype.kind == "O" or arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(f"log_predictions: {what} must be a 1-D array (or 2-D class scores), got shape {arr.shape}")
    return arr


def _time_index(values):
    """The datetime (or period) index of a pandas Series, else None."""
    index = getattr(values, "index", None)
    if index is None or not hasattr(index, "dtype"):
        return None
    kind = getattr(index.dtype, "kind", "")
    if kind == "M" or str(index.dtype).startswith(("datetime64", "period")):
        return index
    return None


def _merged_predictions(path: Path, arrays: dict) -> dict:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as old:
            previous = {key: old[key] for key in old.files if key != "n_total"}
    except (OSError, ValueError):
        return arrays
    for key in ("y_true", "index"):
        a, b = previous.get(key), arrays.get(key)
        if (a is None) != (b is None) and key == "index":
            continue
        if a is None or b is None:
            continue
        if a.shape != b.shape or not np.array_equal(a, b):
            return arrays
    return {**{k: v for k, v in previous.items() if k not in arrays}, **arrays}


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _copy_file(src: Path, dest: Path) -> None:
    import shutil

    tmp = tmp_name(dest)
    try:
        with open(src, "rb") as fsrc, os.fdopen(create_new(tmp), "wb") as fdst:
            shutil.copyfileobj(fsrc, fdst)
        if dest.is_dir():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        _unlink(tmp)
        raise


def _copy_tree(src: Path, dest: Path) -> None:
    import shutil

    tmp = tmp_name(dest, ".tmpdir")
    try:
        shutil.copytree(src, tmp)
        if dest.is_dir():
            shutil.rmtree(dest)
        elif dest.exists():
            dest.unlink()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _hash_data_object(obj) -> tuple[str, dict]:
    """sha256 of an in-memory data set, by duck typing: pandas objects, arrays (numpy, or tensors via .numpy())."""
    import hashlib

    h = hashlib.sha256()
    module = type(obj).__module__ or ""
    if module.startswith("pandas"):
        import pandas as pd

        h.update(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
        if hasattr(obj, "columns"):
            h.update(json.dumps([[str(c), str(t)] for c, t in obj.dtypes.items()]).encode())
            kind = "dataframe"
        else:
            h.update(json.dumps([str(obj.name), str(obj.dtype)]).encode())
            kind = "series"
        return h.hexdigest(), {"kind": kind, "shape": list(obj.shape)}
    if not hasattr(obj, "tobytes") and hasattr(obj, "detach") and hasattr(obj, "numpy"):
        obj = obj.detach().cpu().numpy()  # a torch tensor
    if hasattr(obj, "tobytes") and hasattr(obj, "dtype") and hasattr(obj, "shape"):
        dtype = obj.dtype
        h.update(f"{getattr(dtype, 'str', dtype)}{tuple(obj.shape)}".encode())
        if getattr(dtype, "hasobject", False):
            import pickle

            h.update(pickle.dumps(obj.tolist(), protocol=4))
        else:
            h.update(obj.tobytes())
        return h.hexdigest(), {"kind": "array", "shape": list(obj.shape), "dtype": str(dtype)}
    raise TypeError(
        f"log_input: cannot hash a {type(obj).__name__}; pass a file or folder path, bytes,"
        " a numpy array or a pandas DataFrame/Series"
    )


_atexit_installed = False


def _install_atexit() -> None:
    global _atexit_installed
    if not _atexit_installed:
        import atexit

        atexit.register(_abandon_open_runs)
        _atexit_installed = True


def _abandon_open_runs() -> None:
    for exp in list(_runinfo.OPEN_RUNS.values()):
        try:
            exp._abandon()
        except Exception:
            pass
