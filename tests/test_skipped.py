"""Nothing is left out silently: lines shaped like tasks, criteria or metrics that are none, and folders
that look like increments and are none, are said with file, line and reason by the parser, by
`pytest-specweave list` and by pytest (with and without pytest-xdist)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import write_increment
from pytest_specweave.model.criteria import parse_criterion_lines
from pytest_specweave.model.skipped import folder_skipped
from pytest_specweave.model.spec import parse_spec_lines
from pytest_specweave.model.tasks import parse_task_lines

TASKS = """\
# Tasks

- T0: trusted
- T-002 depends on T-001
- [ ] Write the docs

### T-001: Train
**Status**: [x] completed
- [x] step one
- T0: trusted tier
- status: 'unpaid' | 'paid'

### T-001-NOTES
text

# T-009: Level one

```
- [ ] T-010: in a fence
```
<!-- - [ ] T-011: commented -->

## Follow-ups
- [ ] T-020: later
- [ ] retrain monthly

## Summary
- [x] T-003: Done thing
  - [x] sub
Prose mentioning T-001 in passing.
"""


def lines(text: str) -> list[str]:
    return textwrap.dedent(text).splitlines()


def test_each_line_shaped_like_a_task_that_is_none_is_skipped_with_its_reason():
    parsed = parse_task_lines(lines(TASKS), Path("tasks.md"))
    assert [task.id for task in parsed.tasks] == ["T-001", "T-003"]
    assert parsed.tasks[0].status == "done"  # the schema bullet does not override it
    found = [(record.line, record.reason) for record in parsed.skipped]
    assert found == [
        (3, "`T0` is not a task id (T-1, T-001 or T001: without a dash, three digits or more)"),
        (4, "an item needs a colon after its id or a checkbox to be a task (`- T-002: Title`): read as prose"),
        (5, "a checkbox item with no task id, outside every task: not a task"),
        (10, "`T0` is not a task id (T-1, T-001 or T001: without a dash, three digits or more)"),
        (11, "a lower-case `status:` line is data, not the status of T-001"),
        (13, "a note on task T-001, not a task"),
        (16, "a level-1 heading is the file's title, not a task (write `## T-009: Level one`)"),
        (19, "inside a code fence: not read as a task"),
        (21, "inside an HTML comment: not read as a task"),
        (24, "under `Follow-ups` (line 23): work for another increment, not a task of this one"),
        (25, "under `Follow-ups` (line 23): work for another increment, not a task of this one"),
    ]
    assert parsed.skipped[0].text == "- T0: trusted" and parsed.skipped[0].path == Path("tasks.md")
    assert parsed.problems == []  # decisions, not errors


def test_prose_ids_and_a_tasks_own_body_are_no_skipped_lines():
    parsed = parse_task_lines(lines("""\
        # Tasks
        Depends on T-001 and T-002.

        - see T-003 for the data
        | T-001 | Train | done |

        ### T-001: Train
        **Status**: [ ] pending
        **Dependencies**:
        - T-002 must finish first
        - [x] load the data
        - [ ] fit

        - [ ] T-002: Evaluate
          - [ ] compute the metrics
        """), Path("tasks.md"))
    assert [task.id for task in parsed.tasks] == ["T-001", "T-002"]
    assert parsed.skipped == []


def test_a_status_field_naming_no_status_is_said_and_the_real_one_still_counts():
    parsed = parse_task_lines(lines("""\
        ### T-001: Write the ADR
        - Status: Accepted
        **Status**: [x] completed
        """), Path("tasks.md"))
    assert parsed.tasks[0].status == "done"
    assert [(r.line, r.reason) for r in parsed.skipped] == [
        (2, "names no status (done, pending, in progress, canceled…): not the status of T-001")]


def test_lines_after_a_fence_never_closed_are_the_problems_not_skipped_lines():
    parsed = parse_task_lines(lines("""\
        - [ ] T-001: Train
        ```python
        - [ ] T-002: Evaluate
        """), Path("tasks.md"))
    assert [problem.line for problem in parsed.problems] == [2]
    assert parsed.skipped == []


def test_lines_shaped_like_criteria_that_are_none_are_skipped():
    parsed = parse_criterion_lines(lines("""\
        # TC-001: accuracy > 0.8

        ## Evaluation Criteria
        - TC-002: accuracy > 0.8
        - TC_003: f1 > 0.5
        - TC-004 accuracy above the baseline
        - [ ] run the unit tests
        <!-- - TC-005: recall > 0.5 -->
        """), Path("tests.md"))
    assert [criterion.id for criterion in parsed.criteria] == ["TC-002"]
    assert [(r.line, r.reason) for r in parsed.skipped] == [
        (1, "a level-1 heading is the file's title, not a criterion (write `## TC-001: accuracy > 0.8`)"),
        (5, "`TC_003` is not a criterion id (TC-1, TC-001, TC001 or TC-US1-01)"),
        (6, "an item needs a colon after its id or a checkbox to be a criterion (`- TC-004: Title`): read as prose"),
        (8, "inside an HTML comment: not read as a criterion"),
    ]


