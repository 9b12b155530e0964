"""pytest_specweave_metrics: a metric a conftest.py registers is read, judged, compared and shown like a built-in one."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from hooks_docs import write_example
from pytest_specweave import Metric, compute_metrics, register_metric
from pytest_specweave.evaluation import custom_metrics, evidence
from pytest_specweave.evaluation.metrics import MetricWarning, metric_value
from pytest_specweave.model import metric_display, metric_names
from pytest_specweave.model.thresholds import parse_threshold

INCREMENT = "increments/0001-claims"
# Beside the docs example's spec.md: a criterion the interval lies above, and one it straddles.
TESTS_MD = """\
## Evaluation Criteria
- TC-001: MCR <= 10%
- TC-002: MCR < 22%
"""
VERDICTS = [
    "SM-1*missed_claim_rate < 30%*20% [[]14.69%, 26.22%[]]*PASS",
    "SM-2*missed_claim_rate better*20% (0.5× [[]0.3974×,*PASS",
    "TC-001*missed_claim_rate ≤ 10%*20% [[]14.69%, 26.22%[]]*FAIL",
    "TC-002*missed_claim_rate < 22%*20% [[]14.69%, 26.22%[]]*INCONCLUSIVE",
]


def claims_project(root):
    write_example(root, "metrics")
    (root / INCREMENT / "tests.md").write_text(TESTS_MD, encoding="utf-8")


def verdict_rows(result) -> list[str]:
    return [line for line in result.stdout.lines if line.startswith(("SM-", "TC-"))]


@pytest.fixture
def registry():
    """Metrics registered by a test, forgotten after it."""
    names = []
    yield lambda metric: names.append(register_metric(metric, "test").name) or metric
    for name in names:
        custom_metrics.unregister_metric(name)


def test_the_docs_example_judges_a_registered_metric_like_a_built_in_one(pytester):
    claims_project(pytester.path)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    outcomes = result.parseoutcomes()
    assert (outcomes["passed"], outcomes["failed"], outcomes["inconclusive"]) == (4, 1, 1), outcomes
    result.stdout.fnmatch_lines(VERDICTS, consecutive=False)
    summary = (pytester.path / INCREMENT / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "**Primary metric**: missed_claim_rate (lower is better)" in summary
    assert "| SM-1 | missed claim rate < 30% | 20% [14.69%, 26.22%] |" in summary
    assert "| missed_claim_rate | exp-001-baseline-majority | 40% | 20% | 0.5× [0.3974×, 0.6168×] | better |" in summary
    # forgotten at unconfigure: the next run in this process starts without it
    assert custom_metrics.registered("missed_claim_rate") is None
    assert metric_names.canonical("MCR") == "mcr"


def test_with_xdist_every_process_knows_the_metric_and_the_verdicts_are_the_same(pytester):
    pytest.importorskip("xdist")
    claims_project(pytester.path)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "-n", "2")
    outcomes = result.parseoutcomes()
    assert (outcomes["passed"], outcomes["failed"], outcomes["inconclusive"]) == (4, 1, 1), outcomes
    result.stdout.fnmatch_lines(VERDICTS, consecutive=False)


def test_the_command_judges_with_the_metrics_of_the_projects_conftest(pytester, monkeypatch, capsys):
    from pytest_specweave.cli import main

    claims_project(pytester.path)
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 1
    summary = pytester.path / INCREMENT / "COMPLETION-SUMMARY.md"
    summary.unlink()
    monkeypatch.chdir(pytester.path)
    assert main(["summary"]) == 0
    text = summary.read_text(encoding="utf-8")
    assert "| SM-2 | Missed claims: better than majority baseline by 1.5x | 20% (0.5× [0.3974×, 0.6168×]) |" in text
    assert "| TC-002 | MCR < 22% | 20% [14.69%, 26.22%] |" in text and "no experiment logged mcr" not in text
    assert main(["compare"]) == 0
    assert "| exp-001-baseline-majority | baseline | succeeded | 40% |" in capsys.readouterr().out
    assert custom_metrics.registered("missed_claim_rate") is None


def test_a_name_a_built_in_metric_has_is_a_usage_error_naming_both(pytester):
    pytester.makeconftest("""
        from pytest_specweave import Metric

        def pytest_specweave_metrics():
            return Metric("AUC", lambda y_true, y_pred: y_true == y_pred)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*metric 'AUC' from conftest.py clashes with the built-in metric 'roc_auc'*"])
    assert "Traceback" not in result.stderr.str()


def test_a_name_two_registrations_share_is_a_usage_error_naming_both(pytester):
    pytester.makeconftest("""
        from pytest_specweave import Metric

        def pytest_specweave_metrics():
            return Metric("missed_claim_rate", lambda y_true, y_pred: y_true == y_pred, aliases=["MCR"])
    """)
    pytester.makepyfile(team_metrics="""
        from pytest_specweave import Metric

        def pytest_specweave_metrics():
            return [Metric("mcr", lambda y_true, y_pred: y_true != y_pred)]
    """)
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "team_metrics")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = "\n".join(result.errlines)
    assert "clashes with the metric" in text and "team_metrics" in text and "conftest.py" in text, text
    assert custom_metrics.registered("missed_claim_rate") is None and custom_metrics.registered("mcr") is None


