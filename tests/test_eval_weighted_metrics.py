"""compute_metrics(sample_weight=): weighted classification metrics, the same as repeating the rows."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_specweave import compute_metrics, track_experiment


def test_integer_weights_give_the_metrics_of_the_rows_repeated_that_many_times():
    rng = np.random.default_rng(2)
    y = (rng.random(300) < 0.1).astype(int)
    scores = rng.random(300) + 0.5 * y
    weights = np.where(y == 1, 1, 10)  # all positives, a tenth of the negatives weighted 10
    weighted = compute_metrics("classification", y, y_score=scores, sample_weight=weights)
    repeated = compute_metrics("classification", np.repeat(y, weights), y_score=np.repeat(scores, weights))
    assert weighted.keys() == repeated.keys() == {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"}
    for name in weighted:
        assert weighted[name] == pytest.approx(repeated[name], abs=1e-12)
    assert weighted["pr_auc"] != pytest.approx(compute_metrics("classification", y, y_score=scores)["pr_auc"])


def test_weights_of_the_wrong_length_or_problem_are_refused(tmp_path):
    with pytest.raises(ValueError, match="sample_weight has 2 entries but y_true has 3 rows"):
        compute_metrics("classification", [0, 1, 1], [0, 1, 0], sample_weight=[1, 2])
    with pytest.raises(ValueError, match="classification metrics, not regression"):
        compute_metrics("regression", [1.0, 2.0], [1.0, 2.5], sample_weight=[1, 1])


def test_weighted_metrics_are_logged_without_per_unit_evidence(tmp_path):
    inc = tmp_path / "increments" / "0001-demo"
    inc.mkdir(parents=True)
    with track_experiment("weighted", increment=inc) as exp:
        compute_metrics("classification", [0, 1, 1, 0], [0, 1, 0, 0], sample_weight=[1, 1, 1, 3], experiment=exp)
    folder = next((inc / "experiments").glob("exp-*-weighted"))
    assert "accuracy" in (folder / "metrics.json").read_text()
    assert not (folder / "evidence").exists() and not (folder / "predictions.npz").exists()