def test_prose_where_success_metrics_are_read_is_skipped():
    spec = parse_spec_lines(lines("""\
        # Churn

        ## Success Metrics
        - AUC > 0.8
        - Users report fewer bugs

        ## Background
        - Nobody likes churn
        """), Path("spec.md"))
    assert [metric.text for metric in spec.metrics] == ["AUC > 0.8"]
    assert [(r.line, r.text) for r in spec.skipped] == [(5, "Users report fewer bugs")]
    assert "not a success metric" in spec.skipped[0].reason


@pytest.mark.parametrize(("name", "files", "reason"), [
    ("42-churn", ["tasks.md"], "holds tasks.md but is not named NNNN-slug (2 digits where SpecWeave writes four)"),
    ("0042_churn", ["spec.md", "tasks.md"],
     "holds spec.md, tasks.md but is not named NNNN-slug ('_' after the number where a dash belongs)"),
    ("J-12-jira-import", ["spec.md"],
     "holds spec.md but is not named NNNN-slug (it does not start with a four-digit number)"),
    ("0002g-sync", ["spec.md"],
     "holds spec.md but is not named NNNN-slug ('g' after the number: SpecWeave writes one capital letter there "
     "(0002E, 0002G) or none)"),
    ("0002G-sync-from-github", ["spec.md"], None),
    ("0042-empty", ["plan.md"], "holds no spec.md, tasks.md or tests.md"),
    ("0042-churn", ["tasks.md"], None),
    ("0657E-external", ["tasks.md"], None),
    ("docs", ["README.md"], None),
    ("_templates", [], None),
])
def test_folders_in_increments_that_look_like_increments_are_said(tmp_path, name, files, reason):
    folder = tmp_path / "increments" / name
    folder.mkdir(parents=True)
    for file in files:
        (folder / file).write_text("# x\n")
    found = folder_skipped(folder)
    assert (found.reason if found else None) == reason
    outside = tmp_path / "elsewhere" / name
    outside.mkdir(parents=True)
    (outside / "tasks.md").write_text("# x\n")
    assert folder_skipped(outside) is None  # only folders in increments/ are candidates


@pytest.fixture
def project(tmp_path):
    write_increment(tmp_path, "0001-churn", {"tasks.md": TASKS})
    write_increment(tmp_path, "0042_misnamed", {"tasks.md": "- [ ] T-001: Train\n"})
    (tmp_path / "increments" / "0003-empty").mkdir()
    write_increment(tmp_path, "0100-old", {"tasks.md": "- [ ] T-001: Train\n"}, where="increments/_archive")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def run_list(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_specweave", "list", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_list_ends_with_what_was_not_read(project):
    result = run_list(project, "increments")
    assert result.returncode == 0, result.stderr
    listing = result.stdout.split("\nNot read (14):\n")
    assert len(listing) == 2, result.stdout
    assert "increments/0001-churn/tasks.md:7  T-001" in listing[0]
    assert listing[1].splitlines()[:5] == [
        "  increments/0003-empty: holds no spec.md, tasks.md or tests.md",
        "  increments/0042_misnamed: holds tasks.md but is not named NNNN-slug "
        "('_' after the number where a dash belongs)",
        "  increments/_archive: 1 archived increment (name one to run it)",
        "  increments/0001-churn/tasks.md:3: `T0` is not a task id (T-1, T-001 or T001: without a dash, three digits "
        "or more): - T0: trusted",
        "  increments/0001-churn/tasks.md:4: an item needs a colon after its id or a checkbox to be a task "
        "(`- T-002: Title`): read as prose: - T-002 depends on T-001",
    ]


def test_list_json_carries_skipped_entries(project):
    result = run_list(project, "increments", "--json")
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows if row["kind"] == "task"] == ["T-001", "T-003"]
    skipped = [row for row in rows if row["kind"] == "skipped"]
    assert len(skipped) == 14
    assert skipped[1] == {"increment": None, "kind": "skipped", "id": None, "title": "0042_misnamed",
                          "status": None, "file": "increments/0042_misnamed", "line": None, "link": None, "node_id": None,
                          "reason": "holds tasks.md but is not named NNNN-slug ('_' after the number where a dash "
                                    "belongs)"}
    assert skipped[-1] == {"increment": "0001-churn", "kind": "skipped", "id": None, "title": "- [ ] retrain monthly",
                           "status": None, "file": "increments/0001-churn/tasks.md", "line": 25, "link": None, "node_id": None,
                           "reason": "under `Follow-ups` (line 23): work for another increment, not a task of this one"}


