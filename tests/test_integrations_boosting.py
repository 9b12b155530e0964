"""XGBoost and LightGBM integration: learning curves through each library's native callback, on real small models."""

from __future__ import annotations

import copy
import importlib.util
import pickle
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

from conftest import write_increment  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from pytest_specweave import (  # noqa: E402
    MissingExtra,
    ModelExperiment,
    UnknownMetric,
    load_model,
    promote_best_model,
    run_experiments,
    track_boosting_model,
)
from pytest_specweave.tracking.store import ExperimentStore  # noqa: E402

ROUNDS = 12
LIBS = ["xgboost", "lightgbm"]
WRAPPERS = {"xgboost": xgb.XGBClassifier, "lightgbm": lgb.LGBMClassifier}
# One thread: tiny models train fastest that way, and OpenMP's busy-waiting threads crawl on a loaded CI box.
QUIET = {"xgboost": {"n_jobs": 1}, "lightgbm": {"verbose": -1, "n_jobs": 1}}


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0009-fraud"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("---\nprimary_metric: val_roc_auc\n---\n# Fraud\n")
    return folder


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)
    return X[:200], X[200:], y[:200], y[200:]


def record(inc, name):
    found = ExperimentStore(inc).find(name)
    assert found is not None, f"no experiment {name}"
    return found