@pytest.mark.parametrize("body, said", [
    ("raise RuntimeError('no metrics today')", "pytest_specweave_metrics in conftest.py raised RuntimeError: no metrics today"),
    ("return 'accuracy'", "pytest_specweave_metrics in conftest.py returned str; expected a pytest_specweave.Metric"),
    ("return Metric('x_rate', len, direction='up')", "*direction must be 'higher' or 'lower', not 'up'"),
])
def test_a_declaration_that_cannot_be_used_stops_the_run(pytester, body, said):
    pytester.makeconftest(f"from pytest_specweave import Metric\n\ndef pytest_specweave_metrics(config):\n    {body}\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{said}*"])


def test_without_an_implementation_nothing_of_it_is_imported(pytester):
    pytester.makeconftest("""
        import sys

        def pytest_sessionfinish(session):
            loaded = [name for name in ("pytest_specweave.pytestlayer.metric_hook",
                                        "pytest_specweave.evaluation.custom_metrics") if name in sys.modules]
            print("loaded:", loaded)
    """)
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.stdout.fnmatch_lines(["*loaded: [[][]]*"])


# -- the registry, without pytest --------------------------------------------------------------------


def test_thresholds_directions_and_display_follow_the_registration(registry):
    registry(Metric("revenue_hit_rate@10", lambda y_true, y_pred: y_true, direction="higher", proportion=True,
                    aliases=["RHR@10"], problems="ranking"))
    registry(Metric("claim_cost", lambda y_true, y_pred: y_true, direction="lower", aliases=["cost per claim"]))
    assert metric_names.canonical("Revenue hit rate@10") == metric_names.canonical("RHR@10") == "revenue_hit_rate@10"
    assert parse_threshold("RHR@10 >= 30%").metric == "revenue_hit_rate@10"
    assert parse_threshold("RHR@10 >= 30%").value == pytest.approx(0.3)
    assert metric_display.value_text("RHR@10", 0.25) == "25%"
    # claim_cost: "cost" says lower by its words; the registration says it is no proportion
    assert metric_names.direction("cost per claim") == "lower" and not metric_names.is_percent_like("claim_cost")
    assert metric_display.value_text("claim_cost", 12.5, "$") == "$12.50"
    assert parse_threshold("cost per claim < $20").metric == "claim_cost"


def test_compute_metrics_and_metric_value_compute_it_for_its_problem_types(registry, tmp_path):
    registry(Metric("within_one", lambda y_true, y_pred: np.abs(np.asarray(y_true) - y_pred) <= 1,
                    proportion=True, problems=["regression"]))
    y = np.arange(1.0, 21.0)
    pred = y + np.tile([0.5, 2.0], 10)
    assert compute_metrics("regression", y, pred)["within_one"] == 0.5
    assert "within_one" not in compute_metrics("classification", [0, 1], [0, 1])
    assert metric_value("Within one", y, pred) == 0.5


def test_a_registered_metric_that_fails_on_the_data_is_left_out_with_a_warning(registry):
    registry(Metric("first_share", lambda y_true, y_pred: np.asarray(y_pred)[:, 0] == 1, problems="classification"))
    with pytest.warns(MetricWarning, match="first_share left out: IndexError"):
        computed = compute_metrics("classification", [0, 1, 1], [0, 1, 0])
    assert "first_share" not in computed and computed["accuracy"] == pytest.approx(2 / 3)


def test_per_unit_values_give_the_interval_pairs_and_ratios(registry):
    ratio = registry(Metric("caught_value", lambda y_true, y_pred: np.column_stack([y_true * y_pred, y_true]),
                            proportion=True))
    rng = np.random.default_rng(3)
    value = rng.gamma(2.0, 50.0, 400)
    caught = (rng.random(400) < 0.7).astype(float)
    found = evidence.from_predictions("caught_value", value, caught)
    assert found.combine == "ratio"
    estimate = evidence.estimate(found, 0.95)
    assert estimate.value == pytest.approx((value * caught).sum() / value.sum())
    assert estimate.method == "BCa bootstrap" and estimate.low < estimate.value < estimate.high
    assert ratio.value(value, caught) == pytest.approx(estimate.value)
    baseline = evidence.from_predictions("caught_value", value, np.full(400, 0.5))
    paired = evidence.paired_ratio(found, baseline, 0.95)
    assert paired.value == pytest.approx(estimate.value / 0.5) and paired.low < paired.value < paired.high


def test_a_metric_resampled_by_customer_resamples_whole_customers(registry):
    registry(Metric("abs_gap", lambda y_true, y_pred: np.abs(y_true - y_pred), direction="lower", unit="customer",
                    problems="regression"))
    rng = np.random.default_rng(0)
    customer = np.repeat(np.arange(30), 10)
    y = rng.normal(size=300) + rng.normal(size=30)[customer]
    pred = y + rng.normal(size=300)
    estimate = evidence.estimate(evidence.from_predictions("abs_gap", y, pred, groups=customer), 0.95)
    assert estimate.n_units == 30 and estimate.unit == "customers"
    with pytest.warns(MetricWarning, match="resampled by customer, so its rows need groups="):
        assert evidence.from_predictions("abs_gap", y, pred) is None


