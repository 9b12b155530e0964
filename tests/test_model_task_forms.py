"""tasks.md: task forms found in SpecWeave projects that were missed or misread."""

from __future__ import annotations

from pathlib import Path

from pytest_specweave.model.criteria import parse_criteria
from pytest_specweave.model.tasks import TaskList, parse_tasks


def tasks_of(tmp_path: Path, text: str) -> TaskList:
    path = tmp_path / "tasks.md"
    path.write_text(text, encoding="utf-8")
    return parse_tasks(path)


def summary(tmp_path: Path, text: str) -> list[tuple[str, str, str]]:
    return [(task.id, task.title, task.status) for task in tasks_of(tmp_path, text).tasks]


def test_a_checkbox_task_with_a_bracketed_id(tmp_path):
    assert summary(tmp_path, "- [x] [T-015] Write the migration\n- [ ] [T-016]: Run it\n") == [
        ("T-015", "Write the migration", "done"),
        ("T-016", "Run it", "pending"),
    ]


def test_a_bracketed_link_is_not_an_id(tmp_path):
    assert summary(tmp_path, "- [x] [T-015](#t-015) the migration\n") == []


def test_lowercase_ids_are_named_in_upper_case(tmp_path):
    found = tasks_of(tmp_path, "- [x] t-001: Set up the repo\n\n### t-002: Wire it\n**Depends on**: t-001\n")
    assert [(task.id, task.title, task.depends_on) for task in found.tasks] == [
        ("T-001", "Set up the repo", []),
        ("T-002", "Wire it", ["T-001"]),
    ]


def test_lowercase_criterion_ids_are_named_in_upper_case(tmp_path):
    path = tmp_path / "tests.md"
    path.write_text("- tc-002: accuracy >= 0.9\n", encoding="utf-8")
    assert [(c.id, c.title) for c in parse_criteria(path).criteria] == [("TC-002", "accuracy >= 0.9")]


def test_dotted_ids(tmp_path):
    assert summary(tmp_path, "### T-1.2: Parse input\n**Status**: [x] done\n- [ ] T-1.3: Validate\n") == [
        ("T-1.2", "Parse input", "done"),
        ("T-1.3", "Validate", "pending"),
    ]


def test_a_status_inline_after_other_fields(tmp_path):
    assert summary(tmp_path, "### T-001: Ship\n**Owner**: sam · **Status**: [x] completed\n") == [
        ("T-001", "Ship", "done")
    ]


def test_a_range_heading_is_one_task_named_as_written(tmp_path):
    text = "### T-006..T-010: Wire the endpoints\n**Status**: [x] done\n\n### T-014-T-019: Polish\n"
    assert summary(tmp_path, text) == [
        ("T-006..T-010", "Wire the endpoints", "done"),
        ("T-014-T-019", "Polish", "pending"),
    ]


def test_a_schema_bullet_does_not_override_the_status(tmp_path):
    text = """\
### T-003: Add the payments table
**Schema**:
- id: uuid
- status: 'unpaid' | 'paid'

**Status**: [x] completed
"""
    assert summary(tmp_path, text) == [("T-003", "Add the payments table", "done")]


def test_a_status_field_that_names_no_status_does_not_hide_the_next_one(tmp_path):
    text = "### T-003: Pay\n**Status**: see the tracker\n- [x] Completed\n"
    assert summary(tmp_path, text) == [("T-003", "Pay", "done")]


def test_short_ids_and_cross_references_are_no_tasks(tmp_path):
    text = "## Trust levels\n- T0: trusted\n- T2: sandboxed\n- see T-003\n- T-002 depends on T-001\n"
    assert summary(tmp_path, text) == []


def test_tasks_under_a_follow_ups_heading_belong_to_another_increment(tmp_path):
    text = """\
### T-001: Build it
**Status**: [x] done

## Follow-ups
- [ ] T-045: Cache the results
### T-046: Retry on failure

## Out of Scope
- T-047: Multi-region

## Tasks, continued
- [ ] T-002: Ship it
- [ ] T-048 (next increment): Dashboards
"""
    assert summary(tmp_path, text) == [("T-001", "Build it", "done"), ("T-002", "Ship it", "pending")]


def test_notes_headings_are_sections_of_their_task(tmp_path):
    text = """\
### T-004: Migrate
**Status**: [x] done

### T-004-NOTE
- [ ] try the dry run first

### T-004 Notes
**Status**: pending

### T-001-DISCIPLINE: Enforce one increment at a time
"""
    found = tasks_of(tmp_path, text)
    assert [(task.id, task.status, task.occurrences) for task in found.tasks] == [
        ("T-004", "done", [1]),
        ("T-001-DISCIPLINE", "pending", [10]),
    ]


def test_a_task_without_status_whose_sub_steps_are_all_ticked_is_done(tmp_path):
    text = """\
### T-001: Migrate
- [x] write the script
- [x] run it on staging

### T-002: Backfill
- [x] write the script
- [ ] run it

### T-003: Announce
"""
    found = tasks_of(tmp_path, text)
    assert [(task.id, task.status, task.status_explicit) for task in found.tasks] == [
        ("T-001", "done", True),
        ("T-002", "pending", False),
        ("T-003", "pending", False),
    ]


def test_a_written_status_beats_ticked_sub_steps(tmp_path):
    text = "### T-001: Migrate\n**Status**: [ ] pending\n- [x] write the script\n"
    assert summary(tmp_path, text) == [("T-001", "Migrate", "pending")]


def test_a_status_kept_only_in_a_summary_table(tmp_path):
    text = """\
| ID | Task | Status |
|----|------|--------|
| T-001 | Migrate | ✅ Done |
| **T-002** | Backfill | in progress |
| T-003 | Announce | [x] |

| AC-ID | Task(s) | Status |
|---|---|---|
| AC-US1-01 | T-004 | done |

### T-001: Migrate
### T-002: Backfill
### T-003: Announce
**Status**: [ ] pending
### T-004: Report
"""
    found = tasks_of(tmp_path, text)
    assert [(task.id, task.status, task.status_explicit) for task in found.tasks] == [
        ("T-001", "done", True),
        ("T-002", "in_progress", True),
        ("T-003", "pending", True),
        ("T-004", "pending", False),
    ]