def train_native(library, tracked, data, callback, rounds=ROUNDS, **extra):
    X_train, X_val, y_train, y_val = data
    if library == "xgboost":
        params = {"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "max_depth": 3, "nthread": 1}
        dtrain, dval = xgb.DMatrix(X_train, label=y_train), xgb.DMatrix(X_val, label=y_val)
        return xgb.train(params, dtrain, rounds, evals=[(dtrain, "train"), (dval, "val")], callbacks=[callback],
                         verbose_eval=False, **extra)
    params = {"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": 7, "verbose": -1,
              "num_threads": 1}
    dtrain = lgb.Dataset(X_train, y_train)
    dval = lgb.Dataset(X_val, y_val, reference=dtrain)
    return lgb.train(params, dtrain, rounds, valid_sets=[dtrain, dval], valid_names=["train", "val"],
                     callbacks=[callback] + extra.get("callbacks", []))


@pytest.mark.parametrize("library", LIBS)
def test_native_training_logs_a_point_per_iteration_and_the_best_iteration(library, inc, data):
    with track_boosting_model(library, params={"max_depth": 3}, increment=inc) as tracked:
        booster = train_native(library, tracked, data, tracked.callback)
    rec = record(inc, library)
    assert rec.status == "succeeded" and rec.kind == "model"
    for curve in ("train_log_loss", "train_roc_auc", "val_log_loss", "val_roc_auc"):
        series = rec.series(curve)
        assert [step for step, _, _ in series] == list(range(ROUNDS)), curve
        assert rec.metrics[curve].value == series[-1][1] and rec.metrics[curve].step == ROUNDS - 1
    losses = [value for _, value, _ in rec.series("train_log_loss")]
    assert losses[-1] < losses[0]
    # xgboost monitors the last metric of the last held-out set, lightgbm its first
    monitored = "val_roc_auc" if library == "xgboost" else "val_log_loss"
    values = [value for _, value, _ in rec.series(monitored)]
    best = int(np.argmax(values) if monitored.endswith("auc") else np.argmin(values))
    assert rec.params["best_metric"] == monitored and rec.params["best_iteration"] == best
    assert rec.params["iterations_run"] == ROUNDS and rec.params["max_depth"] == 3
    assert rec.metrics[f"best_{monitored}"].value == values[best]
    assert rec.metrics["training_time_s"].value > 0
    assert rec.meta["model"]["framework"] == library
    assert rec.meta["model"]["algorithm"] == {"xgboost": "XGBoost", "lightgbm": "LightGBM"}[library]
    saved = pickle.loads((rec.path / "model.pkl").read_bytes())
    X_val = data[1]
    if library == "xgboost":
        assert np.allclose(saved.predict(xgb.DMatrix(X_val)), booster.predict(xgb.DMatrix(X_val)))
    else:
        assert np.allclose(saved.predict(X_val), booster.predict(X_val))
        assert rec.params["objective"] == "binary" and rec.params["num_leaves"] == 7  # lgb.train's params
    assert "`val_log_loss` ← val" in rec.notes


@pytest.mark.parametrize("library", LIBS)
def test_early_stopping_gives_the_librarys_best_iteration(library, inc, data):
    X_train, X_val, y_train, y_val = data
    model = WRAPPERS[library](n_estimators=300, learning_rate=0.5, **QUIET[library])
    with track_boosting_model(library, name="early", increment=inc) as tracked:
        if library == "xgboost":
            model.set_params(early_stopping_rounds=3)
            tracked.fit(model, X_train, y_train, eval_set=[(X_val, y_val)])
            expected = model.best_iteration
        else:
            tracked.fit(model, X_train, y_train, eval_set=[(X_val, y_val)],
                        callbacks=[lgb.early_stopping(3, verbose=False)])
            expected = model.best_iteration_ - 1
    rec = record(inc, "early")
    assert rec.params["best_iteration"] == expected and rec.params["best_metric"] == "val_log_loss"
    assert rec.params["iterations_run"] == expected + 3 + 1 < 300
    assert len(rec.series("val_log_loss")) == expected + 4
    best_value = dict((s, v) for s, v, _ in rec.series("val_log_loss"))[expected]
    assert rec.metrics["best_val_log_loss"].value == best_value


@pytest.mark.parametrize("library", LIBS)
def test_fit_logs_params_curves_fit_time_and_a_loadable_model(library, inc, data):
    X_train, X_val, y_train, y_val = data
    model = WRAPPERS[library](n_estimators=ROUNDS, max_depth=3, **QUIET[library])
    with track_boosting_model(library, increment=inc) as tracked:
        fitted = tracked.fit(model, X_train, y_train, eval_set=[(X_train, y_train), (X_val, y_val)])
        metrics = tracked.evaluate(X_val, y_val, prefix="val")
    assert fitted is model and tracked.training_time_s > 0
    rec = record(inc, library)
    expected = {k: v for k, v in model.get_params().items() if k != "callbacks"}
    for key, value in expected.items():
        stored = rec.params[key]
        assert stored == value or (value != value and stored == "NaN"), key  # xgboost's `missing` is nan
    assert rec.params["model_class"] == type(model).__name__
    assert model.get_params().get("callbacks") is None  # the callback is not left on the model
    for curve in ("train_log_loss", "val_log_loss"):
        assert [s for s, _, _ in rec.series(curve)] == list(range(ROUNDS))
    assert rec.metrics["val_roc_auc"].value == metrics["val_roc_auc"] > 0.8
    assert rec.metrics["training_time_s"].value == pytest.approx(tracked.training_time_s)
    assert rec.meta["model"]["framework"] == library and rec.meta["model"]["algorithm"] == type(model).__name__
    assert "input_example.pkl" in rec.artifacts
    assert promote_best_model(inc)["framework"] == library
    assert np.allclose(load_model(inc).predict_proba(X_val), model.predict_proba(X_val))


@pytest.mark.parametrize("library", LIBS)
def test_regression_curves_and_a_lower_is_better_best(library, inc):
    X, y = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=3)
    model = {"xgboost": xgb.XGBRegressor, "lightgbm": lgb.LGBMRegressor}[library](n_estimators=ROUNDS, **QUIET[library])
    with track_boosting_model(library, name="reg", increment=inc) as tracked:
        tracked.fit(model, X[:150], y[:150], eval_set=[(X[150:], y[150:])])
        metrics = tracked.evaluate(X[150:], y[150:], prefix="val")
    rec = record(inc, "reg")
    curve = {"xgboost": "val_rmse", "lightgbm": "val_mse"}[library]  # xgboost's rmse, lightgbm's l2
    values = [v for _, v, _ in rec.series(curve)][:ROUNDS]
    assert [s for s, _, _ in rec.series(curve)][:ROUNDS] == list(range(ROUNDS))
    assert rec.params["best_iteration"] == int(np.argmin(values)) and rec.params["best_metric"] == curve
    assert {"val_rmse", "val_mae", "val_r2"} <= set(rec.metrics)
    # evaluate's val_rmse, logged after the curve of the same name, is its final value (with no step)
    assert rec.metrics["val_rmse"].value == metrics["val_rmse"] and rec.metrics["val_rmse"].step is None


