"""Verdicts a statistician would sign: each case measured in review, reproduced through the library as a user calls it.

Simulations are seeded and sized so that the old rule's failure and the new rule's soundness are far
apart (a few hundred repetitions on small data): they check the property, not a lucky draw.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_specweave import bootstrap_ci, compute_metrics, mean_baseline, random_baseline, track_experiment
from pytest_specweave.evaluation import evidence as evidence_module
from pytest_specweave.evaluation.judge import FAILED, INCONCLUSIVE, PASSED, JudgeContext, judge
from pytest_specweave.model.increment import Increment
from pytest_specweave.model.thresholds import parse_threshold
from pytest_specweave.settings import CONFIDENCE_ENV
from pytest_specweave.tracking.store import ExperimentStore


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0011-stats"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("---\nprimary_metric: precision@10\n---\n# stats\n")
    return folder


def verdict_of(folder, text, primary=None):
    increment = Increment.load(folder)
    context = JudgeContext.for_increment(increment)
    if primary:
        context.primary_metric = primary
    return judge(parse_threshold(text), context)


def ranked_lists(rng, relevant, n_items, k, hit_rate):
    """Top-k lists in which each slot is one of the user's relevant items with probability `hit_rate`."""
    rows = []
    for rel in relevant:
        rel = list(rel)
        others = [i for i in range(n_items) if i not in set(rel)]
        hits = min(rng.binomial(k, hit_rate), len(rel))
        row = list(rng.choice(rel, hits, replace=False)) + list(rng.choice(others, k - hits, replace=False))
        rows.append(row)
    return np.asarray(rows)


# -- 1. ratios are judged on the ratio, paired ------------------------------------------------------


def test_three_times_the_random_baseline_is_judged_on_the_paired_ratio_not_against_one_draw(inc):
    rng = np.random.default_rng(7)
    n_items, k = 200, 10
    relevant = [set(rng.choice(n_items, 10, replace=False).tolist()) for _ in range(300)]
    random = random_baseline(relevant, n_items, k=k, seed=1, increment=inc)
    # the random recommender's exact expectation, not one draw: 10 relevant of 200 items
    assert random.metrics["precision@10"] == pytest.approx(0.05)
    with track_experiment("candidate", increment=inc) as exp:  # truly 0.15: exactly 3x random
        compute_metrics("ranking", relevant, ranked_lists(rng, relevant, n_items, k, 0.15), k=k, experiment=exp)
    verdict = verdict_of(inc, "precision@10 better than random baseline by 3x")
    assert verdict.outcome == INCONCLUSIVE, verdict.message
    assert "paired" in verdict.method and verdict.ratio[1] < 3 < verdict.ratio[2]
    assert "the evaluation data" in verdict.message  # how much more would settle it


def test_the_paired_ratio_rule_keeps_false_passes_near_nominal_where_the_unpaired_rule_did_not():
    """A candidate exactly 3x the random baseline must not pass '3x' more than ~2.5% of the time."""
    rng = np.random.default_rng(11)
    n_users, k = 300, 10
    paired_passes = unpaired_passes = 0
    repetitions = 200
    for _ in range(repetitions):
        candidate = rng.binomial(k, 0.15, n_users) / k
        drawn_random = rng.binomial(k, 0.05, n_users) / k  # one random draw, as the old rule used
        users = np.arange(n_users)
        ours = evidence_module.Evidence("precision@10", candidate[:, None], "mean", users, unit="users")
        expected = evidence_module.Evidence("precision@10", np.full((n_users, 1), 0.05), "mean", users, unit="users")
        ratio = evidence_module.paired_ratio(ours, expected, 0.95, target=3.0)
        paired_passes += ratio.low >= 3.0
        low = evidence_module.estimate(ours, 0.95).low  # old: the candidate's interval against 3 x one draw
        unpaired_passes += low >= 3.0 * drawn_random.mean()
    assert paired_passes / repetitions <= 0.05
    assert unpaired_passes / repetitions >= 0.08


def test_a_tight_paired_rmse_ratio_passes_twenty_percent_better_on_heavy_tailed_spend(inc):
    rng = np.random.default_rng(3)
    spend = rng.lognormal(3.0, 1.2, 4000)  # heavy-tailed, like customer spend
    baseline = mean_baseline(spend[:2000], spend, increment=inc)
    baseline_errors = baseline.predictions - spend
    # on every customer the candidate's error is 0.7 of the baseline's, give or take 1%
    candidate = spend + 0.7 * baseline_errors * (1 + rng.normal(0, 0.01, len(spend)))
    with track_experiment("candidate", increment=inc) as exp:
        compute_metrics("regression", spend, candidate, experiment=exp)
    verdict = verdict_of(inc, "RMSE 20% better than mean baseline", primary="rmse")
    assert verdict.outcome == PASSED, verdict.message
    assert "paired" in verdict.method and verdict.ratio[0] == pytest.approx(0.7, abs=0.005)
    assert verdict.ratio[2] - verdict.ratio[1] < 0.01  # unpaired, the two wide RMSE intervals left it inconclusive


# -- 2. intervals that hold at 0 and 1 ----------------------------------------------------------------


