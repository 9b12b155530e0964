"""--sw-validate: one item per rule, at line 1 of spec.md, after the increment's tasks; each says what is missing."""

from __future__ import annotations

import pytest
from conftest import write_increment
from modes_support import PIPELINE, write_complete

pytest.importorskip("pandera")

RULES = ["validate-experiments", "validate-best-model", "validate-metrics-documented",
         "validate-explainability", "validate-data-schema", "validate-model-card"]


def _run(pytester, *args):
    return pytester.runpytest("increments", "-p", "no:cacheprovider", "-rA", *args)


def test_rules_are_items_only_with_the_flag_after_tasks_and_gates_at_line_one_of_spec_md(pytester):
    write_complete(pytester.path)
    plain = pytester.runpytest("--collect-only", "-q", "increments")
    assert not [line for line in plain.outlines if "validate-" in line]

    ordered = pytester.runpytest("--collect-only", "-q", "increments", "--sw-validate")
    names = [line.rsplit("::", 1)[1] for line in ordered.outlines if "::" in line]
    assert names[-6:] == RULES
    assert names[:4] == ["T-001", "T-002", "T-003", "T-004"]
    items, _ = pytester.inline_genitems("increments", "--sw-validate")
    rules = [item for item in items if item.name.startswith("validate-")]
    assert [item.name for item in rules] == RULES
    for item in rules:
        assert item.nodeid == f"increments/0001-churn/spec.md::{item.name}"
        assert item.location[:2] == ("increments/0001-churn/spec.md", 0)
        assert item.get_closest_marker("sw_validate") is not None
        assert "::" not in item.name and not hasattr(item, "callspec")
    selected = pytester.runpytest("--collect-only", "-q", "increments", "--sw-validate", "-m", "sw_validate")
    assert [line.rsplit("::", 1)[1] for line in selected.outlines if "::" in line] == RULES
    done, _ = pytester.inline_genitems("increments", "--sw-done")
    assert [item.name for item in done if item.name.startswith("validate-")] == RULES


def test_without_spec_md_the_rules_belong_to_tasks_md(pytester):
    write_complete(pytester.path, drop=("spec.md",))
    items, _ = pytester.inline_genitems("increments", "--sw-validate")
    rules = [item for item in items if item.name.startswith("validate-")]
    assert [item.nodeid for item in rules] == [f"increments/0001-churn/tasks.md::{name}" for name in RULES]


def test_a_complete_increment_passes_every_rule_and_says_what_it_found(pytester):
    write_complete(pytester.path)
    result = _run(pytester, "--sw-validate")
    result.assert_outcomes(passed=15)
    result.stdout.fnmatch_lines([
        "*specweave validate: 0001-churn*",
        "validate-experiments*PASS*baselines: exp-001-baseline-random; candidates: exp-002-t-002-train-model (by accuracy)",
        "validate-best-model*PASS*models/model-v1.pkl (ThresholdModel, the model of exp-002-t-002-train-model) loads",
        "validate-metrics-documented*PASS*every success metric has a measured value: SM-1 accuracy, SM-2 latency_p95_ms",
        "validate-explainability*PASS*feature_importance.pkl*",
        "validate-data-schema*PASS*data/sample.csv, data/customers.csv match data/schema.yaml",
    ])


def test_an_increment_that_tracks_nothing_skips_the_rules(pytester):
    write_increment(pytester.path, "0007-docs", {
        "spec.md": "# Docs\n\n## Success Criteria\n- Pages load < 2s\n",
        "tasks.md": "### T-001: Write docs\n**Status**: [x] completed\n",
    })
    result = _run(pytester, "--sw-validate")
    result.assert_outcomes(passed=1, skipped=7)
    result.stdout.fnmatch_lines(["SKIPPED*spec.md:1: nothing tracked*"])


def test_no_baseline_names_how_to_make_one(pytester):
    pipeline = PIPELINE.replace('track_experiment("baseline-random", baseline=True)', 'track_experiment("random")')
    write_complete(pytester.path, changes={"pipeline.py": pipeline.format(accuracy=0.9), "tests.md": "# none\n"})
    result = _run(pytester, "--sw-validate", "-k", "T-00 or validate-experiments")
    result.stdout.fnmatch_lines([
        "validate-experiments: no baseline experiment: name one `baseline-…` or track it with baseline=True"])


