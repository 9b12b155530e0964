"""scikit-learn: `track_sklearn_model` tracks one estimator; `run_experiments` trains several candidates.

    with track_sklearn_model(RandomForestClassifier(n_estimators=100)) as tracked:
        tracked.fit(X_train, y_train)
        tracked.evaluate(X_test, y_test)

What lands in the experiment (a model run, `track_model`, named after the estimator's class in
kebab case — `random-forest-classifier` — unless `name=` is given):

- `fit(X, y, **fit_params)`: params — every `get_params(deep=True)` entry (a pipeline's are
  flattened, `clf__C`; nested estimators are recorded by class name, `steps` as [name, class]
  pairs) and `model_class`; the hash of X as the "train" input; the fit time as the metric
  `training_time_s`; the fitted model through `log_model` (algorithm: the class name, a pipeline's
  final estimator's; the first rows of X as its input example). An XGBoost or LightGBM wrapper
  fitted with `eval_set=` also records its learning curves (see `integrations.boosting`).
- `evaluate(X, y, prefix="")`: the metrics of the problem type through `compute_metrics` —
  classification (the estimator `is_classifier`): accuracy, precision, recall, f1, and roc_auc,
  pr_auc from `predict_proba` (else `decision_function`); regression: rmse, mae, r2, mape — under
  `prefix` (`"val"` and `"val_"` both give `val_f1`), with the predictions saved for the report's
  charts. `problem=` overrides the inferred type (`forecasting` adds mase, scaled on the fit's y).

`run_experiments(experiments, X, y, X_val=..., y_val=...)` (or `cv=`) trains each
`ModelExperiment(name, estimator_cls, params)` as its own experiment, evaluates it on the
validation data under the `val_` prefix (or cross-validates it, `val_` metrics carrying their
folds and interval), prints one progress line per candidate and returns an `ExperimentComparison`.
scikit-learn is imported when an API is called, never when this module is.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from ._extras import require

INPUT_EXAMPLE_ROWS = 5
BOOSTING = ("xgboost", "lightgbm")
VALIDATION_PREFIX = "val_"
# Metrics compute_metrics gives each problem type (ranking is evaluated by compute_metrics itself).
PROBLEM_METRICS = {
    "classification": ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"),
    "regression": ("rmse", "mae", "r2", "mape"),
    "forecasting": ("mape", "smape", "rmse", "mae", "mase"),
}
DEFAULT_METRIC = {"classification": "f1", "regression": "rmse", "forecasting": "mape"}


# ----------------------------------------------------------------------------------------------
# One estimator


def track_sklearn_model(model, name=None, *, baseline=False, increment=None, problem=None) -> TrackedModel:
    """Track a scikit-learn(-compatible) estimator's fit and evaluation as one experiment.

    Use it as a context manager: leaving the block finishes the experiment (failed, with a note,
    when the block raises). `name` defaults to the class name in kebab case; `baseline`,
    `increment` as for track_experiment; `problem` ("classification", "regression",
    "forecasting") when the estimator does not say (is_classifier / is_regressor).
    """
    require("sklearn", "ml", feature="track_sklearn_model")
    if isinstance(model, type):
        raise TypeError(
            f"track_sklearn_model needs an estimator instance, got the class {model.__name__}:"
            f" pass {model.__name__}(...)"
        )
    if not callable(getattr(model, "fit", None)):
        raise TypeError(f"track_sklearn_model needs an estimator with a fit method, got {type(model).__name__}")
    kind = _problem_type(problem) if problem is not None else None
    from ..tracking.api import track_model

    experiment = track_model(name if name is not None else default_name(model), baseline=baseline,
                             increment=increment)
    return TrackedModel(model, experiment, kind)


class TrackedModel:
    """An estimator and its experiment. Unknown attributes (log_metric, log_note …) are the experiment's."""

    def __init__(self, model, experiment, problem: str | None = None):
        self.model = model
        self.experiment = experiment
        self.problem = problem
        self.training_time_s: float | None = None
        self._y_train = None

    def __repr__(self) -> str:
        return f"<TrackedModel {type(self.model).__name__} in {self.experiment.folder}>"

    def __getattr__(self, name):
        if name.startswith("_") or name in ("model", "experiment"):
            raise AttributeError(name)
        return getattr(self.experiment, name)

    def __enter__(self) -> TrackedModel:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        return self.experiment.__exit__(exc_type, exc, tb)

    def finish(self, status: str | None = None) -> None:
        self.experiment.finish(status)

    def fit(self, X, y=None, **fit_params):
        """Fit the estimator (params, fit time and the fitted model logged) and return it."""
        model, exp = self.model, self.experiment
        framework = framework_of(model)
        exp.log_params({**estimator_params(model), "model_class": type(model).__name__})
        _log_input(exp, X)
        if framework in BOOSTING and ("eval_set" in fit_params or "eval_X" in fit_params):
            from .boosting import fit_with_curves

            seconds = fit_with_curves(exp, framework, model, X, y, fit_params=fit_params)
        else:
            start = time.perf_counter()
            if y is None:
                model.fit(X, **fit_params)
            else:
                model.fit(X, y, **fit_params)
            seconds = time.perf_counter() - start
        self.training_time_s = seconds
        self._y_train = y
        exp.log_metric("training_time_s", seconds)
        save_model(exp, model, X, framework=framework)
        return model

    def evaluate(self, X, y, prefix: str = "", *, threshold=None) -> dict[str, float]:
        """The problem type's metrics of the estimator on (X, y), logged under `prefix`; returns them."""
        return evaluate_model(self.model, X, y, experiment=self.experiment, problem=self.problem, prefix=prefix,
                              threshold=threshold, y_train=self._y_train)


