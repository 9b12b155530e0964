import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_specweave.errors import ThresholdError
from pytest_specweave.model.thresholds import Reference, Threshold, compare, looks_like_threshold, parse_threshold

RANDOM = Reference("baseline", baseline="random")
BEST = Reference("baseline", baseline="best")


# --- the design's threshold-language table, one test per row -----------------------------------


@pytest.mark.parametrize(
    "text, key, expected",
    [
        ("Precision@10 > 0.25", None, dict(metric="precision@10", op=">", value=0.25)),
        ("AUC >= 0.9", None, dict(metric="roc_auc", op=">=", value=0.9)),
        ("AUC ≥ 0.9", None, dict(metric="roc_auc", op=">=", value=0.9)),
        ("F1 at least 0.8", None, dict(metric="f1", op=">=", value=0.8)),
        ("RMSE < $50", None, dict(metric="rmse", op="<", value=50, unit="$")),
        ("MAPE < 10%", None, dict(metric="mape", op="<", value=0.10, unit="%")),
        ("<100ms inference", "Latency", dict(metric="latency_p95_ms", op="<", value=100, unit="ms")),
        ("1000 req/sec", "Throughput", dict(metric="throughput_rps", op=">=", value=1000, unit="req/sec")),
        ("99% precision", None, dict(metric="precision", op=">=", value=0.99, unit="%")),
        ("precision@10 of exp-003-xgboost > 0.25", None,
         dict(metric="precision@10", op=">", value=0.25, experiment="exp-003-xgboost")),
        ("cv_std < 0.02", None, dict(metric="cv_std", op="<", value=0.02)),
    ],
)
def test_table_comparisons(text, key, expected):
    threshold = parse_threshold(text, key=key)
    assert threshold.kind == "compare"
    assert threshold.text == text
    assert {name: getattr(threshold, name) for name in expected} == pytest.approx(expected)


@pytest.mark.parametrize("key", [None, "Accuracy"])
def test_table_better_than_random_baseline_by_3x_judges_the_primary_metric(key):
    threshold = parse_threshold("Better than random baseline by 3x", key=key)
    assert threshold.kind == "ratio"
    assert threshold.metric is None
    assert threshold.better_by == ("times", 3.0)
    assert threshold.reference == RANDOM


def test_table_beat_best_baseline_by_20_percent_plus():
    threshold = parse_threshold("beat best baseline by 20%+")
    assert (threshold.kind, threshold.metric, threshold.reference) == ("ratio", None, BEST)
    assert threshold.better_by == ("percent", pytest.approx(0.20))


def test_table_ratio_against_an_increment():
    threshold = parse_threshold("precision@10 >= 0.98x increment 0041")
    assert (threshold.kind, threshold.metric, threshold.op) == ("ratio", "precision@10", ">=")
    assert threshold.factor == pytest.approx(0.98)
    assert threshold.reference == Reference("increment", increment="0041")


def test_table_ratio_against_the_promoted_model():
    threshold = parse_threshold("precision@10 >= 0.99x promoted model")
    assert (threshold.kind, threshold.metric, threshold.op, threshold.factor) == ("ratio", "precision@10", ">=", 0.99)
    assert threshold.reference == Reference("promoted")


@pytest.mark.parametrize(
    "text", ["explainability artifacts present", "explainability artifacts present for the best model"]
)
def test_table_explainability(text):
    threshold = parse_threshold(text)
    assert (threshold.kind, threshold.experiment) == ("explainability", None)


@pytest.mark.parametrize(
    "text, glob", [("artifact shap_values.pkl present", "shap_values.pkl"), ("artifact plots/*.png present", "plots/*.png")]
)
def test_table_named_artifact(text, glob):
    threshold = parse_threshold(text)
    assert (threshold.kind, threshold.artifact) == ("artifact", glob)


# --- tests.md criteria (design examples) --------------------------------------------------------


