"""The MLflow pull: runs logged to an MLflow tracking server by plain MLflow code, brought into an increment's store.

A training job elsewhere (a GPU box, a cluster) needs only mlflow: it tags its runs with the
increment, and the pull copies each selected run into `experiments/` as if it had been tracked
here, so that the criteria and reports judge it as usual. mlflow is imported only inside
`pull_increment`.

The tags (the mirror writes the same ones, so a pushed run and a pulled run agree):

| tag | value | |
|---|---|---|
| `specweave.increment` | `0042-recommendation-model` or `0042` | which increment the run belongs to |
| `specweave.task` | `T-003` | the task that produced it (optional) |
| `specweave.baseline` | `true` | a baseline (a run name starting with `baseline` is one too) |
| `specweave.experiment_name` | `xgboost` | the experiment's name (default: the run name) |
| `specweave.kind` | `model` | a model-producing run (default `experiment`) |
| `specweave.metric_names`, `specweave.param_names` | JSON {original: MLflow name} | names MLflow refuses, spelt back |

Artifacts read from the run:
- `specweave/intervals.json`: {metric: {"ci": [low, high], "level": 0.95}} or {metric: {"folds": [...]}}
  (the metric's value is then the folds' mean): the interval travels with the final value.
- `specweave/evidence/*.npz`: per-unit evidence, in the store's own format (a numpy .npz holding
  `header`, a JSON text {"metric": …, "combine": "mean"|"ratio"|…, "unit": …, "block_length": …},
  `columns`, and optionally `units` and `groups`); see evaluation/evidence.py.

Which runs: by default the latest FINISHED run of each name tagged with the increment; `run_id`: that
run; `parent`: the latest finished child run of each name under that parent run. Idempotent: a
run whose MLflow run id is already the latest run of its experiment here is left as it is.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecweaveError
from ..layout import increment_id
from .experiment import read_evidence

TAG_INCREMENT = "specweave.increment"
TAG_TASK = "specweave.task"
TAG_BASELINE = "specweave.baseline"
TAG_NAME = "specweave.experiment_name"
TAG_KIND = "specweave.kind"
TAG_METRIC_NAMES = "specweave.metric_names"
TAG_PARAM_NAMES = "specweave.param_names"
TAG_PARENT = "mlflow.parentRunId"
INTERVALS_ARTIFACT = "specweave/intervals.json"
EVIDENCE_ARTIFACTS = "specweave/evidence"
TRUE = ("true", "1", "yes")
STATUS = {"FINISHED": "succeeded", "FAILED": "failed", "KILLED": "failed"}


class PullError(SpecweaveError):
    """The pull could not be done; the message names the tracking URI, the run and the artifact."""


@dataclass
class PulledRun:
    run_id: str
    name: str
    folder: str
    changed: bool  # False: the store already held this run

    def describe(self) -> str:
        return f"{self.folder} <- run {self.run_id}" + ("" if self.changed else " (already pulled)")


def tracking_uri_for(increment_dir, tracking_uri: str | None = None) -> str:
    """The given URI, else MLFLOW_TRACKING_URI, else the increment's own `mlflow.db` when it exists."""
    from .mlflow_mirror import ENV_TRACKING_URI, default_tracking_uri

    uri = tracking_uri or os.environ.get(ENV_TRACKING_URI)
    if uri:
        return uri
    if (Path(increment_dir) / "mlflow.db").is_file():
        return default_tracking_uri(increment_dir)
    raise PullError(f"{Path(increment_dir).name}: no MLflow tracking URI to pull from: set MLFLOW_TRACKING_URI"
                    " (or give `pytest-specweave pull --tracking-uri URI`)")


def pull_increment(increment_dir, *, tracking_uri: str | None = None, run_id: str | None = None,
                   parent: str | None = None) -> list[PulledRun]:
    """Bring the selected MLflow runs of an increment into its `experiments/` store (see the module docstring)."""
    from . import mlflow_mirror

    if run_id and parent:
        raise PullError("give a run id or a parent run id, not both")
    increment_dir = Path(increment_dir)
    uri = tracking_uri_for(increment_dir, tracking_uri)
    label = mlflow_mirror.uri_label(uri, increment_dir)
    reason = mlflow_mirror.no_answer(uri)
    if reason is not None:
        raise PullError(f"the MLflow tracking server at {label} does not answer ({reason})")
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise PullError("pulling from MLflow needs mlflow: pip install pytest-specweave[mlflow]") from None
    saved = mlflow_mirror.current_state()
    mlflow_mirror.restore_state(None)  # a pulled run is not pushed back
    try:
        with mlflow_mirror._quiet_mlflow():
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=uri)
            runs = _selected(client, increment_dir, label, run_id, parent)
            return [_pull_run(client, increment_dir, label, run) for run in runs]
    except SpecweaveError:
        raise
    except Exception as err:  # noqa: BLE001 - refused, unreachable: one line naming where
        raise PullError(f"MLflow at {label}: {type(err).__name__}: {mlflow_mirror.plain_text(str(err))}") from None
    finally:
        mlflow_mirror.restore_state(saved)


