"""One display rule per metric: rates as %, scores never, ratios as ×."""

from __future__ import annotations

import pytest

from pytest_specweave.model import metric_display as display


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "precision@10", "Recall", "mape", "smape",
                                    "error_rate", "hit_rate@10", "fpr", "specificity", "val_accuracy"])
def test_rates_show_as_percentages(metric):
    assert display.kind(metric) == display.RATE
    assert display.value_text(metric, 0.958) == "95.8%"


@pytest.mark.parametrize("metric", ["roc_auc", "AUC", "pr_auc", "average_precision", "ndcg@10", "map@10", "mrr",
                                    "r2", "R²", "f1", "f1_macro", "f0.5", "mcc", "log_loss", "val_roc_auc"])
def test_scores_never_show_as_percentages_even_when_the_threshold_writes_one(metric):
    assert display.kind(metric) == display.SCORE
    assert display.value_text(metric, 0.9805) == "0.9805"
    assert display.value_text(metric, 0.9805, "%") == "0.9805"


def test_other_metrics_show_in_the_unit_their_threshold_is_written_in():
    assert display.kind("uplift") is None
    assert display.value_text("uplift", 0.052, "%") == "5.2%"
    assert display.value_text("uplift", 0.052) == "0.052"
    assert display.value_text("latency_p95_ms", 12.5, "ms") == "12.5 ms"
    assert display.value_text("revenue", 1200, "$") == "$1,200.00"
    assert display.value_text("rmse", 3.25) == "3.25"


def test_a_ratio_shows_as_times_and_a_rate_keeps_its_percent_beside_it():
    assert display.ratio_text(1.9612, 1.94, 1.98) == "1.961× [1.94×, 1.98×]"
    assert display.ratio_text(1.5) == "1.5×"
    assert display.measured_text("roc_auc", 0.9805, None, "x", (1.9612, 1.94, 1.98)) == "0.9805 (1.961× [1.94×, 1.98×])"
    assert display.measured_text("accuracy", 0.958, (0.94, 0.97), "x") == "95.8% [94%, 97%]"


def test_values_that_are_not_finite_or_missing_are_said_as_such():
    assert display.value_text("accuracy", None) == "?"
    assert display.value_text("accuracy", float("nan")) == "nan"
    assert display.measured_text("accuracy", None) == ""


def test_large_values_show_as_whole_numbers_not_in_scientific_notation():
    from pytest_specweave.model.metric_display import value_text

    assert value_text("throughput_rps", 10271.6, "req/sec") == "10,272 req/sec"
    assert value_text("n_customers", 23570.0) == "23,570"
    assert value_text("rmse", 9999.4) == "9999"
    assert value_text("rmse", 0.000123) == "0.000123"
