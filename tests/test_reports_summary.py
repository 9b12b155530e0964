"""COMPLETION-SUMMARY.md from stores built through the real tracker: every section, real numbers, no placeholders."""

from __future__ import annotations

import math
import re

import pytest

from conftest import write_increment
from pytest_specweave import track_experiment
from pytest_specweave.evaluation.judge import JudgeContext
from pytest_specweave.evaluation.promotion import promote_best_model
from pytest_specweave.model.increment import Increment
from pytest_specweave.reports.summary import ItemResult, SummaryData, render_summary, write_summary

SPEC = """
---
primary_metric: roc_auc
---
# Churn model

## ML Problem Definition
- Success metrics: ROC AUC >= 0.8

## Model Requirements
- Latency: <100ms inference
- Throughput: 500 req/sec
- Accuracy: Better than random baseline by 1.5x

## User Stories
- [ ] **AC-US1-01**: a model beats the random baseline
"""

TASKS = """
# Tasks

### T-001: Train models
**Satisfies ACs**: AC-US1-01
**Status**: [x] completed
**Run**: `pipeline.py::train`

- [x] T-002: A/B test plan (ab-test-plan.md)
"""

TESTS = """
## Evaluation Criteria
- TC-001: roc_auc >= 0.85
- TC-002: explainability artifacts present
"""


class Model:
    """A picklable stand-in for a fitted model."""

    def __init__(self, weights):
        self.weights = weights


def make_increment(tmp_path, *, spec=SPEC, tasks=TASKS, tests=TESTS, ab_plan=True):
    files = {"spec.md": spec, "tasks.md": tasks, "tests.md": tests}
    if ab_plan:
        files["ab-test-plan.md"] = "# A/B test plan\n\n50/50 split for two weeks; guardrail: latency p95.\n"
    folder = write_increment(tmp_path, "0001-churn", files)
    (folder / "experiments").mkdir()
    return folder


def full_store(folder):
    """A random baseline, two candidates (one with model, timings and explanations), a deployment run."""
    with track_experiment("baseline-random", increment=folder, task="T-001") as exp:
        exp.log_metrics({"roc_auc": 0.5, "accuracy": 0.5})
    with track_experiment("logreg", increment=folder, task="T-001") as exp:
        exp.log_params({"algorithm": "logistic regression", "C": 1.0})
        exp.log_metrics({"val_roc_auc": 0.8, "roc_auc": 0.81, "accuracy": 0.75, "training_time_s": 1.5})
    with track_experiment("xgboost", increment=folder, task="T-001") as exp:
        exp.log_params({"algorithm": "XGBoost", "max_depth": 6})
        exp.log_metric("val_roc_auc", 0.9)  # the choice between the candidates is made on validation data
        exp.log_metric("roc_auc", 0.91, ci=(0.89, 0.93))
        exp.log_metrics({"accuracy": 0.86, "fit_seconds": 2700.0})
        exp.log_model(Model(list(range(5000))), algorithm="XGBClassifier")
        exp.save_report("feature_importance.csv", "rank,feature,importance_mean,importance_std,shap_mean_abs\n"
                        "1,tenure,0.12,0.01,\n2,plan,0.05,0.004,\n")
        exp.save_report("explanations.md", "# Example explanations\n")
    with track_experiment("deployment", increment=folder, task="T-001") as exp:
        exp.log_metrics({"latency_p50_ms": 8.25, "latency_p95_ms": 35.0, "latency_p99_ms": 61.0,
                         "throughput_rps": 1250.0, "model_size_bytes": 12_582_912})
    promote_best_model(folder)
    return folder