def test_no_candidate_is_missing_too(pytester):
    write_complete(pytester.path, changes={"tasks.md": "- [ ] T-001: Train baseline — `pipeline.py::train_baseline`\n"})
    result = _run(pytester, "--sw-validate", "-k", "validate-experiments or T-001")
    result.stdout.fnmatch_lines([
        "validate-experiments: no candidate experiment: track the model's run (not a baseline) and log accuracy"])


def test_a_best_model_that_was_not_saved_fails(pytester):
    pipeline = PIPELINE.replace("    experiment.log_model(ThresholdModel(0.5))\n", "")
    write_complete(pytester.path, changes={"pipeline.py": pipeline.format(accuracy=0.9)})
    result = _run(pytester, "--sw-validate")
    result.stdout.fnmatch_lines([
        "validate-best-model: the best experiment exp-002-t-002-train-model saved no model: save it with "
        "exp.log_model(model) or exp.save_artifact(model, 'model.pkl')"])


def test_a_saved_model_that_does_not_load_fails_naming_why(pytester):
    folder = write_complete(pytester.path)
    _run(pytester, "--sw-validate").assert_outcomes(passed=15)
    (folder / "models" / "model-v1.pkl").write_bytes(b"tampered")
    result = _run(pytester, "--sw-validate", "-m", "sw_validate")
    result.stdout.fnmatch_lines(["validate-best-model: models/model-v1.pkl cannot be loaded: refusing to load *sha256*"])


def test_a_success_metric_nobody_measured_is_not_documented(pytester):
    spec = "# Churn\n\n## Success Metrics\n- Accuracy: accuracy > 0.8\n- Throughput: 1000 req/sec\n"
    write_complete(pytester.path, changes={"spec.md": spec})
    result = _run(pytester, "--sw-validate")
    result.stdout.fnmatch_lines([
        "validate-metrics-documented: SM-2 throughput_rps ≥ 1000 req/sec has no measured value: "
        "no experiment logged throughput_rps (metrics on record: *"])


def test_a_spec_without_success_metrics_fails_the_documentation_rule(pytester):
    write_complete(pytester.path, changes={"spec.md": "---\nprimary_metric: accuracy\n---\n# Churn\n"})
    result = _run(pytester, "--sw-validate", "-k", "validate-metrics or T-00")
    result.stdout.fnmatch_lines(["validate-metrics-documented: spec.md names no success metric*"])


def test_missing_explanations_fail(pytester):
    pipeline = PIPELINE.replace('    experiment.save_artifact({{"tenure_months": 0.7, "plan": 0.3}}, "feature_importance.pkl")\n', "")
    write_complete(pytester.path, changes={"pipeline.py": pipeline.format(accuracy=0.9)})
    result = _run(pytester, "--sw-validate", "-k", "validate-explainability or T-00")
    result.stdout.fnmatch_lines([
        "validate-explainability: no explanation artifacts for the judged experiment exp-002-t-002-train-model*"])


def test_data_that_breaks_the_schema_fails_naming_file_column_check_and_rows(pytester):
    rows = "customer_id,tenure_months,plan\n1,12,basic\n2,130,pro\n3,0,gold\n4,200,pro\n"
    write_complete(pytester.path, changes={"data/customers.csv": rows})
    result = _run(pytester, "--sw-validate", "-k", "validate-data or T-00")
    result.stdout.fnmatch_lines([
        "validate-data-schema: data/customers.csv does not match data/schema.yaml: "
        "column tenure_months, check in_range(0, 120): line 3: 130, line 5: 200; "
        "column plan, check isin(*basic*pro*): line 4: 'gold'"])


def test_a_missing_schema_is_named(pytester):
    write_complete(pytester.path, drop=("data/schema.yaml",))
    result = _run(pytester, "--sw-validate", "-m", "sw_validate", "-k", "data")
    result.stdout.fnmatch_lines(["validate-data-schema: no data/schema.yaml: describe the data's columns*pandera*"])
