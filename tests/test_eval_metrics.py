"""Classification, regression and forecasting metrics: against scikit-learn and small cases worked by hand."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from pytest_specweave.evaluation import metrics as M
from pytest_specweave.evaluation.metrics import MetricWarning, compute_metrics, row_decomposition
from pytest_specweave.model.metric_names import canonical

Y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
SCORES = np.array([0.9, 0.4, 0.35, 0.8, 0.1, 0.6, 0.7, 0.2])


def test_evaluation_modules_import_no_heavy_library():
    modules = ["metrics", "ranking", "validation", "baselines", "deployment", "explain", "decision", "error_analysis"]
    code = (
        "import sys\n"
        + "".join(f"import pytest_specweave.evaluation.{m}\n" for m in modules)
        + "import pytest_specweave\n"
        + "for name in pytest_specweave._API: getattr(pytest_specweave, name)\n"
        + "print(sorted(m for m in ('numpy', 'sklearn', 'scipy', 'shap', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_classification_by_hand_at_a_decision_threshold():
    # at 0.5: predicted 1 for 0.9, 0.8, 0.6, 0.7 -> TP 3 (0.9, 0.8, 0.7), FP 1 (0.6), FN 1 (0.35), TN 3
    assert M.accuracy(Y, SCORES, threshold=0.5) == pytest.approx(6 / 8)
    assert M.precision(Y, SCORES, threshold=0.5) == pytest.approx(3 / 4)
    assert M.recall(Y, SCORES, threshold=0.5) == pytest.approx(3 / 4)
    assert M.f1(Y, SCORES, threshold=0.5) == pytest.approx(3 / 4)
    # at 0.75: predicted 1 for 0.9, 0.8 only -> precision 1, recall 2/4
    assert M.precision(Y, SCORES, threshold=0.75) == 1.0 and M.recall(Y, SCORES, threshold=0.75) == 0.5
    # roc_auc: of the 16 (positive, negative) pairs, the positive scores higher in all but 0.35 < 0.4, 0.6 -> 14/16
    assert M.roc_auc(Y, SCORES) == pytest.approx(14 / 16)


def test_classification_matches_scikit_learn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = np.clip(rng.normal(0.3 + 0.4 * y, 0.25), 0, 1)
    labels = (s >= 0.45).astype(int)
    got = compute_metrics("classification", y, y_score=s, threshold=0.45)
    assert got == pytest.approx({
        "accuracy": skm.accuracy_score(y, labels), "precision": skm.precision_score(y, labels),
        "recall": skm.recall_score(y, labels), "f1": skm.f1_score(y, labels),
        "roc_auc": skm.roc_auc_score(y, s), "pr_auc": skm.average_precision_score(y, s),
    })
    # a threshold cuts the scores, whatever labels are given beside them
    at_075 = compute_metrics("classification", Y, (SCORES >= 0.5).astype(int), y_score=SCORES, threshold=0.75)
    assert at_075["precision"] == 1.0 and at_075["recall"] == 0.5 and at_075["roc_auc"] == pytest.approx(14 / 16)
    # labels given: no score metrics
    assert set(compute_metrics("binary", y, labels)) == {"accuracy", "precision", "recall", "f1"}


def test_multiclass_uses_macro_averages_and_argmax():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet([1, 1, 1], 200)
    proba[np.arange(200), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    got = compute_metrics("classification", y, y_score=proba)
    pred = proba.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert got["pr_auc"] == pytest.approx(np.mean([skm.average_precision_score(y == c, proba[:, c]) for c in range(3)]))


def test_string_labels_with_pos_label():
    y = np.array(["fraud", "ok", "ok", "fraud", "ok"])
    s = np.array([0.9, 0.2, 0.7, 0.4, 0.1])
    got = compute_metrics("classification", y, y_score=s, threshold=0.5, pos_label="fraud")
    assert got["precision"] == pytest.approx(1 / 2) and got["recall"] == pytest.approx(1 / 2)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "fraud", s))


def test_scores_without_a_threshold_are_refused():
    with pytest.raises(ValueError, match="pass threshold="):
        M.precision(Y, SCORES)


def test_regression_by_hand_and_against_scikit_learn():
    y, p = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])
    got = compute_metrics("regression", y, p)
    assert got["mae"] == pytest.approx(0.5)
    assert got["rmse"] == pytest.approx(math.sqrt(0.375))
    assert got["r2"] == pytest.approx(skm.r2_score(y, p))
    assert got["mape"] == pytest.approx((0.5 / 3 + 0.5 / 0.5 + 0 + 1 / 7) / 4)
    assert got["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, p))


def test_mape_with_zero_targets_is_left_out_with_a_warning():
    with pytest.warns(MetricWarning, match="mape left out: y_true is 0 in 1 rows"):
        got = compute_metrics("regression", [0.0, 1.0, 2.0], [0.5, 1.0, 2.5])
    assert "mape" not in got and "rmse" in got
    with pytest.raises(ValueError, match="mape is undefined where y_true is 0"):
        M.mape([0.0, 1.0], [1.0, 1.0])


def test_forecasting_smape_and_mase_by_hand():
    train = np.array([10.0, 12.0, 11.0, 13.0])  # naive in-sample errors 2, 1, 2 -> scale 5/3
    y, p = np.array([14.0, 0.0]), np.array([12.0, 0.0])
    assert M.smape(y, p) == pytest.approx((2 * 2 / 26 + 0) / 2)  # a row where both are 0 counts 0
    assert M.mase(y, p, train) == pytest.approx(1.0 / (5 / 3))
    assert M.mase([5.0, 7.0], [4.0, 7.0], [1.0, 2.0, 4.0, 5.0], season_length=2) == pytest.approx(0.5 / 3)
    got = compute_metrics("forecasting", [14.0, 15.0], [12.0, 16.0], y_train=train)
    assert set(got) == {"rmse", "mae", "mape", "smape", "mase"}
    with pytest.raises(ValueError, match="training series is constant"):
        M.mase([1.0], [1.0], [3.0, 3.0, 3.0])


def test_names_are_canonical_and_experiment_logging(tmp_path):
    from pytest_specweave.tracking.store import ExperimentStore

    inc = tmp_path / "increments" / "0001-x"
    inc.mkdir(parents=True)
    (inc / "spec.md").write_text("# x\n")
    from pytest_specweave import track_experiment

    with track_experiment("cand", increment=inc) as exp:
        got = compute_metrics("classification", list(Y), y_score=SCORES, experiment=exp, prefix="")
    assert all(canonical(k) == k for k in got)
    (rec,) = ExperimentStore(inc).records()
    assert rec.metrics["roc_auc"].value == pytest.approx(14 / 16)
    (entry,) = [e for e in rec.meta["inputs"] if e["role"] == "eval_targets"]
    # the same targets in another container and dtype hash the same
    with track_experiment("other", increment=inc) as exp2:
        compute_metrics("classification", Y.astype(np.int32), (SCORES > 0.5).astype(int), experiment=exp2)
    other = ExperimentStore(inc).find("other")
    assert [e["sha256"] for e in other.meta["inputs"] if e["role"] == "eval_targets"] == [entry["sha256"]]


@pytest.mark.parametrize("name", ["accuracy", "precision", "recall", "f1"])
def test_row_decomposition_reproduces_classification_metrics(name):
    dec = row_decomposition(name, Y, SCORES, threshold=0.5)
    assert dec.value() == pytest.approx(getattr(M, name)(Y, SCORES, threshold=0.5))


@pytest.mark.parametrize("name", ["rmse", "mae", "r2", "mape", "smape"])
def test_row_decomposition_reproduces_regression_metrics(name):
    rng = np.random.default_rng(1)
    y = rng.normal(5, 2, 50)
    p = y + rng.normal(0, 1, 50)
    assert row_decomposition(name, y, p).value() == pytest.approx(getattr(M, name)(y, p))


def test_unknown_problem_and_mismatched_lengths():
    with pytest.raises(ValueError, match="unknown problem type 'clustering'"):
        compute_metrics("clustering", [1], [1])
    with pytest.raises(ValueError, match="y_true has 3 rows but y_pred has 2"):
        compute_metrics("regression", [1.0, 2.0, 3.0], [1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="finite"):
            compute_metrics("regression", [1.0, 2.0], [1.0, float("nan")])