@pytest.mark.parametrize("library", LIBS)
def test_metrics_restricts_the_curves_by_library_or_canonical_name(library, inc, data):
    wanted = {"xgboost": ["auc"], "lightgbm": ["roc_auc"]}[library]
    with track_boosting_model(library, name="only-auc", increment=inc) as tracked:
        train_native(library, tracked, data, tracked.callback(metrics=wanted))
    rec = record(inc, "only-auc")
    stepped = {key for key in rec.metrics if rec.metrics[key].step is not None}
    assert stepped == {"train_roc_auc", "val_roc_auc"}
    assert rec.params["best_metric"] == "val_roc_auc"


@pytest.mark.parametrize("library", LIBS)
def test_a_metric_the_library_does_not_report_says_which_it_does(library, inc, data):
    with pytest.raises(UnknownMetric) as info:
        with track_boosting_model(library, name="bad-metric", increment=inc) as tracked:
            train_native(library, tracked, data, tracked.callback(metrics=["precision@10", "auc"]))
    message = str(info.value)
    reported = {"xgboost": "logloss (as log_loss), auc (as roc_auc) on train, val",
                "lightgbm": "binary_logloss (as log_loss), auc (as roc_auc) on train, val"}[library]
    assert f"{library} does not report 'precision@10'; it reports {reported}" in message
    assert {"xgboost": "eval_metric", "lightgbm": "metric"}[library] in message
    rec = record(inc, "bad-metric")
    assert rec.status == "failed" and rec.series("val_roc_auc") == []


@pytest.mark.parametrize("library", LIBS)
def test_asking_for_a_metric_without_an_eval_set_says_to_give_one(library, inc, data):
    X_train, _, y_train, _ = data
    with pytest.raises(UnknownMetric, match="no evaluation set was given; give one: "):
        with track_boosting_model(library, name="no-eval", increment=inc) as tracked:
            tracked.fit(WRAPPERS[library](n_estimators=3, **QUIET[library]), X_train, y_train, metrics=["auc"])


@pytest.mark.parametrize("library", LIBS)
def test_a_missing_library_names_the_extra(library, monkeypatch, inc):
    monkeypatch.setitem(sys.modules, library, None)
    with pytest.raises(MissingExtra, match=rf"track_boosting_model\('{library}'\) needs {library}, which is not"
                                           rf" installed: pip install pytest-specweave\[{library}\]"):
        track_boosting_model(library, increment=inc)
    assert ExperimentStore(inc).records() == []


def test_bad_library_and_wrong_model(inc, data):
    X_train, _, y_train, _ = data
    with pytest.raises(ValueError, match="unknown library 'catboost'; expected 'xgboost' or 'lightgbm'"):
        track_boosting_model("catboost", increment=inc)
    with pytest.raises(TypeError, match="not a XGBoost model"):
        with track_boosting_model("xgb", increment=inc) as tracked:
            tracked.fit(LogisticRegression(), X_train, y_train)
    with pytest.raises(TypeError, match="scikit-learn wrappers"):
        with track_boosting_model("lgbm", name="booster-eval", increment=inc) as tracked:
            params = {"verbose": -1, "objective": "binary", "num_threads": 1}
            booster = lgb.train(params, lgb.Dataset(X_train, y_train), 2)
            tracked.evaluate(X_train, y_train, model=booster)


