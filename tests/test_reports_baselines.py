"""The summary's "Against the baselines": the judged model against every baseline on the judged metrics."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import write_increment
from pytest_specweave import compute_metrics, track_experiment
from pytest_specweave.evaluation import evidence
from pytest_specweave.evaluation.baseline_comparison import BETTER, NOT_SETTLED, WORSE, compare_with_baselines
from pytest_specweave.evaluation.judge import JudgeContext
from pytest_specweave.model.increment import Increment
from pytest_specweave.reports.summary import write_summary

pytestmark = pytest.mark.filterwarnings("ignore:mape left out")

SPEC = """
---
primary_metric: rmse
---
# Spend forecast

## ML Problem Definition
- Problem type: Regression
- Success metrics: RMSE 20% better than best baseline, MAE 20% better than history baseline, R² > 0

## Model Requirements
- Latency: <100ms inference
"""

TASKS = """
# Tasks

- [ ] T-001: Train models
"""


def spend_data(n=3000, seed=0):
    """Mostly zero spend with a heavy tail: the zero predictor has a low MAE, the model a lower RMSE."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.5, 40.0, n)
    buys = rng.random(n) < 0.3
    y = np.where(buys, rng.gamma(2.0, rate / 2.0 + 1.0), 0.0)
    model = 0.3 * (rate / 2.0 + 1.0) * 2.0  # the expected spend: good for RMSE, not for MAE
    history = np.where(rng.random(n) < 0.5, rate, 0.0) * 1.5
    return y, model, history


def make_store(tmp_path, *, hand_logged=False):
    folder = write_increment(tmp_path, "0001-spend", {"spec.md": SPEC, "tasks.md": TASKS})
    (folder / "experiments").mkdir()
    y, model, history = spend_data()
    customers = np.arange(len(y)) + 1000
    baselines = {"baseline-zero": np.zeros(len(y)), "baseline-history": history}
    for name, pred in baselines.items():
        with track_experiment(name, increment=folder, baseline=True, task="T-001") as exp:
            compute_metrics("regression", y, pred, experiment=exp, units=customers, log_predictions=False)
    if hand_logged:
        with track_experiment("baseline-by-hand", increment=folder, baseline=True, task="T-001") as exp:
            exp.log_metrics({"rmse": 500.0, "mae": 400.0})
    with track_experiment("model", increment=folder, task="T-001") as exp:
        compute_metrics("regression", y, model, experiment=exp, units=customers, log_predictions=False)
    with track_experiment("deployment", increment=folder, task="T-001") as exp:
        exp.log_metric("latency_p95_ms", 3.0)
    return folder, y, model, baselines


def _rows(folder):
    increment = Increment.load(folder)
    context = JudgeContext.for_increment(increment)
    rows = compare_with_baselines(context, ["rmse", "mae", "r2", "latency_p95_ms"])
    return {(r.metric, r.baseline.split("-", 2)[2]): r for r in rows}


def test_the_model_is_compared_with_every_baseline_on_each_judged_metric(tmp_path):
    folder, y, model, baselines = make_store(tmp_path)
    rows = _rows(folder)
    assert set(rows) == {(m, b) for m in ("rmse", "mae", "r2") for b in ("baseline-zero", "baseline-history")}

    mae_zero = rows[("mae", "baseline-zero")]
    assert mae_zero.how == "ratio"
    assert mae_zero.value == np.mean(np.abs(y - model)) / np.mean(np.abs(y))
    assert mae_zero.value > 1  # the $0 predictor has the lower MAE on mostly-zero spend
    assert mae_zero.outcome == WORSE and mae_zero.estimate.low > 1
    assert mae_zero.estimate.method == "paired BCa bootstrap" and mae_zero.estimate.unit == "rows"

    rmse_zero = rows[("rmse", "baseline-zero")]
    assert rmse_zero.value < 1 and rmse_zero.outcome == BETTER and rmse_zero.estimate.high < 1


def test_the_interval_is_the_paired_one_of_the_two_experiments_evidence(tmp_path):
    folder, *_ = make_store(tmp_path)
    increment = Increment.load(folder)
    context = JudgeContext.for_increment(increment)
    model = next(r for r in context.records if r.name == "model")
    zero = next(r for r in context.records if r.name == "baseline-zero")
    expected = evidence.paired(evidence.load(model, "rmse"), evidence.load(zero, "rmse"), context.level)[0]
    row = _rows(folder)[("rmse", "baseline-zero")]
    assert (row.estimate.low, row.estimate.high) == (expected.low, expected.high)