def test_names_clash_with_the_built_in_tables_and_with_each_other(registry):
    for name in ("accuracy", "AUC", "Precision@5", "mean squared error", "latency_p95_ms", "model_size_bytes"):
        with pytest.raises(custom_metrics.MetricNameClash, match="clashes with the built-in metric"):
            register_metric(Metric(name, len), "conftest.py")
    registry(Metric("claim_cost", len, direction="lower"))
    with pytest.raises(custom_metrics.MetricNameClash,
                       match="'Claim cost' from plugin clashes with the metric 'claim_cost' registered by test"):
        register_metric(Metric("other", len, aliases=["Claim cost"]), "plugin")
    assert custom_metrics.registered("other") is None


def test_a_metric_says_what_is_wrong_with_it():
    with pytest.raises(ValueError, match="compute must be a function"):
        Metric("x_rate", 3)
    with pytest.raises(ValueError, match="unknown problem type 'clustering'"):
        Metric("x_rate", len, problems=["clustering"])
    with pytest.raises(ValueError, match=r"compute returned shape \(2, 3\)"):
        Metric("x_rate", lambda y_true, y_pred: np.zeros((2, 3))).value([0, 1], [0, 1])


def test_a_baseline_given_the_customers_pairs_a_customer_resampled_metric(registry, tmp_path):
    from pytest_specweave import mean_baseline, track_experiment
    from pytest_specweave.evaluation.judge import JudgeContext, judge
    from pytest_specweave.model.increment import Increment

    registry(Metric("abs_gap", lambda y_true, y_pred: np.abs(np.asarray(y_true) - y_pred), direction="lower",
                    unit="customer", problems="regression"))
    folder = tmp_path / "increments" / "0001-spend"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("---\nprimary_metric: abs_gap\n---\n# spend\n")
    rng = np.random.default_rng(5)
    customer = np.repeat(np.arange(40), 25)  # 40 customers, 25 rows each, alike within a customer
    spend = rng.lognormal(3.0, 0.5, 40)[customer] + rng.normal(0, 2, 1000)
    baseline = mean_baseline(spend[:500], spend, increment=folder, groups=customer)
    with track_experiment("candidate", increment=folder) as exp:
        candidate = spend + 0.5 * (baseline.predictions - spend) * (1 + rng.normal(0, 0.05, 1000))
        compute_metrics("regression", spend, candidate, experiment=exp, groups=customer)
    verdict = judge(parse_threshold("abs_gap 30% better than mean baseline"), JudgeContext.for_increment(
        Increment.load(folder)))
    assert verdict.outcome == "passed", verdict.message
    assert "paired" in verdict.method and verdict.ratio[0] == pytest.approx(0.5, abs=0.01)
    assert "40 customers" in verdict.message


def test_a_customer_resampled_ratio_is_not_passed_on_what_resampling_rows_would_claim(registry, tmp_path):
    """The candidate's gain differs from customer to customer: resampled by customer (40 of them) the ratio's
    interval straddles the 0.7 target; resampled by rows (1,000), as if rows were independent, it would pass."""
    import dataclasses

    from pytest_specweave import ExperimentStore, mean_baseline, track_experiment
    from pytest_specweave.evaluation.judge import JudgeContext, judge
    from pytest_specweave.model.increment import Increment

    registry(Metric("abs_gap", lambda y_true, y_pred: np.abs(np.asarray(y_true) - y_pred), direction="lower",
                    unit="customer", problems="regression"))
    folder = tmp_path / "increments" / "0001-spend"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("---\nprimary_metric: abs_gap\n---\n# spend\n")
    rng = np.random.default_rng(1)
    customer = np.repeat(np.arange(40), 25)
    spend = rng.lognormal(3.0, 0.5, 40)[customer] + rng.normal(0, 2, 1000)
    baseline = mean_baseline(spend[:500], spend, increment=folder, groups=customer)
    gain = rng.uniform(0.33, 0.99, 40)[customer]  # each customer's own share of the baseline's error
    with track_experiment("candidate", increment=folder) as exp:
        compute_metrics("regression", spend, spend + gain * (baseline.predictions - spend), experiment=exp,
                        groups=customer)
    verdict = judge(parse_threshold("abs_gap 30% better than mean baseline"), JudgeContext.for_increment(
        Increment.load(folder)))
    assert verdict.outcome == "inconclusive", verdict.message
    assert verdict.ratio[1] < 0.7 < verdict.ratio[2] and "paired" in verdict.method
    assert "over 40 customers" in verdict.message
    records = {record.name: record for record in ExperimentStore(folder).records()}
    as_rows = [dataclasses.replace(evidence.load(records[name], "abs_gap"), groups=None)
               for name in ("candidate", "baseline-mean")]
    assert evidence.paired_ratio(*as_rows, 0.95).high < 0.7  # the claim the unit stops