def summary_of(folder, session=None, **kwargs) -> str:
    increment = Increment.load(folder)
    path = write_summary(increment, session, JudgeContext.for_increment(increment), **kwargs)
    return path.read_text(encoding="utf-8")


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_every_section_is_there_with_numbers_from_the_store(tmp_path):
    folder = full_store(make_increment(tmp_path))
    text = summary_of(folder, {"T-001": ItemResult("passed"), "T-002": ItemResult("passed")}, charts=False)

    assert "**Status**: ALL GATES PASSED" in text
    assert "**Primary metric**: roc_auc (higher is better)" in text
    assert "**Problem type**: classification (inferred from the classification metrics logged)" in text

    experiments = section(text, "Experiments Run: 4")
    assert "| **exp-003-xgboost** ✅ BEST | candidate |" in experiments
    assert experiments.count("✅ BEST") == 1
    assert "| exp-001-baseline-random | baseline |" in experiments
    assert "0.91 [0.89, 0.93]" in experiments  # a score, never a percentage

    best = section(text, "Best Model")
    assert "- Experiment: `exp-003-xgboost` (task T-001; chosen on validation (val_roc_auc))" in best
    assert "- Algorithm: XGBoost (`Model`)" in best
    assert re.search(r"- Version: \[models/model-v1\.pkl\]\(models/model-v1\.pkl\) \(v1, promoted from this "
                     r"experiment; sha256 [0-9a-f]{12}…\)", best)
    assert "roc_auc=0.91 [0.89, 0.93]" in best and "accuracy=86%" in best
    assert "- Training time: 45.0 min (logged as `fit_seconds`); Run time: " in best
    size = (folder / "experiments" / "exp-003-xgboost" / "model.pkl").stat().st_size
    assert f"- Model size: {size / 1024:.1f} KB (`model.pkl` of exp-003-xgboost)" in best

    metrics = section(text, "Success Metrics (spec.md)")
    assert "| SM-1 | ROC AUC >= 0.8 | 0.91 [0.89, 0.93] | exp-003-xgboost | ✅ pass — chosen on validation (val_roc_auc) |" in metrics
    assert "| SM-2 | Latency: <100ms inference | 35 ms | exp-004-deployment | ✅ pass (no interval) |" in metrics
    assert "| SM-3 | Throughput: 500 req/sec | 1250 req/sec | exp-004-deployment | ✅ pass (no interval) |" in metrics
    criteria = section(text, "Evaluation Criteria (tests.md)")
    assert "| TC-001 | roc_auc >= 0.85 |" in criteria and "| TC-002 |" in criteria

    ready = section(text, "Deployment Readiness")
    assert "**Ready**: all 5 checks pass." in ready
    assert ("- ✅ Inference latency: p95 35 ms (target < 100 ms: SM-2); p50 8.25 ms, p99 61 ms — measured by "
            "exp-004-deployment") in ready
    assert "- ✅ Throughput: 1,250 requests/s (target ≥ 500 req/sec: SM-3) — measured by exp-004-deployment" in ready
    assert "- ✅ Model size: " in ready and "promoted as models/model-v1.pkl" in ready
    assert ("- ✅ Explainability: feature importances: [feature_importance.csv](experiments/exp-003-xgboost/"
            "feature_importance.csv); example explanations: [explanations.md](experiments/exp-003-xgboost/"
            "explanations.md) (TC-002)") in ready
    assert "- ✅ A/B test plan: [ab-test-plan.md](ab-test-plan.md) — task T-002 (done)" in ready

    tasks = section(text, "Tasks: 2/2 done")
    assert "This run: 2 passed (of 2)" in tasks
    assert "| T-001 | Train models (`pipeline.py::train`) | AC-US1-01 | done | ✅ pass |" in tasks
    assert "- **AC-US1-01** a model beats the random baseline — T-001 ✅" in tasks
    assert "## Charts" not in text  # charts=False
    assert "?" not in best + ready  # format_value's placeholder for a missing number


