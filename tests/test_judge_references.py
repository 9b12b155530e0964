"""Ratios against an earlier increment and against the promoted model."""

from __future__ import annotations

import json

from conftest import write_increment


def _increment(root, name, accuracy):
    return write_increment(root, name, {
        "spec.md": "# Model\n\n## Success Metrics\n- Success metrics: accuracy > 0.5\n",
        "tasks.md": "- [ ] T-001: Train — `pipeline.py::train`\n",
        "pipeline.py": f"def train(experiment):\n    experiment.log_metric('accuracy', {accuracy})\n",
    })


def test_each_increment_improves_on_the_previous_model(pytester):
    _increment(pytester.path, "0041-first-model", 0.80)
    second = _increment(pytester.path, "0042-second-model", 0.79)
    (second / "tests.md").write_text("- TC-001: accuracy >= 0.98x increment 0041\n- TC-002: accuracy >= 1.0x increment 0041\n")
    pytester.runpytest("increments/0041", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    result = pytester.runpytest("increments/0042", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "tests.md:2: accuracy = 79% (exp-001-t-001-train) is 0.9875× increment 0041-first-model exp-001-t-001-train"
        " (accuracy = 80%), which is not >= 1× — no interval (a point value)",
    ])


def test_a_reference_to_an_increment_that_does_not_exist_fails_naming_the_increments(pytester):
    second = _increment(pytester.path, "0042-second-model", 0.79)
    (second / "tests.md").write_text("- TC-001: accuracy >= 0.98x increment 0040\n")
    result = pytester.runpytest("increments/0042", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["tests.md:1: no increment matches*0040*0042-second-model*"])


def test_a_regression_cannot_pass_because_an_old_run_holds_the_record(pytester):
    folder = _increment(pytester.path, "0042-model", 0.70)
    (folder / "tests.md").write_text("- TC-001: accuracy >= 0.99x promoted model\n")
    models = folder / "models"
    models.mkdir()
    (models / "model-v1.metadata.json").write_text(json.dumps({"metrics": {"accuracy": 0.75}}))
    (models / "model-v2.metadata.json").write_text(json.dumps({"metrics": {"accuracy": 0.80}}))
    result = pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-no-report")
    result.stdout.fnmatch_lines(["tests.md:1: accuracy = 70% (exp-001-t-001-train) is 0.875× promoted model-v2"
                                 " (accuracy = 80%), which is not >= 0.99× — no interval (a point value)"])


def test_no_promoted_model_yet_is_said_plainly(pytester):
    folder = _increment(pytester.path, "0042-model", 0.70)
    (folder / "tests.md").write_text("- TC-001: accuracy >= 0.99x promoted model\n")
    result = pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-no-report")
    result.stdout.fnmatch_lines(["tests.md:1: no promoted model: models/model-vN.metadata.json does not exist yet"])


def test_a_rate_judged_against_a_baseline_reads_in_percent_as_in_the_experiments_table(pytester):
    folder = write_increment(pytester.path, "0072-forecast", {
        "spec.md": "## ML Problem Definition\n- Success metrics: MAPE 20% better than seasonal-naive baseline\n",
        "tasks.md": "- [ ] T-001: Fit — `pipeline.py::fit`\n",
        "pipeline.py": """
            from pytest_specweave import track_experiment

            def fit(experiment):
                with track_experiment("baseline-seasonal-naive", baseline=True) as baseline:
                    baseline.log_metric("mape", 0.0711)
                experiment.log_metric("mape", 0.0401, ci=(0.0072, 0.0730))
            """,
    })
    result = pytester.runpytest("increments", "-p", "no:cacheprovider", "-rs")
    # the task's own experiment is opened at its first use, after the baseline: numbers follow creation
    assert ("mape = 4.01% (exp-002-t-001-fit) is 0.564× seasonal-naive baseline exp-001-baseline-seasonal-naive"
            " (mape = 7.11%); the ratio is 0.564 [0.1013, 1.027] (95% interval on record); the reference has no"
            " interval, so its own uncertainty is not counted: the interval straddles 0.8×") in result.stdout.str()
    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "| SM-1 | MAPE 20% better than seasonal-naive baseline | 4.01% (0.564× [0.1013×, 1.027×]) |" in summary


def test_a_latency_target_is_not_judged_on_another_latency(pytester):
    write_increment(pytester.path, "0051-fraud", {
        "spec.md": "## Model Requirements\n- Latency: <100ms inference\n",
        "tasks.md": "- [ ] T-001: Explain — `pipeline.py::explain`\n",
        "pipeline.py": "def explain(experiment):\n    experiment.log_metric('explain_latency_p95_ms', 50.0)\n",
    })
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "no experiment logged latency_p95_ms" in result.stdout.str()
