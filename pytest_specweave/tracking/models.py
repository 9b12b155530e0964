"""The promoted models of an increment: `models/model-vN.pkl` + `model-vN.metadata.json`, written and loaded.

Which file is an experiment's model: the one recorded by `Experiment.log_model` (meta.json
"model"); without it, a recorded artifact named `model*.pkl` (`save_artifact(obj, "model.pkl")`).

`promote_model` copies an experiment's model to the next version, only when its sha256 differs from
the latest version's. Which experiment is the evaluation layer's choice (the judged experiment:
`evaluation.promotion.promote_best_model`); the tracker is given the record.
`load_model` verifies the sha256 recorded in the metadata before it unpickles anything.

METADATA ("pytest-specweave/model/1")::

    {"schema": "pytest-specweave/model/1", "version": 3, "file": "model-v3.pkl",
     "sha256": "...", "bytes": 12345, "created": "2025-...Z",
     "source_experiment": "exp-004-xgboost", "source_name": "xgboost", "source_run": 2,
     "source_file": "model.pkl", "task": "T-004", "primary_metric": "precision@10",
     "metrics": {"precision@10": 0.31, "loss": 0.2},     # final values, numbers ("NaN" etc. when not finite)
     "algorithm": "XGBRanker", "class": "xgboost.sklearn.XGBRanker",
     "framework": "xgboost", "framework_version": "2.1.0",
     "python": "3.11.9", "packages": {"numpy": "...", ...},   # as recorded when the model was trained
     "git_commit": "...", "git_dirty": false, "previous_version": 2,
     "notes": ["..."],   # when a promotion-notes hook gave any (a team's release notes)
     "mlflow": [{"tracking_uri": ..., "registered_model": ..., "registry_version": 3, ...}]}  # when mirrored

Stdlib only; imports nothing of the evaluation layer.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from pathlib import Path

from ..errors import SpecweaveError, StoreError
from ._files import StoreLock, atomic_write, dump_json, read_json, sha256_file, store_error, tag_float
from ._runinfo import distribution_version
from .store import utc_now

MODEL_SCHEMA = "pytest-specweave/model/1"
MODELS = "models"
VERSION_FILE = re.compile(r"^model-v(\d+)\.(pkl|metadata\.json)$")
MODEL_ARTIFACT = "model*.pkl"

# Framework of a model, by the top-level module of its class, and the package that versions it.
FRAMEWORKS = {
    "sklearn": "scikit-learn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "keras": "keras",
    "statsmodels": "statsmodels",
    "prophet": "prophet",
    "jax": "jax",
    "flax": "flax",
    "transformers": "transformers",
    "implicit": "implicit",
    "surprise": "scikit-surprise",
}

# Called as callback(increment_dir, metadata, metadata_path, created) after promote_model:
# created is False when the model was already the latest version (nothing was written).
PROMOTION_CALLBACKS: list = []


class PromotionError(StoreError):
    """The model was promoted locally, but something run after the promotion failed (the MLflow mirror)."""


def on_promotion(callback) -> None:
    if callback not in PROMOTION_CALLBACKS:
        PROMOTION_CALLBACKS.append(callback)


def class_path(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def guess_framework(cls_path: str | None) -> str | None:
    """'sklearn' for 'sklearn.linear_model._logistic.LogisticRegression'; 'python' for plain classes."""
    if not cls_path:
        return None
    top = cls_path.split(".", 1)[0]
    if top in FRAMEWORKS:
        return top
    if top in ("builtins", "__main__", "pytest_specweave_increments", "collections"):
        return "python"
    return top


# ----------------------------------------------------------------------------------------------
# Which file is an experiment's model


def algorithm_of(record, model: dict | None = None) -> str | None:
    """What an experiment trained: its `algorithm`/`model`/`estimator` param, else its model's algorithm."""
    for key in ("algorithm", "model", "estimator"):
        value = record.params.get(key)
        if isinstance(value, str) and value:
            return value
    model = model if model is not None else model_of(record)
    return (model or {}).get("algorithm") or None


