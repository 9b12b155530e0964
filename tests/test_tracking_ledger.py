"""The evaluation ledger (how often the test data was scored) and the targets record (targets fixed in advance)."""

from __future__ import annotations

import json
import multiprocessing
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from pytest_specweave import track_experiment
from pytest_specweave.evaluation.metrics import compute_metrics
from pytest_specweave.tracking import ledger, targets
from pytest_specweave.tracking.ledger import (
    Evaluation,
    evaluation_counts,
    evaluations_since,
    read_evaluations,
    test_data_use,
)
from pytest_specweave.tracking.store import ExperimentStore, TrackingWarning
from pytest_specweave.tracking.targets import Target, record_targets, target_statuses

Y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
SCORES = np.array([0.9, 0.4, 0.35, 0.8, 0.1, 0.6, 0.7, 0.2])


@pytest.fixture
def inc(tmp_path) -> Path:
    path = tmp_path / "increments" / "0042-demo"
    path.mkdir(parents=True)
    (path / "spec.md").write_text("# Demo\n")
    return path


def ledger_lines(inc: Path) -> list[dict]:
    return [json.loads(line) for line in (inc / "experiments" / "evaluations.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------------------------------------
# The ledger


def test_each_run_scoring_the_test_data_adds_one_line_failed_and_overwritten_runs_included(inc):
    with track_experiment("xgboost", increment=inc) as exp:
        compute_metrics("classification", Y, y_score=SCORES, experiment=exp)
    with pytest.raises(RuntimeError):
        with track_experiment("lightgbm", increment=inc) as exp:
            compute_metrics("classification", Y, y_score=SCORES, experiment=exp)
            raise RuntimeError("diverged")
    with track_experiment("xgboost", increment=inc) as exp:  # re-run: the first run moves to history/
        compute_metrics("classification", Y, y_score=SCORES, experiment=exp)
    sha = exp.meta["inputs"][-1]["sha256"]

    lines = ledger_lines(inc)
    assert [line["experiment"] for line in lines] == ["exp-001-xgboost", "exp-002-lightgbm", "exp-001-xgboost"]
    assert {line["sha256"] for line in lines} == {sha}
    assert lines[0]["run_started"] != lines[2]["run_started"]  # two runs of one folder, told apart
    assert lines[2]["run_started"] == exp.meta["started"] and lines[0]["baseline"] is False
    assert evaluation_counts(inc) == {sha: 3}
    use = test_data_use(inc, sha, since=lines[1]["time"])
    assert (use.count, use.experiments, use.since) == (3, 2, 2)
    assert ExperimentStore(inc).find("xgboost").run == 2


def test_the_same_hash_twice_in_one_run_is_one_line_another_hash_another(inc):
    with track_experiment("baseline-random", baseline=True, increment=inc) as exp:
        compute_metrics("classification", Y, y_score=SCORES, experiment=exp)
        compute_metrics("classification", list(Y), y_score=SCORES, experiment=exp)  # same targets, other container
        exp.log_input(Y.astype(np.float64), role="eval_targets")
        exp.log_input(np.array([1.0, 0.0]), role="eval_targets")  # another test set
        exp.log_input(np.array([5.0]), role="train")  # not evaluation data
    lines = ledger_lines(inc)
    assert len(lines) == 2 and lines[0]["sha256"] != lines[1]["sha256"]
    assert all(line["baseline"] is True for line in lines)


def test_a_torn_or_garbage_line_is_skipped_and_the_next_line_starts_afresh(inc):
    with track_experiment("a", increment=inc) as exp:
        exp.log_input(np.array([1.0]), role="eval_targets")
    path = inc / "experiments" / "evaluations.jsonl"
    with open(path, "ab") as f:
        f.write(b'not json\n[1, 2]\n{"experiment": "no hash"}\n"text"\n{"sha256": "abc", "experi')  # torn: no newline
    assert len(read_evaluations(inc)) == 1
    with track_experiment("b", increment=inc) as exp:
        exp.log_input(np.array([1.0]), role="eval_targets")
    found = read_evaluations(inc)
    assert [e.experiment for e in found] == ["exp-001-a", "exp-002-b"]
    assert isinstance(found[0], Evaluation) and found[0].sha256 == found[1].sha256
    assert read_evaluations(inc / "nowhere") == [] and evaluation_counts(inc / "nowhere") == {}


def test_a_ledger_that_cannot_be_written_warns_and_the_run_goes_on(inc):
    (inc / "experiments").mkdir()
    (inc / "experiments" / "evaluations.jsonl").mkdir()  # a folder in the way
    with pytest.warns(TrackingWarning, match="evaluations.jsonl"):
        with track_experiment("a", increment=inc) as exp:
            digest = exp.log_input(np.array([1.0]), role="eval_targets")
            exp.log_metric("accuracy", 0.9)
    record = ExperimentStore(inc).find("a")
    assert record.status == "succeeded" and record.meta["inputs"][0]["sha256"] == digest


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_a_ledger_symlinked_out_of_the_store_is_not_written_through(inc, tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text("")
    (inc / "experiments").mkdir()
    try:
        os.symlink(outside, inc / "experiments" / "evaluations.jsonl")
    except OSError:
        pytest.skip("cannot create symlinks here")
    with pytest.warns(TrackingWarning, match="outside"):
        with track_experiment("a", increment=inc) as exp:
            exp.log_input(np.array([1.0]), role="eval_targets")
    assert outside.read_text() == ""


def _append_many(args) -> None:
    root, worker, n = args
    for i in range(n):
        ledger.append_evaluation(Path(root), {"sha256": f"{worker:02d}-{i:03d}", "experiment": f"exp-{worker:03d}-w",
                                               "run_started": None, "time": "2025-01-01T00:00:00+00:00",
                                               "baseline": False, "pad": "x" * 300})


def test_concurrent_appends_from_several_processes_lose_nothing(inc):
    root = inc / "experiments"
    root.mkdir()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_append_many, [(str(root), w, 50) for w in range(4)])
    lines = (root / "evaluations.jsonl").read_bytes().splitlines()
    assert len(lines) == 200
    assert sorted(json.loads(line)["sha256"] for line in lines) == sorted(f"{w:02d}-{i:03d}" for w in range(4) for i in range(50))


def test_counting_since_a_time(tmp_path):
    entries = [Evaluation("h", "exp-001-a", None, "2025-01-01T10:00:00.000+00:00", False),
               Evaluation("h", "exp-002-b", None, "2025-01-03T10:00:00.000+00:00", False),
               Evaluation("h", "exp-002-b", None, None, False),  # no time: counted
               Evaluation("other", "exp-003-c", None, "2025-01-04T10:00:00.000+00:00", False)]
    assert evaluations_since(entries, "h", "2025-01-02T00:00:00+00:00") == 2
    use = test_data_use(entries, "h", "2025-01-02T00:00:00+00:00")
    assert use.as_json() == {"sha256": "h", "count": 3, "experiments": 2, "since_targets_fixed": 2}
    assert test_data_use(entries, "h").since is None


# ----------------------------------------------------------------------------------------------
# The targets record


def test_a_target_is_recorded_once_and_an_edit_shows_as_changed(inc):
    first = record_targets(inc, [Target("SM-1", "ROC AUC >= 0.85", "spec.md", 8), ("TC-001", "latency < 50ms", "tests.md", 2)],
                           now="2025-01-02T10:00:00.000+00:00")
    assert [(s.id, s.changed, s.first_judged) for s in first] == [("SM-1", False, "2025-01-02T10:00:00.000+00:00"),
                                                                  ("TC-001", False, "2025-01-02T10:00:00.000+00:00")]
    doc = json.loads((inc / "experiments" / "targets.json").read_text())
    assert doc["schema"] == "pytest-specweave/targets/1"
    assert doc["targets"]["SM-1"] | {"sha256": None} == {"text": "ROC AUC >= 0.85", "sha256": None,
                                                          "first_judged": "2025-01-02T10:00:00.000+00:00",
                                                          "file": "spec.md", "line": 8}
    before = (inc / "experiments" / "targets.json").read_bytes()

    later = record_targets(inc, [("SM-1", "ROC  AUC >=\t0.85 ", "spec.md", 9), ("TC-001", "latency < 80ms", "tests.md", 2)],
                           now="2025-02-01T00:00:00+00:00")
    assert later[0].changed is False  # whitespace only
    assert later[1].changed is True and later[1].first_text == "latency < 50ms" and later[1].text == "latency < 80ms"
    assert later[1].first_judged == "2025-01-02T10:00:00.000+00:00"
    assert (inc / "experiments" / "targets.json").read_bytes() == before  # nothing new: not rewritten

    removed = record_targets(inc, [("SM-2", "F1 > 0.6", "spec.md", 9)], now="2025-03-01T00:00:00+00:00")
    assert removed[0].first_judged == "2025-03-01T00:00:00+00:00"
    assert set(json.loads((inc / "experiments" / "targets.json").read_text())["targets"]) == {"SM-1", "TC-001", "SM-2"}
    assert target_statuses(inc, [("SM-1", "ROC AUC >= 0.9", "spec.md", 8), ("SM-9", "x", "spec.md", 1)]) == [
        targets.TargetStatus("SM-1", "ROC AUC >= 0.9", "ROC AUC >= 0.85", "2025-01-02T10:00:00.000+00:00", True),
        targets.TargetStatus("SM-9", "x", None, None, False)]


@pytest.mark.parametrize("garbage", [b"{not json", b"[1, 2]", b'{"schema": "other/1", "targets": {}}', b"\xff\xfe"])
def test_an_unreadable_targets_file_is_kept_aside_and_rewritten(inc, garbage):
    (inc / "experiments").mkdir()
    path = inc / "experiments" / "targets.json"
    path.write_bytes(garbage)
    with pytest.warns(TrackingWarning, match="could not be read"):
        statuses = record_targets(inc, [("SM-1", "accuracy > 0.8", "spec.md", 3)])
    assert statuses[0].changed is False and statuses[0].first_text == "accuracy > 0.8"
    (aside,) = (inc / "experiments").glob("targets.json.unreadable-*")
    assert aside.read_bytes() == garbage
    assert json.loads(path.read_text())["targets"]["SM-1"]["text"] == "accuracy > 0.8"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record_targets(inc, [("SM-1", "accuracy > 0.8", "spec.md", 3)])  # readable now: no warning


def test_a_bad_entry_is_recorded_again_and_the_file_kept_aside(inc):
    (inc / "experiments").mkdir()
    path = inc / "experiments" / "targets.json"
    good = {"text": "a > 1", "sha256": targets.text_hash("a > 1"), "first_judged": "2025-01-01T00:00:00+00:00",
            "file": "spec.md", "line": 1}
    path.write_text(json.dumps({"schema": targets.TARGETS_SCHEMA, "targets": {"SM-1": good, "SM-2": "garbage"}}))
    with pytest.warns(TrackingWarning, match="SM-2"):
        statuses = record_targets(inc, [("SM-1", "a > 2", "spec.md", 1), ("SM-2", "b > 1", "spec.md", 2)])
    assert statuses[0].changed and statuses[0].first_text == "a > 1"
    assert statuses[1].first_text == "b > 1"
    assert len(list((inc / "experiments").glob("targets.json.unreadable-*"))) == 1


# ----------------------------------------------------------------------------------------------
# Through pytest: the summary section and the JSON report


def test_a_target_edited_between_runs_shows_changed_and_every_scoring_is_counted(pytester):
    from conftest import scored_files, write_increment

    folder = write_increment(pytester.path, "0001-scored", scored_files("0.7"))
    first = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider")
    first.assert_outcomes(passed=4)
    text = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    part = text[text.index("## Targets and test-data use"):]
    part = part[:part.index("\n## ")]
    assert text.index("## Evaluation Criteria") < text.index("## Targets and test-data use") < text.index(
        "## Deployment Readiness")
    recorded = json.loads((folder / "experiments" / "targets.json").read_text())["targets"]
    day = recorded["TC-001"]["first_judged"][:10]
    assert recorded["TC-001"]["text"] == "accuracy >= 0.7" and recorded["SM-1"]["line"] == 7
    assert f"| SM-1 | accuracy > 0.6 | unchanged since {day} |" in part
    assert f"| TC-001 | accuracy >= 0.7 | unchanged since {day} |" in part
    evaluations = read_evaluations(folder)
    sha = evaluations[0].sha256
    assert f"The test data (sha256 {sha[:12]}…) was scored 2 times by 2 experiments; 0 of those since the targets" \
           " were first fixed." in part

    (folder / "tests.md").write_text("## Evaluation Criteria\n- TC-001: accuracy >= 0.72\n", encoding="utf-8")
    second = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider", "--sw-json", "report.json")
    second.assert_outcomes(passed=4)
    text = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert f"| TC-001 | accuracy >= 0.72 | **changed** — first judged as `accuracy >= 0.7` on {day} |" in text
    assert f"| SM-1 | accuracy > 0.6 | unchanged since {day} |" in text
    # both runs of both experiments count, the first runs now in history/
    assert "was scored 4 times by 2 experiments; 2 of those since the targets were first fixed." in text
    assert json.loads((folder / "experiments" / "targets.json").read_text())["targets"]["TC-001"]["text"] == \
        "accuracy >= 0.7"

    (entry,) = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert [(t["id"], t["changed"], t["first_text"]) for t in entry["targets"]] == [
        ("SM-1", False, "accuracy > 0.6"), ("TC-001", True, "accuracy >= 0.7")]
    assert entry["test_data_evaluations"] == {"sha256": sha, "count": 4, "experiments": 2, "since_targets_fixed": 2}


def test_the_summary_command_reads_the_record_without_writing_it(pytester):
    from conftest import scored_files, write_increment

    from pytest_specweave.evaluation.judge import JudgeContext
    from pytest_specweave.model.increment import Increment
    from pytest_specweave.reports.summary import write_summary

    folder = write_increment(pytester.path, "0001-scored", scored_files("0.7"))
    pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider", "--sw-no-report").assert_outcomes(passed=4)
    assert not (folder / "experiments" / "targets.json").exists()
    increment = Increment.load(folder)
    text = write_summary(increment, None, JudgeContext.for_increment(increment), charts=False).read_text()
    assert "| TC-001 | accuracy >= 0.7 | not on record yet (recorded when pytest next judges it) |" in text
    assert "was scored 2 times by 2 experiments; no target is on record yet." in text
    assert not (folder / "experiments" / "targets.json").exists()


def test_the_ledger_and_targets_modules_import_nothing_from_evaluation_or_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys\nimport pytest_specweave.tracking.ledger, pytest_specweave.tracking.targets\n"
            "print(sorted(m for m in sys.modules if m.startswith('pytest_specweave.evaluation')"
            " or m in ('numpy', 'pandas', 'pytest')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ----------------------------------------------------------------------------------------------
# Scorings outside the tracker


def test_an_outside_scoring_is_counted_with_the_tracked_ones_under_the_hash_compute_metrics_records(inc):
    from pytest_specweave import record_outside_scoring

    with track_experiment("model", increment=inc) as exp:
        compute_metrics("classification", Y, y_score=SCORES, experiment=exp)
    line = record_outside_scoring(inc, label="pilot A", note="precision 0.99 [0.98, 1.0]", y_true=list(Y),
                                  when="2026-11-20")
    (tracked_sha,) = {e.sha256 for e in read_evaluations(inc) if not e.outside}
    assert line.sha256 == tracked_sha and line.outside and line.experiment == "pilot A"
    assert ledger_lines(inc)[-1]["note"] == "precision 0.99 [0.98, 1.0]"
    # recording the same label again adds nothing; another label is another scoring
    record_outside_scoring(inc, label="pilot A", note="again", sha256=tracked_sha)
    record_outside_scoring(inc, label="notebook", note="a look", sha256=tracked_sha)
    use = test_data_use(inc, tracked_sha)
    assert (use.count, use.experiments, use.outside) == (3, 1, ("pilot A", "notebook"))
    assert use.as_json()["outside"] == ["pilot A", "notebook"]


@pytest.mark.parametrize("kwargs, message", [
    ({"label": " ", "note": "n", "sha256": "a" * 64}, "needs a label"),
    ({"label": "pilot", "note": "n"}, "exactly one of y_true= (its targets) and sha256="),
    ({"label": "pilot", "note": "n", "sha256": "xyz"}, "64 lowercase hex digits"),
    ({"label": "pilot", "note": "n", "sha256": "a" * 64, "when": "last week"}, "ISO-8601"),
])
def test_an_outside_scoring_without_what_it_needs_is_refused_and_nothing_written(inc, kwargs, message):
    from pytest_specweave import record_outside_scoring

    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        record_outside_scoring(inc, **kwargs)
    assert read_evaluations(inc) == []


def test_the_summary_counts_fresh_data_on_its_own_and_names_the_earlier_looks(pytester):
    from conftest import scored_files, write_increment

    from pytest_specweave import record_outside_scoring

    folder = write_increment(pytester.path, "0001-scored", scored_files("0.7"))
    old = "c" * 64
    record_outside_scoring(folder, label="pilot A", note="the old test period", sha256=old)
    record_outside_scoring(folder, label="pilot B", note="the old test period", sha256=old)
    pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider").assert_outcomes(passed=4)
    text = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    fresh = next(e.sha256 for e in read_evaluations(folder) if not e.outside)
    assert (f"The test data (sha256 {fresh[:12]}…) was scored 2 times by 2 experiments; 0 of those since the targets"
            " were first fixed. Before it, other evaluation data (sha256 cccccccccccc…) was scored 2 times: 2 times"
            " outside the tracker (pilot A, pilot B): those looks are not counted above.") in text

    # an outside look at the judged data itself counts with its tracked scorings
    record_outside_scoring(folder, label="notebook", note="a look at the test data", sha256=fresh)
    pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider").assert_outcomes(passed=4)
    text = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert (f"(sha256 {fresh[:12]}…) was scored 5 times: 4 times by 2 experiments and 1 time outside the tracker"
            " (notebook);") in text
