"""LIME beside SHAP in explain_model: the same output explained, saved as an explanation artifact, disagreements said."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pytest_specweave import ExperimentStore, explain_model, track_experiment
from pytest_specweave.evaluation.explain import ExampleExplanation, Explanation

pytest.importorskip("lime")


def data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"amount": rng.lognormal(3, 1, n), "hour": rng.integers(0, 24, n),
                      "channel": pd.Categorical(rng.choice(["web", "pos", "atm"], n)), "noise": rng.normal(size=n)})
    logit = 0.04 * X["amount"] - 2 + (X["channel"] == "web") * 1.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def test_a_classifier_on_a_frame_with_a_categorical_column_gets_lime_reasons_saved_beside_shap(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    X, y = data()
    Xn = X.assign(channel=X["channel"].cat.codes)
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(Xn, y)
    inc = tmp_path / "increments" / "0001-x"
    inc.mkdir(parents=True)
    with track_experiment("model", increment=inc) as exp:
        result = explain_model(model, Xn, y, experiment=exp, lime=True, n_examples=3, n_repeats=2)
    assert len(result.lime) == 3 and [e.row for e in result.lime] == [e.row for e in result.examples]
    for lime_example, example in zip(result.lime, result.examples):
        assert lime_example.prediction == pytest.approx(example.prediction)  # the same output explained
        assert 1 <= len(lime_example.reasons) <= 3
        assert all(f in X.columns for f, _, _ in lime_example.reasons)
        assert abs(lime_example.reasons[0][2]) >= abs(lime_example.reasons[-1][2])
    record = ExperimentStore(inc).find("model")
    saved = json.loads((record.path / "lime_explanations.json").read_text(encoding="utf-8"))
    assert len(saved["examples"]) == 3 and "disagreements" in saved
    markdown = (record.path / "explanations.md").read_text(encoding="utf-8")
    assert markdown.count("- LIME (local R²") == 3


def test_pandas_categorical_columns_reach_the_model_as_categories(tmp_path):
    X, y = data()
    seen = []

    def predict(frame):
        seen.append(frame["channel"].dtype)
        return (frame["amount"].to_numpy() / 100.0) + (frame["channel"] == "web").to_numpy() * 1.0

    result = explain_model(None, X, predict=predict, shap=False, y=y, lime=True, n_examples=2,
                           n_repeats=1, scoring=lambda yt, yp: -float(np.mean((yt - yp) ** 2)))
    assert all(isinstance(d, pd.CategoricalDtype) for d in seen)
    tops = {e.reasons[0][0] for e in result.lime}
    assert tops <= {"amount", "channel"}


def test_a_regressor_is_explained_by_lime_and_its_top_reason_is_the_driving_feature():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    y = 5 * X[:, 1] + 0.1 * rng.normal(size=500)
    model = LinearRegression().fit(X, y)
    result = explain_model(model, X, y, feature_names=["a", "b", "c"], lime=True, n_examples=4, n_repeats=2)
    assert [e.reasons[0][0] for e in result.lime] == ["b"] * 4
    assert result.disagreements() == []  # SHAP (linear) and LIME agree


def test_disagreements_name_the_row_and_both_top_reasons():
    from pytest_specweave.evaluation.lime_reasons import LimeExample

    result = Explanation(["a", "b"], [], None, "predict(X)", examples=[
        ExampleExplanation(3, 1.0, [("a", 1, 0.5), ("b", 2, 0.1)]),
        ExampleExplanation(7, 2.0, [("b", 1, 0.5), ("a", 2, 0.1)])])
    result.lime = [LimeExample(3, 1.0, [("b", "b > 1", 0.4)], 0.5, 0.0), LimeExample(7, 2.0, [("b", "b > 1", 0.4)], 0.5, 0.0)]
    assert result.disagreements() == [(3, "a", "b")]
    assert "⚠️ occlusion and LIME disagree on the top reason: `a` against `b`" in result.markdown()


def test_explainability_criteria_accept_lime_alone_and_say_when_it_disagrees(tmp_path):
    from pytest_specweave.evaluation.judge import JudgeContext, judge
    from pytest_specweave.model.thresholds import parse_threshold

    inc = tmp_path / "increments" / "0001-x"
    inc.mkdir(parents=True)
    with track_experiment("model", increment=inc) as exp:
        exp.log_metric("accuracy", 0.9)
        exp.log_dict({"examples": [{"row": 1}, {"row": 2}], "disagreements": [{"row": 2, "top": "a", "lime_top": "b"}]},
                     "lime_explanations.json")
    context = JudgeContext(records=ExperimentStore(inc).records(), primary_metric="accuracy", increment_dir=inc)
    verdict = judge(parse_threshold("explainability artifacts present"), context)
    assert verdict.outcome == "passed", verdict.message
    assert "LIME disagrees on the top reason for 1 of 2 explained rows" in verdict.message