def model_of(record) -> dict | None:
    """The model entry of an ExperimentRecord ({file, sha256, algorithm, framework, class, ...}) or None."""
    meta = record.meta if isinstance(record.meta, dict) else {}
    model = meta.get("model")
    if isinstance(model, dict) and isinstance(model.get("file"), str):
        return dict(model)
    artifacts = meta.get("artifacts") if isinstance(meta.get("artifacts"), dict) else {}
    present = set(record.artifacts)
    found = [
        rel for rel, entry in artifacts.items()
        if rel in present and isinstance(entry, dict) and fnmatch.fnmatch(Path(rel).name.lower(), MODEL_ARTIFACT)
    ]
    if not found:
        return None
    rel = min(found, key=lambda r: (r != "model.pkl", "/" in r, r))
    entry = artifacts[rel]
    cls = entry.get("class") if isinstance(entry.get("class"), str) else None
    return {
        "file": rel,
        "sha256": entry.get("sha256"),
        "bytes": entry.get("bytes"),
        "algorithm": cls.rsplit(".", 1)[-1] if cls else None,
        "framework": guess_framework(cls),
        "class": cls,
    }


# ----------------------------------------------------------------------------------------------
# Versions


def _numbers(models_dir: Path) -> tuple[set[int], set[int]]:
    """(versions with a metadata file, every number used by a model-vN file)."""
    with_meta, used = set(), set()
    try:
        names = os.listdir(models_dir)
    except (FileNotFoundError, NotADirectoryError):
        return with_meta, used
    except OSError as err:
        raise store_error("read", models_dir, err) from err
    for name in names:
        m = VERSION_FILE.match(name)
        if m:
            number = int(m.group(1))
            used.add(number)
            if m.group(2) == "metadata.json":
                with_meta.add(number)
    return with_meta, used


def model_versions(increment_dir) -> list[int]:
    """The promoted versions of an increment's model (those with a metadata file), oldest first."""
    return sorted(_numbers(Path(increment_dir) / MODELS)[0])


def metadata_path(increment_dir, version: int) -> Path:
    return Path(increment_dir) / MODELS / f"model-v{version}.metadata.json"


def read_metadata(increment_dir, version: int) -> dict:
    path = metadata_path(increment_dir, version)
    try:
        meta = read_json(path)
    except FileNotFoundError:
        raise StoreError(f"no model version v{version}: {path} does not exist{_existing(increment_dir)}") from None
    except (OSError, ValueError) as err:
        raise store_error("read", path, err) from err
    if not isinstance(meta, dict):
        raise StoreError(f"cannot read {path}: not a JSON object")
    return meta


def _existing(increment_dir) -> str:
    versions = model_versions(increment_dir)
    return f" (versions: {', '.join(f'v{v}' for v in versions)})" if versions else " (no version has been promoted)"


def _latest_metadata(models_dir: Path) -> dict | None:
    versions = _numbers(models_dir)[0]
    for version in sorted(versions, reverse=True):
        try:
            meta = read_json(models_dir / f"model-v{version}.metadata.json")
        except (OSError, ValueError):
            continue  # unreadable metadata: its version counts as different content
        if isinstance(meta, dict):
            return meta
    return None


# ----------------------------------------------------------------------------------------------
# Promotion