def test_a_metric_negative_for_a_baseline_is_compared_as_a_difference(tmp_path):
    folder, y, model, baselines = make_store(tmp_path)
    row = _rows(folder)[("r2", "baseline-zero")]
    r2_zero = 1 - np.sum(y ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2_zero < 0 and row.how == "difference"
    r2_model = 1 - np.sum((y - model) ** 2) / np.sum((y - y.mean()) ** 2)
    assert np.isclose(row.value, r2_model - r2_zero)
    assert row.estimate.low < row.value < row.estimate.high
    assert row.outcome == BETTER  # higher r2 is better: the whole interval is above 0


def test_a_baseline_without_evidence_is_compared_on_its_value_and_said_so(tmp_path):
    folder, *_ = make_store(tmp_path, hand_logged=True)
    row = _rows(folder)[("rmse", "baseline-by-hand")]
    assert row.estimate is None and "kept no per-unit evidence" in row.note
    assert row.outcome == BETTER  # on the value alone
    assert ("r2", "baseline-by-hand") not in _rows(folder)  # it logged no r2


def test_a_comparison_the_interval_cannot_tell_apart_is_not_settled(tmp_path):
    folder = write_increment(tmp_path, "0001-spend", {"spec.md": SPEC, "tasks.md": TASKS})
    (folder / "experiments").mkdir()
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 400)
    same_quality = [y + rng.normal(0, 1, 400) for _ in range(2)]
    with track_experiment("baseline-history", increment=folder, baseline=True) as exp:
        compute_metrics("regression", y, same_quality[0], experiment=exp, log_predictions=False)
    with track_experiment("model", increment=folder) as exp:
        compute_metrics("regression", y, same_quality[1], experiment=exp, log_predictions=False)
    rows = compare_with_baselines(JudgeContext.for_increment(Increment.load(folder)), ["rmse"])
    assert len(rows) == 1 and rows[0].outcome == NOT_SETTLED
    assert rows[0].estimate.low < 1 < rows[0].estimate.high  # paired by the common evaluation-data hash


def test_the_summary_shows_the_table_with_the_ratios_and_their_intervals(tmp_path):
    folder, y, model, _ = make_store(tmp_path, hand_logged=True)
    increment = Increment.load(folder)
    text = write_summary(increment, None, JudgeContext.for_increment(increment)).read_text(encoding="utf-8")
    start = text.index("## Against the baselines")
    body = text[start:text.index("\n## ", start + 1)]
    assert "`exp-004-model`" in body and "paired BCa bootstrap over 3,000 rows" in body
    lines = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line for line in body.splitlines()
             if line.startswith("| ") and not line.startswith("| metric")}
    mae_zero = lines[("mae", "exp-001-baseline-zero")]
    ratio = np.mean(np.abs(y - model)) / np.mean(np.abs(y))
    assert re.search(rf"\| {ratio:.4g}× \[[0-9.]+×, [0-9.]+×\] \| worse \|", mae_zero), mae_zero
    assert f"| {np.mean(np.abs(y)):.4g} | {np.mean(np.abs(y - model)):.4g} |" in mae_zero
    assert "better (no interval: the baseline kept no per-unit evidence of rmse)" in lines[("rmse",
                                                                                            "exp-003-baseline-by-hand")]
    assert not any(key[0] == "latency_p95_ms" for key in lines)  # no baseline measured it
    # the section comes after the verdicts it puts in context
    assert text.index("## Success Metrics") < start < text.index("## Targets and test-data use")


def test_no_baseline_no_section(tmp_path):
    folder = write_increment(tmp_path, "0001-spend", {"spec.md": SPEC, "tasks.md": TASKS})
    (folder / "experiments").mkdir()
    with track_experiment("model", increment=folder) as exp:
        exp.log_metrics({"rmse": 3.0})
    increment = Increment.load(folder)
    text = write_summary(increment, None, JudgeContext.for_increment(increment)).read_text(encoding="utf-8")
    assert "## Against the baselines" not in text
