"""The event hooks through a real conftest.py: each verdict, the promotion's veto and notes, each finished experiment."""

from __future__ import annotations

import csv
import json
import textwrap

import pytest

from conftest import write_increment
from hooks_docs import write_example

SPEC = """
---
primary_metric: accuracy
---
# Hooked classifier

## ML Problem Definition
- Problem type: classification
- Success metrics: accuracy > 0.8
"""

TASKS = """
# Tasks

- [ ] T-001: Train baseline — `pipeline.py::train_baseline`
- [ ] T-002: Train model — `pipeline.py::train_model`
"""

TESTS = """
## Evaluation Criteria
- TC-001: accuracy >= {target}
"""

PIPELINE = """
from pytest_specweave import track_experiment


def train_baseline():
    with track_experiment("baseline-random", baseline=True) as exp:
        exp.log_metric("accuracy", 0.3)


def train_model(experiment):
    experiment.save_artifact({"weights": [1, 2]}, "model.pkl")
    experiment.log_metric("accuracy", 0.9)
"""

OPTIONS = ("-p", "no:cacheprovider", "-W", "always::pytest_specweave.errors.SpecweaveHookWarning")


@pytest.fixture
def hooked(pytester):
    """increments/0001-hooked: a baseline, then a model (accuracy 0.9, saved) judged by SM-1 and TC-001."""
    return write_increment(pytester.path, "0001-hooked", {
        "spec.md": SPEC, "tasks.md": TASKS, "tests.md": TESTS.format(target="0.95"), "pipeline.py": PIPELINE})


def run(pytester, *args):
    """pytest on the project: in this process (faster), in a fresh one for xdist."""
    if "-n" in args:
        return pytester.runpytest_subprocess(*OPTIONS, *args)
    return pytester.runpytest(*OPTIONS, *args)


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- verdicts ----------------------------------------------------------------------------------------


def test_each_judged_item_is_told_its_verdict_once(pytester, hooked):
    write_example(pytester.path, "verdict")
    result = run(pytester)
    result.assert_outcomes(passed=3, failed=1)  # TC-001 asks 0.95 of a 0.9 model
    told = sorted(_lines(pytester.path / "verdicts.jsonl"), key=lambda line: line["id"])
    assert told == [
        {"id": "SM-1", "outcome": "passed", "metric": "accuracy", "value": 0.9, "experiment": "exp-002-t-002-train-model"},
        {"id": "TC-001", "outcome": "failed", "metric": "accuracy", "value": 0.9,
         "experiment": "exp-002-t-002-train-model"},
    ]


def test_the_verdict_is_told_before_a_strict_gate_and_on_the_worker_with_xdist(pytester, hooked):
    pytester.makeconftest("""
        import os

        from pytest_specweave import Verdict

        def pytest_specweave_verdict(config, item, increment_path, item_id, verdict):
            assert isinstance(verdict, Verdict)
            with open(config.rootpath / "told.txt", "a") as out:
                out.write(f"{item_id} {verdict.outcome} {item.nodeid} {increment_path.name} "
                          f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}\\n")
    """)
    result = run(pytester, "-n", "2", "--sw-strict")
    result.assert_outcomes(passed=2, failed=2)  # a value without an interval fails the strict gate
    told = sorted((pytester.path / "told.txt").read_text().splitlines())
    assert len(told) == 2
    assert told[0].startswith("SM-1 passed increments/0001-hooked/spec.md::SM-1 0001-hooked gw")
    assert told[1].startswith("TC-001 failed increments/0001-hooked/tests.md::TC-001 0001-hooked gw")
    result.stdout.fnmatch_lines(["*SM-1*FAIL (no interval)*"])


def test_a_verdict_hook_that_raises_is_a_warning_and_changes_no_outcome(pytester, hooked):
    pytester.makeconftest("""
        def pytest_specweave_verdict(item_id):
            raise RuntimeError(f"the chat is down ({item_id})")
    """)
    result = run(pytester)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*SpecweaveHookWarning: pytest_specweave_verdict in *conftest.py raised "
                                 "RuntimeError: the chat is down (SM-1)*"])