def promote_model(increment_dir, record, *, primary_metric: str | None = None, notes=None) -> dict | None:
    """Copy the model of `record` (an ExperimentRecord: the judged experiment) to the next `models/model-vN.pkl`,
    with its metadata.

    `primary_metric`: the metric the experiment was chosen by, recorded in the metadata. Nothing is
    written when `record` is None or has no model, or when its model's sha256 equals the latest
    version's. The file is copied (never moved), checked against the sha256 recorded when it was
    saved, and written atomically: the .pkl first, then the metadata that makes the version exist.
    Returns the new version's metadata, or None when no new version was written.

    `notes`: called (no arguments) only when a new version is about to be written; the texts it
    returns are kept in the metadata ("notes") and the model card.

    Callbacks registered with `on_promotion` (the MLflow mirror) run afterwards; if one fails, the
    local version stays and a PromotionError says so.
    """
    increment_dir = Path(increment_dir)
    if record is None:
        return None
    model = model_of(record)
    if model is None:
        return None
    source = record.path / model["file"]
    try:
        digest, size = sha256_file(source)
    except OSError as err:
        raise store_error("read the model of the judged experiment", source, err) from err
    recorded = model.get("sha256")
    if recorded and digest != recorded:
        raise StoreError(
            f"not promoting {source}: its sha256 {digest[:12]}… differs from {recorded[:12]}… recorded in"
            f" {record.path / 'meta.json'} (the file changed after it was saved)"
        )
    models_dir = increment_dir / MODELS
    try:
        models_dir.mkdir(exist_ok=True)
    except OSError as err:
        raise store_error("create", models_dir, err) from err

    with StoreLock(models_dir):
        latest = _latest_metadata(models_dir)
        if latest is not None and latest.get("sha256") == digest:
            metadata, created = latest, False
            kept = models_dir / str(latest.get("file") or f"model-v{latest.get('version')}.pkl")
            if not kept.exists():  # a fresh clone: the metadata is committed, the pickle is not
                _copy_verified(source, kept, digest)
            if not latest.get("monitoring_profile"):  # the same model, now with a reference profile to ship
                profile = _ship_profile(record, models_dir, int(latest.get("version")))
                if profile is not None:
                    metadata = dict(latest, monitoring_profile=profile)
                    atomic_write(metadata_path(increment_dir, int(latest["version"])), dump_json(metadata))
        else:
            number = max(_numbers(models_dir)[1], default=0) + 1
            target = models_dir / f"model-v{number}.pkl"
            _copy_verified(source, target, digest)
            metadata = _metadata(number, target.name, digest, size, record, model, primary_metric, latest)
            texts = [str(text) for text in notes()] if notes is not None else []
            if texts:
                metadata["notes"] = texts
            profile = _ship_profile(record, models_dir, number)
            if profile is not None:
                metadata["monitoring_profile"] = profile
            atomic_write(metadata_path(increment_dir, number), dump_json(metadata))
            created = True
    _run_callbacks(increment_dir, metadata, created)
    return metadata if created else None


PROFILE_ARTIFACT = "reference-profile.json"  # monitoring.profile.PROFILE_ARTIFACT


def _ship_profile(record, models_dir: Path, number: int) -> str | None:
    """Copy the experiment's reference profile (log_reference_profile) beside version `number`, checked
    against its recorded sha256: what production monitoring compares new data with."""
    if PROFILE_ARTIFACT not in record.artifacts:
        return None
    entry = record.meta.get("artifacts", {}).get(PROFILE_ARTIFACT)
    digest = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(digest, str):
        return None
    target = models_dir / f"model-v{number}.profile.json"
    _copy_verified(record.path / PROFILE_ARTIFACT, target, digest)
    return target.name


def _copy_verified(source: Path, target: Path, digest: str) -> None:
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    h = hashlib.sha256()
    try:
        # a new file, never an existing one or a planted link: the copy cannot land outside the store
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_BINARY", 0), 0o644)
        with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
            while True:
                block = src.read(1 << 20)
                if not block:
                    break
                h.update(block)
                dst.write(block)
        if h.hexdigest() != digest:
            raise StoreError(f"not promoting {source}: it changed while it was being copied")
        os.replace(tmp, target)
    except FileExistsError as err:
        raise store_error("copy the model to", target, err) from err
    except OSError as err:
        _unlink(tmp)
        raise store_error("copy the model to", target, err) from err
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _metadata(number, filename, digest, size, record, model, primary_metric, latest) -> dict:
    meta = record.meta
    packages = meta.get("packages") if isinstance(meta.get("packages"), dict) else {}
    cls = model.get("class")
    framework = model.get("framework") or guess_framework(cls)
    package = FRAMEWORKS.get(framework or "")
    framework_version = packages.get(package) if package else None
    if package and framework_version is None:
        framework_version = distribution_version(package)  # None: not installed here, unknown
    return {
        "schema": MODEL_SCHEMA,
        "version": number,
        "file": filename,
        "sha256": digest,
        "bytes": size,
        "created": utc_now(),
        "source_experiment": record.folder,
        "source_name": record.name,
        "source_run": record.run,
        "source_file": model["file"],
        "task": record.task,
        "primary_metric": primary_metric,
        "metrics": {key: tag_float(float(value.value)) for key, value in record.metrics.items()},
        "algorithm": model.get("algorithm") or (cls.rsplit(".", 1)[-1] if cls else None),
        "class": cls,
        "framework": framework,
        "framework_version": framework_version,
        "python": meta.get("python"),
        "packages": dict(packages),
        "git_commit": meta.get("git_commit"),
        "git_dirty": meta.get("git_dirty"),
        "input_example": model.get("input_example"),
        "previous_version": latest.get("version") if latest else None,
    }


