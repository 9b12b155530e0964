"""tasks.md: both task forms, ids, links, fields, the status vocabulary, duplicates, and non-tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_specweave.model.tasks import STATUSES, TaskList, parse_tasks, status_from_words, status_marker


def tasks_of(tmp_path: Path, text: str) -> TaskList:
    path = tmp_path / "tasks.md"
    path.write_text(text, encoding="utf-8")
    return parse_tasks(path)


def one(tmp_path: Path, text: str):
    found = tasks_of(tmp_path, text).tasks
    assert len(found) == 1, [task.id for task in found]
    return found[0]


ML_CHECKLIST = """\
# Tasks: Recommendation model

## Tasks
- [ ] T-001: Data exploration and quality analysis — `notebooks/01-eda.ipynb`
- [ ] T-003: Train baseline model (random/popularity) — `pipeline.py::train_baselines`
- [x] T-009: A/B test plan
"""


def test_the_ml_checklist_form(tmp_path):
    found = tasks_of(tmp_path, ML_CHECKLIST)
    assert [(t.id, t.status, t.line) for t in found.tasks] == [
        ("T-001", "pending", 4),
        ("T-003", "pending", 5),
        ("T-009", "done", 6),
    ]
    eda, baseline, plan = found.tasks
    assert eda.title == "Data exploration and quality analysis"
    assert (eda.link.file, eda.link.callable, eda.link.is_notebook, eda.link.line) == ("notebooks/01-eda.ipynb", None, True, 4)
    assert baseline.title == "Train baseline model (random/popularity)"
    assert (baseline.link.target, baseline.link.file, baseline.link.callable) == (
        "pipeline.py::train_baselines",
        "pipeline.py",
        "train_baselines",
    )
    assert plan.link is None
    assert all(task.status_explicit and task.form == "checklist" for task in found.tasks)
    assert all(task.path == tmp_path / "tasks.md" for task in found.tasks)
    assert found.problems == []


HEADING_FORM = """\
## Phase 1

### T-004: Train candidate models (3 algorithms)
**User Story**: US-001
**Satisfies ACs**: AC-US1-01, AC-US1-02
**Status**: [ ] pending
**Depends on**: T-002, T-003
**Run**: `pipeline.py::train_candidates`

Notes mention `helpers.py` and `pipeline.py::other`, which are not links.