# -- promotion ---------------------------------------------------------------------------------------


def test_a_veto_writes_no_model_version_and_is_reported_everywhere(pytester, hooked, monkeypatch):
    write_example(pytester.path, "veto")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "step-summary.md"))
    result = run(pytester, "--sw-json", "report.json")
    result.assert_outcomes(passed=3, failed=1)
    assert not (hooked / "models").exists()
    reason = "release rule: accuracy must reach 0.95 to ship (it is 0.90)"
    result.stdout.fnmatch_lines([f"specweave: 0001-hooked: the promotion of the model of exp-002-t-002-train-model "
                                 f"was vetoed by conftest.py: {reason} (no model version written)"])
    summary = (hooked / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert f"- Promotion: **vetoed** by `conftest.py`: {reason} (no model version written)" in summary
    step = (pytester.path / "step-summary.md").read_text(encoding="utf-8")
    assert f"Promotion: **vetoed** by `conftest.py`: {reason} (no model version written)" in step
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["promotion"] == {"status": "vetoed", "experiment": "exp-002-t-002-train-model", "version": None,
                                  "notes": [], "vetoed_by": "conftest.py", "reason": reason, "error": None}


def test_without_a_veto_the_json_report_names_the_promoted_version(pytester, hooked):
    result = run(pytester, "--sw-json", "report.json")
    result.assert_outcomes(passed=3, failed=1)
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["promotion"]["status"] == "promoted" and entry["promotion"]["version"] == 1
    assert (hooked / "models" / "model-v1.pkl").is_file()


def test_a_veto_fails_sw_done_and_its_validate_rules(pytester, hooked):
    write_example(pytester.path, "veto")
    result = run(pytester, "--sw-done", "-n", "2")
    assert result.ret != 0
    output = result.stdout.str()
    assert "validate-best-model: the promotion of the model of exp-002-t-002-train-model was vetoed by conftest.py" \
           in output
    assert "validate-model-card: no model card: the promotion of the model of exp-002" in output
    assert "promotion vetoed by conftest.py: release rule: accuracy must reach 0.95" in output  # the --sw-done line
    assert not (hooked / "models").exists()
    assert not (hooked / "metadata.json").exists()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_the_veto_is_asked_once_per_promotion_even_when_validate_asks_it_on_a_worker(pytester, hooked, workers):
    pytester.makeconftest("""
        import os

        def pytest_specweave_promotion_veto(config, record):
            with open(config.rootpath / "asked.txt", "a") as out:
                out.write(f"{record.folder} {os.environ.get('PYTEST_XDIST_WORKER', 'main')}\\n")
            return "frozen for the release"
    """)
    result = run(pytester, "--sw-done", *workers)
    assert result.ret != 0
    asked = (pytester.path / "asked.txt").read_text().splitlines()
    assert len(asked) == 1 and asked[0].startswith("exp-002-t-002-train-model ")
    output = result.stdout.str()
    assert "validate-best-model: the promotion of the model of exp-002-t-002-train-model was vetoed by conftest.py: " \
           "frozen for the release" in output
    assert "promotion vetoed by conftest.py: frozen for the release" in output  # the --sw-done line, on the controller
    assert not (hooked / "models").exists()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_a_veto_in_a_conftest_loaded_only_while_collecting_is_said_and_left_out_alike_with_xdist(pytester, hooked,
                                                                                                  workers):
    (hooked / "conftest.py").write_text(textwrap.dedent("""
        def pytest_specweave_promotion_veto(record):
            return "frozen for the release"
    """), encoding="utf-8")
    result = run(pytester, "--sw-json", "report.json", *workers)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*SpecweaveHookWarning: pytest_specweave_promotion_veto in increments/0001-hooked/conftest.py is not asked:*"
        "rootdir's conftest.py*"])
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["promotion"]["status"] == "promoted"  # with and without xdist: the controller never loads it
    assert (hooked / "models" / "model-v1.pkl").is_file()