def test_auto_named_eval_sets_are_numbered_and_can_be_renamed(inc, data):
    X_train, X_val, y_train, y_val = data
    sets = [(X_train, y_train), (X_val, y_val)]
    with track_boosting_model("xgboost", name="numbered", increment=inc) as tracked:
        xgb.XGBClassifier(n_estimators=3, n_jobs=1, callbacks=[tracked.callback]).fit(X_train, y_train, eval_set=sets,
                                                                            verbose=False)
    assert {"val1_log_loss", "val2_log_loss"} <= set(record(inc, "numbered").metrics)
    with track_boosting_model("xgboost", name="renamed", increment=inc) as tracked:
        callback = tracked.callback(datasets=["train", "holdout"])
        model = xgb.XGBClassifier(n_estimators=3, n_jobs=1, callbacks=[callback])
        model.fit(X_train, y_train, eval_set=sets, verbose=False)
    rec = record(inc, "renamed")
    assert {"train_log_loss", "holdout_log_loss"} <= set(rec.metrics)
    assert rec.params["best_metric"] == "holdout_log_loss"


def test_a_callback_survives_clone_and_pickle(inc, data):
    X_train, X_val, y_train, y_val = data
    with track_boosting_model("xgboost", name="cloned", increment=inc) as tracked:
        model = xgb.XGBClassifier(n_estimators=4, n_jobs=1, callbacks=[tracked.callback])
        twin = clone(model)
        assert twin.get_params()["callbacks"][0] is tracked.callback is copy.deepcopy(tracked.callback)
        twin.fit(X_train, y_train, eval_set=[(X_val, y_val)], verbose=False)
        restored = pickle.loads(pickle.dumps(twin))  # the callback pickles as an inert one
        assert np.allclose(restored.predict_proba(X_val), twin.predict_proba(X_val))
        restored.fit(X_train, y_train, eval_set=[(X_val, y_val)], verbose=False)
    rec = record(inc, "cloned")
    assert [s for s, _, _ in rec.series("val_log_loss")] == [0, 1, 2, 3]


def test_run_experiments_records_curves_of_boosting_candidates(inc, data, capsys):
    X_train, X_val, y_train, y_val = data
    candidates = [
        ModelExperiment("xgboost", xgb.XGBClassifier, {"n_estimators": ROUNDS, "max_depth": 3, **QUIET["xgboost"]}),
        ModelExperiment("lightgbm", lgb.LGBMClassifier, {"n_estimators": ROUNDS, **QUIET["lightgbm"]}),
        ModelExperiment("logistic", LogisticRegression, {}),
    ]
    comparison = run_experiments(candidates, X_train, y_train, X_val=X_val, y_val=y_val, increment=inc)
    assert comparison.metric == "val_roc_auc"  # the increment's primary metric
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[1/3] xgboost: val_roc_auc=") and lines[1].startswith("[2/3] lightgbm: val_roc_auc=")
    for name in ("xgboost", "lightgbm"):
        rec = record(inc, name)
        assert len(rec.series("val_log_loss")) == ROUNDS and rec.params["best_metric"] == "val_log_loss"
        assert rec.meta["model"]["framework"] == name and rec.metrics["val_roc_auc"].step is None
    assert "val_log_loss" not in record(inc, "logistic").metrics


def test_track_sklearn_model_records_curves_given_lightgbms_eval_x_spelling(inc, data):
    from pytest_specweave import track_sklearn_model

    X_train, X_val, y_train, y_val = data
    with track_sklearn_model(lgb.LGBMClassifier(n_estimators=ROUNDS, **QUIET["lightgbm"]), increment=inc) as tracked:
        tracked.fit(X_train, y_train, eval_X=X_val, eval_y=y_val)
    rec = record(inc, "lgbm-classifier")
    assert len(rec.series("val_log_loss")) == ROUNDS and rec.params["best_metric"] == "val_log_loss"
    assert rec.meta["model"]["framework"] == "lightgbm" and rec.metrics["training_time_s"].value > 0


