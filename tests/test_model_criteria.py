"""tests.md: criteria in list, heading and paragraph form; thresholds, links, prose and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_specweave.errors import ThresholdError
from pytest_specweave.model.criteria import CriterionList, parse_criteria


def criteria_of(tmp_path: Path, text: str, directions=None) -> CriterionList:
    path = tmp_path / "tests.md"
    path.write_text(text, encoding="utf-8")
    return parse_criteria(path, directions)


def one(tmp_path: Path, text: str):
    found = criteria_of(tmp_path, text).criteria
    assert len(found) == 1, [c.id for c in found]
    return found[0]


DESIGN_EXAMPLE = """\
## Evaluation Criteria
- TC-001: precision@10 > 0.25
- TC-002: latency < 100ms
- TC-003: precision@10 ≥ 3x random baseline
- TC-004: explainability artifacts present for the best model
- TC-005: no leakage between train and validation — `checks.py::check_no_leakage`
"""


def test_the_list_form(tmp_path):
    found = criteria_of(tmp_path, DESIGN_EXAMPLE)
    assert [(c.id, c.line) for c in found.criteria] == [("TC-001", 2), ("TC-002", 3), ("TC-003", 4), ("TC-004", 5), ("TC-005", 6)]
    precision, latency, ratio, explain, leakage = found.criteria
    assert (precision.threshold.kind, precision.threshold.metric, precision.threshold.op, precision.threshold.value) == (
        "compare",
        "precision@10",
        ">",
        0.25,
    )
    assert (latency.threshold.metric, latency.threshold.op, latency.threshold.value) == ("latency_p95_ms", "<", 100)
    assert ratio.threshold.kind == "ratio" and ratio.threshold.reference.baseline == "random"
    assert explain.threshold.kind == "explainability"
    assert leakage.threshold is None and leakage.error is None
    assert (leakage.title, leakage.link.target, leakage.link.callable) == (
        "no leakage between train and validation",
        "checks.py::check_no_leakage",
        "check_no_leakage",
    )
    assert all(c.error is None and c.occurrences == [c.line] for c in found.criteria)
    assert found.problems == []


def test_the_heading_form_with_metric_and_run_fields(tmp_path):
    found = criteria_of(
        tmp_path,
        "## Criteria\n\n### TC-006: Ranking quality\n**Metric**: ndcg@10 >= 0.4\n**Run**: `checks.py::check_ranking`\n\n"
        "### TC-007: Leakage\n- **Run**: `checks.py::check_no_leakage`\n",
    ).criteria
    ranking, leakage = found
    assert (ranking.id, ranking.title, ranking.line, ranking.form) == ("TC-006", "Ranking quality", 3, "heading")
    assert (ranking.threshold.metric, ranking.threshold.op, ranking.threshold.value) == ("ndcg@10", ">=", 0.4)
    assert (ranking.metric_text, ranking.metric_line) == ("ndcg@10 >= 0.4", 4)
    assert (ranking.link.target, ranking.link.line) == ("checks.py::check_ranking", 5)
    assert leakage.threshold is None and leakage.link.target == "checks.py::check_no_leakage"


def test_a_metric_field_that_cannot_be_read_is_an_error_at_its_line(tmp_path):
    criterion = one(tmp_path, "### TC-001: Ranking\n\n**Metric**: ndcg@10 >= banana\n")
    assert criterion.threshold is None
    assert isinstance(criterion.error, ThresholdError)
    assert (criterion.error.path, criterion.error.line) == (tmp_path / "tests.md", 3)
    assert "tests.md:3:" in str(criterion.error)


def test_a_title_that_looks_like_a_threshold_but_cannot_be_read_is_an_error(tmp_path):
    criterion = one(tmp_path, "\n- TC-001: precision@10 > > 0.25\n")
    assert criterion.threshold is None and criterion.error.line == 2


def test_a_prose_criterion_has_neither_threshold_nor_error(tmp_path):
    criterion = one(tmp_path, "- TC-001: the recommendations feel relevant to a human reviewer\n")
    assert (criterion.threshold, criterion.error, criterion.link) == (None, None, None)


def test_a_key_value_title_names_its_metric(tmp_path):
    criterion = one(tmp_path, "- TC-002: Latency: <100ms inference\n")
    assert criterion.threshold.metric == "latency_p95_ms"


def test_directions_from_the_spec_reach_the_threshold(tmp_path):
    text = "- TC-001: cv_spread 2%\n"
    assert one(tmp_path, text).error is not None  # direction unknown: a bare target cannot be read
    declared = criteria_of(tmp_path, text, {"cv_spread": "lower"}).criteria[0]
    assert (declared.threshold.op, declared.threshold.value) == ("<=", 0.02)


@pytest.mark.parametrize(
    "line, criterion_id",
    [
        ("- TC-001: precision@10 > 0.25", "TC-001"),
        ("- [ ] TC-002: precision@10 > 0.25", "TC-002"),
        ("- [x] TC-002 precision@10 > 0.25", "TC-002"),
        ("* TC001: precision@10 > 0.25", "TC001"),
        ("1. TC-US1-01: precision@10 > 0.25", "TC-US1-01"),
        ("- **TC-E2E-01**: precision@10 > 0.25", "TC-E2E-01"),
        ("#### TC-001.1: precision@10 > 0.25", "TC-001.1"),
        ("**TC-002.21**: precision@10 > 0.25", "TC-002.21"),
        ("TC-003: precision@10 > 0.25", "TC-003"),
    ],
)
def test_criterion_ids_and_forms(tmp_path, line, criterion_id):
    criterion = one(tmp_path, line + "\n")
    assert criterion.id == criterion_id
    assert criterion.threshold.metric == "precision@10"


NOT_CRITERIA = """\
# Test Strategy
## TC Overview
- TC-001 covers the ranking (no colon, no checkbox)
- E2E-001: only TC ids are criteria
- AC-US1-01: an acceptance criterion
| TC-002 | precision@10 > 0.25 |
```
- TC-003: precision@10 > 0.25
```
<!-- - TC-004: precision@10 > 0.25 -->
    TC-005: indented code block
