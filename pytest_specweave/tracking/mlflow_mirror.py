"""The MLflow mirror: each finished experiment run copied to MLflow, each promoted model registered.

Turned on for a process by `configure_mlflow()` (the plugin calls it under `--sw-mlflow`, the ini
key `sw_mlflow`, or when MLFLOW_TRACKING_URI is set). mlflow is imported only inside the functions
that talk to it: importing this module, or configuring it, costs nothing.

Where: the `tracking_uri` given to configure_mlflow, else MLFLOW_TRACKING_URI (read when
configured), else `sqlite:///<increment>/mlflow.db` per increment, with artifacts in
`<increment>/mlartifacts/` (never MLflow's ./mlruns file store). Artifacts of a URI that is not a
server (any database URI) go to `<increment>/mlartifacts/` too.

What, per experiment run (when it finishes): one MLflow run in the MLflow experiment named after
the increment, named after the experiment, tagged (`specweave.increment`, `specweave.task`,
`specweave.experiment`, `specweave.experiment_number`, `specweave.baseline`, ...), its params and
every journal line of every metric (value, step, timestamp) sent in one `log_batch` (split only
where MLflow's limits require: 1000 entries, 100 params per call), then ended with the status
mapped (succeeded -> FINISHED, failed -> FAILED, crashed -> KILLED). The run's id is recorded in
the experiment's meta.json ("mlflow").

Names MLflow refuses (it allows letters, digits, `_ - . / :` and spaces) are spelt safely:
`precision@10` -> `precision_at_10`, any other refused character -> `_`; the mapping
{original: safe} is the run tag `specweave.metric_names` (JSON; `specweave.param_names` for params).
Param values are text in MLflow: strings as they are, numbers/booleans/None as str(value) (as
mlflow.log_param writes them), lists and objects as JSON. Metric values are the store's, exactly;
a line logged without a step gets its index among that metric's lines (as the store's series do).
Intervals and folds stay in the local store.

A failure never breaks tracking: it is a TrackingWarning; a tracking URI that cannot be reached is
not tried again in this process. MLflow says nothing on the console while the mirror calls it: its
warnings become TrackingWarnings, without colour codes (`_quiet_mlflow`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ..errors import SpecweaveError
from ._files import StoreLock, atomic_write, dump_json, plain_text, read_json, untag_float
from .store import JOURNAL, TrackingWarning, journal_entries, parse_iso, utc_now

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
DB_NAME = "mlflow.db"
ARTIFACTS = "mlartifacts"
MODEL_NAME = "model"
STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "crashed": "KILLED", "running": "RUNNING"}

# MLflow's batch limits (mlflow.utils.validation) and its name/value limits.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000

_ALLOWED = re.compile(r"[/\w.\- :]") if os.name != "nt" else re.compile(r"[/\w.\- ]")
_ALLOWED_NAME = re.compile(r"^[/\w.\- :]*$") if os.name != "nt" else re.compile(r"^[/\w.\- ]*$")


class MirrorError(SpecweaveError):
    """MLflow refused or could not be reached; names the tracking URI (the message has no terminal codes)."""

    def __init__(self, message: str):
        super().__init__(plain_text(str(message)))


# ----------------------------------------------------------------------------------------------
# Configuration (process-wide)


class _Mirror:
    def __init__(self, tracking_uri: str | None):
        self.tracking_uri = tracking_uri
        self.clients: dict[str, object] = {}
        self.experiments: dict[tuple[str, str], str] = {}
        self.broken: dict[str, str] = {}

    def uri_for(self, increment_dir: Path) -> str:
        return self.tracking_uri or default_tracking_uri(increment_dir)


_STATE: _Mirror | None = None


def configure_mlflow(increment=None, tracking_uri=None) -> str | None:
    """Mirror every experiment run of this process to MLflow from now on, and register promoted models.

    `tracking_uri`: where to (else MLFLOW_TRACKING_URI, else `sqlite:///<increment>/mlflow.db`
    per increment, artifacts in `<increment>/mlartifacts/`). Returns the tracking URI that the
    experiments of `increment` (id prefix, folder name or path; None: the current increment, if
    there is one) are mirrored to, e.g. for `mlflow.set_tracking_uri(...)` in a notebook; None
    when no increment is given and none is current. mlflow itself is imported at the first mirror.
    """
    global _STATE
    from .api import current_increment
    from .experiment import on_finish  # (from sys.modules, as the store imports it: never a stale module)
    from .models import on_promotion

    if increment is not None:
        folder = current_increment(increment)  # a bad increment raises before anything changes
    else:
        try:
            folder = current_increment(None)
        except SpecweaveError:
            folder = None
    uri = tracking_uri if tracking_uri else (os.environ.get(ENV_TRACKING_URI) or None)
    state = _Mirror(str(uri) if uri is not None else None)
    _STATE = state
    on_finish(mirror_finished_experiment)
    on_promotion(register_promoted_model)
    return state.uri_for(folder) if folder is not None else state.tracking_uri


def mirroring() -> bool:
    """Is mirroring on in this process?"""
    return _STATE is not None


def current_state():
    """An opaque token of the current configuration, for `restore_state` (the plugin's unconfigure)."""
    return _STATE


def restore_state(state) -> None:
    """Put back a configuration returned by `current_state` (None turns mirroring off)."""
    global _STATE
    _STATE = state


def default_tracking_uri(increment_dir) -> str:
    """`sqlite:///<absolute increment>/mlflow.db` (four slashes before an absolute POSIX path)."""
    return "sqlite:///" + (Path(os.path.abspath(increment_dir)) / DB_NAME).as_posix()


def _is_server(uri: str) -> bool:
    return re.match(r"^(https?|databricks[\w-]*|uc)(:|$)", uri) is not None


def _artifact_location(uri: str, increment_dir: Path) -> str | None:
    """`<increment>/mlartifacts` unless a server decides (never ./mlruns)."""
    if _is_server(uri):
        return None
    return Path(os.path.abspath(increment_dir)).joinpath(ARTIFACTS).as_uri()


def uri_label(uri: str, increment_dir) -> str:
    """The URI as recorded in files that get committed: no credentials, no absolute local path."""
    if uri == default_tracking_uri(increment_dir):
        return f"sqlite:///<increment>/{DB_NAME}"
    return re.sub(r"//[^/@]*@", "//", uri)


def _sqlite_lock(uri: str):
    """An inter-process lock per SQLite database (xdist workers creating or writing one file at once).

    `mlartifacts/.lock` beside the database (the default's folder, ignored with it); for a
    database elsewhere, a lock folder in the temporary directory named after its path.
    """
    m = re.match(r"^sqlite:/{2,3}(.+)$", uri)
    if not m:
        return nullcontext()
    path = Path(os.path.abspath(m.group(1).split("?", 1)[0]))
    if path.name == DB_NAME:
        folder = path.parent / ARTIFACTS
    else:
        digest = hashlib.sha1(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"pytest-specweave-mlflow-{digest}"
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return nullcontext()  # MLflow will say what is wrong with the path
    return StoreLock(folder)


# ----------------------------------------------------------------------------------------------
# Safe names


def safe_name(name: str) -> str:
    """A metric/param name MLflow accepts: '@' -> '_at_', other refused characters -> '_', no path tricks."""
    text = str(name).replace("@", "_at_")
    text = "".join(ch if _ALLOWED.fullmatch(ch) else "_" for ch in text)
    if text != name or not _path_ok(text):
        parts = [p for p in text.split("/") if p != ""]
        parts = ["_" * len(p) if p in (".", "..") else p for p in parts]
        text = "/".join(parts) or "_"
        if text.startswith(".."):
            text = "_" + text
    if len(text) > MAX_KEY_LENGTH:
        text = text[: MAX_KEY_LENGTH - 7] + "_" + hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return text


def _path_ok(name: str) -> bool:
    import posixpath

    norm = posixpath.normpath(name) if name else name
    return bool(name) and norm == name and norm != "." and not norm.startswith("..") and not norm.startswith("/")


def is_safe(name: str) -> bool:
    return bool(_ALLOWED_NAME.match(name)) and _path_ok(name) and len(name) <= MAX_KEY_LENGTH


def safe_names(names) -> dict[str, str]:
    """{original: safe} for every name; names MLflow accepts keep their spelling, the others never collide."""
    names = list(dict.fromkeys(names))
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        if is_safe(name):
            out[name] = name
            taken.add(name)
    for name in names:
        if name in out:
            continue
        base = safe_name(name)
        candidate, n = base, 2
        while candidate in taken:
            suffix = f"_{n}"
            candidate = base[: MAX_KEY_LENGTH - len(suffix)] + suffix
            n += 1
        out[name] = candidate
        taken.add(candidate)
    return out


def param_text(value) -> str:
    """A params.json value as MLflow text: strings as they are, scalars as str(), lists/objects as JSON."""
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, (bool, int, float)):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    return text[:MAX_PARAM_VALUE_LENGTH]


def _json_tags(key: str, mapping: dict) -> dict[str, str]:
    """A mapping as one JSON tag, split over `key`, `key.2`, ... when longer than a tag value may be."""
    if not mapping:
        return {}
    text = json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))
    chunks = [text[i : i + MAX_TAG_VALUE_LENGTH] for i in range(0, len(text), MAX_TAG_VALUE_LENGTH)]
    return {key if i == 0 else f"{key}.{i + 1}": chunk for i, chunk in enumerate(chunks)}


