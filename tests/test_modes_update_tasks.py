"""--sw-update-tasks: passing tasks marked done in tasks.md, every other byte as it was."""

from __future__ import annotations

import os
import re

import pytest
from conftest import demo_files, write_increment

from pytest_specweave.model.tasks import parse_tasks
from pytest_specweave.modes.task_marks import (
    mark_status_line,
    mark_tasks_done,
    tick_checklist_line,
)

TASKS = (
    "---\ntotal_tasks: 7\n---\n"
    "# Tasks\n"
    "\n"
    "- [ ] T-001: Train baseline — `pipeline.py::train_baseline`\n"
    "  **Status**: pending\n"
    "- [~] T-002: Train model — `pipeline.py::train_model`\n"
    "\n"
    "```markdown\n"
    "- [ ] T-001: an example in a fence\n"
    "**Status**: [ ] pending\n"
    "```\n"
    "\n"
    "### T-003: Measure latency\n"
    "**User Story**: US-001\n"
    "**Status**: [ ] pending\n"
    "**Run**: `pipeline.py::measure`\n"
    "\n"
    "- [ ] a sub-step that is not a status\n"
    "\n"
    "### T-004: Document\n"
    "**Status:** Not Started\n"
    "\n"
    "### T-005: Heading with a checkbox line\n"
    "- [ ] Pending\n"
    "\n"
    "### T-006: Another — untouched\n"
    "**Status**: [ ] pending\n"
    "- [ ] T-007: Last line without a line end"
)


def _lines(data: bytes) -> list[bytes]:
    return re.split(rb"(?<=\r\n)|(?<=\n)(?<!\r\n)|(?<=\r)(?!\n)", data)


def _check(tmp_path, text: str, newline: str, bom: bool):
    path = tmp_path / "tasks.md"
    before = ("\ufeff" if bom else "") + text.replace("\n", newline)
    path.write_bytes(before.encode("utf-8"))
    os.chmod(path, 0o640)
    result = mark_tasks_done(path, ["T-001", "T-002", "T-003", "T-004", "T-005"])
    assert result.marked == ["T-001", "T-002", "T-003", "T-004", "T-005"] and not result.problems
    after = path.read_bytes()
    old, new = _lines(before.encode("utf-8")), _lines(after)
    assert len(old) == len(new)
    changed = {number + 1: line for number, (line, was) in enumerate(zip(new, old)) if line != was}
    nl = newline.encode()
    assert changed == {
        6: b"- [x] T-001: Train baseline \xe2\x80\x94 `pipeline.py::train_baseline`" + nl,
        7: b"  **Status**: completed" + nl,
        8: b"- [x] T-002: Train model \xe2\x80\x94 `pipeline.py::train_model`" + nl,
        17: b"**Status**: [x] completed" + nl,
        23: b"**Status:** Completed" + nl,
        26: b"- [x] Completed" + nl,
    }
    assert after.startswith(b"\xef\xbb\xbf") == bom
    assert not after.endswith((b"\n", b"\r"))
    assert os.stat(path).st_mode & 0o777 == 0o640
    statuses = {task.id: task.status for task in parse_tasks(path).tasks}
    assert statuses == {"T-001": "done", "T-002": "done", "T-003": "done", "T-004": "done", "T-005": "done",
                        "T-006": "pending", "T-007": "pending"}
    assert [p.name for p in tmp_path.iterdir()] == ["tasks.md"]  # no temporary file left


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("bom", [False, True], ids=["no-BOM", "BOM"])
def test_only_the_status_marks_of_the_marked_tasks_change(tmp_path, newline, bom):
    _check(tmp_path, TASKS, newline, bom)


def test_done_tasks_are_left_alone_and_what_cannot_be_marked_is_named_without_writing(tmp_path):
    path = tmp_path / "tasks.md"
    text = "- [x] T-001: Done\n### T-002: A heading with no status\n- [-] T-003: Canceled\n"
    path.write_bytes(text.encode())
    mtime = os.stat(path).st_mtime_ns
    result = mark_tasks_done(path, ["T-001", "T-002", "T-003", "T-009"])
    assert result.marked == [] and result.already == ["T-001"]
    assert result.problems == ["T-002: no checkbox or status word to mark on its lines (tasks.md:2)",
                               "T-003: canceled; not marked done", "T-009: not a task of tasks.md"]
    assert path.read_bytes() == text.encode() and os.stat(path).st_mtime_ns == mtime


def test_status_words_keep_their_case_and_emoji_become_done():
    assert mark_status_line("**Status**: [ ] pending") == "**Status**: [x] completed"
    assert mark_status_line("**Status**: IN PROGRESS (since May)") == "**Status**: COMPLETED (since May)"
    assert mark_status_line("- **Status**: ⏳ In Progress") == "- **Status**: ✅ Completed"
    assert mark_status_line("**Effort**: 2h | **Status**: [~] in_progress | **Owner**: Ana") == \
        "**Effort**: 2h | **Status**: [x] completed | **Owner**: Ana"
    assert mark_status_line("Some prose that says pending") == "Some prose that says pending"
    assert tick_checklist_line("  * [ ] T-001: x") == "  * [x] T-001: x"
    assert tick_checklist_line("1. [/] T-001: x") == "1. [x] T-001: x"
    assert tick_checklist_line("- [-] T-001: x") == "- [-] T-001: x"


def test_the_flag_marks_the_linked_tasks_that_passed_and_nothing_without_it(pytester):
    files = demo_files()
    files["pipeline.py"] = files["pipeline.py"].replace("def measure(experiment):\n",
                                                        "def measure(experiment):\n    raise RuntimeError('down')\n")
    files["tasks.md"] = files["tasks.md"].replace("**Status**: [x] completed", "**Status**: [ ] pending")
    folder = write_increment(pytester.path, "0001-demo", files)
    tasks = folder / "tasks.md"
    original = tasks.read_bytes()
    pytester.runpytest("increments", "-p", "no:cacheprovider")
    assert tasks.read_bytes() == original
    result = pytester.runpytest("increments", "--sw-update-tasks", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["specweave: marked done in 0001-demo/tasks.md: T-001, T-002"])
    assert tasks.read_text() == original.decode().replace("- [ ] T-001", "- [x] T-001").replace("- [ ] T-002", "- [x] T-002")


def test_the_flag_works_under_xdist_on_the_controller(pytester):
    pytest.importorskip("xdist")
    folder = write_increment(pytester.path, "0001-demo", demo_files())
    tasks = folder / "tasks.md"
    (folder / "tasks.md").write_bytes(tasks.read_bytes().replace(b"\n", b"\r\n"))
    result = pytester.runpytest_subprocess("increments", "-n", "2", "--sw-update-tasks", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["specweave: marked done in 0001-demo/tasks.md: T-001, T-002"])
    text = tasks.read_bytes()
    assert b"- [x] T-001" in text and b"- [x] T-002" in text and b"- [ ] T-005" in text
    assert text.count(b"\r\n") == text.count(b"\n")


def test_a_tasks_file_that_is_not_utf8_is_left_as_it_is(tmp_path):
    from pytest_specweave.modes.task_marks import mark_tasks_done

    path = tmp_path / "tasks.md"
    data = b"- [ ] T-001: Explore \xf0\x9f\x98\n- [ ] T-002: Train\n"
    path.write_bytes(data)
    result = mark_tasks_done(path, ["T-002"])
    assert result.marked == [] and "not UTF-8" in result.problems[0]
    assert path.read_bytes() == data
