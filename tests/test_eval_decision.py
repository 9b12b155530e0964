"""Decision-threshold tuning for a precision or recall target, recorded in the experiment."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_specweave import track_experiment, tune_decision_threshold
from pytest_specweave.tracking.store import ExperimentStore

Y = np.array([0, 0, 1, 0, 1, 1, 0, 1, 1, 1])
S = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])


def test_precision_target_by_hand(tmp_path):
    inc = tmp_path / "increments" / "0009-fraud"
    inc.mkdir(parents=True)
    (inc / "spec.md").write_text("# fraud\n")
    with track_experiment("xgb", increment=inc) as exp:
        choice = tune_decision_threshold(Y, S, target_precision=0.99, experiment=exp)
    # >= 0.7 catches 3 positives and no negative (precision 1, recall 3/6); >= 0.6 lets a negative in
    assert choice.threshold == 0.7 and choice.met
    assert choice.precision == 1.0 and choice.recall == pytest.approx(0.5) and choice.evaluated_on == "tuning data"
    (rec,) = ExperimentStore(inc).records()
    assert rec.params["decision_threshold"] == 0.7 and rec.params["decision_target"] == "precision >= 0.99"
    assert rec.metrics["precision"].value == 1.0 and rec.metrics["recall"].value == pytest.approx(0.5)


def test_recall_target_and_held_out_evaluation():
    choice = tune_decision_threshold(Y, S, target_recall=5 / 6)
    # recall >= 5/6 first holds at >= 0.4 (5 of 6 positives; precision 5/6), the highest such threshold
    assert choice.threshold == 0.4 and choice.tuning_precision == pytest.approx(5 / 6)
    held_out = tune_decision_threshold(Y, S, target_recall=0.8, test=([1, 0, 1, 0], [0.45, 0.3, 0.2, 0.9]))
    assert held_out.evaluated_on == "test data"
    assert held_out.precision == pytest.approx(1 / 2) and held_out.recall == pytest.approx(1 / 2)


def test_unreachable_precision_warns_and_keeps_the_best():
    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.9, 0.5, 0.1])
    with pytest.warns(UserWarning, match="no threshold reaches precision >= 0.99"):
        choice = tune_decision_threshold(y, s, target_precision=0.99)
    assert not choice.met and choice.precision == pytest.approx(2 / 3)


def test_bad_targets():
    with pytest.raises(ValueError, match="exactly one of target_precision= and target_recall="):
        tune_decision_threshold(Y, S)
    with pytest.raises(ValueError, match=r"fraction in \(0, 1\] \(0.99 for 99%\), got 99.0"):
        tune_decision_threshold(Y, S, target_precision=99)
    with pytest.raises(ValueError, match="positives and negatives"):
        tune_decision_threshold([1, 1], [0.2, 0.3], target_recall=0.5)