def test_sixty_declines_all_fraud_do_not_prove_99_percent_precision(inc):
    y_true = np.ones(60, dtype=int)
    flagged = np.ones(60, dtype=int)
    with track_experiment("rules", increment=inc) as exp:
        result = bootstrap_ci("precision", y_true, flagged, experiment=exp)
    assert result.value == 1.0 and result.low == pytest.approx(0.9404, abs=1e-4) and result.high == 1.0
    verdict = verdict_of(inc, "99% precision", primary="precision")
    assert verdict.outcome == INCONCLUSIVE and "Clopper-Pearson" in verdict.method
    # all of 368 flagged right would put the exact lower bound, 0.025^(1/n), above 0.99
    assert "(~368 rows) would settle it" in verdict.message


def test_a_perfectly_separated_auc_on_forty_rows_is_not_certain():
    y = np.array([0] * 20 + [1] * 20)
    scores = np.linspace(0, 1, 40)
    result = bootstrap_ci("roc_auc", y, scores)
    assert result.value == 1.0 and result.low < 0.9 and result.high == 1.0


def test_an_exact_interval_on_forty_rows_rarely_sits_above_the_truth():
    rng = np.random.default_rng(5)
    above = 0
    for _ in range(400):
        y = rng.integers(0, 2, 40)
        correct = rng.random(40) < 0.9
        predicted = np.where(correct, y, 1 - y)
        above += bootstrap_ci("accuracy", y, predicted).low > 0.9
    assert above / 400 <= 0.03  # nominal 2.5%; the percentile bootstrap gave 7.5%


# -- 3. the right resampling unit -------------------------------------------------------------------


def test_clustered_rows_are_resampled_by_cluster():
    """Transactions of one card share its fate: resampling rows understates the uncertainty."""
    rng = np.random.default_rng(2)
    row_covered = cluster_covered = 0
    repetitions = 150
    for _ in range(repetitions):
        cards = np.repeat(np.arange(60), 10)
        caught = rng.beta(2, 2, 60)[cards] > 0.5  # a card's fraud is caught on all its rows, or on none
        truth = 0.5
        y = np.ones(len(cards), dtype=int)
        predicted = caught.astype(int)
        rows = bootstrap_ci("accuracy", y, predicted)
        clustered = bootstrap_ci("accuracy", y, predicted, groups=cards)
        row_covered += rows.low <= truth <= rows.high
        cluster_covered += clustered.low <= truth <= clustered.high
    assert row_covered / repetitions < 0.6
    assert cluster_covered / repetitions >= 0.9


def test_a_time_series_is_not_resampled_row_by_row():
    pd = pytest.importorskip("pandas")
    index = pd.period_range("2010-01", periods=48, freq="M")
    actual = pd.Series(100 + 10 * np.sin(np.arange(48) / 12 * 2 * np.pi), index=index)
    forecast = actual * 1.03
    with pytest.raises(ValueError, match="time series.*block_length="):
        bootstrap_ci("mape", actual, forecast)
    result = bootstrap_ci("mape", actual, forecast + np.random.default_rng(0).normal(0, 1, 48), block_length=12)
    assert "blocks of 12 consecutive rows" in result.method


# -- 4. no winner's curse ---------------------------------------------------------------------------


def test_the_best_of_twenty_candidates_on_test_is_judged_at_a_widened_level(tmp_path):
    """Twenty candidates truly at the target: the best on test cleared it ~40% of the time at 95%."""
    rng = np.random.default_rng(9)
    old_passes = new_passes = 0
    repetitions = 30
    for rep in range(repetitions):
        store = ExperimentStore(tmp_path / f"r{rep}")
        for c in range(20):
            correct = (rng.random(400) < 0.8).astype(float)
            with store.open_run(f"candidate-{c}") as exp:
                exp.log_metric("accuracy", float(correct.mean()))
                exp.log_evidence("accuracy", correct)
        context = JudgeContext(records=store.records(), primary_metric="accuracy")
        judged, how, compared = context.selection()
        assert how == "chosen among 20 on test" and compared == 20
        verdict = judge(parse_threshold("accuracy > 0.8"), context)
        new_passes += verdict.outcome == PASSED
        winner = evidence_module.load(judged, "accuracy").columns[:, 0]
        old_passes += bootstrap_ci("accuracy", np.ones(400), winner).low > 0.8  # its own 95% interval
    assert "widened to 99.74%" in verdict.message
    assert old_passes / repetitions >= 0.2
    assert new_passes / repetitions <= 0.1


def test_a_validation_score_chooses_the_judged_candidate_without_widening(inc):
    for name, val, test in (("a", 0.71, 0.70), ("b", 0.69, 0.74)):
        with track_experiment(name, increment=inc) as exp:
            exp.log_metrics({"val_accuracy": val})
            exp.log_metric("accuracy", test, ci=(test - 0.03, test + 0.03))
    context = JudgeContext.for_increment(Increment.load(inc))
    context.primary_metric = "accuracy"
    judged, how, compared = context.selection()
    assert judged.name == "a" and how == "chosen on validation (val_accuracy)" and compared == 1


