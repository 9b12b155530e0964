"""Judging cross-validated metrics: the fold interval is recomputed at the run's confidence level."""

from __future__ import annotations

import json
import math

import pytest

from pytest_specweave.evaluation.judge import INCONCLUSIVE, PASSED, JudgeContext, judge
from pytest_specweave.model.thresholds import parse_threshold
from pytest_specweave.settings import CONFIDENCE_ENV
from pytest_specweave.tracking.store import ExperimentStore

FOLDS = [0.84, 0.87, 0.86, 0.89, 0.86]  # mean 0.864, sample std 0.0181659


def _store(tmp_path, **log_cv):
    store = ExperimentStore(tmp_path)
    with store.open_run("cv") as exp:
        exp.log_cv("accuracy", FOLDS, **log_cv)
    return store


def _verdict(store, text="accuracy > 0.8"):
    return judge(parse_threshold(text), JudgeContext(records=store.records(), primary_metric="accuracy"))


def test_the_fold_interval_is_recomputed_at_the_chosen_level_with_the_stored_ratio(tmp_path, monkeypatch):
    from scipy import stats

    store = _store(tmp_path, test_train_ratio=0.1)
    mean, std = 0.864, 0.0181659
    verdict = _verdict(store)
    half = stats.t.ppf(0.975, 4) * math.sqrt((1 / 5 + 0.1) * std**2)
    assert verdict.outcome == PASSED and verdict.interval == pytest.approx((mean - half, mean + half), abs=1e-6)
    monkeypatch.setenv(CONFIDENCE_ENV, "0.999")
    verdict = _verdict(store)
    half = stats.t.ppf(0.9995, 4) * math.sqrt((1 / 5 + 0.1) * std**2)
    assert verdict.interval == pytest.approx((mean - half, mean + half), abs=1e-6)
    assert verdict.outcome == INCONCLUSIVE and "99.9% interval" in verdict.message


def test_old_files_without_a_ratio_are_judged_as_k_fold(tmp_path):
    from scipy import stats

    store = _store(tmp_path)
    path = store.records()[0].path / "metrics.json"
    document = json.loads(path.read_text())
    entry = document["metrics"]["accuracy"]
    # a file written before the ratio was recorded: folds and std, a naive interval, no ratio
    document["metrics"]["accuracy"] = {"value": entry["value"], "folds": entry["folds"], "std": entry["std"],
                                       "ci": [0.841, 0.887], "level": 0.95}
    path.write_text(json.dumps(document))
    measured = store.records()[0].metrics["accuracy"]
    assert measured.test_train_ratio is None and measured.folds == tuple(FOLDS)
    half = stats.t.ppf(0.975, 4) * math.sqrt((1 / 5 + 1 / 4) * 0.0181659**2)
    assert _verdict(store).interval == pytest.approx((0.864 - half, 0.864 + half), abs=1e-6)


def test_an_error_metrics_fold_interval_stops_at_zero(tmp_path):
    store = ExperimentStore(tmp_path)
    with store.open_run("forecast") as exp:
        exp.log_cv("mape", [0.005, 0.09, 0.01, 0.002, 0.06])  # wide: the t-interval reaches below 0
    verdict = judge(parse_threshold("MAPE < 10%"), JudgeContext(records=store.records(), primary_metric="mape"))
    assert verdict.interval[0] == 0.0 and verdict.interval[1] > 0.06
