"""Baselines in one call each, tracked as baseline experiments the judge can find."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_specweave import (
    majority_baseline,
    mean_baseline,
    median_baseline,
    naive_forecast_baseline,
    popularity_baseline,
    random_baseline,
    seasonal_naive_baseline,
    stratified_baseline,
    uniform_baseline,
)
from pytest_specweave.tracking.api import active_increment
from pytest_specweave.tracking.store import ExperimentStore


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0003-baselines"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# b\n")
    return folder


def test_classification_baselines(inc):
    y_train = np.array([0] * 70 + [1] * 30)
    y_test = np.array([0] * 14 + [1] * 6)
    majority = majority_baseline(y_train, y_test, increment=inc)
    assert (majority.predictions == 0).all() and majority.metrics["accuracy"] == pytest.approx(0.7)
    assert majority.metrics["roc_auc"] == 0.5 and majority.metrics["recall"] == 0.0
    stratified = stratified_baseline(y_train, y_test, increment=inc, seed=1)
    uniform = uniform_baseline(y_train, y_test, increment=inc)
    assert set(np.unique(stratified.predictions)) <= {0, 1} and set(np.unique(uniform.predictions)) <= {0, 1}
    records = {r.name: r for r in ExperimentStore(inc).records()}
    assert set(records) == {"baseline-majority", "baseline-stratified", "baseline-random"}
    assert all(r.baseline and r.status == "succeeded" for r in records.values())
    assert records["baseline-majority"].params["strategy"] == "prior"
    assert records["baseline-random"].metrics["accuracy"].value == uniform.metrics["accuracy"]
    assert majority.experiment == records["baseline-majority"].folder


def test_regression_baselines_without_tracking():
    y_train, y_test = np.array([1.0, 2.0, 3.0, 10.0]), np.array([2.0, 4.0])
    mean = mean_baseline(y_train, y_test, track=False)
    median = median_baseline(y_train, y_test, track=False)
    assert mean.predictions.tolist() == [4.0, 4.0] and mean.experiment is None
    assert mean.metrics["mae"] == pytest.approx(1.0) and mean.metrics["rmse"] == pytest.approx(np.sqrt(2.0))
    assert median.predictions.tolist() == [2.5, 2.5] and median.metrics["mae"] == pytest.approx(1.0)


def test_forecasting_baselines(inc):
    train = np.array([1.0, 5.0, 2.0, 6.0, 3.0, 7.0])
    test = np.array([4.0, 8.0, 5.0])
    naive = naive_forecast_baseline(train, test, increment=inc)
    assert naive.predictions.tolist() == [7.0, 7.0, 7.0]
    assert naive.metrics["mae"] == pytest.approx(2.0)
    assert naive.metrics["mase"] == pytest.approx(2.0 / 3.6)  # naive in-sample errors 4, 3, 4, 3, 4: mean 3.6
    seasonal = seasonal_naive_baseline(train, test, 2, increment=inc)
    assert seasonal.predictions.tolist() == [3.0, 7.0, 3.0]
    assert seasonal.metrics["mae"] == pytest.approx(4 / 3) and seasonal.metrics["mase"] == pytest.approx((4 / 3) / 1.0)
    assert {r.name for r in ExperimentStore(inc).records()} == {"baseline-naive", "baseline-seasonal-naive"}
    with pytest.raises(ValueError, match="a full season of history"):
        seasonal_naive_baseline([1.0], test, 7, track=False)


def test_ranking_baselines_inside_an_active_increment(inc):
    rng = np.random.default_rng(0)
    train_items = rng.zipf(1.6, 3000) % 50  # popular items: 1, 2, 3 ...
    relevant = [set((rng.zipf(1.6, 4) % 50).tolist()) for _ in range(200)]
    seen = [{1} if u % 2 else set() for u in range(200)]
    with active_increment(inc, task="T-003"):
        popular = popularity_baseline(train_items, relevant, k=5, catalogue=50)
        random = random_baseline(relevant, 50, k=5, seed=3, exclude=seen)
    assert popular.predictions.shape == (200, 5) and popular.predictions[0].tolist()[:2] == [1, 2]
    assert popular.metrics["coverage@5"] == pytest.approx(5 / 50)
    assert popular.metrics["precision@5"] > 3 * random.metrics["precision@5"]
    assert not any(1 in random.predictions[u] for u in range(1, 200, 2))
    assert all(len(set(row)) == 5 for row in random.predictions.tolist())
    records = {r.name: r for r in ExperimentStore(inc).records()}
    assert records["baseline-random"].baseline and records["baseline-random"].task == "T-003"
    assert records["baseline-popularity"].params["top_items"][:2] == [1, 2]
    assert records["baseline-random"].metric("Precision@5").value == random.metrics["precision@5"]


def test_eval_data_hash_is_recorded(inc):
    X_test = np.arange(12.0).reshape(6, 2)
    result = mean_baseline([1.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], increment=inc, eval_data=X_test)
    meta = ExperimentStore(inc).read(result.experiment).meta
    roles = {e["role"]: e for e in meta["inputs"]}
    assert set(roles) == {"eval", "eval_targets"} and roles["eval"]["shape"] == [6, 2]
