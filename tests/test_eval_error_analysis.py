"""Error analysis: confusion matrix, worst examples, metrics per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pytest_specweave import error_analysis, track_experiment
from pytest_specweave.tracking.store import ExperimentStore


def test_classification_confusion_worst_and_slices(tmp_path):
    inc = tmp_path / "increments" / "0011-churn"
    inc.mkdir(parents=True)
    (inc / "spec.md").write_text("# churn\n")
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    s = np.array([0.9, 0.95, 0.2, 0.1, 0.8, 0.3, 0.6, 0.55])
    pred = (s >= 0.5).astype(int)
    data = pd.DataFrame({"country": ["fr", "fr", "de", "de", "fr", "de", "fr", "de"], "age": np.arange(8) * 10})
    with track_experiment("gbm", increment=inc) as exp:
        result = error_analysis("classification", y, pred, y_score=s, data=data, slice_by=["country", "age"],
                                n_worst=2, experiment=exp)
    assert result.labels == [0, 1] and result.confusion_matrix == [[2, 2], [1, 3]]
    # the most confident mistakes: row 1 (a negative scored 0.95), then row 2 (a positive scored 0.2)
    assert [w["row"] for w in result.worst] == [1, 2] and result.worst[0]["country"] == "fr"
    by_country = {s["slice"]: s for s in result.slices if s["column"] == "country"}
    assert by_country["fr"]["n"] == 4 and by_country["fr"]["accuracy"] == pytest.approx(3 / 4)
    assert by_country["de"]["accuracy"] == pytest.approx(2 / 4)
    assert result.worst_slice("country")["slice"] == "de"
    assert len([s for s in result.slices if s["column"] == "age"]) == 8  # 8 distinct ages: sliced by value
    (rec,) = ExperimentStore(inc).records()
    assert {"error_analysis.md", "confusion_matrix.csv"} <= set(rec.artifacts)
    text = (rec.path / "error_analysis.md").read_text()
    assert "## Confusion matrix" in text and "| **1** | 1 | 3 |" in text
    assert (rec.path / "confusion_matrix.csv").read_text().splitlines()[1] == "0,2,2"


def test_regression_worst_and_binned_slices():
    rng = np.random.default_rng(0)
    size = rng.uniform(0, 100, 200)
    y = size * 2
    pred = y + np.where(size > 75, 30.0, 1.0) * rng.choice([-1, 1], 200)
    result = error_analysis("regression", y, pred, data={"size": size}, slice_by="size", n_worst=3)
    assert all(abs(w["error"]) == 30.0 for w in result.worst) and result.metric == "rmse"
    slices = [s for s in result.slices if s["column"] == "size"]
    assert len(slices) == 4 and slices[0]["slice"].endswith("]")  # the top quartile, worst first
    assert slices[0]["rmse"] > 20 and result.worst_slice()["slice"] == slices[0]["slice"]


def test_bad_input():
    with pytest.raises(ValueError, match=r"slice_by names \['region'\] not in data"):
        error_analysis("classification", [0, 1], [0, 1], data={"country": ["a", "b"]}, slice_by="region")
    with pytest.raises(ValueError, match="data column 'country' has 3 values"):
        error_analysis("classification", [0, 1], [0, 1], data={"country": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="for ranking"):
        error_analysis("ranking", [{1}], [[1]])
