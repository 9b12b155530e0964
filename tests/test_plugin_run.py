"""Running an increment end to end: items, order, fixtures, verdicts, the summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import demo_files, write_increment


def test_collects_one_item_per_task_metric_and_criterion_at_its_markdown_line(pytester, demo):
    result = pytester.runpytest("--collect-only", "-q", "increments")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [
        "increments/0001-demo/tasks.md::T-001",
        "increments/0001-demo/tasks.md::T-002",
        "increments/0001-demo/tasks.md::T-003",
        "increments/0001-demo/tasks.md::T-004",
        "increments/0001-demo/tasks.md::T-005",
        "increments/0001-demo/spec.md::SM-1",
        "increments/0001-demo/spec.md::SM-2",
        "increments/0001-demo/spec.md::SM-3",
        "increments/0001-demo/tests.md::TC-001",
        "increments/0001-demo/tests.md::TC-002",
        "increments/0001-demo/tests.md::TC-003",
    ]


def test_items_report_their_markdown_file_and_zero_based_line(pytester, demo):
    items, _ = pytester.inline_genitems("increments")
    where = {item.name: (item.location[0], item.location[1]) for item in items}
    assert where["T-001"] == ("increments/0001-demo/tasks.md", 2)
    assert where["T-003"] == ("increments/0001-demo/tasks.md", 5)
    assert where["SM-1"] == ("increments/0001-demo/spec.md", 7)
    assert where["SM-3"] == ("increments/0001-demo/spec.md", 11)
    assert where["TC-003"] == ("increments/0001-demo/tests.md", 3)
    for item in items:
        assert item.path.suffix == ".md"
        assert not hasattr(item, "callspec")
        assert "::" not in item.name


def test_a_model_that_meets_its_spec_passes_and_the_summary_is_written(pytester, demo):
    result = pytester.runpytest("increments/0001-demo", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10, skipped=1)
    result.stdout.fnmatch_lines(["*specweave: 0001-demo*", "*SM-1*accuracy > 0.8*90%*> 80%*PASS*"])
    summary = (demo / "COMPLETION-SUMMARY.md").read_text()
    assert "**Status**: ALL GATES PASSED" in summary
    assert "✅ BEST" in summary and "t-002-train-model" in summary
    assert "| SM-1 |" in summary and "| TC-002 |" in summary
    assert (demo / "experiments" / "comparison.md").is_file()
    folders = sorted(p.name for p in (demo / "experiments").iterdir() if p.is_dir())
    assert folders == ["exp-001-baseline-random", "exp-002-t-002-train-model", "exp-003-t-003-measure-latency"]
    meta = json.loads((demo / "experiments" / "exp-002-t-002-train-model" / "meta.json").read_text())
    assert meta["status"] == "succeeded" and meta["task"] == "T-002" and meta["baseline"] is False


def test_tasks_run_before_the_metrics_and_criteria_of_their_increment(pytester, demo):
    result = pytester.runpytest("increments", "-v", "-p", "no:cacheprovider")
    order = [line.split(" ")[0] for line in result.outlines if line.startswith("increments/")]
    kinds = [nodeid.split("/")[-1].split("::")[0] for nodeid in order]
    assert kinds == ["tasks.md"] * 5 + ["spec.md"] * 3 + ["tests.md"] * 3


def test_a_missed_threshold_fails_with_one_line_naming_file_line_value_and_experiment(pytester):
    write_increment(pytester.path, "0001-demo", demo_files(accuracy=0.7))
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "spec.md:8: accuracy = 70% (exp-002-t-002-train-model) is not > 80% — no interval (a point value)",
        "tests.md:2: accuracy = 70% (exp-002-t-002-train-model) is not >= 85% — no interval (a point value)",
    ])
    assert "pytest_specweave" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
    summary = (pytester.path / "increments/0001-demo/COMPLETION-SUMMARY.md").read_text()
    assert "**Status**: GATES FAILED" in summary


def test_a_failing_task_shows_the_users_traceback_without_plugin_frames(pytester):
    files = demo_files()
    files["pipeline.py"] = files["pipeline.py"].replace("assert sum(numbers) == 6", "assert sum(numbers) == 7")
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*def train_model(experiment, numbers):*", "E*assert 6 == 7*"])
    assert "pytestlayer" not in result.stdout.str()
    # The failed task's experiment is on record as failed; T-003 depends on it and is skipped.
    meta = json.loads((pytester.path / "increments/0001-demo/experiments/exp-002-t-002-train-model/meta.json").read_text())
    assert meta["status"] == "failed"
    # T-003 (skipped: its dependency failed) never set up its `experiment` fixture.
    assert not any("t-003" in p.name for p in (pytester.path / "increments/0001-demo/experiments").iterdir())
    skipped = pytester.runpytest("increments", "-p", "no:cacheprovider", "-rs", "-k", "T-002 or T-003")
    skipped.stdout.fnmatch_lines(["SKIPPED*increments/0001-demo/tasks.md:6: dependency T-002 failed"])


def test_a_deselected_dependency_is_no_failure_and_its_dependant_runs(pytester, demo):
    result = pytester.runpytest("increments", "-k", "T-003", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_unlinked_tasks_pass_when_done_and_skip_when_pending(pytester, demo):
    result = pytester.runpytest("increments", "-k", "T-004 or T-005", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*tasks.md*not implemented: pending, no code linked*"])


def test_gating_without_training_judges_the_store(pytester, demo):
    pytester.runpytest("increments", "-p", "no:cacheprovider").assert_outcomes(passed=10, skipped=1)
    result = pytester.runpytest("increments", "-m", "not sw_task", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    before = sorted(p.name for p in (demo / "experiments").iterdir())
    assert before == sorted(p.name for p in (demo / "experiments").iterdir())


def test_markers_pick_a_kind(pytester, demo):
    def selected(marker):
        result = pytester.runpytest("--collect-only", "-q", "increments", "-m", marker)
        return [line.rsplit("::", 1)[1] for line in result.outlines if "::" in line]

    assert selected("sw_metric") == ["SM-1", "SM-2", "SM-3"]
    assert selected("sw_criterion") == ["TC-001", "TC-002", "TC-003"]
    assert selected("sw_task") == ["T-001", "T-002", "T-003", "T-004", "T-005"]


def test_a_metric_nobody_logged_fails_naming_what_exists(pytester):
    files = demo_files()
    files["pipeline.py"] = files["pipeline.py"].replace('experiment.log_metric("latency_p95_ms", 12.5)', "pass")
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments", "-k", "SM-3 or T-00", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["spec.md:12: no experiment logged latency_p95_ms (metrics on record: accuracy*"])


def test_an_increment_that_tracks_nothing_reports_tasks_and_skips_metrics(pytester):
    write_increment(pytester.path, "0007-docs-refresh", {
        "spec.md": "# Docs\n\n## Success Criteria\n- Test coverage: 85%+\n- Pages load < 2s\n",
        "tasks.md": "### T-001: Write docs\n**Status**: [x] completed\n\n### T-002: Review\n**Status**: [ ] pending\n",
    })
    result = pytester.runpytest("increments", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["*nothing tracked*"])
    assert not (pytester.path / "increments/0007-docs-refresh/COMPLETION-SUMMARY.md").exists()


def test_a_returned_mapping_with_a_non_number_fails_the_task_saying_so(pytester):
    files = demo_files()
    files["pipeline.py"] += "\n\ndef bad():\n    return {'accuracy': 'high'}\n"
    files["tasks.md"] = "- [ ] T-001: Bad — `pipeline.py::bad`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments/0001-demo/tasks.md", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["tasks.md:1: T-001 returned values that are not numbers for *accuracy*"])


def test_module_scoped_fixtures_of_the_increment_conftest_work(pytester):
    files = demo_files()
    files["conftest.py"] += (
        "\n\n@pytest.fixture(scope='module')\ndef calls():\n    return []\n"
    )
    files["pipeline.py"] += "\n\ndef first(calls):\n    calls.append(1)\n\n\ndef second(calls):\n    assert calls == [1]\n"
    files["tasks.md"] = "- [ ] T-001: First — `pipeline.py::first`\n- [ ] T-002: Second — `pipeline.py::second`\n"
    write_increment(pytester.path, "0001-demo", files)
    pytester.runpytest("increments/0001-demo/tasks.md", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_two_increments_may_each_have_their_own_pipeline_module(pytester, demo):
    other = demo_files(accuracy=0.95)
    write_increment(pytester.path, "0002-other", other)
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=20, skipped=2)
    result.stdout.fnmatch_lines(["*SM-1*accuracy > 0.8*95%*PASS*"])
    result.stdout.fnmatch_lines(["*SM-1*accuracy > 0.8*90% *PASS*"])


def test_assertions_in_linked_code_are_rewritten(pytester):
    files = demo_files()
    files["pipeline.py"] += "\n\ndef check(numbers):\n    total = sum(numbers)\n    assert total == 7\n"
    files["tasks.md"] = "- [ ] T-001: Check — `pipeline.py::check`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["E*assert 6 == 7"])


def test_junit_xml_carries_metric_value_threshold_verdict_and_experiment(pytester, demo):
    pytester.runpytest("increments", "--junitxml=report.xml", "-p", "no:cacheprovider")
    tree = ET.parse(pytester.path / "report.xml")
    case = next(c for c in tree.iter("testcase") if c.get("name") == "SM-1")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["metric"] == "accuracy"
    assert float(props["value"]) == pytest.approx(0.9)
    assert props["threshold"] == "accuracy > 0.8"
    assert props["verdict"] == "passed"
    assert props["experiment"] == "exp-002-t-002-train-model"


def test_an_interval_that_straddles_the_threshold_is_inconclusive(pytester):
    files = demo_files()
    files["pipeline.py"] += (
        "\n\ndef with_interval(experiment):\n"
        "    experiment.log_metric('accuracy', 0.86, ci=(0.78, 0.93))\n"
    )
    files["tasks.md"] = "- [ ] T-001: CI — `pipeline.py::with_interval`\n"
    files["tests.md"] = "- TC-001: accuracy > 0.8\n"
    files["spec.md"] = "# Demo\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["INCONCLUSIVE*TC-001*straddles*", "*1 passed, 1 inconclusive*"])
    strict = pytester.runpytest("increments", "--sw-strict", "-p", "no:cacheprovider")
    assert strict.ret == 1


def test_per_fold_values_are_judged_with_an_interval_at_the_chosen_confidence(pytester):
    files = demo_files()
    files["pipeline.py"] += (
        "\n\ndef cross_validated(experiment):\n"
        "    experiment.log_cv('accuracy', [0.84, 0.87, 0.86, 0.89, 0.86])\n"
    )
    files["tasks.md"] = "- [ ] T-001: CV — `pipeline.py::cross_validated`\n"
    files["tests.md"] = "- TC-001: accuracy > 0.8\n"
    files["spec.md"] = "# Demo\n"
    write_increment(pytester.path, "0001-demo", files)
    # mean 0.864, Nadeau–Bengio corrected 5-fold interval at 95%: [0.830, 0.898] clears 0.8;
    # at 99.9%: [0.759, 0.969] straddles 0.8
    # In subprocesses: scipy (which computes the t-interval) cannot be imported twice in one process.
    pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    wide = pytester.runpytest_subprocess("increments", "--sw-confidence", "0.999", "-p", "no:cacheprovider",
                                         "-m", "sw_criterion")
    wide.stdout.fnmatch_lines(["*1 inconclusive*"])
    wide.stdout.fnmatch_lines(["*99.9% interval*"])


def test_a_ratio_refuses_experiments_evaluated_on_different_data(pytester):
    files = demo_files()
    files["pipeline.py"] = (
        "from pytest_specweave import track_experiment\n\n\n"
        "def train(experiment):\n"
        "    with track_experiment('baseline-random', baseline=True) as base:\n"
        "        base.log_input(b'test rows A', role='eval')\n"
        "        base.log_metric('accuracy', 0.3)\n"
        "    experiment.log_input(b'test rows B', role='eval')\n"
        "    experiment.log_metric('accuracy', 0.9)\n"
    )
    files["tasks.md"] = "- [ ] T-001: Train — `pipeline.py::train`\n"
    files["tests.md"] = "- TC-001: accuracy ≥ 2x random baseline\n"
    files["spec.md"] = "# Demo\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["tests.md:1: *were evaluated on different data*"])


EMPTY_TASK_PIPELINE = """
from pytest_specweave import track_experiment