# ----------------------------------------------------------------------------------------------
# What one run sends


def _ms(iso) -> int | None:
    ts = parse_iso(iso)
    return int(ts * 1000) if ts is not None else None


def read_journal(path: Path) -> list[tuple[str, float, int, int | None]]:
    """Every line of a journal as (key, value, step, unix ms); a missing step is the line's index for its key."""
    out = []
    counts: dict[str, int] = {}
    for entry in journal_entries(path):
        if isinstance(entry, int):
            break
        key, step, t = entry["key"], entry.get("step"), entry.get("time")
        try:
            value = untag_float(entry["value"])
        except (ValueError, TypeError):
            continue
        index = counts.get(key, 0)
        counts[key] = index + 1
        if step is None or isinstance(step, bool) or not isinstance(step, int):
            step = index
        out.append((key, value, step, int(t * 1000) if isinstance(t, (int, float)) else None))
    return out


def run_payload(increment_dir: Path, folder: Path, meta: dict, params: dict, journal=None) -> dict:
    """Everything one MLflow run gets, as plain data (names made safe, tags built)."""
    if journal is None:
        journal = read_journal(folder / JOURNAL)
    metric_names = safe_names(key for key, _, _, _ in journal)
    param_names = safe_names(params)
    started = _ms(meta.get("started"))
    ended = _ms(meta.get("ended"))
    fallback = ended or started or 0
    metrics = [(metric_names[k], v, step, t if t is not None else fallback) for k, v, step, t in journal]
    tags = {
        "specweave.increment": increment_dir.name,
        "specweave.experiment": str(meta.get("folder", folder.name)),
        "specweave.experiment_number": str(meta.get("number", "")),
        "specweave.experiment_name": str(meta.get("name", "")),
        "specweave.baseline": "true" if meta.get("baseline") else "false",
        "specweave.kind": str(meta.get("kind", "experiment")),
        "specweave.run": str(meta.get("run", 1)),
        "specweave.status": str(meta.get("status", "")),
    }
    if meta.get("task"):
        tags["specweave.task"] = str(meta["task"])
    if meta.get("git_commit"):
        tags["mlflow.source.git.commit"] = str(meta["git_commit"])
    if meta.get("seed") is not None:
        tags["specweave.seed"] = str(meta["seed"])
    tags.update(_json_tags("specweave.metric_names", {k: s for k, s in metric_names.items() if k != s}))
    tags.update(_json_tags("specweave.param_names", {k: s for k, s in param_names.items() if k != s}))
    try:
        notes = (folder / "notes.md").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        notes = ""
    if notes:
        tags["mlflow.note.content"] = notes[:MAX_TAG_VALUE_LENGTH]
    return {
        "experiment_name": increment_dir.name,
        "run_name": str(meta.get("name", folder.name)),
        "start_time": started,
        "end_time": ended,
        "status": STATUS.get(meta.get("status"), "FINISHED"),
        "tags": tags,
        "params": [(param_names[k], param_text(v)) for k, v in params.items()],
        "metrics": metrics,
        "metric_names": metric_names,
    }