def test_a_veto_in_the_conftest_of_the_increment_named_on_the_command_line_is_asked(pytester, hooked):
    (hooked / "conftest.py").write_text(textwrap.dedent("""
        def pytest_specweave_promotion_veto(record):
            return "frozen for the release"
    """), encoding="utf-8")
    result = run(pytester, "increments/0001-hooked", "-n", "2")
    result.stdout.fnmatch_lines(["*vetoed by increments/0001-hooked/conftest.py: frozen for the release*"])
    assert "is not asked" not in result.stdout.str()
    assert not (hooked / "models").exists()


def test_a_veto_hook_that_raises_fails_closed(pytester, hooked):
    pytester.makeconftest("""
        def pytest_specweave_promotion_veto(record):
            raise ConnectionError("the release board cannot be reached")
    """)
    result = run(pytester, "--sw-json", "report.json")
    assert not (hooked / "models").exists()
    result.stdout.fnmatch_lines([
        "*SpecweaveHookWarning: pytest_specweave_promotion_veto in *conftest.py raised ConnectionError*",
        "*vetoed by conftest.py: the veto hook raised ConnectionError: the release board cannot be reached*"])
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["promotion"]["status"] == "vetoed"


def test_promotion_notes_are_kept_in_the_metadata_and_the_model_card(pytester, hooked):
    write_example(pytester.path, "notes")
    result = run(pytester, "--sw-json", "report.json")
    result.assert_outcomes(passed=3, failed=1)
    note = "Approved for staging: the model of T-002, passing SM-1."
    metadata = json.loads((hooked / "models" / "model-v1.metadata.json").read_text())
    assert metadata["notes"] == [note]
    card = (hooked / "models" / "model-v1.card.md").read_text(encoding="utf-8")
    assert f"## Release notes\n\n{note}\n" in card
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["promotion"]["notes"] == [note]
    again = run(pytester, "--sw-json", "report.json")  # the same model: no new version
    again.assert_outcomes(passed=3, failed=1)
    assert sorted(p.name for p in (hooked / "models").glob("*.pkl")) == ["model-v1.pkl"]
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["promotion"]["status"] == "current" and entry["promotion"]["notes"] == [note]


def test_a_notes_hook_that_raises_is_a_warning_and_the_version_is_written_without_it(pytester, hooked):
    pytester.makeconftest("""
        def pytest_specweave_promotion_notes(record):
            raise KeyError("ticket")
    """)
    result = run(pytester)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*SpecweaveHookWarning: pytest_specweave_promotion_notes in *conftest.py raised KeyError*"])
    metadata = json.loads((hooked / "models" / "model-v1.metadata.json").read_text())
    assert "notes" not in metadata


# -- experiments -------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_each_finished_experiment_is_told_with_its_record(pytester, hooked, workers):
    write_example(pytester.path, "experiment-finished")
    result = run(pytester, *workers)
    result.assert_outcomes(passed=3, failed=1)
    with open(pytester.path / "tracker.csv", newline="", encoding="utf-8") as rows:
        told = sorted(csv.reader(rows))
    assert told == [["exp-001-baseline-random", "succeeded", "T-001", "accuracy=0.3"],  # started by the task's code
                    ["exp-002-t-002-train-model", "succeeded", "T-002", "accuracy=0.9"]]  # the experiment fixture


def test_an_experiment_hook_that_raises_leaves_the_record_as_it_is(pytester, hooked):
    pytester.makeconftest("""
        def pytest_specweave_experiment_finished(experiment):
            raise RuntimeError("the other tracker is down")
    """)
    result = run(pytester)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*SpecweaveHookWarning: pytest_specweave_experiment_finished in *conftest.py "
                                 "raised RuntimeError: the other tracker is down*"])
    meta = json.loads((hooked / "experiments" / "exp-002-t-002-train-model" / "meta.json").read_text())
    assert meta["status"] == "succeeded"


def test_a_run_without_increments_loads_no_tracker_for_the_experiment_hook(pytester):
    pytester.makepyfile(test_plain="""
        import sys

        def test_plain():
            loaded = [name for name in ("pytest_specweave.tracking.experiment", "pytest_specweave.tracking.store",
                                        "numpy") if name in sys.modules]
            assert loaded == []
            assert "pytest_specweave.tracking.events" in sys.modules  # the listener, stdlib only
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