def _run_callbacks(increment_dir: Path, metadata: dict, created: bool) -> None:
    problems = []
    path = metadata_path(increment_dir, metadata.get("version"))
    for callback in list(PROMOTION_CALLBACKS):
        try:
            callback(increment_dir, metadata, path, created)
        except Exception as err:  # noqa: BLE001 - reported below, the local version stands
            problems.append(f"{type(err).__name__}: {err}" if not isinstance(err, SpecweaveError) else str(err))
    if problems:
        what = f"models/model-v{metadata.get('version')}.pkl " + ("promoted" if created else "is the latest version")
        raise PromotionError(f"{increment_dir.name}: {what}, but " + "; ".join(problems))


def update_metadata(increment_dir, version: int, change) -> dict:
    """Apply `change(metadata) -> metadata` to a version's metadata under the models lock (atomically)."""
    models_dir = Path(increment_dir) / MODELS
    with StoreLock(models_dir):
        metadata = change(read_metadata(increment_dir, version))
        atomic_write(metadata_path(increment_dir, version), dump_json(metadata))
    return metadata


# ----------------------------------------------------------------------------------------------
# Loading


def parse_version(version) -> int | None:
    """None/"latest" -> None; 3, "3", "v3", "model-v3" -> 3."""
    if version is None:
        return None
    if isinstance(version, bool):
        raise TypeError(f"model version must be an int or 'vN', got {version!r}")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str):
        text = version.strip().lower()
        if text == "latest":
            return None
        m = re.fullmatch(r"(?:model-)?v?(\d+)", text)
        if not m:
            raise ValueError(f"model version must be an int or 'vN' (like 'v3'), got {version!r}")
        number = int(m.group(1))
    else:
        raise TypeError(f"model version must be an int or 'vN', got {type(version).__name__}")
    if number < 1:
        raise ValueError(f"model versions start at 1, got {version!r}")
    return number


def model_path(increment=None, version=None) -> tuple[Path, int, dict]:
    """(model-vN.pkl, N, metadata) of an increment's promoted model; StoreError naming what exists."""
    from .api import current_increment

    increment_dir = current_increment(increment)
    models_dir = increment_dir / MODELS
    versions = model_versions(increment_dir)
    number = parse_version(version)
    if not versions:
        raise StoreError(
            f"no promoted model in {models_dir}: no model-vN.metadata.json there (no version has been"
            " promoted; a run promotes the judged experiment's model, saved with exp.log_model)"
        )
    if number is None:
        number = versions[-1]
    elif number not in versions:
        raise StoreError(
            f"no model version v{number} in {models_dir}; versions: {', '.join(f'v{v}' for v in versions)}"
        )
    metadata = read_metadata(increment_dir, number)
    return models_dir / f"model-v{number}.pkl", number, metadata


def load_model(increment=None, version=None, *, experiment=None):
    """Unpickle a promoted model, after checking its sha256 against its metadata.

    `increment`: an id prefix ("0042"), folder name or path (from the working directory); None
    means the current increment, as for track_experiment. `version`: 3 or "v3"; None is the latest.
    `experiment`: instead of a promoted version, the model an experiment saved with exp.log_model
    (its name or folder; the latest run), checked against the sha256 in its meta.json.
    Raises StoreError (naming the file and the versions that exist) when the version is missing or
    when the file's sha256 differs from the one recorded at promotion: a model is never unpickled
    unless it is the file that was promoted. Classes defined in the increment's own modules
    (`pytest_specweave_increments.<increment>.<module>`) are importable while it loads.
    """
    if experiment is not None:
        if version is not None:
            raise ValueError("load_model: give a promoted version or an experiment, not both")
        return _load_experiment_model(increment, experiment)
    path, number, metadata = model_path(increment, version)
    if not path.exists():
        restore_version(path.parent.parent, number, metadata)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise store_error("read", path, err) from err
    expected = metadata.get("sha256")
    digest = hashlib.sha256(data).hexdigest()
    if not isinstance(expected, str) or digest != expected:
        raise StoreError(
            f"refusing to load {path}: its sha256 {digest} differs from {expected} recorded in"
            f" {metadata_path(path.parent.parent, number)} (the file was changed or replaced after promotion)"
        )
    return _unpickle(path, data, path.parent.parent)


