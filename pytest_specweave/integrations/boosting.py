"""XGBoost and LightGBM: `track_boosting_model` records learning curves through the library's own callback.

    with track_boosting_model("xgboost", params=params) as tracked:
        booster = xgb.train(params, dtrain, 200, evals=[(dval, "val")], callbacks=[tracked.callback])

    with track_boosting_model("lightgbm") as tracked:
        model = tracked.fit(LGBMClassifier(n_estimators=200), X_train, y_train, eval_set=[(X_val, y_val)])
        tracked.evaluate(X_val, y_val, prefix="val")

`tracked.callback` is the library's native callback (an `xgboost.callback.TrainingCallback`; a
LightGBM callable reading `env.evaluation_result_list`), for `xgb.train`/`lgb.train`/`cv` and for
the scikit-learn wrappers (`XGBClassifier(callbacks=[...])`, `LGBMClassifier().fit(callbacks=[...])`).
`tracked.callback(metrics=["auc"])` makes one that logs only those metrics; a metric the library
does not report raises UnknownMetric at the first iteration, listing the ones it does.

Learning curves. Every iteration, each evaluation metric of each evaluation set is logged at
step = the 0-based iteration (as both libraries count in their callbacks) as
`<dataset>_<metric>`:

- dataset: `train` for the training data ("train"/"training", LightGBM's name for it); `val` for
  "val"/"valid"/"validation" and for the wrappers' automatic names (`validation_0`, `valid_0`)
  when there is one evaluation set — with several: `val1`, `val2` … by position; any other name
  as given, lower-cased. `.fit()` names its eval sets itself: `train` for the training data (the
  same X and y objects), else `val` (`val1`, `val2` … when several); `eval_names=` overrides, as does
  `callback(datasets={"validation_0": "holdout"})` (or a list, by position).
- metric: the library's name made canonical where one exists — logloss, mlogloss, binary_logloss,
  multi_logloss → `log_loss`; auc → `roc_auc`; aucpr, average_precision → `pr_auc`; error,
  binary_error, merror, multi_error → `error`; l2 → `mse`; l1 → `mae`; l2_root → `rmse`; others
  (rmse, mae, ndcg@5 …) as the library writes them. So XGBoost and LightGBM runs on the same data
  log the same names (`val_log_loss`), and a chart draws `train_log_loss` and `val_log_loss` together.

The mapping (`val_log_loss ← validation_0 logloss`) is written to notes.md. At the end of training
the run records params `best_iteration` (the step of the best value: the library's own when early
stopping chose it, else the best of the monitored curve — XGBoost's convention, the last metric
of the last evaluation set that is not the training data; LightGBM's, its first metric),
`best_metric` (that curve's name) and `iterations_run`, and the metric `best_<curve>`
(`best_val_log_loss`). The final value of each curve is its last iteration's, as logged.

Also: params (`params=` given to track_boosting_model; LightGBM's resolved params from
`lgb.train`; the wrapper's `get_params()` in `.fit()`), `training_time_s` (`.fit()`: the fit call;
`xgb.train`: first to last callback call; `lgb.train`: from the callback's creation — when
`tracked.callback` is evaluated — to the last iteration), and the model: `.fit()` logs the fitted
wrapper; with `xgb.train`/`lgb.train` the trained Booster is logged when the block ends, unless
`tracked.log_model(...)` logged one (framework "xgboost"/"lightgbm"; algorithm "XGBoost"/"LightGBM"
for a Booster, the class name for a wrapper). The libraries are imported when
track_boosting_model is called, never when this module is.
"""

from __future__ import annotations

import math
import re
import time
import warnings

from ..errors import SpecweaveError
from ._extras import require

LIBRARIES = {"xgboost": "xgboost", "xgb": "xgboost", "lightgbm": "lightgbm", "lgb": "lightgbm",
             "lgbm": "lightgbm"}