def test_criterion_latency_without_a_key():
    threshold = parse_threshold("latency < 100ms")
    assert (threshold.metric, threshold.op, threshold.value) == ("latency_p95_ms", "<", 100)


def test_criterion_explicit_comparator_with_a_baseline_factor():
    threshold = parse_threshold("precision@10 ≥ 3x random baseline")
    assert (threshold.kind, threshold.metric, threshold.op, threshold.factor) == ("ratio", "precision@10", ">=", 3.0)
    assert threshold.reference == RANDOM
    assert threshold.better_by is None


# --- comparators and numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, op",
    [
        ("auc => 0.9", ">="), ("auc at most 0.9", "<="), ("auc no more than 0.9", "<="), ("auc no less than 0.9", ">="),
        ("auc less than 0.9", "<"), ("auc below 0.9", "<"), ("auc under 0.9", "<"), ("auc above 0.9", ">"),
        ("auc over 0.9", ">"), ("auc greater than 0.9", ">"), ("auc more than 0.9", ">"), ("auc exceeds 0.9", ">"),
        ("auc <= 0.9", "<="), ("auc ≤ 0.9", "<="), ("auc = 0.9", "=="), ("auc == 0.9", "=="),
        ("auc should be at least 0.9", ">="),
    ],
)
def test_comparators(text, op):
    threshold = parse_threshold(text)
    assert (threshold.metric, threshold.op, threshold.value) == ("roc_auc", op, 0.9)


@pytest.mark.parametrize(
    "text, key, value, unit",
    [
        ("rps >= 1,000", None, 1000, None),
        ("1k req/sec", "Throughput", 1000, "req/sec"),
        ("latency < 0.1s", None, 100, "ms"),
        ("latency < 100 ms per request", None, 100, "ms"),
        ("cost < 50€", None, 50, "€"),
        ("85%+", "Test coverage", 0.85, "%"),
        ("1000 req/min", "Throughput", 1000 / 60, "rps"),
    ],
)
def test_units_and_number_forms(text, key, value, unit):
    threshold = parse_threshold(text, key=key)
    assert threshold.value == pytest.approx(value)
    assert threshold.unit == unit


def test_a_plus_after_the_number_means_at_least():
    assert parse_threshold("85%+", key="Test coverage").op == ">="


def test_or_more_after_the_number_sets_the_comparator():
    assert parse_threshold("my_metric 5 or more").op == ">="
    assert parse_threshold("my_metric 5 or less").op == "<="


def test_a_percent_of_a_reference_is_a_factor():
    threshold = parse_threshold("accuracy >= 98% of promoted model")
    assert (threshold.kind, threshold.factor, threshold.reference) == ("ratio", 0.98, Reference("promoted"))


# --- which metric a Key: value line names --------------------------------------------------------


@pytest.mark.parametrize(
    "key, text, metric",
    [
        ("Recall", "recall@10 > 0.15", "recall@10"),
        ("Precision@10", "> 0.25", "precision@10"),
        ("Latency", "<100ms inference", "latency_p95_ms"),
        ("Accuracy", ">= 95% precision", "precision"),
        ("Accuracy", ">= 95% on held-out data", "accuracy"),
        ("Error Rate", "< 5% of executions", "error_rate"),
    ],
)
def test_key_names_the_metric_unless_the_value_does(key, text, metric):
    assert parse_threshold(text, key=key).metric == metric


def test_a_baseline_ratio_naming_no_metric_ignores_the_key():
    threshold = parse_threshold(">= 3x random baseline", key="Accuracy")
    assert (threshold.metric, threshold.factor, threshold.reference) == (None, 3.0, RANDOM)


def test_an_increment_ratio_naming_no_metric_takes_the_key():
    assert parse_threshold(">= 0.98x increment 0041", key="Precision@10").metric == "precision@10"