def batches(params: list, metrics: list):
    """(params, metrics) chunks within MLflow's limits: one chunk unless there is more than 1000 in all."""
    params, metrics = list(params), list(metrics)
    while True:
        p = params[:MAX_PARAMS_TAGS_PER_BATCH]
        params = params[len(p):]
        room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(p))
        m = metrics[:room]
        metrics = metrics[len(m):]
        yield p, m
        if not params and not metrics:
            return


# ----------------------------------------------------------------------------------------------
# Talking to MLflow


# What MLflow says about what the mirror does by design: not the user's concern.
_BY_DESIGN = (
    "Passing a Python object as `python_model`",  # the promoted model is cloudpickled, as its pickle was
    "Saving scikit-learn models in the pickle or cloudpickle format",  # likewise
)
_MLFLOW_LOGGERS = ("mlflow", "alembic", "sqlalchemy", "huey")


@contextmanager
def _quiet_mlflow():
    """MLflow kept off the console while the mirror calls it.

    Its log lines, progress bars and notes ("Created version '1'") would land inside pytest's
    progress line: they are dropped. What it logs at WARNING or above, and the warnings it raises
    (but its own deprecations), become TrackingWarnings once the call is over, without colour codes.
    """
    import contextlib
    import io
    import logging

    said: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            said.append(record.getMessage())

    keep = Keep(logging.WARNING)
    loggers = [logging.getLogger(name) for name in _MLFLOW_LOGGERS]
    for logger in loggers:
        logger.addHandler(keep)
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as raised, contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink):
            yield
    finally:
        for logger in loggers:
            logger.removeHandler(keep)
    for w in raised:
        if issubclass(w.category, TrackingWarning):  # the store's own, said as they were
            warnings.warn(w.message, stacklevel=3)
        elif not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
            said.append(str(w.message))
    for message in dict.fromkeys(plain_text(m).strip() for m in said):
        if message and not message.startswith(_BY_DESIGN):
            warnings.warn(f"MLflow: {message}", TrackingWarning, stacklevel=3)


