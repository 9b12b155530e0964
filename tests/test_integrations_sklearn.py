"""scikit-learn integration: track_sklearn_model, ModelExperiment and run_experiments, on real small models."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from pytest_specweave import (  # noqa: E402
    ExperimentComparison,
    MissingExtra,
    ModelExperiment,
    load_model,
    promote_best_model,
    run_experiments,
    track_sklearn_model,
)
from pytest_specweave.tracking.store import ExperimentStore  # noqa: E402

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc")


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0007-churn"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("---\nprimary_metric: f1\n---\n# Churn\n")
    return folder


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)
    return X[:200], X[200:], y[:200], y[200:]


def record(inc, name):
    found = ExperimentStore(inc).find(name)
    assert found is not None, f"no experiment {name}"
    return found


def test_fit_and_evaluate_track_params_fit_time_metrics_and_the_model(inc, data):
    X_train, X_test, y_train, y_test = data
    model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0)
    with track_sklearn_model(model, increment=inc) as tracked:
        fitted = tracked.fit(X_train, y_train)
        metrics = tracked.evaluate(X_test, y_test)
    assert fitted is model and tracked.training_time_s > 0
    assert set(metrics) == set(CLASSIFICATION)
    rec = record(inc, "random-forest-classifier")
    assert rec.status == "succeeded" and rec.kind == "model" and not rec.baseline
    for key, value in model.get_params().items():
        assert rec.params[key] == value, key
    assert rec.params["model_class"] == "RandomForestClassifier"
    assert rec.metrics["training_time_s"].value == pytest.approx(tracked.training_time_s)
    assert {k: rec.metrics[k].value for k in CLASSIFICATION} == pytest.approx(metrics)
    assert rec.meta["model"]["algorithm"] == "RandomForestClassifier"
    assert rec.meta["model"]["framework"] == "sklearn"
    assert {"model.pkl", "input_example.pkl", "predictions.npz"} <= set(rec.artifacts)
    assert [i["role"] for i in rec.meta["inputs"]] == ["train", "eval_targets"]
    example = pickle.loads((rec.path / "input_example.pkl").read_bytes())
    assert example.shape == (5, 6) and np.array_equal(example, X_train[:5])
    saved = pickle.loads((rec.path / "model.pkl").read_bytes())
    assert np.array_equal(saved.predict(X_test), model.predict(X_test))


def test_a_pipeline_is_flattened_and_named_after_its_final_estimator(inc, data):
    X_train, X_val, y_train, y_val = data
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5))
    with track_sklearn_model(pipe, increment=inc) as tracked:
        tracked.fit(X_train, y_train)
        metrics = tracked.evaluate(X_val, y_val, prefix="val")
    assert set(metrics) == {f"val_{m}" for m in CLASSIFICATION}
    rec = record(inc, "logistic-regression")
    assert rec.params["logisticregression__C"] == 0.5
    assert rec.params["standardscaler__with_mean"] is True
    assert rec.params["steps"] == [["standardscaler", "StandardScaler"], ["logisticregression", "LogisticRegression"]]
    assert rec.params["model_class"] == "Pipeline"
    assert rec.meta["model"]["algorithm"] == "LogisticRegression"
    assert "f1" not in rec.metrics and "val_predictions.npz" in rec.artifacts


def test_regression_metrics_and_an_explicit_name(inc):
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=1)
    y = y + 500.0  # no zero targets: mape is defined
    with track_sklearn_model(Ridge(alpha=2.0), "ridge-v2", increment=inc, baseline=True) as tracked:
        tracked.fit(X[:80], y[:80])
        metrics = tracked.evaluate(X[80:], y[80:], prefix="val_")
    assert set(metrics) == {"val_rmse", "val_mae", "val_r2", "val_mape"}
    rec = record(inc, "ridge-v2")
    assert rec.baseline and rec.params["alpha"] == 2.0 and rec.metrics["val_r2"].value > 0.9


def test_scores_come_from_decision_function_without_predict_proba(inc, data):
    X_train, X_test, y_train, y_test = data
    with track_sklearn_model(LinearSVC(), increment=inc) as tracked:
        tracked.fit(X_train, y_train)
        metrics = tracked.evaluate(X_test, y_test)
    assert 0.5 < metrics["roc_auc"] <= 1.0 and "pr_auc" in metrics


def test_string_labels_take_the_second_class_as_positive(inc, data):
    X_train, X_test, y_train, y_test = data
    labels = np.array(["stay", "churn"])  # classes_ sorted: ['churn', 'stay'] -> 'stay' is positive
    with track_sklearn_model(LogisticRegression(), increment=inc) as tracked:
        tracked.fit(X_train, labels[y_train])
        metrics = tracked.evaluate(X_test, labels[y_test])
    assert metrics["roc_auc"] > 0.8 and 0.0 < metrics["recall"] <= 1.0


def test_an_error_in_the_block_marks_the_experiment_failed(inc, data):
    X_train, _, y_train, _ = data
    with pytest.raises(ValueError, match="boom"):
        with track_sklearn_model(LogisticRegression(), "lr", increment=inc) as tracked:
            tracked.fit(X_train, y_train)
            raise ValueError("boom")
    rec = record(inc, "lr")
    assert rec.status == "failed" and "boom" in rec.notes and "model.pkl" in rec.artifacts


def test_bad_arguments_say_what_is_expected(inc):
    with pytest.raises(TypeError, match=r"pass LogisticRegression\(\.\.\.\)"):
        track_sklearn_model(LogisticRegression, increment=inc)
    with pytest.raises(TypeError, match="fit method"):
        track_sklearn_model(object(), increment=inc)
    with pytest.raises(ValueError, match="unknown problem type"):
        track_sklearn_model(LogisticRegression(), increment=inc, problem="clustering")
    assert ExperimentStore(inc).records() == []


def test_the_promoted_model_loads_back(inc, data):
    X_train, X_test, y_train, y_test = data
    with track_sklearn_model(LogisticRegression(C=2.0), increment=inc) as tracked:
        tracked.fit(X_train, y_train)
        tracked.evaluate(X_test, y_test)
    metadata = promote_best_model(inc)
    assert metadata["algorithm"] == "LogisticRegression" and metadata["framework"] == "sklearn"
    model = load_model(inc)
    assert np.array_equal(model.predict(X_test), tracked.model.predict(X_test))


def test_missing_scikit_learn_names_the_extra(monkeypatch, inc):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(MissingExtra, match=r"track_sklearn_model needs scikit-learn, which is not installed: "
                                           r"pip install pytest-specweave\[ml\]"):
        track_sklearn_model(object(), increment=inc)
    with pytest.raises(ImportError, match=r"pytest-specweave\[ml\]"):
        run_experiments([], None, None, increment=inc)
    assert ExperimentStore(inc).records() == []


def test_an_installed_framework_that_fails_to_import_is_not_called_missing(tmp_path, monkeypatch):
    from pytest_specweave.integrations._extras import require

    (tmp_path / "brokenfw").mkdir()
    (tmp_path / "brokenfw" / "__init__.py").write_text("import brokenfw_native_part_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as info:
        require("brokenfw", "brokenfw")
    assert not isinstance(info.value, MissingExtra)
    assert str(info.value).startswith("brokenfw is installed but cannot be imported: No module named"
                                      " 'brokenfw_native_part_xyz'")
    with pytest.raises(MissingExtra, match=r"absentfw is needed, which is not installed: "
                                           r"pip install pytest-specweave\[absent\]") as info:
        require("absentfw.sub", "absent")
    assert isinstance(info.value, ModuleNotFoundError) and info.value.extra == "absent"


def test_importing_the_integrations_imports_no_framework():
    code = ("import sys, pytest_specweave.integrations.sklearn, pytest_specweave.integrations.boosting\n"
            "from pytest_specweave import track_sklearn_model, run_experiments, track_boosting_model\n"
            "print(sorted(m for m in ('sklearn', 'xgboost', 'lightgbm', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- run_experiments -----------------------------------------------------------------------------------


CANDIDATES = [
    ModelExperiment("baseline-majority", DummyClassifier, {"strategy": "most_frequent"}, baseline=True),
    ModelExperiment("logistic", LogisticRegression, {"C": 1.0}),
    ModelExperiment("forest", RandomForestClassifier, {"n_estimators": 15, "random_state": 0}),
]


def test_run_experiments_trains_each_candidate_as_its_own_experiment(inc, data, capsys):
    X_train, X_val, y_train, y_val = data
    comparison = run_experiments(CANDIDATES, X_train, y_train, X_val=X_val, y_val=y_val, increment=inc)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[:3]] == ["[1/3] baseline-majority", "[2/3] logistic", "[3/3] forest"]
    rows = {row.name: row for row in comparison}
    for line, name in zip(out[:3], ["baseline-majority", "logistic", "forest"], strict=True):
        assert f"{name}: val_f1={rows[name].value:.4g} (" in line and line.endswith(" s)")
    assert out[3].startswith(f"best: {comparison.best.name} (val_f1=")

    assert isinstance(comparison, ExperimentComparison) and comparison.metric == "val_f1"
    values = [row.value for row in comparison]
    assert values == sorted(values, reverse=True)
    assert comparison.best.name in ("logistic", "forest") and not comparison.best.baseline
    records = {r.name: r for r in ExperimentStore(inc).records()}
    assert set(records) == {"baseline-majority", "logistic", "forest"}
    assert records["baseline-majority"].baseline and records["baseline-majority"].params["strategy"] == "most_frequent"
    for row in comparison:
        rec = records[row.name]
        assert rec.status == "succeeded" and row.folder == rec.folder
        assert {k for k in rec.metrics} == {f"val_{m}" for m in CLASSIFICATION} | {"training_time_s"}
        assert row.metrics["val_f1"] == rec.metrics["val_f1"].value and "model.pkl" in rec.artifacts
    assert records["forest"].params["n_estimators"] == 15
    table = comparison.to_markdown()
    assert table.splitlines()[0].startswith("| rank | experiment | val_f1 |")
    assert f"| 1 | {comparison[0].folder}" in table and "✅ BEST" in table and "(baseline)" in table


def test_run_experiments_cross_validates_when_cv_is_given(inc, data, capsys):
    X_train, _, y_train, _ = data
    comparison = run_experiments(CANDIDATES[1:], X_train, y_train, cv=3, increment=inc, metric="roc_auc")
    assert comparison.metric == "val_roc_auc"
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("[1/2] logistic: val_roc_auc=") and " ± " in line
    rec = record(inc, "forest")
    assert len(rec.metrics["val_roc_auc"].folds) == 3 and rec.metrics["val_roc_auc"].ci is not None
    assert rec.params["cv_folds"] == 3 and "model.pkl" in rec.artifacts


def test_run_experiments_ranks_by_the_increments_primary_metric(inc, data, capsys):
    (inc / "spec.md").write_text("---\nprimary_metric: val_pr_auc\n---\n# Churn\n")
    X_train, X_val, y_train, y_val = data
    comparison = run_experiments(CANDIDATES[1:2], X_train, y_train, X_val=X_val, y_val=y_val, increment=inc)
    assert comparison.metric == "val_pr_auc" and "val_pr_auc=" in capsys.readouterr().out


def test_run_experiments_regression_ranks_lower_first(inc):
    X, y = make_regression(n_samples=150, n_features=4, noise=10.0, random_state=2)
    candidates = [ModelExperiment("ridge-strong", Ridge, {"alpha": 500.0}), ModelExperiment("ridge", Ridge, {})]
    comparison = run_experiments(candidates, X[:100], y[:100], X_val=X[100:], y_val=y[100:], increment=inc)
    assert comparison.metric == "val_rmse" and comparison.direction == "lower"
    assert [row.name for row in comparison] == ["ridge", "ridge-strong"]


def test_run_experiments_bad_input(inc, data):
    X_train, X_val, y_train, y_val = data
    one = CANDIDATES[1:2]
    with pytest.raises(ValueError, match="needs validation data"):
        run_experiments(one, X_train, y_train, increment=inc)
    with pytest.raises(ValueError, match="not both"):
        run_experiments(one, X_train, y_train, X_val=X_val, y_val=y_val, cv=3, increment=inc)
    with pytest.raises(ValueError, match="give both X_val and y_val"):
        run_experiments(one, X_train, y_train, X_val=X_val, increment=inc)
    with pytest.raises(ValueError, match="two candidates named 'logistic'"):
        run_experiments(one * 2, X_train, y_train, X_val=X_val, y_val=y_val, increment=inc)
    with pytest.raises(ValueError, match="metric 'rmse' is not evaluated for classification; choose one of accuracy"):
        run_experiments(one, X_train, y_train, X_val=X_val, y_val=y_val, increment=inc, metric="rmse")
    with pytest.raises(TypeError, match="ModelExperiment"):
        run_experiments([LogisticRegression()], X_train, y_train, X_val=X_val, y_val=y_val, increment=inc)
    assert ExperimentStore(inc).records() == []


def test_a_failing_candidate_is_recorded_failed_and_its_error_propagates(inc, data, capsys):
    X_train, X_val, y_train, y_val = data
    broken = ModelExperiment("broken", LogisticRegression, {"C": -1.0})
    with pytest.raises(ValueError):
        run_experiments([CANDIDATES[1], broken], X_train, y_train, X_val=X_val, y_val=y_val, increment=inc)
    assert capsys.readouterr().out.splitlines()[1].startswith("[2/2] broken: failed (")
    assert record(inc, "broken").status == "failed" and record(inc, "logistic").status == "succeeded"


def test_an_estimator_instance_is_cloned_with_the_params(inc, data):
    X_train, X_val, y_train, y_val = data
    template = LogisticRegression(max_iter=500)
    comparison = run_experiments([ModelExperiment("lr", template, {"C": 0.1})], X_train, y_train, X_val=X_val,
                                 y_val=y_val, increment=inc)
    model = comparison[0].model
    assert model is not template and model.C == 0.1 and model.max_iter == 500
    assert not hasattr(template, "coef_") and comparison[0].params["C"] == 0.1
