"""--sw-done: validate, every task done, every gate passing; then metadata.json says completed."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from conftest import write_increment
from modes_support import METADATA, PIPELINE, TASKS, write_complete

from pytest_specweave.modes.completion import mark_completed

pytest.importorskip("pandera")


def _metadata(folder) -> dict:
    return json.loads((folder / "metadata.json").read_text(encoding="utf-8"))


def test_a_complete_increment_is_marked_completed_keeping_every_other_key_in_place(pytester):
    folder = write_complete(pytester.path)
    result = pytester.runpytest("increments", "--sw-done", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=15)
    result.stdout.fnmatch_lines(["specweave: 0001-churn: COMPLETE; metadata.json status completed"])
    metadata = _metadata(folder)
    assert list(metadata) == ["id", "status", "type", "created", "priority", "completed"]
    assert metadata["status"] == "completed" and metadata["type"] == "feature" and metadata["priority"] == "P1"
    assert datetime.strptime(metadata["completed"], "%Y-%m-%dT%H:%M:%SZ")
    assert "**Status**: COMPLETE  " in (folder / "COMPLETION-SUMMARY.md").read_text()
    text = (folder / "metadata.json").read_text(encoding="utf-8")
    assert text.startswith('{\n  "id": "0001-churn",\n  "status": "completed",\n') and not text.endswith("\n")
    again = pytester.runpytest("increments", "--sw-done", "-p", "no:cacheprovider")
    again.stdout.fnmatch_lines(["specweave: 0001-churn: COMPLETE; metadata.json status completed (already)"])
    assert (folder / "metadata.json").read_text(encoding="utf-8") == text


def test_a_pending_task_without_code_fails_as_not_done_and_blocks_completion(pytester):
    folder = write_complete(pytester.path, changes={"tasks.md": TASKS + "- [ ] T-005: A/B test plan\n"})
    result = pytester.runpytest("increments", "--sw-done", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=15, failed=1)
    result.stdout.fnmatch_lines([
        "tasks.md:12: T-005 is not done (pending, no code linked): --sw-done needs every task done",
        "specweave: 0001-churn: not complete, metadata.json unchanged: T-005 not done (pending, no code linked)",
    ])
    assert (folder / "metadata.json").read_text(encoding="utf-8") == METADATA
    plain = pytester.runpytest("increments", "-p", "no:cacheprovider")
    plain.assert_outcomes(passed=9, skipped=1)


def test_an_inconclusive_criterion_fails_under_done_and_blocks_completion(pytester):
    pipeline = PIPELINE.replace('experiment.log_metric("accuracy", ACCURACY, ci=(ACCURACY - 0.02, min(1.0, ACCURACY + 0.02)))', 'experiment.log_metric("accuracy", 0.86, ci=(0.78, 0.93))')
    folder = write_complete(pytester.path, changes={"pipeline.py": pipeline.format(accuracy=0.9)})
    plain = pytester.runpytest("increments", "-p", "no:cacheprovider")
    plain.stdout.fnmatch_lines(["*inconclusive*"])
    assert plain.ret == 0
    result = pytester.runpytest("increments", "--sw-done", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "spec.md:7: accuracy = 86% ?78%, 93%? * the interval straddles 80%; about 1.8× the evaluation data would settle it at the measured value (inconclusive fails under --sw-done)",
        "SM-1 * FAIL (inconclusive)",
        "specweave: 0001-churn: not complete, metadata.json unchanged: SM-1 inconclusive; TC-001 inconclusive",
    ])
    assert _metadata(folder)["status"] == "active"


def test_a_failing_rule_or_a_deselected_item_blocks_completion(pytester):
    folder = write_complete(pytester.path, drop=("data/schema.yaml",))
    result = pytester.runpytest("increments", "--sw-done", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["specweave: 0001-churn: not complete, metadata.json unchanged: validate-data-schema failed"])
    (folder / "data" / "schema.yaml").write_text("files: [customers.csv]\ncolumns:\n  plan:\n    dtype: str\n")
    partial = pytester.runpytest("increments", "--sw-done", "-k", "not TC-002", "-p", "no:cacheprovider")
    partial.assert_outcomes(passed=14)
    partial.stdout.fnmatch_lines(["specweave: 0001-churn: not complete, metadata.json unchanged: TC-002 did not run"])
    assert _metadata(folder)["status"] == "active"


def test_done_under_xdist_decides_on_the_controller(pytester):
    pytest.importorskip("xdist")
    first = write_complete(pytester.path, "0001-churn")
    second = write_complete(pytester.path, "0002-churn-v2",
                            changes={"tasks.md": TASKS + "- [ ] T-005: A/B test plan\n"})
    result = pytester.runpytest_subprocess("increments", "--sw-done", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=30, failed=1)
    result.stdout.fnmatch_lines(["specweave: 0001-churn: COMPLETE; metadata.json status completed"])
    result.stdout.fnmatch_lines(["specweave: 0002-churn-v2: not complete, metadata.json unchanged: T-005 not done*"])
    assert _metadata(first)["status"] == "completed"
    assert _metadata(second)["status"] == "active"


def test_an_increment_that_tracks_nothing_completes_when_its_tasks_are_done(pytester):
    folder = write_increment(pytester.path, "0007-docs", {
        "spec.md": "# Docs\n\n## Success Criteria\n- Pages load < 2s\n",
        "tasks.md": "### T-001: Write docs\n**Status**: [x] completed\n\n### T-002: Review\n**Status**: Completed\n",
    })
    result = pytester.runpytest("increments", "--sw-done", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, skipped=7)
    assert _metadata(folder) == {"id": "0007-docs", "status": "completed", "completed": _metadata(folder)["completed"]}


def test_mark_completed_keeps_layout_bom_and_line_ends(tmp_path):
    folder = tmp_path / "0003-x"
    folder.mkdir()
    path = folder / "metadata.json"
    path.write_bytes(b'\xef\xbb\xbf{\r\n    "id": "0003-x",\r\n    "status": "active",\r\n    "tags": ["a", "b"]\r\n}\r\n')
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert mark_completed(folder, now) is True
    assert path.read_bytes() == (b'\xef\xbb\xbf{\r\n    "id": "0003-x",\r\n    "status": "completed",\r\n'
                                 b'    "tags": ["a", "b"],\r\n    "completed": "2026-03-01T12:00:00Z"\r\n}\r\n')
    path.write_text('{"id": "0003-x", "completed": "earlier", "status": "active"}')
    assert mark_completed(folder, now) is True
    assert path.read_text() == '{"id": "0003-x", "completed": "2026-03-01T12:00:00Z", "status": "completed"}'
    path.write_text("{}")
    mark_completed(folder, now)
    assert json.loads(path.read_text()) == {"status": "completed", "completed": "2026-03-01T12:00:00Z"}
    assert mark_completed(folder, now) is False
    path.write_text("[1, 2]")
    with pytest.raises(ValueError):
        mark_completed(folder, now)
    assert path.read_text() == "[1, 2]"