def _client(state: _Mirror, uri: str):
    client = state.clients.get(uri)
    if client is None:
        from mlflow.tracking import MlflowClient

        client = state.clients[uri] = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return client


def _experiment_id(state: _Mirror, client, uri: str, increment_dir: Path) -> str:
    name = increment_dir.name
    key = (uri, name)
    if key in state.experiments:
        return state.experiments[key]
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            experiment_id = client.create_experiment(
                name, artifact_location=_artifact_location(uri, increment_dir), tags={"specweave.increment": name},
            )
        except MlflowException as err:
            if getattr(err, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment_id = client.get_experiment_by_name(name).experiment_id
    elif found.lifecycle_stage == "deleted":
        raise MirrorError(
            f"the MLflow experiment {name!r} at {uri_label(uri, increment_dir)} is deleted:"
            " restore it (or delete it permanently) to mirror this increment"
        )
    else:
        experiment_id = found.experiment_id
    state.experiments[key] = experiment_id
    return experiment_id


PROBE_TIMEOUT_S = 3.0


def no_answer(uri: str) -> str | None:
    """Why an http(s) tracking server does not answer within PROBE_TIMEOUT_S, or None when it does.

    MLflow's own retries would hold a run for minutes. Any HTTP answer (even an error status) means a
    server is there; other URIs (SQLite, Databricks) are not probed.
    """
    if not re.match(r"^https?://", uri):
        return None
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=PROBE_TIMEOUT_S).close()
    except urllib.error.HTTPError:
        return None
    except (OSError, ValueError) as err:
        return str(getattr(err, "reason", err))
    return None