def test_list_of_a_folder_that_is_no_increment_says_why(project):
    result = run_list(project, "increments/0042_misnamed")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "pytest-specweave: increments/0042_misnamed: not an increment: it holds tasks.md but is not named "
        "NNNN-slug ('_' after the number where a dash belongs)")


FOLDER_LINES = [
    "specweave: increments/0003-empty is no increment: it holds no spec.md, tasks.md or tests.md",
    "specweave: increments/0042_misnamed is no increment: it holds tasks.md but is not named NNNN-slug "
    "('_' after the number where a dash belongs)",
    "specweave: skipped 1 archived increment under increments/_archive (name one to run it)",
]


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_pytest_says_each_folder_and_counts_the_lines(project, workers):
    result = run_pytest(project, *workers)
    out = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout
    for line in FOLDER_LINES:
        assert out.count(line) == 1, result.stdout
    count = "specweave: 11 lines not read as tasks, criteria or success metrics (-rs or -v lists them)"
    assert out.count(count) == 1, result.stdout
    assert "increments/0001-churn/tasks.md:3:" not in result.stdout


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_pytest_rs_lists_every_line_and_the_json_report_holds_them(project, workers):
    result = run_pytest(project, "-rs", "--sw-json", "report.json", *workers)
    out = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout
    title = next(i for i, line in enumerate(out) if "specweave: 11 lines not read as tasks, criteria or success" in line)
    assert out[title].startswith("-") and out[title + 1] == (
        "increments/0001-churn/tasks.md:3: `T0` is not a task id (T-1, T-001 or T001: without a dash, three digits or "
        "more): - T0: trusted")
    assert out[title + 11] == ("increments/0001-churn/tasks.md:25: under `Follow-ups` (line 23): work for another "
                               "increment, not a task of this one: - [ ] retrain monthly")
    report = json.loads((project / "report.json").read_text())
    kinds = [(entry["kind"], entry["file"], entry["line"]) for entry in report["skipped"]]
    assert kinds[:4] == [("line", "increments/0001-churn/tasks.md", 3), ("line", "increments/0001-churn/tasks.md", 4),
                         ("line", "increments/0001-churn/tasks.md", 5), ("line", "increments/0001-churn/tasks.md", 10)]
    assert sorted(k for k in kinds if k[0] == "folder") == [
        ("folder", "increments/0003-empty", None), ("folder", "increments/0042_misnamed", None),
        ("folder", "increments/_archive", None)]
    assert len(kinds) == 14


def test_naming_a_folder_that_is_no_increment_says_why_nothing_ran(project):
    result = run_pytest(project, "increments/0042_misnamed")
    assert result.returncode == 5  # no tests collected
    assert FOLDER_LINES[1] in result.stdout.splitlines()


def test_a_run_with_nothing_passed_over_says_nothing_of_it(pytester):
    write_increment(pytester.path, "0001-clean", {"tasks.md": "# Tasks\n\n- [x] T-001: Train\n"})
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    assert "not read" not in result.stdout.str() and "no increment" not in result.stdout.str()


@pytest.mark.parametrize("folder", ["0042-données", "0043-my model"])
def test_an_increment_named_with_a_space_or_accents_is_read_like_any_other(tmp_path, folder):
    """SpecWeave accepts any name after NNNN-: pytest and `list` both read the folder as an increment."""
    inc = tmp_path / "increments" / folder
    inc.mkdir(parents=True)
    (inc / "tasks.md").write_text("# Tasks\n\n- [x] T-001: Do it\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "increments"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout and "not an increment folder" not in run.stdout + run.stderr
    listed = subprocess.run([sys.executable, "-m", "pytest_specweave", "list"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert f"increments/{folder}/tasks.md:3" in listed.stdout, listed.stdout + listed.stderr