ALGORITHM = {"xgboost": "XGBoost", "lightgbm": "LightGBM"}
METRIC_NAMES = {
    "logloss": "log_loss", "mlogloss": "log_loss", "binary_logloss": "log_loss", "multi_logloss": "log_loss",
    "auc": "roc_auc", "aucpr": "pr_auc", "average_precision": "pr_auc",
    "error": "error", "binary_error": "error", "merror": "error", "multi_error": "error",
    "l2": "mse", "mse": "mse", "l1": "mae", "mae": "mae", "l2_root": "rmse", "rmse": "rmse", "mape": "mape",
}
# How to have a metric reported, per library.
REPORT_HINT = {
    "xgboost": "eval_metric (XGBClassifier(eval_metric=[...]), or in the params of xgb.train)",
    "lightgbm": "metric (LGBMClassifier(metric=[...]) or fit(eval_metric=...), or in the params of lgb.train)",
}
EVAL_HINT = {
    "xgboost": "xgb.train(..., evals=[(dval, 'val')]) or fit(..., eval_set=[(X_val, y_val)])",
    "lightgbm": "lgb.train(..., valid_sets=[dval], valid_names=['val']) or fit(..., eval_set=[(X_val, y_val)])",
}
# XGBoost's own rule for metrics where higher is better (its EarlyStopping callback's).
_XGB_MAXIMIZE = ("auc", "aucpr", "pre", "map", "ndcg")
_AUTO_DATASET = re.compile(r"^(?:validation|valid)_(\d+)$")
_TRAIN_NAMES = ("train", "training")
_VAL_NAMES = ("val", "valid", "validation")


class UnknownMetric(SpecweaveError, ValueError):
    """A callback was asked for a metric that the library does not report; the message lists those it does."""


def library_name(library) -> str:
    key = str(library).strip().lower()
    if key not in LIBRARIES:
        raise ValueError(f"track_boosting_model: unknown library {library!r}; expected 'xgboost' or 'lightgbm'")
    return LIBRARIES[key]


def track_boosting_model(library, *, name=None, params=None, increment=None, baseline=False) -> TrackedBoosting:
    """Track an XGBoost or LightGBM training run as one experiment; use it as a context manager.

    `library`: "xgboost" or "lightgbm". `name`: the experiment's (default: the library's name).
    `params`: the training params, logged as they are. `increment`, `baseline` as for track_experiment.
    """
    lib = library_name(library)
    require(lib, lib, feature=f"track_boosting_model({lib!r})")
    from ..tracking.api import track_model

    experiment = track_model(name if name is not None else lib, baseline=baseline, increment=increment)
    try:
        if params:
            experiment.log_params(dict(params))
    except BaseException as err:
        experiment.__exit__(type(err), err, err.__traceback__)
        raise
    return TrackedBoosting(lib, experiment)