def _probe(uri: str) -> None:
    reason = no_answer(uri)
    if reason is not None:
        raise MirrorError(
            f"the MLflow tracking server at {uri} does not answer ({reason}); experiments are kept in"
            " experiments/ only, and mirroring to it is off for the rest of this run")


def _connect(state: _Mirror, uri: str, increment_dir: Path):
    """(client, MLflow experiment id) for an increment; a URI that fails here is not tried again in this process."""
    try:
        _probe(uri)
    except MirrorError as err:
        state.broken[uri] = str(err)
        raise
    try:
        client = _client(state, uri)
        return client, _experiment_id(state, client, uri, increment_dir)
    except MirrorError:
        raise
    except Exception as err:  # noqa: BLE001 - unreachable, refused, unwritable: all the same to the user
        state.broken[uri] = f"{type(err).__name__}: {err}"
        raise MirrorError(
            f"cannot use MLflow at {uri_label(uri, increment_dir)}: {type(err).__name__}: {err};"
            " mirroring to it is off for the rest of this process"
        ) from err


def _send(client, experiment_id: str, payload: dict) -> str:
    from mlflow.entities import Metric, Param

    run = client.create_run(
        experiment_id,
        start_time=payload["start_time"],
        tags=payload["tags"],
        run_name=payload["run_name"],
    )
    run_id = run.info.run_id
    try:
        metrics = [Metric(k, v, t, s) for k, v, s, t in payload["metrics"]]
        params = [Param(k, v) for k, v in payload["params"]]
        for p, m in batches(params, metrics):
            if p or m:
                client.log_batch(run_id, metrics=m, params=p)
    except BaseException:
        try:
            client.set_terminated(run_id, status="FAILED", end_time=payload["end_time"])
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        raise
    client.set_terminated(run_id, status=payload["status"], end_time=payload["end_time"])
    return run_id


def mirror_run(increment_dir, folder, meta: dict, params: dict, *, state: _Mirror | None = None) -> dict | None:
    """Send one experiment run to MLflow; returns {"tracking_uri", "experiment_id", "run_id"} (None when off)."""
    state = state or _STATE
    if state is None:
        return None
    increment_dir, folder = Path(increment_dir), Path(folder)
    uri = state.uri_for(increment_dir)
    if uri in state.broken:
        return None
    payload = run_payload(increment_dir, folder, meta, params)
    with _sqlite_lock(uri), _quiet_mlflow():
        client, experiment_id = _connect(state, uri, increment_dir)
        try:
            run_id = _send(client, experiment_id, payload)
        except Exception as err:  # noqa: BLE001
            raise MirrorError(
                f"MLflow at {uri_label(uri, increment_dir)} refused {folder.name}: {type(err).__name__}: {err}"
            ) from err
    return {"tracking_uri": uri_label(uri, increment_dir), "experiment_id": experiment_id, "run_id": run_id}


def mirror_finished_experiment(exp) -> None:
    """The finish callback: mirror `exp` and record the MLflow run in its meta.json."""
    state = _STATE
    if state is None:
        return
    try:
        info = mirror_run(exp.increment_dir, exp.path, exp.meta, exp.params, state=state)
    except MirrorError as err:
        warnings.warn(f"{exp.folder}: not mirrored to MLflow: {err}", TrackingWarning, stacklevel=4)
        return
    if info is None:
        return
    with exp._lock:
        exp._check_not_superseded()
        exp._update_meta(mlflow=info)


def mirror_stored_run(increment_dir, folder, *, state: _Mirror | None = None) -> dict | None:
    """Mirror a finished run read from the store (an experiment folder, or a `history/run-K` of one:
    a model's source run that was not mirrored), recording its MLflow run in that run's meta.json."""
    increment_dir, folder = Path(increment_dir), Path(folder)
    meta = read_json(folder / "meta.json")
    try:
        params = read_json(folder / "params.json")
    except FileNotFoundError:
        params = {}
    info = mirror_run(increment_dir, folder, meta, params if isinstance(params, dict) else {}, state=state)
    if info is None:
        return None
    with StoreLock(increment_dir / "experiments"):
        current = read_json(folder / "meta.json")
        if isinstance(current, dict) and current.get("run") == meta.get("run"):
            current["mlflow"] = info
            atomic_write(folder / "meta.json", dump_json(current))
    return info