# -- 5. levels, point values, how much more data ------------------------------------------------------


def test_sw_confidence_recomputes_from_evidence_and_refuses_a_narrower_stored_interval(inc, monkeypatch):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    predicted = np.where(rng.random(500) < 0.85, y, 1 - y)
    with track_experiment("with-evidence", increment=inc) as exp:
        compute_metrics("classification", y, predicted, experiment=exp)
    with track_experiment("interval-only", increment=inc) as exp:
        exp.log_metric("accuracy", 0.85, ci=(0.82, 0.88))
    monkeypatch.setenv(CONFIDENCE_ENV, "0.99")
    recomputed = verdict_of(inc, "accuracy of with-evidence > 0.8")
    assert recomputed.level == 0.99 and "99% interval" in recomputed.message
    stored = verdict_of(inc, "accuracy of interval-only > 0.8")
    assert stored.outcome == INCONCLUSIVE and "the interval on record is at 95%, the verdict needs 99%" in stored.message


def test_a_point_value_is_labelled_and_fails_a_strict_gate(pytester):
    from conftest import write_increment

    write_increment(pytester.path, "0001-point", {
        "spec.md": "## ML Problem Definition\n- Success metrics: accuracy > 0.8, model_size_bytes < 1000000\n",
        "tasks.md": "- [ ] T-001: Train — `pipeline.py::train`\n",
        "pipeline.py": "def train(experiment):\n"
                       "    experiment.log_metric('accuracy', 0.9)\n"
                       "    experiment.log_metric('model_size_bytes', 5000, exact=True)\n",
    })
    lenient = pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-no-report")
    lenient.assert_outcomes(passed=3)
    lenient.stdout.fnmatch_lines(["*SM-1*accuracy > 0.8*PASS (no interval)*", "*SM-2*model_size_bytes*PASS"])
    strict = pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-no-report", "--sw-strict")
    strict.assert_outcomes(passed=2, failed=1)
    strict.stdout.fnmatch_lines(["*no interval (a point value) (a value without an interval fails under --sw-strict*",
                                 "*SM-1*FAIL (no interval)*"])


def test_how_much_more_data_would_settle_an_inconclusive_verdict(inc):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 400)
    predicted = np.where(rng.random(400) < 0.84, y, 1 - y)
    with track_experiment("model", increment=inc) as exp:
        compute_metrics("classification", y, predicted, experiment=exp)
    value = float(np.mean(y == predicted))
    verdict = verdict_of(inc, f"accuracy > {value - 0.01:.3f}", primary="accuracy")
    assert verdict.outcome == INCONCLUSIVE and verdict.data_factor > 1
    assert f"(~{int(np.ceil(verdict.data_factor * 400)):,} rows) would settle it" in verdict.message
    on_target = verdict_of(inc, f"accuracy > {value}", primary="accuracy")
    assert "no realistic amount of evaluation data would settle it" in on_target.message


def test_a_borderline_endpoint_does_not_move_with_the_seed():
    rng = np.random.default_rng(8)
    errors = rng.lognormal(0, 1, 600)
    found = evidence_module.Evidence("mae", errors[:, None], "mean")
    first = evidence_module.estimate(found, 0.95, seed=0)
    target = first.low + 0.002 * (first.high - first.low)  # an endpoint a hair away from the target
    sides = {evidence_module.estimate(found, 0.95, seed=seed, target=target).low > target for seed in range(6)}
    assert len(sides) == 1


def test_the_random_baselines_expectation_is_the_average_of_its_draws(inc):
    rng = np.random.default_rng(0)
    relevant = [set(rng.choice(50, rng.integers(1, 8), replace=False).tolist()) for _ in range(40)]
    seen = [set(rng.choice(50, 5, replace=False).tolist()) - r for r in relevant]
    expected = random_baseline(relevant, 50, k=5, exclude=seen, track=False).metrics
    from pytest_specweave.evaluation.ranking import RankedLists

    averages = {key: [] for key in ("precision", "recall", "hit_rate", "ndcg")}
    for seed in range(400):
        lists = random_baseline(relevant, 50, k=5, exclude=seen, seed=seed, track=False).predictions
        ranked = RankedLists(relevant, lists)
        for key in averages:
            averages[key].append(ranked.metric(key, 5))
    for key, values in averages.items():
        assert expected[f"{key}@5"] == pytest.approx(np.mean(values), rel=0.05), key


def test_paired_bootstrap_resamples_clusters_together():
    from pytest_specweave import paired_bootstrap

    rng = np.random.default_rng(6)
    cards = np.repeat(np.arange(80), 8)
    y = np.ones(len(cards), dtype=int)
    candidate = (rng.random(80) < 0.7)[cards].astype(int)  # right or wrong on a whole card at once
    baseline = (rng.random(80) < 0.5)[cards].astype(int)
    rows = paired_bootstrap("accuracy", y, candidate, baseline)
    clustered = paired_bootstrap("accuracy", y, candidate, baseline, groups=cards)
    assert clustered.difference == rows.difference
    assert (clustered.high - clustered.low) > 2 * (rows.high - rows.low)
