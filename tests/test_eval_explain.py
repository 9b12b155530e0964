"""Explanations: permutation importance for any model, SHAP values (for real when shap is installed), example reasons."""

from __future__ import annotations

import os
import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression

from pytest_specweave import explain_model, track_experiment
from pytest_specweave.evaluation.explain import permutation_importance
from pytest_specweave.evaluation.judge import EXPLANATION_PATTERNS
from pytest_specweave.tracking.store import ExperimentStore


def _shap():
    """shap itself: CI installs it and must test it for real; elsewhere the SHAP tests skip without it."""
    if os.environ.get("CI"):
        import shap

        return shap
    return pytest.importorskip("shap")


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0013-explain"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# e\n")
    return folder


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=n), "weak": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = (2 * X["signal"] + 0.5 * X["weak"] + rng.normal(0, 0.3, n) > 0).astype(int).to_numpy()
    return X, y


def test_permutation_importance_ranks_like_scikit_learn():
    X, y = _data()
    model = LogisticRegression().fit(X, y)
    scoring, rows = permutation_importance(model, X, y, n_repeats=10, seed=0)
    ours = {r["feature"]: r["importance_mean"] for r in rows}
    theirs = sk_permutation_importance(model, X, y, n_repeats=10, random_state=0, scoring="accuracy")
    assert scoring == "accuracy"
    assert sorted(ours, key=ours.get) == list(X.columns[np.argsort(theirs.importances_mean)])
    assert ours["signal"] == pytest.approx(theirs.importances_mean[0], abs=0.05)


def test_shap_tree_model_writes_every_artifact(inc):
    shap = _shap()
    X, y = _data()
    model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
    with track_experiment("forest", increment=inc) as exp:
        result = explain_model(model, X, y, experiment=exp, max_shap_rows=60, n_examples=3, n_repeats=3)
    assert result.shap_error is None and result.importance[0]["feature"] == "signal"
    (rec,) = ExperimentStore(inc).records()
    assert {"feature_importance.csv", "shap_values.pkl", "explanations.md"} <= set(rec.artifacts)
    import fnmatch

    assert all(any(fnmatch.fnmatch(a, p) for p in EXPLANATION_PATTERNS) for a in result.artifacts)
    saved = pickle.loads((rec.path / "shap_values.pkl").read_bytes())
    assert saved["values"].shape == (60, 3) and saved["feature_names"] == ["signal", "weak", "noise"]
    # additive, in probability space: base + sum of contributions = predict_proba[:, 1]
    rows = X.iloc[saved["rows"]]
    np.testing.assert_allclose(saved["base_values"] + saved["values"].sum(axis=1),
                               model.predict_proba(rows)[:, 1], atol=1e-6)
    assert shap.__version__
    csv = (rec.path / "feature_importance.csv").read_text().splitlines()
    assert csv[0] == "rank,feature,importance_mean,importance_std,shap_mean_abs" and csv[1].startswith("1,signal,")
    md = (rec.path / "explanations.md").read_text()
    assert md.count("## Row ") == 3 and md.count("\n- `") == 9


def test_shap_model_agnostic_path_for_a_plain_function():
    _shap()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = 3 * X[:, 0] - X[:, 2]
    model = LinearRegression().fit(X, y)
    result = explain_model(None, X, y, predict=model.predict, feature_names=["a", "b", "c"], max_shap_rows=20,
                           background_rows=20, n_examples=2, n_repeats=2)
    assert result.shap_error is None and result.shap_values.shape == (20, 3)
    assert result.scoring == "r2" and [r["feature"] for r in result.importance][:2] == ["a", "c"]
    assert result.examples[0].reasons[0][0] in ("a", "c")


def test_without_shap_occlusion_gives_the_reasons(inc, monkeypatch):
    monkeypatch.setitem(sys.modules, "shap", None)  # as if shap were not installed
    X, y = _data(120)
    model = LogisticRegression().fit(X, y)
    with track_experiment("logreg", increment=inc) as exp:
        result = explain_model(model, X, y, experiment=exp, n_examples=4, explains="exp-001-forest")
    assert result.shap_values is None and "not installed" in result.shap_error
    assert result.artifacts == ["feature_importance.csv", "explanations.md"]
    for example in result.examples:  # the output minus the output with that one feature at its median
        assert [abs(r[2]) for r in example.reasons] == sorted((abs(r[2]) for r in example.reasons), reverse=True)
        feature, value, contribution = example.reasons[0]
        row = X.iloc[[example.row]]
        assert row[feature].item() == value
        occluded = row.assign(**{feature: X[feature].median()})
        assert contribution == pytest.approx(model.predict_proba(row)[0, 1] - model.predict_proba(occluded)[0, 1])
    (rec,) = ExperimentStore(inc).records()
    assert rec.params["explains"] == "exp-001-forest"
    assert "occlusion" in (rec.path / "explanations.md").read_text()
    with pytest.raises(ValueError, match="pass y for permutation importance, or install shap"):
        explain_model(model, X)


def test_multiclass_and_bad_input():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 2))
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    model = LogisticRegression().fit(X, y)
    result = explain_model(model, X, y, shap=False, n_examples=2)
    assert "predicted class" in result.output and result.importance[0]["feature"] == "x0"
    with pytest.raises(TypeError, match="no predict method"):
        explain_model(object(), X, y)
    with pytest.raises(ValueError, match="feature_names has 3 names but X has 2 columns"):
        explain_model(model, X, y, feature_names=["a", "b", "c"])