# ----------------------------------------------------------------------------------------------
# Promoted models


@contextmanager
def _fluent_uri(uri: str):
    """MLflow's model logging reads the process-wide tracking/registry URI: set it, then put everything back.

    mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI (and the registry's, its variable):
    both variables and both settings are restored, so nothing leaks into later runs.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {k: os.environ.get(k) for k in (ENV_TRACKING_URI, "MLFLOW_REGISTRY_URI")}
    saved_tracking = getattr(tracking_utils, "_tracking_uri", None)
    saved_registry = getattr(registry_utils, "_registry_uri", None)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved_tracking)
        mlflow.set_registry_uri(saved_registry)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def registered_model_name(increment_dir) -> str:
    """The registry name of an increment's model: its folder name ('/' and ':' are not allowed there)."""
    return re.sub(r"[/:]", "-", Path(increment_dir).name)


def _source_folder(increment_dir: Path, metadata: dict) -> Path | None:
    """The folder holding the run that trained a promoted version: its experiment folder while that
    run is the latest, else `history/run-K` of it; when history no longer holds it, the latest run
    if that saved the very same model (its sha256); else None."""
    folder = increment_dir / "experiments" / str(metadata.get("source_experiment"))
    wanted = metadata.get("source_run", 1)
    history = folder / "history"
    candidates = [folder, history / f"run-{wanted}"]
    try:
        candidates += sorted(p for p in history.iterdir() if p not in candidates)
    except OSError:
        pass
    for candidate in candidates:
        try:
            meta = read_json(candidate / "meta.json")
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("run", 1) == wanted and meta.get("folder", folder.name) == folder.name:
            return candidate
    try:
        artifacts = read_json(folder / "meta.json").get("artifacts") or {}
        if artifacts.get(metadata.get("source_file"), {}).get("sha256") == metadata.get("sha256"):
            return folder
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _input_example(source: Path | None, increment_dir: Path, metadata: dict):
    """The input example saved with the model (log_model(input_example=...)), checked against its sha256."""
    rel = metadata.get("input_example")
    if not rel or source is None:
        return None
    import pickle

    path = source / rel
    try:
        data = path.read_bytes()
        recorded = read_json(source / "meta.json").get("artifacts", {}).get(rel, {}).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
    if recorded != hashlib.sha256(data).hexdigest():
        return None
    from ..linked_code import ensure_package

    ensure_package(increment_dir)
    example = pickle.loads(data)
    if isinstance(example, (list, tuple)):  # MLflow serves DataFrames, arrays and dicts, not nested lists
        try:
            import numpy as np

            array = np.asarray(example)
            if array.dtype.kind in "biuf":
                return array
        except (ImportError, ValueError, TypeError):
            pass
    return example


def _source_run_id(state: _Mirror, client, uri: str, increment_dir: Path, metadata: dict, source: Path | None) -> str:
    """The MLflow run of the run that trained the model: the mirrored one, else mirrored now (from
    `history/` when its experiment has run again since). Never a run made up for the registry."""
    label = uri_label(uri, increment_dir)
    if source is None:
        raise MirrorError(
            f"model-v{metadata.get('version')} was trained by run {metadata.get('source_run')} of"
            f" {metadata.get('source_experiment')}, which experiments/ no longer holds: not registered at {label}"
        )
    meta = read_json(source / "meta.json")
    info = meta.get("mlflow")
    if isinstance(info, dict) and info.get("tracking_uri") == label and info.get("run_id"):
        try:
            if client.get_run(info["run_id"]).info.lifecycle_stage == "active":
                return info["run_id"]
        except Exception:  # noqa: BLE001 - gone there: mirror again
            pass
    info = mirror_stored_run(increment_dir, source, state=state)
    if info is None:
        raise MirrorError(f"MLflow at {label}: {metadata.get('source_experiment')} could not be mirrored")
    return info["run_id"]