# ----------------------------------------------------------------------------------------------
# Helpers shared with the boosting integration


def default_name(model) -> str:
    """'RandomForestClassifier' -> 'random-forest-classifier'; a pipeline is named after its final estimator."""
    return kebab(type(final_estimator(model)).__name__)


def kebab(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name)
    return re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-").lower() or "model"


def final_estimator(model):
    """A pipeline's last step (recursively), else the model itself."""
    for _ in range(10):
        steps = getattr(model, "steps", None)
        if not isinstance(steps, list) or not steps or not hasattr(model, "named_steps"):
            return model
        last = steps[-1][1]
        if last is None or isinstance(last, str):  # 'passthrough'
            return model
        model = last
    return model


def framework_of(model) -> str | None:
    from ..tracking.models import class_path, guess_framework

    return guess_framework(class_path(final_estimator(model)))


def estimator_params(model) -> dict:
    """get_params(deep=True), flattened and made storable: nested estimators by class name."""
    get = getattr(model, "get_params", None)
    if not callable(get):
        return {}
    try:
        raw = get(deep=True)
    except TypeError:
        raw = get()
    # callbacks (XGBoost's) are not a hyperparameter
    return {str(key): _param(value) for key, value in raw.items() if key != "callbacks"}


def _param(value, depth: int = 0):
    from ..tracking.experiment import _jsonable, _NotJSON

    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if callable(getattr(value, "get_params", None)):
        return type(value).__name__  # a nested estimator: its own params are flattened beside it
    if depth < 4 and isinstance(value, (list, tuple)):
        return [_param(v, depth + 1) for v in value]
    if depth < 4 and isinstance(value, dict):
        return {str(k): _param(v, depth + 1) for k, v in value.items()}
    try:
        return _jsonable(value)
    except (_NotJSON, RecursionError, ValueError, TypeError):
        pass
    if hasattr(value, "tolist") and getattr(value, "size", 101) <= 100:
        try:
            return _jsonable(value.tolist())
        except (_NotJSON, RecursionError, ValueError, TypeError):
            pass
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}".lstrip(".")
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def head(X, n: int = INPUT_EXAMPLE_ROWS):
    """The first rows of X (a DataFrame, array, sparse matrix or list) as a small copy; None when X cannot be sliced."""
    try:
        if hasattr(X, "iloc"):
            return X.iloc[:n].copy()
        part = X[:n]
    except Exception:  # noqa: BLE001 - an input example is a nicety, never an error
        return None
    copy = getattr(part, "copy", None)
    return copy() if callable(copy) else part


def _log_input(experiment, X) -> None:
    try:
        experiment.log_input(X, role="train")
    except (TypeError, ValueError):
        pass  # sparse matrices, lists: not hashed