def train_baseline(experiment):  # asks for its experiment and never uses it
    with track_experiment("baseline-random", baseline=True) as exp:
        exp.log_metric("accuracy", 0.3)


def train_model(experiment):
    assert experiment.task == "T-002"  # touched, but nothing recorded in it
    with track_experiment("logreg") as exp:
        exp.log_metric("accuracy", 0.9)


def measure(experiment):
    experiment.log_metric("latency_p95_ms", 12.5)
"""


def test_a_task_experiment_that_records_nothing_is_not_recorded_and_the_counts_agree(pytester):
    files = demo_files()
    files["pipeline.py"] = EMPTY_TASK_PIPELINE
    folder = write_increment(pytester.path, "0001-demo", files)
    for _ in range(2):  # a rerun adds no empty run either
        result = pytester.runpytest_subprocess("increments/0001-demo", "-p", "no:cacheprovider")
        assert result.parseoutcomes()["passed"] == 10, result.stdout.str()[-3000:]
        folders = sorted(p.name for p in (folder / "experiments").iterdir() if p.is_dir())
        assert folders == ["exp-001-baseline-random", "exp-003-logreg", "exp-004-t-003-measure-latency"]
    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "## Experiments Run: 3" in summary
    assert "| exp-001-baseline-random | baseline |" in summary
    assert "with no metrics" not in summary
@pytest.mark.parametrize("title, name", [
    ("Train logistic regression on the scaled features with class weights", "T-002 Train logistic regression"),
    ("Production deployment preparation (promoted model, threshold, latency)", "T-002 Production deployment preparation"),
    ("Hyperparameter tuning (best model)", "T-002 Hyperparameter tuning best model"),
    ("Data exploration and quality analysis of the transactions", "T-002 Data exploration and quality analysis"),
    ("Train model", "T-002 Train model"),
])
def test_a_task_experiment_is_named_after_its_title_cut_at_a_phrase_boundary(title, name):
    from pytest_specweave.pytestlayer.fixtures import _task_experiment_name

    assert _task_experiment_name("T-002", title) == name


def test_a_long_task_title_gives_an_experiment_folder_cut_between_phrases(pytester):
    files = demo_files()
    files["tasks.md"] = files["tasks.md"].replace(
        "T-002: Train model", "T-002: Train logistic regression on the scaled features with class weights")
    folder = write_increment(pytester.path, "0001-demo", files)
    pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-no-report")
    assert (folder / "experiments" / "exp-002-t-002-train-logistic-regression").is_dir()