# -- which runs ----------------------------------------------------------------------------------------


def _search(client, filter_string: str) -> list:
    from mlflow.entities import ViewType

    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=50000)]
    runs, token = [], None
    while ids:
        page = client.search_runs(ids, filter_string=filter_string, run_view_type=ViewType.ACTIVE_ONLY,
                                  max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            break
    return runs


def _latest_finished_per_name(runs) -> list:
    latest: dict[str, object] = {}
    for run in runs:
        if run.info.status != "FINISHED":
            continue
        name = _name(run)
        if name not in latest or (run.info.start_time or 0) > (latest[name].info.start_time or 0):
            latest[name] = run
    return sorted(latest.values(), key=lambda r: (r.info.start_time or 0, r.info.run_id))


def _selected(client, increment_dir: Path, label: str, run_id, parent) -> list:
    from mlflow.exceptions import MlflowException

    name = increment_dir.name
    wanted = {name, increment_id(name) or name}
    if run_id:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            raise PullError(f"MLflow at {label} has no run {run_id}") from None
        tagged = run.data.tags.get(TAG_INCREMENT)
        if tagged is not None and tagged not in wanted:
            raise PullError(f"run {run_id} at {label} is tagged {TAG_INCREMENT} = {tagged!r}, not {name!r}")
        if run.info.status not in STATUS:
            raise PullError(f"run {run_id} at {label} is {run.info.status}: pull it once it has ended")
        return [run]
    if parent:
        runs = _latest_finished_per_name(_search(client, f"tags.`{TAG_PARENT}` = '{_quoted(parent)}'"))
        if not runs:
            raise PullError(f"MLflow at {label}: run {parent} has no finished child runs")
        return runs
    found = []
    for value in sorted(wanted):
        found += _search(client, f"tags.`{TAG_INCREMENT}` = '{_quoted(value)}'")
    runs = _latest_finished_per_name({r.info.run_id: r for r in found}.values())
    if not runs:
        said = " or ".join(repr(v) for v in sorted(wanted, key=len, reverse=True))
        raise PullError(f"MLflow at {label} has no finished run tagged {TAG_INCREMENT} = {said}")
    return runs


def _quoted(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("'", "\\'")


def _name(run) -> str:
    return run.data.tags.get(TAG_NAME) or run.info.run_name or run.info.run_id


# -- one run ---------------------------------------------------------------------------------------------


def _pull_run(client, increment_dir: Path, label: str, run) -> PulledRun:
    from .store import ExperimentStore

    store = ExperimentStore(increment_dir)
    name, run_id = _name(run), run.info.run_id
    existing = store.find(name) if store.root.is_dir() else None
    if existing is not None and (existing.meta.get("mlflow") or {}).get("run_id") == run_id:
        return PulledRun(run_id, name, existing.folder, False)
    tags = run.data.tags
    where = f"run {run_id} ({name}) at {label}"
    metric_names = _names_back(tags, TAG_METRIC_NAMES)
    param_names = _names_back(tags, TAG_PARAM_NAMES)
    history = {metric_names.get(key, key): sorted(client.get_metric_history(run_id, key),
                                                  key=lambda m: (m.step, m.timestamp))
               for key in sorted(run.data.metrics)}
    with tempfile.TemporaryDirectory(prefix="pytest-specweave-pull-") as tmp:
        intervals = _intervals(client, run_id, Path(tmp), where, metric_names, history)
        evidence = _evidence(client, run_id, Path(tmp), where)
    kind = tags.get(TAG_KIND) if tags.get(TAG_KIND) in ("experiment", "model") else "experiment"
    exp = store.open_run(name, baseline=str(tags.get(TAG_BASELINE, "")).strip().lower() in TRUE,
                         task=tags.get(TAG_TASK) or None, kind=kind)
    with exp:
        exp.log_params({param_names.get(k, k): _param_value(v) for k, v in sorted(run.data.params.items())})
        for key, lines in history.items():
            interval = intervals.get(key, {})
            for i, m in enumerate(lines):
                last = i == len(lines) - 1
                if last and "ci" in interval:
                    exp.log_metric(key, m.value, m.step, ci=interval["ci"], level=interval.get("level"))
                else:
                    exp.log_metric(key, m.value, m.step)
            if "folds" in interval:
                exp.log_cv(key, interval["folds"])
        for found in evidence:
            exp.log_evidence(found["metric"], found["values"], combine=found["combine"], units=found["units"],
                             groups=found["groups"], block_length=found["block_length"], unit=found["unit"])
        exp.set_status(STATUS[run.info.status])
    origin = {"source": "mlflow", "tracking_uri": label, "run_id": run_id, "run_uri": f"runs:/{run_id}",
              "experiment_id": run.info.experiment_id, "status": run.info.status}
    model_uri = _model_uri(client, run)
    if model_uri:
        origin["model_uri"] = model_uri
    if tags.get("mlflow.source.git.commit"):
        origin["git_commit"] = tags["mlflow.source.git.commit"]
    if tags.get(TAG_PARENT):
        origin["parent_run_id"] = tags[TAG_PARENT]
    exp.record_origin(origin, mlflow={"tracking_uri": label, "experiment_id": run.info.experiment_id, "run_id": run_id},
                      started=_iso(run.info.start_time), ended=_iso(run.info.end_time),
                      environment={"git_commit": tags.get("mlflow.source.git.commit")})
    return PulledRun(run_id, name, exp.folder, True)


def _iso(ms) -> str | None:
    from .store import iso_utc

    return iso_utc(ms / 1000.0) if isinstance(ms, int) and ms > 0 else None


def _names_back(tags: dict, key: str) -> dict[str, str]:
    """{MLflow name: original} from the mirror's (possibly split) JSON tag."""
    text = tags.get(key, "")
    n = 2
    while f"{key}.{n}" in tags:
        text += tags[f"{key}.{n}"]
        n += 1
    try:
        mapping = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(safe): str(original) for original, safe in mapping.items()} if isinstance(mapping, dict) else {}


def _param_value(text: str):
    """MLflow keeps params as text: numbers, booleans, None, lists and objects come back as they were logged."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value


def _download(client, run_id: str, path: str, tmp: Path) -> Path:
    return Path(client.download_artifacts(run_id, path, str(tmp)))


def _artifact_paths(client, run_id: str, folder: str) -> list[str]:
    try:
        return sorted(f.path for f in client.list_artifacts(run_id, folder) if not f.is_dir)
    except Exception:  # noqa: BLE001 - no such folder
        return []


def _intervals(client, run_id, tmp: Path, where: str, metric_names: dict, history: dict) -> dict:
    if INTERVALS_ARTIFACT not in _artifact_paths(client, run_id, INTERVALS_ARTIFACT.rsplit("/", 1)[0]):
        return {}
    bad = f"{where}: artifact {INTERVALS_ARTIFACT}"
    try:
        doc = json.loads(_download(client, run_id, INTERVALS_ARTIFACT, tmp).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PullError(f"{bad} is not JSON: {err}") from None
    if not isinstance(doc, dict):
        raise PullError(f"{bad} must be an object {{metric: {{\"ci\": [low, high], \"level\": 0.95}}}}")
    out = {}
    for key, entry in doc.items():
        key = metric_names.get(key, key)
        if key not in history:
            raise PullError(f"{bad} gives an interval for {key!r}, which the run did not log as a metric")
        ok = isinstance(entry, dict) and (
            ("ci" in entry and isinstance(entry["ci"], list) and len(entry["ci"]) == 2
             and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in entry["ci"])
             and isinstance(entry.get("level", 0.95), (int, float)))
            or ("folds" in entry and isinstance(entry["folds"], list) and entry["folds"]
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in entry["folds"])))
        if not ok:
            raise PullError(f"{bad}: {key!r} must be {{\"ci\": [low, high], \"level\": 0.95}} or {{\"folds\": [...]}},"
                            f" got {json.dumps(entry)[:80]}")
        out[key] = entry
    return out


def _evidence(client, run_id, tmp: Path, where: str) -> list[dict]:
    """The run's per-unit evidence artifacts, read and checked before anything is written (log_evidence's arguments)."""
    found = []
    for path in _artifact_paths(client, run_id, EVIDENCE_ARTIFACTS):
        if not path.endswith(".npz"):
            continue
        try:
            found.append(read_evidence(_download(client, run_id, path, tmp).read_bytes()))
        except Exception as err:  # noqa: BLE001 - whatever numpy says of a bad file
            raise PullError(f"{where}: artifact {path} is not per-unit evidence (a .npz with a JSON `header` and"
                            f" `columns`): {type(err).__name__}: {err}") from None
    return found


def _model_uri(client, run) -> str | None:
    """The run's model: an MLflow 3 logged model (`models:/<id>`), else a run artifact folder holding an MLmodel."""
    outputs = getattr(getattr(run, "outputs", None), "model_outputs", None) or []
    for output in outputs:
        if getattr(output, "model_id", None):
            return f"models:/{output.model_id}"
    try:
        for entry in client.list_artifacts(run.info.run_id):
            if entry.is_dir and any(f.path.endswith("/MLmodel") for f in client.list_artifacts(run.info.run_id,
                                                                                               entry.path)):
                return f"runs:/{run.info.run_id}/{entry.path}"
    except Exception:  # noqa: BLE001 - no artifacts to list: no model
        pass
    return None