def restore_version(increment_dir, version: int, metadata: dict) -> Path:
    """Re-create a promoted version's missing file from the model of the experiment it was promoted from.

    Its metadata is committed but its pickle is not (`*.pkl` is ignored), so a fresh clone has only
    the metadata. The experiment's model file (its current run, or the run kept in its history) is
    copied when its sha256 is the one the metadata recorded; otherwise a StoreError says which
    command restores it. Returns the version's path.
    """
    increment_dir = Path(increment_dir)
    models_dir = increment_dir / MODELS
    target = models_dir / f"model-v{version}.pkl"
    expected = metadata.get("sha256")
    source, found = _source_model(increment_dir, metadata, expected)
    if found is not None:
        with StoreLock(models_dir):
            if not target.exists():
                _copy_verified(found, target, expected)
        return target
    raise StoreError(_missing_version_message(increment_dir, version, metadata, source))


def _source_model(increment_dir: Path, metadata: dict, expected) -> tuple[Path | None, Path | None]:
    """(where the version's source model was, that file when it is there with the recorded sha256)."""
    folder, filename = metadata.get("source_experiment"), metadata.get("source_file")
    if not (isinstance(folder, str) and isinstance(filename, str) and isinstance(expected, str)):
        return None, None
    root = increment_dir / "experiments" / folder
    run = metadata.get("source_run")
    candidates = [root / filename]
    if isinstance(run, int):
        candidates.append(root / "history" / f"run-{run}" / filename)
    for candidate in candidates:
        if ".." in Path(filename).parts or not candidate.is_file():
            continue
        try:
            digest, _ = sha256_file(candidate)
        except OSError:
            continue
        if digest == expected:
            return candidate, candidate
    return candidates[0], None


def _missing_version_message(increment_dir: Path, version: int, metadata: dict, source: Path | None) -> str:
    sha = str(metadata.get("sha256") or "")[:12]
    text = (f"{MODELS}/model-v{version}.pkl does not exist, though model-v{version}.metadata.json does (pickles are"
            " not committed: a fresh clone has only the metadata)")
    if source is None:
        text += ", and the metadata does not say which experiment's model it was"
    elif source.exists():
        text += (f", and {source.relative_to(increment_dir).as_posix()} is not the model promoted (its sha256"
                 f" differs from {sha}…)")
    else:
        text += f", and the model it was promoted from, {source.relative_to(increment_dir).as_posix()}, is gone too"
    task = metadata.get("task")
    trains = f"its task {task} trains the model again" if task else "its tasks train the model again"
    return (f"{text}. Restore it with `pytest {_shown_path(increment_dir)}`: {trains} and the run promotes it (the"
            f" same bytes restore v{version}, other bytes become a new version); or fetch model-v{version}.pkl"
            f" (sha256 {sha}…) from where your team keeps models (DVC, git-lfs)")


def _shown_path(path: Path) -> str:
    """`path` as a user types it here: relative to the working directory when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return path.as_posix()


def _load_experiment_model(increment, name):
    from .api import current_increment
    from .store import ExperimentStore

    increment_dir = current_increment(increment)
    record = ExperimentStore(increment_dir).find(name)
    if record is None:
        raise StoreError(f"no experiment named {name!r} in {increment_dir / 'experiments'}")
    model = model_of(record)
    if model is None:
        raise StoreError(f"{record.folder} saved no model (exp.log_model) in {record.path}")
    return _unpickle(record.path / model["file"], record.read_artifact(model["file"]), increment_dir)


def _unpickle(path: Path, data: bytes, increment_dir: Path):
    """Unpickle verified bytes; the increment's own modules are importable while they load."""
    import pickle

    from ..linked_code import ensure_package

    ensure_package(increment_dir)
    try:
        return pickle.loads(data)
    except (ImportError, AttributeError, pickle.UnpicklingError, EOFError) as err:
        raise StoreError(f"cannot unpickle {path}: {type(err).__name__}: {err}") from err