def register_promoted_model(increment_dir, metadata: dict, metadata_file, created: bool) -> dict | None:
    """The promotion callback: log the promoted version to MLflow and register it (once per tracking URI).

    The model is logged to the MLflow run of the run that trained it (mirrored first if it was not:
    mirroring switched on after the promotion), with the sklearn flavor for scikit-learn models and
    as a python_function model holding the model otherwise, and registered under the increment's
    folder name: each promoted version becomes a new registry version. Classes and functions of the
    increment's own code are pickled by value (cloudpickle): the registry's model loads where
    neither the plugin nor that code can be imported; its requirements are the packages its pickle
    imports. The signature is inferred (mlflow.models.infer_signature) from the input example given
    to `log_model(input_example=...)` and the model's predictions on it; without an input example
    the model is logged without a signature. A version already registered at this tracking URI (its
    metadata's "mlflow" list says so) is not registered again.
    """
    state = _STATE
    if state is None:
        return None
    increment_dir = Path(increment_dir)
    uri = state.uri_for(increment_dir)
    if uri in state.broken:
        return None
    label = uri_label(uri, increment_dir)
    if any(isinstance(e, dict) and e.get("tracking_uri") == label for e in metadata.get("mlflow") or []):
        return None
    version = metadata["version"]
    try:
        with _quiet_mlflow():
            with _sqlite_lock(uri):
                client, _ = _connect(state, uri, increment_dir)
            source = _source_folder(increment_dir, metadata)
            run_id = _source_run_id(state, client, uri, increment_dir, metadata, source)
            entry = _log_model(client, uri, increment_dir, metadata, run_id, source)
    except MirrorError:
        raise
    except Exception as err:  # noqa: BLE001
        raise MirrorError(
            f"MLflow at {label}: could not log and register model-v{version}: {type(err).__name__}: {err}"
        ) from err
    entry = {"tracking_uri": label, "run_id": run_id, **entry, "logged": utc_now()}

    def add(current: dict) -> dict:
        current["mlflow"] = [e for e in current.get("mlflow") or [] if e.get("tracking_uri") != label] + [entry]
        return current

    from .models import update_metadata

    update_metadata(increment_dir, version, add)
    metadata.setdefault("mlflow", []).append(entry)
    return entry


@contextmanager
def _increment_code_by_value():
    """cloudpickle writes the classes and functions of increments' code (the synthetic package
    `pytest_specweave_increments`) into the pickle itself, instead of a reference to that package."""
    import cloudpickle

    from ..linked_code import ROOT_PACKAGE

    root = sys.modules.get(ROOT_PACKAGE)
    if root is None or ROOT_PACKAGE in cloudpickle.list_registry_pickle_by_value():
        yield
        return
    cloudpickle.register_pickle_by_value(root)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(root)


def _log_model(client, uri: str, increment_dir: Path, metadata: dict, run_id: str, source: Path | None) -> dict:
    import mlflow
    from mlflow.models import Model, infer_signature

    from .models import load_model

    model = load_model(increment_dir, metadata["version"])
    example = _input_example(source, increment_dir, metadata)
    signature = None
    if example is not None:
        output = None
        predict = getattr(model, "predict", None)
        if callable(predict):
            try:
                output = predict(example)
            except Exception:  # noqa: BLE001 - the signature then describes the input only
                output = None
        signature = infer_signature(example, output)
    framework = metadata.get("framework")
    name = registered_model_name(increment_dir)
    tags = {"specweave.model_version": str(metadata["version"]), "specweave.sha256": metadata.get("sha256", "")}
    with warnings.catch_warnings(), _increment_code_by_value():
        warnings.simplefilter("ignore")  # MLflow's advice on type hints and pip pins, not the user's concern
        common = dict(
            name=MODEL_NAME,
            run_id=run_id,
            registered_model_name=name,
            signature=signature,
            input_example=example,
            pip_requirements=model_requirements(model, framework),
            await_registration_for=0,  # the version number is known at once; READY follows on the server
        )
        with _fluent_uri(uri):
            # Created here, in the source run's MLflow experiment: left to Model.log, the logged
            # model would land in the process's active (default) experiment instead.
            run = client.get_run(run_id)
            logged = client.create_logged_model(
                run.info.experiment_id, name=MODEL_NAME, source_run_id=run_id, tags=tags,
                params={k: str(v) for k, v in run.data.params.items()},
            )
            common["model_id"] = logged.model_id
            if framework == "sklearn":
                info = Model.log(artifact_path=None, flavor=mlflow.sklearn, sk_model=model,
                                 serialization_format="cloudpickle", **common)
            else:
                info = Model.log(artifact_path=None, flavor=mlflow.pyfunc, python_model=promoted_model(model),
                                 **common)
    registered = getattr(info, "registered_model_version", None)
    return {
        "model_uri": info.model_uri,
        "model_id": getattr(info, "model_id", None),
        "registered_model": name,
        "registry_version": int(registered) if registered is not None else None,
        "signature": signature is not None,
    }