#### Details
**Estimate**: 2h
"""


def test_the_heading_form_with_its_fields(tmp_path):
    task = one(tmp_path, HEADING_FORM)
    assert (task.id, task.title, task.line, task.form) == ("T-004", "Train candidate models (3 algorithms)", 3, "heading")
    assert task.status == "pending" and task.status_explicit
    assert task.user_story == "US-001"
    assert task.satisfies == ["AC-US1-01", "AC-US1-02"]
    assert task.depends_on == ["T-002", "T-003"]
    assert (task.link.target, task.link.line) == ("pipeline.py::train_candidates", 8)


def test_fields_may_be_list_items_and_keys_need_no_bold(tmp_path):
    task = one(
        tmp_path,
        "## T-010: Deploy\n- **Status**: [x] completed\n- Dependencies: T-008\nRun: `deploy.py::ship`\nUser Story: US-002\n",
    )
    assert (task.status, task.depends_on, task.link.target, task.user_story) == ("done", ["T-008"], "deploy.py::ship", "US-002")


def test_a_heading_task_keeps_fields_under_deeper_headings_and_stops_at_its_own_level(tmp_path):
    found = tasks_of(
        tmp_path,
        "### T-001: One\n#### Plan\n**Status**: [x] completed\n### Other section\n**Status**: [~] in progress\n",
    ).tasks
    assert [(t.id, t.status) for t in found] == [("T-001", "done")]


@pytest.mark.parametrize("level", range(2, 7))
def test_task_headings_at_any_level_below_the_title(tmp_path, level):
    assert one(tmp_path, "#" * level + " T-001: Title\n").id == "T-001"


def test_the_document_title_is_not_a_task(tmp_path):
    assert tasks_of(tmp_path, "# T-001 implementation notes\n").tasks == []


@pytest.mark.parametrize(
    "line, task_id, title, status",
    [
        ("- [ ] T-001: Title", "T-001", "Title", "pending"),
        ("- [x] T-001: Title", "T-001", "Title", "done"),
        ("- [X] T-001: Title", "T-001", "Title", "done"),
        ("* [ ] T-001: Title", "T-001", "Title", "pending"),
        ("+ [x] T-001: Title", "T-001", "Title", "done"),
        ("1. [ ] T-001: Title", "T-001", "Title", "pending"),
        ("2) [x] T-001: Title", "T-001", "Title", "done"),
        ("- [ ] **T-001**: Title", "T-001", "Title", "pending"),
        ("- [ ] **T-001:** Title", "T-001", "Title", "pending"),
        ("- [x] T-001 Title", "T-001", "Title", "done"),
        ("- [~] T-001: Title", "T-001", "Title", "in_progress"),
        ("- [/] T-001: Title", "T-001", "Title", "in_progress"),
        ("- [-] T-001: Title", "T-001", "Title", "canceled"),
        ("- [x] T-062: Unit tests - 14 tests passing ✅", "T-062", "Unit tests - 14 tests passing", "done"),
        ("  - [ ] T-001: Nested", "T-001", "Nested", "pending"),
        ("- [ ] T001: Title", "T001", "Title", "pending"),
        ("- [ ] T-001E: Title", "T-001E", "Title", "pending"),
        ("- [ ] T-009b: Title", "T-009b", "Title", "pending"),
        ("- [ ] T-024-A: Title", "T-024-A", "Title", "pending"),
        ("- [ ] T-001-DISCIPLINE: Title", "T-001-DISCIPLINE", "Title", "pending"),
        ("- [ ] T-025-039: Migrate plugins", "T-025-039", "Migrate plugins", "pending"),
        ("- [x] T-001", "T-001", "", "done"),
        ("- [x] T-001 — Dash separated", "T-001", "Dash separated", "done"),
        ("- [ ] T-001 - Hyphen separated", "T-001", "Hyphen separated", "pending"),
    ],
)
def test_checklist_lines(tmp_path, line, task_id, title, status):
    task = one(tmp_path, line + "\n")
    assert (task.id, task.title, task.status, task.status_explicit) == (task_id, title, status, True)


@pytest.mark.parametrize(
    "heading, task_id, title",
    [
        ("### T-001: Title", "T-001", "Title"),
        ("### T001: Create agent structure", "T001", "Create agent structure"),
        ("### T-002a: Fix duplication (CORRECTED APPROACH)", "T-002a", "Fix duplication (CORRECTED APPROACH)"),
        ("### T-024-H: Create docs", "T-024-H", "Create docs"),
        ("### T-001-DISCIPLINE: Create command", "T-001-DISCIPLINE", "Create command"),
        ("## T-001 Title without a colon", "T-001", "Title without a colon"),
        ("### **T-001**: Bold id", "T-001", "Bold id"),
        ("### T-005: Write ADR (ADR)", "T-005", "Write ADR (ADR)"),
    ],
)
def test_heading_ids_and_titles(tmp_path, heading, task_id, title):
    task = one(tmp_path, heading + "\n")
    assert (task.id, task.title) == (task_id, title)


def test_a_list_item_without_checkbox_adds_to_a_task_defined_by_a_heading(tmp_path):
    task = one(tmp_path, "- T-001: Platform knowledge base\n\n### T-001: Knowledge base\n")
    assert (task.id, task.title, task.form, task.occurrences) == ("T-001", "Knowledge base", "heading", [1, 3])


def test_a_list_item_without_checkbox_alone_is_a_mention_reported_as_skipped(tmp_path):
    parsed = tasks_of(tmp_path, "### T-036: Integration test\n\n## Summary\nHigh-risk tasks:\n"
                                "- T-007: Living docs integration\n- T-022: Hook updates\n")
    assert [t.id for t in parsed.tasks] == ["T-036"]
    assert [(p.line, p.path.name) for p in parsed.skipped] == [(5, "tasks.md"), (6, "tasks.md")]
    assert "T-007" in parsed.skipped[0].reason and "- [ ] T-007" in parsed.skipped[0].reason
    assert parsed.problems == []


def test_a_list_item_without_checkbox_takes_its_status_from_markers_only(tmp_path):
    headings = "".join(f"### T-00{n}: Task {n}\n" for n in range(1, 5))
    found = tasks_of(
        tmp_path,
        "- T-001: Sync event logging ✅\n- T-002: Status preservation DEFERRED\n"
        "- T-003: CHANGELOG (done at release time)\n- T-004: Docs [IN PROGRESS]\n\n" + headings,
    ).tasks
    assert [(t.status, t.status_explicit) for t in found] == [
        ("done", True),
        ("canceled", True),
        ("pending", False),  # prose, not a marker
        ("in_progress", True),
    ]
    assert [t.title for t in found] == ["Task 1", "Task 2", "Task 3", "Task 4"]  # the heading defines the task


# --- the status vocabulary ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, status",
    [
        ("[x] completed", "done"),
        ("[X] Completed", "done"),
        ("[ ] pending", "pending"),
        ("[ ] Pending", "pending"),
        ("[~] in_progress", "in_progress"),
        ("[-] canceled", "canceled"),
        ("[-] cancelled", "canceled"),
        ("canceled", "canceled"),
        ("Cancelled", "canceled"),
        ("✅ Completed", "done"),
        ("✅ COMPLETE", "done"),
        ("✅ **COMPLETED** - All core features implemented", "done"),
        ("[x] ✅ Completed 2025-10-31", "done"),
        ("[x] (100% - Completed)", "done"),
        ("[x] completed (skipped - fire-and-forget design)", "done"),
        ("[x] Completed (deferred - not critical)", "done"),
        ("pending", "pending"),
        ("Not Started", "pending"),
        ("[ ] Not Started", "pending"),
        ("[ ] pending (DEFERRED to Increment 0044)", "pending"),
        ("In Progress", "in_progress"),
        ("In Progress (6/8 tasks complete)", "in_progress"),
        ("in-progress", "in_progress"),
        ("WIP", "in_progress"),
        ("DONE", "done"),
        ("Done", "done"),
        ("Completed", "done"),
        ("Blocked", "pending"),
        ("blocked by T-002", "pending"),
        ("Planned", "pending"),
        ("Ready for execution", "pending"),
        ("Skipped", "canceled"),
        ("DEFERRED - Will be completed during Phase 0", "canceled"),
        ("Deferred", "canceled"),
        ("incomplete", "pending"),
        ("🔄 working on it", "in_progress"),
    ],
)
def test_the_status_field_vocabulary(tmp_path, value, status):
    task = one(tmp_path, f"### T-001: Title\n**Status**: {value}\n")
    assert (task.status, task.status_explicit) == (status, True)
    assert status in STATUSES


def test_an_unknown_status_word_leaves_the_task_pending_and_not_explicit(tmp_path):
    task = one(tmp_path, "### T-001: Title\n**Status**: Accepted\n")
    assert (task.status, task.status_explicit) == ("pending", False)


def test_a_heading_without_status_is_pending_and_not_explicit(tmp_path):
    task = one(tmp_path, "### T-001: Title\n**AC**: AC-US1-01\n")
    assert (task.status, task.status_explicit, task.satisfies) == ("pending", False, ["AC-US1-01"])


@pytest.mark.parametrize(
    "heading, status",
    [
        ("## ✅ T-001: Analyze plugin structure", "done"),
        ("### T-001: Write tests ✅ [COMPLETED]", "done"),
        ("### T-001: 🧠 Create analyzer (P1) ✅ COMPLETE", "done"),
        ("### T-001: 🧠 Write unit tests (P1) ⏭️ DEFERRED", "canceled"),
        ("#### T-002b: Test the fix (PENDING USER TESTING)", "pending"),
        ("### T-001: Title DONE", "done"),
    ],
)
def test_status_marked_in_the_heading(tmp_path, heading, status):
    task = one(tmp_path, heading + "\n")
    assert (task.status, task.status_explicit) == (status, True)
    assert "✅" not in task.title and "COMPLETE" not in task.title.split()


def test_the_heading_titles_lose_their_status_markers(tmp_path):
    assert one(tmp_path, "### T-001: Write tests ✅ [COMPLETED]\n").title == "Write tests"
    assert one(tmp_path, "## ✅ T-001: Analyze\n").title == "Analyze"
    assert one(tmp_path, "### T-001: 🧠 Create (P1) ✅ COMPLETE\n").title == "🧠 Create (P1)"


def test_a_status_field_beats_a_heading_marker(tmp_path):
    assert one(tmp_path, "### T-001: Title ✅\n**Status**: [ ] pending\n").status == "pending"


@pytest.mark.parametrize("line", ["- [x] Completed", "[x] Completed", "- [x] **Completed**", "- [x] ✅ Done (2025-11-17)"])
def test_a_checkbox_status_line_under_the_heading(tmp_path, line):
    task = one(tmp_path, f"## T-001: Analyze skipped tests\n{line}\n- Identified 18 skipped tests\n")
    assert (task.status, task.status_explicit) == ("done", True)


def test_checkbox_steps_under_a_heading_are_not_its_status(tmp_path):
    task = one(tmp_path, "### T-001: Title\n**Steps**:\n- [x] Done with the schema design\n- [ ] write the loader\n")
    assert (task.status, task.status_explicit) == ("pending", False)


@pytest.mark.parametrize(
    "steps, status", [(["x", "x"], "done"), (["x", " "], "in_progress"), ([" ", " "], "pending")]
)
def test_an_empty_status_field_reads_the_checkboxes_below_it(tmp_path, steps, status):
    lines = "".join(f"- [{mark}] step {i}\n" for i, mark in enumerate(steps))
    task = one(tmp_path, f"#### T-006: Implement\n**Status**:\n{lines}**Dependencies**: T-005\n")
    assert (task.status, task.status_explicit, task.depends_on) == (status, True, ["T-005"])


def test_a_task_heading_nested_under_another_ends_its_status_steps(tmp_path):
    found = tasks_of(tmp_path, "### T-001: Outer\n**Status**:\n- [x] a\n#### T-002: Inner\n- [ ] b\n").tasks
    assert [(t.id, t.status) for t in found] == [("T-001", "done"), ("T-002", "pending")]


def test_status_words_and_markers():
    assert status_from_words("Ready for review") == "pending"
    assert status_from_words("nothing to see") is None
    assert status_marker("CHANGELOG (done at release time)") is None
    assert status_marker("Docs (completed)") == "done"
    assert status_marker("Remove TODO comments") == "pending"


# --- links ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, target",
    [
        ("- [ ] T-001: Train — `pipeline.py::train`", "pipeline.py::train"),
        ("- [ ] T-001: Train - `pipeline.py`", "pipeline.py"),
        ("- [ ] T-001: Train – `src/pipeline.py`", "src/pipeline.py"),
        ("- [ ] T-001: Train → `notebooks/02-train.ipynb`", "notebooks/02-train.ipynb"),
        ("- [ ] T-001: `pipeline.py::train`", "pipeline.py::train"),
        ("- [ ] T-001: Run `pipeline.py::train` with defaults", "pipeline.py::train"),
        ("- [x] T-001: Train — `pipeline.py::train` ✅", "pipeline.py::train"),
        ("- [ ] T-001: Train — `pipeline.py::Trainer.fit`", "pipeline.py::Trainer.fit"),
        ("- [ ] T-001: Update `src/cli.py` for the new flag", None),
        ("- [ ] T-001: Update `src/cli.py`", None),
        ("- [ ] T-001: Port the CLI — `src/foo.ts`", None),
        ("- [ ] T-001: Run tests — `npm test`", None),
        ("- [ ] T-001: Script — `python train.py`", None),
    ],
)
def test_links_on_the_task_line(tmp_path, line, target):
    task = one(tmp_path, line + "\n")
    assert (task.link.target if task.link else None) == target


def test_the_link_leaves_the_title(tmp_path):
    assert one(tmp_path, "- [ ] T-001: Train — `pipeline.py::train`\n").title == "Train"
    assert one(tmp_path, "- [ ] T-001: Run `pipeline.py::train` with defaults\n").title == "Run with defaults"


def test_a_link_on_the_heading_line_counts(tmp_path):
    assert one(tmp_path, "### T-004: Train — `pipeline.py::train`\n").link.target == "pipeline.py::train"


@pytest.mark.parametrize(
    "run, target",
    [
        ("`pipeline.py::train_candidates`", "pipeline.py::train_candidates"),
        ("pipeline.py::train_candidates", "pipeline.py::train_candidates"),
        ("`notebooks/01-eda.ipynb`", "notebooks/01-eda.ipynb"),
        ("`/specweave:inc \"9995-test\"`", None),
        ("`npm test`", None),
        ("the training script", None),
    ],
)
def test_the_run_field(tmp_path, run, target):
    task = one(tmp_path, f"### T-001: Title\n**Run**: {run}\n")
    assert (task.link.target if task.link else None) == target


def test_code_spans_in_description_lines_are_not_links(tmp_path):
    task = one(tmp_path, "### T-001: Title\n**File**: `pipeline.py`\n- Edit `pipeline.py::train` first\n")
    assert task.link is None


def test_fields_under_a_checklist_task(tmp_path):
    found = tasks_of(
        tmp_path,
        "- [ ] T-004: Train\n  - Depends on: T-002\n  - Run: `pipeline.py::train`\n- [ ] T-005: Evaluate\nRun: `x.py`\n",
    ).tasks
    assert [(t.id, t.depends_on, t.link.target if t.link else None) for t in found] == [
        ("T-004", ["T-002"], "pipeline.py::train"),
        ("T-005", [], None),  # the unindented Run line is not under T-005
    ]


def test_two_links_on_one_line_are_a_problem(tmp_path):
    found = tasks_of(tmp_path, "- [ ] T-001: Train `a.py::f` and `b.py::g`\n")
    assert found.tasks[0].link.target == "a.py::f"
    assert len(found.problems) == 1
    assert found.problems[0].line == 1 and "several" in found.problems[0].message


def test_fields_separated_by_pipes(tmp_path):
    task = one(tmp_path, "### T-067: Write tests\n**Effort**: 4h | **AC**: AC-US9-01, AC-US9-02\n")
    assert task.satisfies == ["AC-US9-01", "AC-US9-02"]


def test_user_story_as_a_link(tmp_path):
    task = one(tmp_path, "### T-001: Title\n**User Story**: [US-004: Similarity](../../docs/us-004.md)\n")
    assert task.user_story == "US-004"


def test_no_dependencies(tmp_path):
    assert one(tmp_path, "### T-001: Title\n**Dependencies**: None\n").depends_on == []


# --- what is not a task ---------------------------------------------------------------------------


NOT_TASKS = """\
---
increment: 0042-x
tasks:
  - T-900: in the frontmatter