def save_model(experiment, model, X=None, *, framework=None, algorithm=None) -> None:
    """log_model: the class name as algorithm, the first rows of X as example; an unpicklable model is a warning."""
    import pickle

    from ..tracking.store import TrackingWarning

    example = head(X) if X is not None else None
    try:
        experiment.log_model(model, "model.pkl", algorithm=algorithm or type(final_estimator(model)).__name__,
                             framework=framework, input_example=example)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        experiment.log_note(f"**Model not saved**: {type(model).__name__} cannot be pickled"
                            f" ({type(err).__name__}: {err}).")
        warnings.warn(f"{experiment.folder}: model not saved, it cannot be pickled: {err}", TrackingWarning,
                      stacklevel=3)


def _problem_type(problem) -> str:
    from ..evaluation.metrics import problem_type

    kind = problem_type(problem)
    if kind == "ranking":
        raise ValueError(
            "track_sklearn_model evaluates classification, regression and forecasting; score a ranking model"
            " with compute_metrics('ranking', relevant, ranked, experiment=tracked.experiment)"
        )
    return kind


def infer_problem(model, problem=None) -> str:
    """'classification' or 'regression' from the estimator (is_classifier / is_regressor), unless `problem` says."""
    if problem is not None:
        return _problem_type(problem)
    from sklearn.base import is_classifier, is_regressor

    try:
        if is_classifier(model):
            return "classification"
        if is_regressor(model):
            return "regression"
    except Exception:  # noqa: BLE001 - estimators with unusual tags
        pass
    if hasattr(model, "predict_proba") or hasattr(model, "classes_"):
        return "classification"
    raise ValueError(
        f"cannot tell whether {type(model).__name__} is a classifier or a regressor:"
        " pass problem='classification' or problem='regression'"
    )


def _prefix(prefix) -> str:
    prefix = str(prefix or "")
    return prefix if not prefix or prefix.endswith("_") else prefix + "_"


def _scores(model, X, y):
    """(y_score, pos_label) for compute_metrics: positive-class probabilities, class probabilities, or decisions."""
    import numpy as np

    classes = getattr(model, "classes_", None)
    classes = list(classes) if classes is not None else None
    pos_label = classes[1] if classes is not None and len(classes) == 2 else 1
    try:
        proba = model.predict_proba(X)
    except (AttributeError, NotImplementedError):
        proba = None
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.ndim == 2 and proba.shape[1] == 2:
            return proba[:, 1], pos_label
        if proba.ndim == 2 and proba.shape[1] > 2:
            present = len(np.unique(np.asarray(y)))
            if present == proba.shape[1]:
                return proba, pos_label
            from ..evaluation.metrics import MetricWarning

            warnings.warn(f"roc_auc and pr_auc left out: y holds {present} of the model's {proba.shape[1]} classes",
                          MetricWarning, stacklevel=4)
            return None, pos_label
    try:
        decision = np.asarray(model.decision_function(X), dtype=float)
    except (AttributeError, NotImplementedError):
        return None, pos_label
    return (decision, pos_label) if decision.ndim == 1 else (None, pos_label)


def evaluate_model(model, X, y, *, experiment=None, problem=None, prefix: str = "", threshold=None,
                   y_train=None) -> dict[str, float]:
    """compute_metrics for a fitted estimator on (X, y): labels from predict, scores from predict_proba."""
    from ..evaluation.metrics import compute_metrics

    kind = infer_problem(model, problem)
    prefix = _prefix(prefix)
    y_pred = model.predict(X)
    if kind == "classification":
        y_score, pos_label = _scores(model, X, y)
        return compute_metrics(kind, y, y_pred, y_score=y_score, pos_label=pos_label, threshold=threshold,
                               experiment=experiment, prefix=prefix)
    options = {"y_train": y_train} if kind == "forecasting" and y_train is not None else {}
    return compute_metrics(kind, y, y_pred, experiment=experiment, prefix=prefix, **options)


# ----------------------------------------------------------------------------------------------
# Several candidates