def test_what_is_not_on_record_is_said_missing_with_how_to_record_it(tmp_path):
    folder = make_increment(tmp_path, ab_plan=False,
                            tasks="# Tasks\n\n- [ ] T-001: Train — `pipeline.py::train`\n- [ ] T-002: A/B test plan\n")
    with track_experiment("baseline-random", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.5)
    with track_experiment("candidate", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
    text = summary_of(folder, charts=False)

    best = section(text, "Best Model")
    assert "- Algorithm: candidate" in best
    assert "- Version: none — this experiment saved no model file (`exp.log_model(model)` saves it" in best
    assert re.search(r"- Training time: not logged separately — Run time: [\d.]+ s for the whole experiment", best)
    assert "- Model size: not on record — no model file saved and no `model_size_bytes` logged" in best

    ready = section(text, "Deployment Readiness")
    assert "**Not ready**: 5 of 5 checks do not pass." in ready
    assert "- ❌ Inference latency: not measured (target latency_p95_ms < 100 ms: SM-2) (`measure_latency(" in ready
    assert "- ❌ Throughput: not measured (target throughput_rps ≥ 500 req/sec: SM-3)" in ready
    assert "- ❌ Model file: none saved by exp-002-candidate" in ready
    assert "- ❌ Explainability: no explanation artifacts for the judged experiment exp-002-candidate" in ready
    assert "- ❌ A/B test plan: task T-002 (pending) not done, and no *ab*plan*.md file in the increment" in ready
    assert "**Status**: GATES FAILED" in text


def test_a_measurement_without_a_target_is_shown_but_not_counted(tmp_path):
    spec = "---\nprimary_metric: rmse\n---\n# Prices\n\n## Success Metrics\n- RMSE < 50\n"
    folder = make_increment(tmp_path, spec=spec, tests="## Evaluation Criteria\n- TC-001: rmse < 60\n")
    with track_experiment("ridge", increment=folder) as exp:
        exp.log_metrics({"rmse": 42.0, "latency_p95_ms": 3.0})
    ready = section(summary_of(folder, charts=False), "Deployment Readiness")
    assert ("- ℹ️ Inference latency: p95 3 ms — measured by exp-001-ridge (no latency target in spec.md or "
            "tests.md)") in ready
    assert "checks do not pass" in ready and "of 4 checks" in ready


def test_non_finite_values_are_flagged_and_never_judged_best(tmp_path):
    folder = make_increment(tmp_path)
    with track_experiment("broken", increment=folder) as exp:
        exp.log_metrics({"roc_auc": math.nan, "accuracy": 0.9})
    with track_experiment("fine", increment=folder) as exp:
        exp.log_metrics({"roc_auc": 0.88, "accuracy": math.inf})
    text = summary_of(folder, charts=False)
    experiments = section(text, "Experiments Run")
    assert "| 1 | exp-001-broken | candidate | succeeded |  | nan ⚠ not finite |" in experiments
    assert "| **exp-002-fine** ✅ BEST |" in experiments
    assert "inf ⚠ not finite" in experiments
    assert "accuracy=inf ⚠ not finite" in section(text, "Best Model")


def test_status_can_be_set_by_the_caller(tmp_path):
    folder = full_store(make_increment(tmp_path))
    assert "**Status**: COMPLETE  " in summary_of(folder, charts=False, status="COMPLETE")


def test_problem_type_is_read_from_the_spec_before_it_is_inferred(tmp_path):
    folder = make_increment(tmp_path, spec=SPEC.replace("primary_metric: roc_auc", "primary_metric: roc_auc\n"
                                                        "problem_type: Binary classification"))
    with track_experiment("x", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
    increment = Increment.load(folder)
    data = SummaryData(increment, JudgeContext.for_increment(increment))
    assert (data.problem_type, data.problem_source) == ("classification", "spec.md frontmatter")

    other = write_increment(tmp_path / "b", "0002-recs", {
        "spec.md": "# Recs\n\n## ML Problem Definition\n- Problem type: Recommendation (collaborative filtering)\n"
                   "- Success metrics: Precision@10 > 0.2\n"})
    data = SummaryData(Increment.load(other), JudgeContext.for_increment(Increment.load(other)))
    assert (data.problem_type, data.problem_source) == ("recommendation", "spec.md `Problem type:`")


@pytest.mark.parametrize(("metrics", "expected"), [
    ({"precision@10": 0.3}, "recommendation"),
    ({"val_ndcg@10": 0.3}, "recommendation"),
    ({"smape": 0.1, "mae": 2.0}, "forecasting"),
    ({"accuracy": 0.9}, "classification"),
    ({"rmse": 3.0, "r2": 0.5}, "regression"),
    ({"custom_score": 1.0}, None),
])
def test_problem_type_is_inferred_from_the_metrics_logged(tmp_path, metrics, expected):
    name = next(iter(metrics))
    folder = write_increment(tmp_path, "0001-x", {"spec.md": f"---\nprimary_metric: {name}\n---\n# X\n"})
    with track_experiment("candidate", increment=folder) as exp:
        exp.log_metrics(metrics)
    increment = Increment.load(folder)
    assert SummaryData(increment, JudgeContext.for_increment(increment)).problem_type == expected


def test_render_summary_alone_leaves_the_charts_section_out(tmp_path):
    folder = full_store(make_increment(tmp_path))
    increment = Increment.load(folder)
    text = render_summary(SummaryData(increment, JudgeContext.for_increment(increment)))
    assert text.startswith("# Churn model — Completion Summary")
    assert "## Deployment Readiness" in text and "## Charts" not in text


def test_a_model_not_promoted_names_where_it_is(tmp_path):
    folder = make_increment(tmp_path)
    with track_experiment("xgboost", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
        exp.log_model(Model([1, 2, 3]))
    best = section(summary_of(folder, charts=False), "Best Model")
    assert ("- Version: not promoted yet — its model file is exp-001-xgboost/model.pkl (a pytest run promotes it "
            "to models/model-vN.pkl)") in best
    assert "- Algorithm: Model" in best


def test_a_best_model_not_promoted_says_whose_model_the_promoted_version_holds(tmp_path):
    folder = make_increment(tmp_path)
    with track_experiment("xgboost", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.8)
        exp.log_model(Model([1]))
    assert promote_best_model(folder)["file"] == "model-v1.pkl"
    with track_experiment("lightgbm", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
        exp.log_model(Model([2]))
    best = section(summary_of(folder, charts=False), "Best Model")
    assert ("- Version: this experiment's model file (exp-002-lightgbm/model.pkl) is not promoted yet; the promoted "
            "version, models/model-v1.pkl, holds the model of exp-001-xgboost (a pytest run promotes the best model)"
            ) in best
    assert promote_best_model(folder)["file"] == "model-v2.pkl"
    best = section(summary_of(folder, charts=False), "Best Model")
    assert "- Version: [models/model-v2.pkl](models/model-v2.pkl) (v2, promoted from this experiment" in best


def test_targets_and_test_data_use_follow_the_verdicts(tmp_path):
    from pytest_specweave.reports.summary import targets_of
    from pytest_specweave.tracking.targets import record_targets

    folder = full_store(make_increment(tmp_path))
    text = summary_of(folder, charts=False)
    part = section(text, "Targets and test-data use")
    assert text.index("## Evaluation Criteria") < text.index("## Targets and test-data use") < text.index(
        "## Deployment Readiness")
    assert "| SM-1 | ROC AUC >= 0.8 | not on record yet (recorded when pytest next judges it) |" in part
    assert "| TC-002 |" in part  # an artifact check has a threshold too
    assert "The judged experiment exp-003-xgboost recorded no hash of its test data" in part

    statuses = record_targets(folder, targets_of(Increment.load(folder)), now="2025-01-02T10:00:00+00:00")
    (folder / "tests.md").write_text(TESTS.replace("0.85", "0.9"), encoding="utf-8")
    with track_experiment("xgboost", increment=folder, task="T-001") as exp:  # re-run: scores the test data
        exp.log_metrics({"val_roc_auc": 0.9, "roc_auc": 0.92})
        exp.log_input(b"the test labels", role="eval_targets")
    text = summary_of(folder, charts=False, targets=statuses)
    assert "| TC-001 | roc_auc >= 0.85 | unchanged since 2025-01-02 |" in text  # as recorded by the session
    part = section(summary_of(folder, charts=False), "Targets and test-data use")
    assert "| TC-001 | roc_auc >= 0.9 | **changed** — first judged as `roc_auc >= 0.85` on 2025-01-02 |" in part
    assert "was scored 1 time by 1 experiment; 1 of those since the targets were first fixed." in part


def test_a_model_recorded_but_absent_from_the_checkout_is_said_so_with_how_to_recreate_it(tmp_path):
    # A fresh clone: git ignores *.pkl (the scaffold's .gitignore says so), the metadata came along.
    folder = full_store(make_increment(tmp_path))
    size = (folder / "experiments" / "exp-003-xgboost" / "model.pkl").stat().st_size
    (folder / "experiments" / "exp-003-xgboost" / "model.pkl").unlink()
    (folder / "models" / "model-v1.pkl").unlink()
    text = summary_of(folder, charts=False)

    best = section(text, "Best Model")
    assert f"- Model size: {size / 1024:.1f} KB (`model.pkl` of exp-003-xgboost, as recorded; not in this checkout)" in best
    ready = section(text, "Deployment Readiness")
    assert "**Not ready**: 1 of 5 checks do not pass." in ready
    assert ("- ❔ Model file: `model.pkl` of exp-003-xgboost is on record (sha256 " in ready
            and "but not in this checkout (git ignores *.pkl); rerun its task T-001 to recreate it" in ready)
    assert "none saved" not in ready


def test_the_judged_experiments_notes_are_shown_with_the_best_model(tmp_path):
    folder = make_increment(tmp_path)
    with track_experiment("xgboost", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
        exp.log_note("Data: generated by data/generate.py, anchored to a public benchmark's statistics.")
        exp.log_note("The anchoring was changed once, after first results.")
    with track_experiment("logreg", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.7)
        exp.log_note("a note of an experiment that is not judged")
    best = section(summary_of(folder, charts=False), "Best Model")
    assert ("- Notes ([notes.md](experiments/exp-001-xgboost/notes.md)): Data: generated by data/generate.py, "
            "anchored to a public benchmark's statistics. The anchoring was changed once, after first results.") in best
    assert "not judged" not in best


def test_long_notes_are_cut_with_a_link_to_the_rest(tmp_path):
    folder = make_increment(tmp_path)
    with track_experiment("xgboost", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
        exp.log_note("word " * 400)
    best = section(summary_of(folder, charts=False), "Best Model")
    line = next(l for l in best.splitlines() if l.startswith("- Notes"))
    assert len(line) < 700 and line.endswith("… (the rest in notes.md)")