def test_a_better_than_ratio_that_names_a_metric():
    threshold = parse_threshold("precision@10 is 20% better than the best baseline")
    assert (threshold.metric, threshold.better_by, threshold.reference) == ("precision@10", ("percent", 0.2), BEST)


# --- bare targets and direction -----------------------------------------------------------------


def test_bare_target_lower_is_better_means_at_most():
    assert parse_threshold("200ms", key="p99 latency").op == "<="


def test_bare_target_uses_declared_directions():
    threshold = parse_threshold("0.5", key="My Score", directions={"my_score": "lower"})
    assert (threshold.metric, threshold.op) == ("my_score", "<=")


def test_bare_target_of_unknown_direction_asks_for_a_comparator():
    with pytest.raises(ThresholdError, match="expected a comparator.*my_score.*'>='"):
        parse_threshold("0.5", key="My Score")


def test_lower_is_better_cannot_improve_by_100_percent():
    with pytest.raises(ThresholdError, match="lower-is-better"):
        parse_threshold("rmse better than best baseline by 100%")


# --- bound() and compare() -----------------------------------------------------------------------


def test_bound_better_by_times():
    threshold = parse_threshold("Better than random baseline by 3x")
    assert threshold.bound(0.1, higher_is_better=True) == (">=", pytest.approx(0.3))
    assert threshold.bound(30.0, higher_is_better=False) == ("<=", pytest.approx(10.0))


def test_bound_better_by_percent():
    threshold = parse_threshold("beat best baseline by 20%")
    assert threshold.bound(0.5, higher_is_better=True) == (">=", pytest.approx(0.6))
    assert threshold.bound(50.0, higher_is_better=False) == ("<=", pytest.approx(0.8 * 50.0))


def test_bound_explicit_factor():
    threshold = parse_threshold("precision@10 >= 0.98x increment 0041")
    assert threshold.bound(0.5, higher_is_better=True) == (">=", pytest.approx(0.49))


def test_bound_is_only_for_ratios():
    with pytest.raises(ValueError):
        parse_threshold("auc > 0.9").bound(1.0, True)


@pytest.mark.parametrize(
    "op, measured, target, passes",
    [
        (">", 0.3, 0.25, True), (">", 0.25, 0.25, False), (">=", 0.25, 0.25, True), ("<", 99, 100, True),
        ("<=", 101, 100, False), ("==", 0.1 + 0.2, 0.3, True), ("==", 0.3, 0.31, False), (">", math.nan, 0, False),
    ],
)
def test_compare(op, measured, target, passes):
    assert compare(op, measured, target) is passes


# --- describe() -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key, shown",
    [
        ("Precision@10 > 0.25", None, "precision@10 > 0.25"),
        ("MAPE < 10%", None, "mape < 10%"),
        ("<100ms inference", "Latency", "latency_p95_ms < 100 ms"),
        ("RMSE < $50", None, "rmse < $50"),
        ("AUC ≥ 3x random baseline", None, "roc_auc ≥ 3× random baseline"),
        ("Better than random baseline by 3x", None, "primary metric better than random baseline by 3×"),
        ("beat best baseline by 20%+", None, "primary metric better than best baseline by 20%"),
        ("precision@10 of exp-003 > 0.25", None, "precision@10 of exp-003 > 0.25"),
        ("artifact shap_values.pkl present", None, "artifact shap_values.pkl present"),
    ],
)
def test_describe(text, key, shown):
    assert parse_threshold(text, key=key).describe() == shown


# --- unreadable lines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("precision@10 > abc", "cannot read the threshold 'precision@10 > abc': expected a number after '>'"),
        ("precision > 0,25", "decimal point"),
        ("Precision@10 > 0.25, Recall@10 > 0.15", "one comparison"),
        ("> 0.25", "name of a metric"),
        ("speedup > 3x faster", "reference after '3x'"),
        ("better than the competition by 2x", "expected a reference"),
        ("better than random baseline by 0x", "above 0"),
        ("Must explain top-3 recommendations", "expected a comparator"),
        ("", "expected a metric"),
    ],
)
def test_unreadable_lines_raise_threshold_error(text, message):
    with pytest.raises(ThresholdError, match=re.escape(message)) as raised:
        parse_threshold(text)
    assert raised.value.line is None and raised.value.path is None