@dataclass
class ModelExperiment:
    """One candidate for run_experiments: `estimator_cls(**params)`, tracked as experiment `name`.

    `estimator_cls`: any scikit-learn-compatible class (XGBClassifier and LGBMClassifier too) or a
    factory callable; an estimator instance is cloned with `params` set on it.
    """

    name: str
    estimator_cls: Any
    params: dict = field(default_factory=dict)
    baseline: bool = False

    def build(self):
        params = dict(self.params or {})
        made = self.estimator_cls
        if not isinstance(made, type) and callable(getattr(made, "get_params", None)):
            from sklearn.base import clone

            return clone(made).set_params(**params)
        if not callable(made):
            raise TypeError(f"ModelExperiment {self.name!r}: estimator_cls must be a class or a callable,"
                            f" got {type(made).__name__}")
        model = made(**params)
        if not callable(getattr(model, "fit", None)):
            raise TypeError(f"ModelExperiment {self.name!r}: {getattr(made, '__name__', made)!s}(**params) has no"
                            " fit method")
        return model


@dataclass
class ExperimentResult:
    """One row of the comparison: a candidate's experiment, its validation metrics and its fitted model."""

    name: str
    folder: str
    metrics: dict[str, float]  # val_* (means over folds with cv) and training_time_s
    value: float | None  # the ranking metric
    seconds: float  # the whole candidate: fit and evaluation (cross-validation included)
    model: Any
    experiment: Any = field(repr=False)
    baseline: bool = False
    std: float | None = None  # over folds, with cv

    @property
    def params(self) -> dict:
        return self.experiment.params


class ExperimentComparison(list):
    """ExperimentResult rows sorted by `metric` (best first; rows without it last)."""

    def __init__(self, rows, metric: str, direction: str):
        self.metric = metric
        self.direction = direction
        sign = 1.0 if direction == "lower" else -1.0

        def key(row):
            ok = row.value is not None and math.isfinite(row.value)
            return (not ok, sign * row.value if ok else 0.0)

        super().__init__(sorted(rows, key=key))

    @property
    def best(self) -> ExperimentResult | None:
        """The best candidate (not a baseline) by the metric; None when no candidate has a value."""
        for row in self:
            if not row.baseline and row.value is not None and math.isfinite(row.value):
                return row
        return None

    def to_markdown(self) -> str:
        from ..evaluation.judge import format_value

        columns = [self.metric] + sorted({k for r in self for k in r.metrics} - {self.metric, "training_time_s"})
        best = self.best
        lines = ["| rank | experiment | " + " | ".join(columns) + " | fit time |",
                 "|---|---|" + "---|" * len(columns) + "---|"]
        for rank, row in enumerate(self, 1):
            name = row.folder + (" (baseline)" if row.baseline else "") + (" ✅ BEST" if row is best else "")
            cells = []
            for column in columns:
                value = row.metrics.get(column)
                cell = "" if value is None else format_value(column, value)
                if column == self.metric and row.std is not None and value is not None:
                    cell += f" ± {row.std:.2g}"
                cells.append(cell)
            fit = row.metrics.get("training_time_s")
            cells.append("" if fit is None else f"{fit:.2f} s")
            lines.append(f"| {rank} | {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def run_experiments(experiments, X, y, *, X_val=None, y_val=None, cv=None, increment=None, metric=None,
                    problem=None) -> ExperimentComparison:
    """Train each ModelExperiment as its own experiment; rank them on validation data; print progress.

    Give validation data (`X_val`, `y_val`: each candidate is fitted on X, y and evaluated there,
    metrics logged as `val_<name>`; XGBoost and LightGBM candidates also record learning curves on
    it) or `cv` (folds: an int, 'stratified', 'kfold', 'group', 'time_series', a splitter or
    (train, test) pairs — the `val_` metrics then carry their folds and interval, and the model
    saved is fitted on all of X, y). Selection never logs the plain metric names that a held-out
    test gate judges. `metric`: what ranks the candidates (default: the increment's primary metric
    when evaluated here, else f1 for classification, rmse for regression). Each candidate prints
    `[2/3] lightgbm: val_f1=0.81 (4.2 s)` to stdout (pytest shows it with -s, and with a failing
    test's output). A candidate that raises is recorded as failed and the error propagates.
    """
    require("sklearn", "ml", feature="run_experiments")
    candidates = list(experiments)
    if not candidates:
        raise ValueError("run_experiments needs at least one ModelExperiment")
    for candidate in candidates:
        if not isinstance(candidate, ModelExperiment):
            raise TypeError(f"run_experiments takes ModelExperiment(name, estimator_cls, params) items,"
                            f" got {type(candidate).__name__}")
    names = [c.name for c in candidates]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"run_experiments: two candidates named {', '.join(map(repr, repeated))}"
                         " (each name is one experiment)")
    if (X_val is None) != (y_val is None):
        raise ValueError("run_experiments: give both X_val and y_val")
    if X_val is None and cv is None:
        raise ValueError("run_experiments needs validation data (X_val=, y_val=) or cv= to compare candidates on;"
                         " it never ranks them on their own training data")
    if X_val is not None and cv is not None:
        raise ValueError("run_experiments: give X_val/y_val or cv, not both")

    models = [c.build() for c in candidates]
    kind = infer_problem(models[0], problem)
    key = _ranking_metric(kind, metric, increment)
    from ..model import metric_names

    direction = metric_names.direction(key) or "higher"
    total = len(candidates)
    rows = []
    for number, (candidate, model) in enumerate(zip(candidates, models, strict=True), 1):
        start = time.perf_counter()
        try:
            with track_sklearn_model(model, candidate.name, baseline=candidate.baseline, increment=increment,
                                     problem=problem) as tracked:
                if cv is not None:
                    metrics, std = _cross_validated(tracked, X, y, cv, problem, key)
                else:
                    fit_params = {"eval_set": [(X_val, y_val)]} if framework_of(model) in BOOSTING else {}
                    tracked.fit(X, y, **fit_params)
                    metrics, std = tracked.evaluate(X_val, y_val, prefix=VALIDATION_PREFIX), None
                metrics["training_time_s"] = tracked.training_time_s
        except BaseException as err:
            print(f"[{number}/{total}] {candidate.name}: failed ({type(err).__name__}: {err})"
                  f" ({time.perf_counter() - start:.1f} s)", flush=True)
            raise
        seconds = time.perf_counter() - start
        value = metrics.get(key)
        shown = "n/a" if value is None else f"{value:.4g}" + (f" ± {std:.2g}" if std is not None else "")
        print(f"[{number}/{total}] {candidate.name}: {key}={shown} ({seconds:.1f} s)", flush=True)
        rows.append(ExperimentResult(candidate.name, tracked.experiment.folder, metrics, value, seconds, model,
                                     tracked.experiment, candidate.baseline, std))
    comparison = ExperimentComparison(rows, key, direction)
    best = comparison.best
    if best is not None:
        print(f"best: {best.name} ({key}={best.value:.4g}, {best.folder})", flush=True)
    return comparison