> - TC-006: quoted
"""


def test_lines_that_are_not_criteria(tmp_path):
    assert criteria_of(tmp_path, NOT_CRITERIA).criteria == []


def test_duplicates_merge_and_keep_every_line(tmp_path):
    criterion = one(tmp_path, "- TC-001: precision@10 > 0.25\n- TC-001: recall@10 > 0.1\n")
    assert criterion.occurrences == [1, 2]
    assert criterion.threshold.metric == "precision@10"


def test_fields_belong_to_the_criterion_above_them_only(tmp_path):
    found = criteria_of(
        tmp_path,
        "- TC-001: precision@10 > 0.25\n  - Run: `checks.py::a`\n- TC-002: prose\nRun: `checks.py::b`\n",
    ).criteria
    assert [(c.id, c.link.target if c.link else None) for c in found] == [("TC-001", "checks.py::a"), ("TC-002", None)]


def test_a_heading_criterion_ends_at_the_next_criterion(tmp_path):
    found = criteria_of(
        tmp_path, "### TC-001: Phase detector\n#### TC-001.1: Load\n**Metric**: accuracy >= 0.9\n"
    ).criteria
    assert [(c.id, c.threshold.metric if c.threshold else None) for c in found] == [("TC-001", None), ("TC-001.1", "accuracy")]


def test_a_file_with_bytes_that_are_not_utf8_keeps_its_criteria(tmp_path):
    path = tmp_path / "tests.md"
    path.write_bytes(b"- TC-001: ok\n\xff\n- TC-002: also \xf0\x9f\x98 ok\n")
    assert [c.id for c in parse_criteria(path).criteria] == ["TC-001", "TC-002"]


# --- links written so that they would never run ---------------------------------------------------


@pytest.mark.parametrize(
    "line, message",
    [
        ("- TC-005: no leakage — `checks.py::check_no_leakage",
         "tests.md:3: unclosed code span: expected `path.py::function`"),
        ("- TC-005: leakage < 0.01 — `checks.py::check_no_leakage",
         "tests.md:3: unclosed code span: expected `path.py::function`"),
        ("- TC-005: `data.csv::f`",
         "tests.md:3: data.csv is not Python or a notebook: a link names a .py file (path.py::function) "
         "or a notebook (.ipynb)"),
        ("- TC-005: no leakage — `pipeline.txt::f`",
         "tests.md:3: pipeline.txt is not Python or a notebook: a link names a .py file (path.py::function) "
         "or a notebook (.ipynb)"),
        ("- TC-005: no leakage — checks.py::check", "tests.md:3: checks.py::check looks like a link: put it in backticks"),
        ("### TC-005: no leakage\n**Run**: `data.csv::f`",
         "tests.md:4: data.csv is not Python or a notebook: a link names a .py file (path.py::function) "
         "or a notebook (.ipynb)"),
    ],
)
def test_a_link_that_would_never_run_is_a_problem_naming_the_line(tmp_path, line, message):
    found = criteria_of(tmp_path, f"## Evaluation Criteria\n- TC-001: accuracy > 0.8\n{line}\n")
    assert [str(problem) for problem in found.problems] == [message]
    criterion = found.get("TC-005")
    assert criterion.link is None
    assert criterion.threshold is None and criterion.error is None  # not judged as a threshold instead


@pytest.mark.parametrize(
    "line",
    [
        "- TC-005: no leakage — `checks.py::check_no_leakage`",
        "- TC-005: the `--force` flag and a lone ` backtick are prose",
        "- TC-005: explain `std::vector` usage",
        "- TC-005: see checks.py for details",
    ],
)
def test_links_and_prose_that_are_fine_make_no_problem(tmp_path, line):
    assert criteria_of(tmp_path, f"## Evaluation Criteria\n{line}\n").problems == []