# --- what looks like a threshold --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Precision@10 > 0.25", "AUC ≥ 0.9", "F1 at least 0.8", "RMSE < $50", "<100ms inference", "1000 req/sec",
        "99% precision", "Better than random baseline by 3x", "better than random baseline by 3 times",
        "beat best baseline by 20%+", "precision@10 >= 0.98x increment 0041", "0.99x promoted model",
        "3x random baseline", "explainability artifacts present", "artifact shap_values.pkl present",
        "Test coverage: 85%+", "Reduce time by 50%", "no more than 5 errors", "50 qps", "€20 per run",
    ],
)
def test_looks_like_a_threshold(text):
    assert looks_like_threshold(text)


@pytest.mark.parametrize(
    "text",
    [
        "Must explain top-3 recommendations", "Training data: 6 months user interactions",
        "Problem type: Recommendation", "Works under load", "step a -> step b",
        "Plugin installation happens only once", "No regressions from increment 0043", "Support for 5 platforms",
        "Run p95 analysis on exp-003", "", "   ",
    ],
)
def test_prose_does_not_look_like_a_threshold(text):
    assert not looks_like_threshold(text)


# --- any text parses or raises ThresholdError -----------------------------------------------------

FRAGMENTS = [
    "precision@10", "AUC", "latency", "throughput", "of", "exp-003", ">", ">=", "<", "≤", "≥", "=", "=>", "at least",
    "under", "0.25", "1,000", "1k", "3x", "0.98x", "20%", "%", "$", "€50", "ms", "s", "req/sec", "+", "better than",
    "beat", "by", "random", "best", "baseline", "increment", "0041", "promoted", "model", "artifact", "present",
    "explainability artifacts", "for", "the", "`", "**", "-", "1e999", ".5", ",5", "×", "times", "or more", "ſ", "->",
]
texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from(FRAGMENTS), max_size=8).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
)


@settings(max_examples=500, deadline=None)
@given(texts, st.one_of(st.none(), texts))
def test_any_text_parses_or_raises_threshold_error(text, key):
    looks_like_threshold(text)
    try:
        threshold = parse_threshold(text, key=key)
    except ThresholdError:
        return
    assert isinstance(threshold, Threshold)
    assert isinstance(threshold.describe(), str)


# --- read as the writer meant, or an error that says why ------------------------------------------


@pytest.mark.parametrize("text", ["accuracy > 1e999", "accuracy < 1e999", "rmse <= -1e999", "latency < 1e999ms",
                                  "precision@10 >= 1e999x increment 0041", "beat best baseline by 1e999x"])
def test_a_target_that_is_not_a_finite_number_is_an_error(text):
    with pytest.raises(ThresholdError, match="not a finite number"):
        parse_threshold(text)


@pytest.mark.parametrize(
    "text, key, shown",
    [("MAPE < 10", None, "10"), ("accuracy > 80", None, "80"), ("99.5", "Accuracy", "99.5"),
     ("precision@10 >= 25", None, "25"), ("hit rate@10 at least 30", None, "30")],
)
def test_a_rate_target_above_1_without_a_percent_sign_is_an_error(text, key, shown):
    with pytest.raises(ThresholdError) as raised:
        parse_threshold(text, key=key)
    assert f"write {shown}% or " in raised.value.message and "fraction" in raised.value.message


@pytest.mark.parametrize("text", ["MAPE < 10%", "accuracy > 0.8", "accuracy >= 1", "MAPE < 0.10", "rmse < 50",
                                  "latency < 100", "throughput > 1000"])
