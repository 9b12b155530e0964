"""tasks.md and tests.md: a code fence or HTML comment never closed hides the items after it, and says so."""

from __future__ import annotations

from pytest_specweave.model.criteria import parse_criteria
from pytest_specweave.model.tasks import parse_tasks


def test_an_unclosed_fence_names_its_line_and_the_tasks_it_hides(tmp_path):
    path = tmp_path / "tasks.md"
    path.write_text("- [x] T-001: Build\n\n```bash\nmake\n- [ ] T-002: Test\n### T-003: Ship\n", encoding="utf-8")
    found = parse_tasks(path)
    assert [task.id for task in found.tasks] == ["T-001"]
    assert [str(problem) for problem in found.problems] == [
        "tasks.md:3: code fence opened here is never closed: the 2 task lines after it are not read"
    ]


def test_an_unclosed_comment_names_its_line(tmp_path):
    path = tmp_path / "tasks.md"
    path.write_text("- [x] T-001: Build <!-- fine -->\n<!-- draft\n- [ ] T-002: Test\n", encoding="utf-8")
    found = parse_tasks(path)
    assert [task.id for task in found.tasks] == ["T-001"]
    assert [str(problem) for problem in found.problems] == [
        "tasks.md:2: HTML comment opened here is never closed: the task line after it is not read"
    ]


def test_closed_fences_and_unclosed_ones_hiding_no_task_are_fine(tmp_path):
    path = tmp_path / "tasks.md"
    path.write_text("```\n- [ ] T-009: example\n```\n- [ ] T-001: Build\n```\nnotes\n", encoding="utf-8")
    found = parse_tasks(path)
    assert [task.id for task in found.tasks] == ["T-001"]
    assert found.problems == []


def test_an_unclosed_fence_in_tests_md(tmp_path):
    path = tmp_path / "tests.md"
    path.write_text("- TC-001: accuracy >= 0.9\n~~~\n- TC-002: recall >= 0.5\n", encoding="utf-8")
    found = parse_criteria(path)
    assert [criterion.id for criterion in found.criteria] == ["TC-001"]
    assert [str(problem) for problem in found.problems] == [
        "tests.md:2: code fence opened here is never closed: the criterion line after it is not read"
    ]