def promoted_model(model):
    """The python_function model of a promoted model without an MLflow flavor here: it holds the model
    (`mlflow.pyfunc.load_model(uri).unwrap_python_model().model`) and serves its `predict`."""
    import mlflow.pyfunc

    class PromotedModel(mlflow.pyfunc.PythonModel):
        _skip_type_hint_validation = True  # predict takes what the model's predict takes

        def __init__(self, model):
            self.model = model

        def predict(self, context, model_input, params=None):
            predict = getattr(self.model, "predict", None)
            if not callable(predict):
                raise TypeError(
                    f"{type(self.model).__name__} has no predict(): call its own methods on"
                    " mlflow.pyfunc.load_model(uri).unwrap_python_model().model"
                )
            return predict(model_input)

    return PromotedModel(model)


# ----------------------------------------------------------------------------------------------
# A model's requirements: the packages its pickle imports


def imported_modules(obj) -> set[str]:
    """Top-level modules that unpickling cloudpickle's pickle of `obj` imports (with the increment's
    code by value): the modules of its objects' types, of the classes and functions it refers to,
    and the modules that functions pickled by value use. Pickled to nowhere: nothing is kept."""
    import cloudpickle

    found: set[str] = set()

    class Recorder(cloudpickle.Pickler):
        def reducer_override(self, value):
            if isinstance(value, type(sys)):
                found.add(value.__name__)
            elif isinstance(value, type) or callable(value):  # by reference, or by value: its module is a name
                found.add(getattr(value, "__module__", None) or "")
            found.add(type(value).__module__)
            return super().reducer_override(value)

    class Nowhere:
        def write(self, data):  # bytes, or a PickleBuffer of a large array
            pass

    with _increment_code_by_value():
        Recorder(Nowhere(), protocol=cloudpickle.DEFAULT_PROTOCOL).dump(obj)
    return {name.split(".")[0] for name in found if name}


def model_requirements(model, framework: str | None) -> list[str]:
    """`package==version` of each installed distribution whose modules the model's pickle imports, with
    cloudpickle (which loads it) and the framework's package; the standard library and the increment's
    own code (pickled by value) are left out."""
    from importlib import metadata as importlib_metadata

    from ..linked_code import ROOT_PACKAGE
    from .models import FRAMEWORKS

    modules = imported_modules(model) - set(sys.stdlib_module_names) - {ROOT_PACKAGE, "__main__", "builtins"}
    distributions = {"cloudpickle"}
    if FRAMEWORKS.get(framework or ""):
        distributions.add(FRAMEWORKS[framework])
    unnamed = []
    for module in sorted(modules):
        try:  # most packages are named as their module (numpy); asked first, as the full scan is slow
            distributions.add(importlib_metadata.distribution(FRAMEWORKS.get(module, module)).metadata["Name"])
        except importlib_metadata.PackageNotFoundError:
            unnamed.append(module)
    if unnamed:
        by_module = importlib_metadata.packages_distributions()
        for module in unnamed:
            distributions.update(by_module.get(module, ()))
    requirements = []
    for distribution in sorted(distributions, key=str.lower):
        try:
            requirements.append(f"{distribution}=={importlib_metadata.version(distribution)}")
        except importlib_metadata.PackageNotFoundError:
            requirements.append(distribution)
    return requirements