def test_rate_targets_written_as_fractions_or_percent_and_other_metrics_are_read(text):
    parse_threshold(text)


def test_a_percent_like_target_names_its_fraction_in_the_error():
    with pytest.raises(ThresholdError, match=r"write 10% or 0\.1\b"):
        parse_threshold("MAPE < 10")


@pytest.mark.parametrize("text, words", [("accuracy > 0.8 banana", "banana"), ("f1 >= 0.7 maybe later", "maybe later"),
                                         ("AUC >= 0.9 foo", "foo")])
def test_words_after_a_complete_comparison_that_nothing_reads_are_an_error(text, words):
    with pytest.raises(ThresholdError, match=f"nothing reads the words after the number: '{words}'"):
        parse_threshold(text)


@pytest.mark.parametrize(
    "text, key, shown",
    [
        ("<100ms inference", "Latency", "latency_p95_ms < 100 ms"),
        ("1000 req/sec", "Throughput", "throughput_rps ≥ 1000 req/sec"),
        ("Response time < 90 seconds (p95)", None, "response_time < 90 seconds"),
        ("accuracy > 0.8 (held-out test set)", None, "accuracy > 0.8"),
        ("accuracy > 0.8 on the test set", None, "accuracy > 0.8"),
        ("recall@10 > 0.15 for cold-start users", None, "recall@10 > 0.15"),
        ("Confidence > 0.7 → Use phase detection", None, "confidence > 0.7"),
        ("High confidence: 95%+ accuracy", None, "high_confidence ≥ 95%"),
        ("CI feedback time: 7 minutes faster", None, "ci_feedback_time ≤ 7 minutes"),
        ("≥3 passing tests", "Agents", "agents ≥ 3"),
        ("accuracy >= 0.8 or more", None, "accuracy ≥ 0.8"),
        ("cost < $30/month for 100 failures", None, "cost < $30"),
        ("99% precision", None, "precision ≥ 99%"),
    ],
)
def test_trailing_words_the_grammar_reads_or_allows_stay_readable(text, key, shown):
    assert parse_threshold(text, key=key).describe() == shown


@pytest.mark.parametrize(
    "text, shown",
    [("accuracy ≧ 0.9", "accuracy ≥ 0.9"), ("accuracy ⩾ 0.9", "accuracy ≥ 0.9"), ("rmse ≦ 5", "rmse ≤ 5"),
     ("rmse ⩽ 5", "rmse ≤ 5"), ("accuracy ≥ ０.９", "accuracy ≥ 0.9"), ("accuracy ＞ 0.9", "accuracy > 0.9"),
     ("ＭＡＰＥ ＜ １０％", "mape < 10%")],
)
def test_other_comparator_characters_and_full_width_digits_read_as_meant(text, shown):
    assert looks_like_threshold(text)
    assert parse_threshold(text).describe() == shown


@pytest.mark.parametrize("text, key, data, psi, p", [
    ("PSI < 0.2 per feature", "Drift", None, 0.2, None),
    ("Drift: PSI < 0.1 per feature, p-value > 0.01", None, None, 0.1, 0.01),
    ("no drift on data/current.parquet", None, "data/current.parquet", None, None),
    ("no data drift in `data/last week.csv` (PSI ≤ 0.15)", None, "data/last week.csv", 0.15, None),
])
def test_drift_lines(text, key, data, psi, p):
    from pytest_specweave.model.thresholds import parse_threshold

    threshold = parse_threshold(text, key)
    assert (threshold.kind, threshold.data, threshold.value, threshold.p_value) == ("drift", data, psi, p)


def test_a_drift_line_without_limits_says_what_it_expected():
    from pytest_specweave.errors import ThresholdError
    from pytest_specweave.model.thresholds import parse_threshold

    with pytest.raises(ThresholdError, match="expected drift limits such as 'PSI < 0.2 per feature'"):
        parse_threshold("Drift: low", None)