@pytest.mark.parametrize("library", LIBS)
def test_cross_validation_curves_are_the_fold_means(library, inc, data):
    X, _, y, _ = data
    with track_boosting_model(library, name="cv", increment=inc) as tracked:
        if library == "xgboost":
            history = xgb.cv({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(X, label=y), 5, nfold=3,
                             callbacks=[tracked.callback])
            expected, curve = history["test-logloss-mean"].tolist(), "test_log_loss"
        else:
            history = lgb.cv({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 5, nfold=3,
                             callbacks=[tracked.callback])
            expected, curve = history["valid binary_logloss-mean"], "val_log_loss"
    rec = record(inc, "cv")
    assert [v for _, v, _ in rec.series(curve)] == pytest.approx(expected)
    assert rec.params["best_metric"] == curve and "model" not in rec.meta  # no single Booster to keep


# -- end to end ------------------------------------------------------------------------------------


SPEC = """
---
primary_metric: val_roc_auc
---
# Fraud detection

## ML Problem Definition
- Problem type: classification
- Success metrics: val_roc_auc > 0.8
"""

TASKS = """
- [ ] T-001: Baseline — `pipeline.py::baseline`
- [ ] T-002: XGBoost, native training — `pipeline.py::train_xgboost`
- [ ] T-003: Candidates — `pipeline.py::candidates`
"""

TESTS = """
## Evaluation Criteria
- TC-001: val_roc_auc >= 1.3x random baseline
- TC-002: val_roc_auc of xgboost-native > 0.8
- TC-003: val_roc_auc > 0.999
"""

PIPELINE = """
import lightgbm as lgb
import xgboost as xgb
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from pytest_specweave import ModelExperiment, run_experiments, track_boosting_model, track_sklearn_model

X, y = make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)
X_train, X_val, y_train, y_val = X[:200], X[200:], y[:200], y[200:]


def baseline():
    with track_sklearn_model(DummyClassifier(strategy="uniform", random_state=0), "baseline-random") as tracked:
        tracked.fit(X_train, y_train)
        tracked.evaluate(X_val, y_val, prefix="val")


def train_xgboost():
    params = {"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "max_depth": 3, "nthread": 1}
    dtrain, dval = xgb.DMatrix(X_train, label=y_train), xgb.DMatrix(X_val, label=y_val)
    with track_boosting_model("xgboost", name="xgboost-native", params=params) as tracked:
        xgb.train(params, dtrain, 15, evals=[(dtrain, "train"), (dval, "val")], callbacks=[tracked.callback],
                  verbose_eval=False)


def candidates():
    comparison = run_experiments(
        [ModelExperiment("lightgbm", lgb.LGBMClassifier, {"n_estimators": 15, "verbose": -1, "n_jobs": 1}),
         ModelExperiment("logistic", LogisticRegression, {})],
        X_train, y_train, X_val=X_val, y_val=y_val,
    )
    assert comparison.best is not None
"""


def test_an_increment_trains_boosting_models_and_judges_a_validation_metric(pytester):
    inc = write_increment(pytester.path, "0010-fraud", {"spec.md": SPEC, "tasks.md": TASKS, "tests.md": TESTS,
                                                        "pipeline.py": PIPELINE})
    result = pytester.runpytest("increments/0010-fraud", "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*[[]1/2[]] lightgbm: val_roc_auc=*", "*[[]2/2[]] logistic: val_roc_auc=*"])
    result.stdout.fnmatch_lines(["*TC-003*val_roc_auc > 0.999*"])
    store = {r.name: r for r in ExperimentStore(inc).records()}
    assert set(store) == {"baseline-random", "xgboost-native", "lightgbm", "logistic"}
    assert all(r.status == "succeeded" for r in store.values())
    assert store["xgboost-native"].task == "T-002" and store["lightgbm"].task == "T-003"
    assert len(store["xgboost-native"].series("val_roc_auc")) == 15
    assert len(store["lightgbm"].series("val_log_loss")) == 15
    if importlib.util.find_spec("matplotlib") is None:
        return  # charts need the plots extra (mlflow, in the test extra, brings matplotlib)
    from pytest_specweave.reports.charts import CHARTS_DIR

    charts = inc / CHARTS_DIR
    curves = sorted(p.name for p in charts.glob("learning-curve-*.png"))
    assert "learning-curve-roc-auc.png" in curves and "learning-curve-log-loss.png" in curves
    summary = (inc / "COMPLETION-SUMMARY.md").read_text()
    assert "charts/learning-curve-roc-auc.png" in summary