class TrackedBoosting:
    """A boosting run: its experiment, its callbacks, the model trained. Unknown attributes are the experiment's."""

    def __init__(self, library: str, experiment):
        self.library = library
        self.experiment = experiment
        self.model = None
        self.training_time_s: float | None = None
        self._curves: list[_Curves] = []
        self._default = None
        self._model_logged = False
        self._timed = False

    def __repr__(self) -> str:
        return f"<TrackedBoosting {self.library} in {self.experiment.folder}>"

    def __getattr__(self, name):
        if name.startswith("_") or name in ("library", "experiment", "model"):
            raise AttributeError(name)
        return getattr(self.experiment, name)

    # -- callbacks -------------------------------------------------------------------------------

    @property
    def callback(self):
        """The library's native callback for this run; call it (`callback(metrics=[...])`) for a restricted one."""
        if self._default is None:
            self._default = self.make_callback()
        return self._default

    def make_callback(self, metrics=None, *, datasets=None):
        """A new native callback logging into this run: only `metrics` when given; `datasets` renames eval sets."""
        curves = _Curves(self.library, self.experiment, metrics=metrics, datasets=datasets, library_params=True)
        self._curves.append(curves)
        return _callback(self.library, curves, self)

    # -- the scikit-learn wrappers -----------------------------------------------------------------

    def fit(self, model, X, y, eval_set=None, *, eval_names=None, metrics=None, **fit_params):
        """Fit an XGBoost/LightGBM scikit-learn wrapper with this run's callback attached; returns the model.

        Logs the wrapper's get_params() and model_class, the fit time as training_time_s, the learning
        curves on `eval_set` (named as the module docstring says; `eval_names=` to choose), the best
        iteration, and the fitted model with the first rows of X as its input example.
        """
        from .sklearn import estimator_params, save_model

        self._check_model(model)
        exp = self.experiment
        exp.log_params({**estimator_params(model), "model_class": type(model).__name__})
        seconds = fit_with_curves(exp, self.library, model, X, y, eval_set=eval_set, eval_names=eval_names,
                                  metrics=metrics, fit_params=fit_params)
        self.model = model
        self.training_time_s = seconds
        self._timed = True
        exp.log_metric("training_time_s", seconds)
        save_model(exp, model, X, framework=self.library)
        self._model_logged = True
        return model

    def evaluate(self, X, y, prefix: str = "", *, model=None, problem=None, threshold=None) -> dict[str, float]:
        """The problem type's metrics of a wrapper (default: the one `.fit()` trained), logged under `prefix`."""
        from .sklearn import evaluate_model

        model = model if model is not None else self.model
        if model is None:
            raise ValueError("evaluate: no model: call tracked.fit(...) first, or pass model=")
        if not callable(getattr(model, "get_params", None)):
            raise TypeError(
                f"evaluate works with the scikit-learn wrappers (XGBClassifier, LGBMRegressor …), got"
                f" {type(model).__name__}; for a Booster use compute_metrics(problem, y, booster.predict(...),"
                " experiment=tracked.experiment)"
            )
        return evaluate_model(model, X, y, experiment=self.experiment, problem=problem, prefix=prefix,
                              threshold=threshold)

    def log_model(self, model, filename: str = "model.pkl", *, input_example=None):
        """Log a Booster or a wrapper as this run's model (framework: the library)."""
        self._check_model(model)
        wrapper = callable(getattr(model, "get_params", None))
        algorithm = type(model).__name__ if wrapper else ALGORITHM[self.library]
        path = self.experiment.log_model(model, filename, algorithm=algorithm, framework=self.library,
                                         input_example=input_example)
        self.model = model
        self._model_logged = True
        return path

    def _check_model(self, model) -> None:
        top = type(model).__module__.split(".")[0]
        if top != self.library:
            raise TypeError(f"track_boosting_model({self.library!r}) got a {type(model).__module__}."
                            f"{type(model).__qualname__}, not a {ALGORITHM[self.library]} model")

    # -- the end ---------------------------------------------------------------------------------

    def __enter__(self) -> TrackedBoosting:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            try:
                self._complete()
            except BaseException as err:
                self.experiment.__exit__(type(err), err, err.__traceback__)
                raise
        return self.experiment.__exit__(exc_type, exc, tb)

    def finish(self, status: str | None = None) -> None:
        if status in (None, "succeeded"):
            self._complete()
        self.experiment.finish(status)

    def _complete(self) -> None:
        """Best iterations, the fit time and the Booster of native training, when .fit() did not record them."""
        for curves in self._curves:
            curves.finish()
        ran = [c for c in self._curves if c.iterations]
        if not self._timed and ran:
            seconds = sum(c.seconds for c in ran)
            self.training_time_s = seconds
            self.experiment.log_metric("training_time_s", seconds)
            self._timed = True
        if not self._model_logged:
            booster = next((c.booster for c in reversed(ran) if c.booster is not None), None)
            if booster is not None:
                self.log_model(booster)


# ----------------------------------------------------------------------------------------------
# The curves, whatever the library