def _cross_validated(tracked, X, y, cv, problem, key):
    from ..evaluation.validation import cross_validate

    options = {"n_splits": int(cv), "cv": None} if isinstance(cv, int) and not isinstance(cv, bool) else {"cv": cv}
    kind = infer_problem(tracked.model, problem)
    result = cross_validate(tracked.model, X, y, problem=kind, experiment=tracked.experiment,
                            prefix=VALIDATION_PREFIX, **options)
    tracked.fit(X, y)  # the model kept: fitted on all of X, y
    metrics = {f"{VALIDATION_PREFIX}{k}": v for k, v in result.mean.items()}
    std = result.std.get(key[len(VALIDATION_PREFIX):]) if key.startswith(VALIDATION_PREFIX) else None
    return metrics, std


def _ranking_metric(kind: str, metric, increment) -> str:
    """`val_<metric>`: the metric given, else the increment's primary metric when evaluated here, else a default."""
    from ..model import metric_names

    available = PROBLEM_METRICS[kind]
    if metric is not None:
        name = metric_names.canonical(str(metric))
        base = name.removeprefix(VALIDATION_PREFIX)
        if base not in available:
            raise ValueError(f"run_experiments: metric {metric!r} is not evaluated for {kind};"
                             f" choose one of {', '.join(available)}")
        return VALIDATION_PREFIX + base
    primary = _primary_metric(increment)
    if primary:
        base = primary.removeprefix(VALIDATION_PREFIX)
        if base in available:
            return VALIDATION_PREFIX + base
    return VALIDATION_PREFIX + DEFAULT_METRIC[kind]


def _primary_metric(increment) -> str | None:
    try:
        from ..model.increment import Increment
        from ..tracking.api import current_increment

        spec = Increment.load(current_increment(increment)).spec
        return spec.primary_metric if spec is not None else None
    except Exception:  # noqa: BLE001 - no readable spec: the default metric ranks
        return None