---
# Tasks
## Tasks
## Task Notation
- `[T###]`: Sequential task ID
- [x] Render as checkboxes: `- [ ] T-901: Description`

| Task | Status |
|------|--------|
| T-001 | done |
| - [ ] T-902: in a table | x |

```markdown
- [ ] T-903: in a fence
### T-904: in a fence
```

~~~
- [ ] T-905: in a tilde fence
~~~

<!--
- [ ] T-906: in a comment
-->

- T-001 depends on T-002
- T-013, T-014: Status line tests
1. T-003 (Unit tests) → 4h
- Core implementation: T-001 through T-012
**Depends on**: T-002, T-003
T-907: a paragraph, not a list item
> - [ ] T-908: quoted
- [ ] TASK-1: not a task id
- [ ] T-9x9: not an id
- [ ] T-: no number
- [ ] T-001(foo)
"""


def test_lines_that_are_not_tasks(tmp_path):
    assert tasks_of(tmp_path, NOT_TASKS).tasks == []


def test_one_real_task_among_the_noise(tmp_path):
    found = tasks_of(tmp_path, NOT_TASKS + "### T-010: Real\n").tasks
    assert [(t.id, t.line) for t in found] == [("T-010", NOT_TASKS.count("\n") + 1)]


# --- duplicates -----------------------------------------------------------------------------------


def test_a_later_checklist_line_gives_the_status_the_heading_lacks(tmp_path):
    found = tasks_of(
        tmp_path,
        "#### T-062: Write tests\n**AC**: AC-US11-01\n\n## Progress\n- [x] T-062: Unit tests ✅\n- [ ] T-064: Other\n",
    ).tasks
    first = found[0]
    assert (first.id, first.title, first.line, first.occurrences) == ("T-062", "Write tests", 1, [1, 5])
    assert (first.status, first.status_explicit, first.satisfies) == ("done", True, ["AC-US11-01"])
    assert [t.id for t in found] == ["T-062", "T-064"]


def test_the_first_explicit_status_wins(tmp_path):
    task = one(tmp_path, "### T-001: Title\n**Status**: [x] completed\n\n- [ ] T-001: summary line\n")
    assert (task.status, task.occurrences) == ("done", [1, 4])


def test_a_written_status_beats_a_marker_of_an_earlier_occurrence(tmp_path):
    task = one(tmp_path, "### T-001: Title ✅\n\n- [ ] T-001: again\n")
    assert task.status == "pending"


def test_a_summary_list_before_the_headings_does_not_define_the_task(tmp_path):
    found = tasks_of(
        tmp_path,
        "**Deferred**:\n- T-022: Benchmarks (can be done post-merge)\n\n"
        "### T-001: First\n**Status**: [x] completed\n### T-022: Performance benchmarks\n**Status**: [ ] pending\n",
    ).tasks
    assert [(t.id, t.line, t.title, t.occurrences, t.form) for t in found] == [
        ("T-001", 4, "First", [4], "heading"),
        ("T-022", 6, "Performance benchmarks", [2, 6], "heading"),
    ]
    assert found[1].status == "pending"


def test_the_same_heading_twice_keeps_both_lines(tmp_path):
    task = one(tmp_path, "### T-001: One — `a.py::f`\n### T-001: Two — `b.py::g`\n")
    assert (task.title, task.link.target, task.occurrences) == ("One", "a.py::f", [1, 2])


# --- files ----------------------------------------------------------------------------------------


def test_crlf_files_give_the_right_lines(tmp_path):
    path = tmp_path / "tasks.md"
    path.write_bytes(b"# Tasks\r\n\r\n### T-001: A\r\n**Status**: [x] completed\r\n- [ ] T-002: B\r\n")
    found = parse_tasks(path).tasks
    assert [(t.id, t.line, t.status) for t in found] == [("T-001", 3, "done"), ("T-002", 5, "pending")]


def test_a_file_with_a_byte_that_is_not_utf8_keeps_every_task(tmp_path):
    path = tmp_path / "tasks.md"
    path.write_bytes(b"- [ ] T-001: ok\n- [ ] T-002: caf\xe9\n- [ ] T-003: on\n")
    assert [(t.id, t.title) for t in parse_tasks(path).tasks] == [("T-001", "ok"), ("T-002", "caf\ufffd"), ("T-003", "on")]


def test_mixed_forms_in_file_order(tmp_path):
    found = tasks_of(
        tmp_path,
        ML_CHECKLIST + "\n" + HEADING_FORM + "\n- [ ] T-011: Last — `pipeline.py::last`\n",
    ).tasks
    assert [t.id for t in found] == ["T-001", "T-003", "T-009", "T-004", "T-011"]
    assert tasks_of(tmp_path, ML_CHECKLIST).get("T-003").title.startswith("Train baseline")


# --- links written so that they would never run ---------------------------------------------------


@pytest.mark.parametrize(
    "line, message",
    [
        ("- [ ] T-003: Train — `pipeline.py::train", "tasks.md:3: unclosed code span: expected `path.py::function`"),
        ("- [ ] T-003: Train — `data.csv::train`",
         "tasks.md:3: data.csv is not Python or a notebook: a link names a .py file (path.py::function) "
         "or a notebook (.ipynb)"),
        ("- [ ] T-003: Train — pipeline.py::train", "tasks.md:3: pipeline.py::train looks like a link: put it in backticks"),
        ("### T-003: Train\n**Run**: `pipeline.txt::train`",
         "tasks.md:4: pipeline.txt is not Python or a notebook: a link names a .py file (path.py::function) "
         "or a notebook (.ipynb)"),
    ],
)
def test_a_task_link_that_would_never_run_is_a_problem_naming_the_line(tmp_path, line, message):
    found = tasks_of(tmp_path, f"# Tasks\n- [x] T-001: Explore\n{line}\n")
    assert [str(problem) for problem in found.problems] == [message]
    task = found.get("T-003")
    assert task.link is None and task.title == "Train"


@pytest.mark.parametrize("text, hint", [
    ("Run pipeline.py::explore to see the data.", "write it as `pipeline.py::explore` (in backticks) to link it"),
    ("Train the model (pipeline.py:train)", "write it as `pipeline.py::train` (in backticks) to link it"),
    ("Explore in notebooks/01-eda.ipynb", "write it as `notebooks/01-eda.ipynb` (in backticks) to link it"),
    ("Already linked: `pipeline.py::train`", None),
    ("Tune the learning rate", None),
    ("Read docs.python.org", None),
])
def test_link_hint_names_code_written_outside_backticks(text, hint):
    from pytest_specweave.model.tasks import link_hint

    assert link_hint(text) == hint


def test_a_task_that_names_code_in_plain_text_carries_a_hint_and_no_link(tmp_path):
    task = one(tmp_path, "### T-004: Explore\n**Status**: pending\nRun pipeline.py::explore to see the data.\n")
    assert task.link is None
    assert task.link_hint == "write it as `pipeline.py::explore` (in backticks) to link it"
    plain = one(tmp_path, "- [ ] T-001: Tune the learning rate\n")
    assert plain.link_hint is None