class _Curves:
    """What one callback saw: the names chosen at the first iteration, each curve's points, the timing."""

    def __init__(self, library, experiment, *, metrics=None, datasets=None, library_params=False):
        self.library = library
        self.experiment = experiment
        if isinstance(metrics, str):
            metrics = [metrics]
        self.wanted = None if metrics is None else [str(m) for m in metrics]
        if self.wanted is not None and not self.wanted:
            raise ValueError("metrics=[]: name at least one metric, or pass metrics=None for all")
        self.datasets = datasets
        self.library_params = library_params
        self.names: dict[tuple[str, str], str | None] = {}
        self.dataset_names: dict[str, str] = {}
        self.history: dict[str, list[tuple[int, float]]] = {}
        self.higher: dict[str, bool] = {}
        self.order: list[tuple[str, str]] = []  # (dataset, metric) as first reported
        self.library_best: int | None = None
        self.booster = None
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.iterations = 0
        self.checked = False
        self.finished = False

    @property
    def seconds(self) -> float:
        return max(0.0, (self.ended or self.started) - self.started)

    def record(self, step: int, results) -> None:
        """results: [(dataset, metric, value, higher_is_better or None)] of one iteration."""
        if not self.checked:
            self._first(results)
        log = self.experiment.log_metric
        for dataset, metric, value, higher in results:
            key = (dataset, metric)
            if key not in self.names:
                self._name_new(key, higher)
            name = self.names[key]
            if name is None:
                continue
            value = float(value)
            log(name, value, step=step)
            self.history.setdefault(name, []).append((step, value))
        self.iterations += 1
        self.ended = time.perf_counter()

    # -- naming ----------------------------------------------------------------------------------

    def _first(self, results) -> None:
        self.checked = True
        if not results:
            if self.wanted:
                raise UnknownMetric(
                    f"metrics={self.wanted!r}: {self.library} reports no evaluation metric, as no evaluation"
                    f" set was given; give one: {EVAL_HINT[self.library]}"
                )
            warnings.warn(f"{self.experiment.folder}: {self.library} reports no evaluation metric (no evaluation"
                          f" set): no learning curve is recorded; give one: {EVAL_HINT[self.library]}",
                          _tracking_warning(), stacklevel=4)
            return
        datasets = list(dict.fromkeys(d for d, _, _, _ in results))
        self.dataset_names = _dataset_names(datasets, self.datasets)
        reported = list(dict.fromkeys(m for _, m, _, _ in results))
        if self.wanted is not None:
            unknown = [w for w in self.wanted if not any(_matches(w, d, m, self.dataset_names) for d in datasets
                                                        for m in reported)]
            if unknown:
                listing = ", ".join(m if curve_metric(m) == m else f"{m} (as {curve_metric(m)})" for m in reported)
                sets = ", ".join(d if self.dataset_names[d] == d else f"{d} (as {self.dataset_names[d]})"
                                 for d in datasets)
                raise UnknownMetric(
                    f"metrics={self.wanted!r}: {self.library} does not report {', '.join(map(repr, unknown))};"
                    f" it reports {listing} on {sets}. To have a metric reported, add it to {REPORT_HINT[self.library]}"
                )
        for dataset, metric, _, higher in results:
            self._name_new((dataset, metric), higher)
        mapping = [f"`{name}` ← {d} {m}" for (d, m), name in self.names.items() if name is not None]
        if mapping:
            self.experiment.log_note(f"**Learning curves** ({self.library}, step = iteration from 0): "
                                     + ", ".join(mapping) + ".")

    def _name_new(self, key, higher) -> None:
        dataset, metric = key
        if dataset not in self.dataset_names:  # a dataset that appeared after the first iteration
            self.dataset_names.update(_dataset_names([dataset], self.datasets))
        if self.wanted is not None and not any(_matches(w, dataset, metric, self.dataset_names) for w in self.wanted):
            self.names[key] = None
            return
        base = f"{self.dataset_names[dataset]}_"
        name = base + curve_metric(metric)
        if name in self.higher:  # two of the library's metrics with one canonical name
            name = base + _sanitize(metric)
        self.names[key] = name
        self.order.append(key)
        if higher is None:
            higher = _xgb_higher(metric) if self.library == "xgboost" else _direction(name) == "higher"
        self.higher[name] = bool(higher)

    # -- the end ---------------------------------------------------------------------------------

    def monitored(self) -> str | None:
        """The curve the best iteration is read from (see the module docstring)."""
        kept = [k for k in self.order if self.names.get(k)]
        if not kept:
            return None
        datasets = list(dict.fromkeys(d for d, _ in kept))
        held_out = [d for d in datasets if self.dataset_names.get(d) != "train" and d.lower() not in _TRAIN_NAMES]
        dataset = (held_out or datasets)[-1]
        metrics = [k for k in kept if k[0] == dataset]
        key = metrics[-1] if self.library == "xgboost" else metrics[0]
        return self.names[key]

    def finish(self, best_iteration: int | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        if best_iteration is None:
            best_iteration = self.library_best
        if best_iteration is None and self.booster is not None and self.library == "lightgbm":
            found = getattr(self.booster, "best_iteration", 0) or 0
            best_iteration = found - 1 if found > 0 else None
        curve = self.monitored()
        if curve is None or not self.history.get(curve):
            return
        points = self.history[curve]
        values = dict(points)
        if best_iteration is None or best_iteration not in values:
            sign = 1.0 if self.higher.get(curve) else -1.0
            finite = [(s, v) for s, v in points if not math.isnan(v)]
            if not finite:
                return
            best_iteration, _ = max(finite, key=lambda sv: (sign * sv[1], -sv[0]))
        exp = self.experiment
        exp.log_params({"best_iteration": int(best_iteration), "best_metric": curve,
                        "iterations_run": len(values)})
        exp.log_metric(f"best_{curve}", values[best_iteration])


def _tracking_warning():
    from ..tracking.store import TrackingWarning

    return TrackingWarning


def _direction(name: str) -> str | None:
    from ..model.metric_names import direction

    return direction(name)


def _xgb_higher(metric: str) -> bool:
    return any(metric.startswith(prefix) for prefix in _XGB_MAXIMIZE)


def _sanitize(text: str) -> str:
    return re.sub(r"[^a-z0-9@.]+", "_", str(text).strip().lower()).strip("_") or "metric"


def curve_metric(metric: str) -> str:
    """The logged name of a library's metric: 'binary_logloss' -> 'log_loss', 'auc' -> 'roc_auc', 'ndcg@5' as is."""
    key = str(metric).strip().lower()
    if key in METRIC_NAMES:
        return METRIC_NAMES[key]
    return _sanitize(key)


def _dataset_names(datasets: list[str], given) -> dict[str, str]:
    """{library's dataset name: logged prefix}; `given` is a mapping or a list by position."""
    autos = [d for d in datasets if _AUTO_DATASET.match(str(d).lower())]
    out = {}
    for position, dataset in enumerate(datasets):
        low = str(dataset).lower()
        if isinstance(given, dict) and dataset in given:
            name = given[dataset]
        elif isinstance(given, (list, tuple)) and position < len(given):
            name = given[position]
        elif low in _TRAIN_NAMES:
            name = "train"
        elif low in _VAL_NAMES:
            name = "val"
        elif _AUTO_DATASET.match(low):
            name = "val" if len(autos) == 1 else f"val{int(_AUTO_DATASET.match(low).group(1)) + 1}"
        else:
            name = low
        out[dataset] = _sanitize(name)
    return out


def _matches(wanted: str, dataset: str, metric: str, dataset_names: dict) -> bool:
    """Whether metrics=[wanted] asks for (dataset, metric): by the library's metric name, ours, or the curve's."""
    w = str(wanted).strip().lower()
    logged = curve_metric(metric)
    if w in (metric.lower(), logged) or curve_metric(w) == logged:
        return True
    from ..model.metric_names import canonical

    if canonical(w) == logged:
        return True
    return w == f"{dataset_names.get(dataset, dataset)}_{logged}"


# ----------------------------------------------------------------------------------------------
# The native callbacks


def _callback(library: str, curves: _Curves, run):
    if library == "xgboost":
        return _xgboost_callback_class()(curves, run)
    return LightGBMCallback(curves, run)


class _CallbackBase:
    """Shared by both libraries' callbacks: calling one without a training env makes a new callback."""

    def _new(self, metrics, datasets):
        if self._run is None:
            raise TypeError("this callback belongs to a .fit() call; make one with tracked.callback(metrics=...)")
        return self._run.make_callback(metrics, datasets=datasets)

    # A callback is shared, never copied: scikit-learn's clone() deep-copies estimator params.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):  # a pickled model keeps an inert callback, not the run
        return (_inert_callback, (self._library,))


def _inert_callback(library: str):
    """What a pickled callback becomes: one that records nothing."""
    return _callback(library, None, None)


_XGBOOST_CALLBACK = None


def _xgboost_callback_class():
    """The TrainingCallback subclass, made once xgboost is imported (it cannot be defined before)."""
    global _XGBOOST_CALLBACK
    if _XGBOOST_CALLBACK is not None:
        return _XGBOOST_CALLBACK
    xgb = require("xgboost", "xgboost")

    class XGBoostCallback(_CallbackBase, xgb.callback.TrainingCallback):
        """Logs each iteration's evaluation metrics (evals_log) as steps; reads early stopping's best iteration."""

        _library = "xgboost"

        def __init__(self, curves, run):
            super().__init__()
            self._curves = curves
            self._run = run

        def __call__(self, metrics=None, *, datasets=None):
            return self._new(metrics, datasets)

        def before_training(self, model):
            if self._curves is not None:
                self._curves.started = time.perf_counter()
            return model

        def after_iteration(self, model, epoch, evals_log):
            curves = self._curves
            if curves is None:
                return False
            results = []
            for dataset, metrics in evals_log.items():
                for metric, values in metrics.items():
                    if values:
                        value = values[-1]
                        results.append((dataset, metric, value[0] if isinstance(value, tuple) else value, None))
            curves.record(int(epoch), results)
            _read_best(curves, model)
            return False

        def after_training(self, model):
            curves = self._curves
            if curves is not None:
                curves.ended = time.perf_counter()
                _read_best(curves, model)
                if isinstance(model, xgb.Booster):
                    curves.booster = model
            return model

    XGBoostCallback.__module__ = __name__
    XGBoostCallback.__qualname__ = "XGBoostCallback"
    _XGBOOST_CALLBACK = XGBoostCallback
    return XGBoostCallback


def _read_best(curves: _Curves, model) -> None:
    try:
        best = model.attr("best_iteration")
    except Exception:  # noqa: BLE001 - xgboost.cv's packed boosters
        return
    if best is not None:
        curves.library_best = int(best)


class LightGBMCallback(_CallbackBase):
    """A LightGBM callback (called with each iteration's env) that logs env.evaluation_result_list as steps."""

    _library = "lightgbm"

    def __init__(self, curves, run):
        # instance attributes: lightgbm sets a default order in the instance's __dict__ otherwise
        self.order = 20  # after the user's callbacks, before early_stopping (30)
        self.before_iteration = False
        self._curves = curves
        self._run = run

    def __call__(self, env=None, *, metrics=None, datasets=None):
        if env is None or not hasattr(env, "evaluation_result_list"):
            return self._new(env if env is not None else metrics, datasets)
        curves = self._curves
        if curves is None:
            return None
        if curves.library_params and not curves.checked:
            _log_library_params(curves.experiment, getattr(env, "params", None))
        results = [(r[0], r[1], r[2], bool(r[3])) for r in env.evaluation_result_list or []]
        model = env.model
        if type(model).__name__ == "Booster":
            curves.booster = model
        curves.record(int(env.iteration), results)
        return None


def _log_library_params(experiment, params) -> None:
    """lgb.train's resolved params, for those not logged already (scalars and lists of scalars)."""
    if not isinstance(params, dict):
        return
    known = experiment.params
    plain = (str, int, float, bool, type(None))
    new = {str(k): v for k, v in params.items() if str(k) not in known and
           (isinstance(v, plain) or isinstance(v, (list, tuple)) and all(isinstance(x, plain) for x in v))}
    if new:
        experiment.log_params(new)


# ----------------------------------------------------------------------------------------------
# Fitting a scikit-learn wrapper with curves (also used by track_sklearn_model)


def _eval_names(eval_set, X, y) -> list[str]:
    train = [x is X and t is y for x, t in eval_set]
    held_out = len(train) - sum(train)
    names, k = [], 0
    for is_train in train:
        if is_train:
            names.append("train")
        else:
            k += 1
            names.append("val" if held_out == 1 else f"val{k}")
    return names


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _best_of_wrapper(library: str, model) -> int | None:
    """The 0-based best iteration a wrapper's early stopping chose, else None."""
    if library == "xgboost":
        try:
            best = model.best_iteration
        except AttributeError:
            return None
        return int(best) if best is not None else None
    best = getattr(model, "best_iteration_", None)
    return int(best) - 1 if isinstance(best, int) and best > 0 else None


def fit_with_curves(experiment, library: str, model, X, y, *, eval_set=None, eval_names=None, metrics=None,
                    fit_params=None) -> float:
    """Fit an XGBoost/LightGBM wrapper with a curve-logging callback attached; return the fit's seconds."""
    import inspect

    fit_params = dict(fit_params or {})
    if eval_set is None:
        eval_set = fit_params.pop("eval_set", None)
    if eval_names is None:
        eval_names = fit_params.pop("eval_names", None)
    if eval_set is None and "eval_X" in fit_params:
        eval_X, eval_y = _as_tuple(fit_params.pop("eval_X")), _as_tuple(fit_params.pop("eval_y", None))
        eval_set = list(zip(eval_X, eval_y, strict=True))
    eval_set = [tuple(pair) for pair in eval_set] if eval_set is not None else []
    names = list(eval_names) if eval_names is not None else _eval_names(eval_set, X, y)
    if len(names) != len(eval_set):
        raise ValueError(f"eval_names has {len(names)} names for {len(eval_set)} eval sets")
    if library == "xgboost":
        curves = _Curves(library, experiment, metrics=metrics,
                         datasets={f"validation_{i}": n for i, n in enumerate(names)})
        callback = _callback(library, curves, None)
        previous = model.get_params().get("callbacks")
        model.set_params(callbacks=list(previous or []) + [callback])
        kwargs = {"verbose": False, **fit_params}
        if eval_set:
            kwargs["eval_set"] = eval_set
        start = time.perf_counter()
        try:
            model.fit(X, y, **kwargs)
        finally:
            model.set_params(callbacks=previous)
    else:
        curves = _Curves(library, experiment, metrics=metrics)
        callback = _callback(library, curves, None)
        kwargs = dict(fit_params)
        kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [callback]
        if eval_set:
            if "eval_X" in inspect.signature(model.fit).parameters:  # lightgbm >= 4.7; eval_set is deprecated
                kwargs["eval_X"] = tuple(x for x, _ in eval_set)
                kwargs["eval_y"] = tuple(t for _, t in eval_set)
            else:
                kwargs["eval_set"] = eval_set
            kwargs["eval_names"] = names
        start = time.perf_counter()
        model.fit(X, y, **kwargs)
    seconds = time.perf_counter() - start
    curves.finish(_best_of_wrapper(library, model))
    return seconds
