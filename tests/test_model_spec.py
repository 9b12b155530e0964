"""spec.md: success metrics, acceptance criteria, primary metric, directions, frontmatter problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_specweave.errors import SourceError, ThresholdError
from pytest_specweave.model.spec import Spec, parse_spec


def spec_of(tmp_path: Path, text: str) -> Spec:
    path = tmp_path / "spec.md"
    path.write_text(text, encoding="utf-8")
    return parse_spec(path)


def texts(spec: Spec) -> list[str]:
    return [metric.text for metric in spec.metrics]


DESIGN_EXAMPLE = """\
# Recommendation model

## ML Problem Definition
- Success metrics: Precision@10 > 0.25, Recall@10 > 0.15

## Model Requirements
- Latency: <100ms inference
- Throughput: 1000 req/sec
- Accuracy: Better than random baseline by 3x
- Must run on a laptop
"""


def test_the_design_example(tmp_path):
    spec = spec_of(tmp_path, DESIGN_EXAMPLE)
    assert spec.title == "Recommendation model"
    assert [(m.id, m.line, m.text) for m in spec.metrics] == [
        ("SM-1", 4, "Precision@10 > 0.25"),
        ("SM-2", 4, "Recall@10 > 0.15"),
        ("SM-3", 7, "Latency: <100ms inference"),
        ("SM-4", 8, "Throughput: 1000 req/sec"),
        ("SM-5", 9, "Accuracy: Better than random baseline by 3x"),
    ]
    precision, recall, latency, throughput, ratio = (m.threshold for m in spec.metrics)
    assert (precision.metric, precision.op, precision.value) == ("precision@10", ">", 0.25)
    assert recall.metric == "recall@10"
    assert (latency.metric, latency.op, latency.value) == ("latency_p95_ms", "<", 100)
    assert (throughput.metric, throughput.op, throughput.value) == ("throughput_rps", ">=", 1000)
    assert ratio.kind == "ratio" and ratio.metric is None  # a baseline ratio judges the primary metric
    assert spec.metrics[2].key == "Latency"
    assert all(m.error is None and m.path == tmp_path / "spec.md" for m in spec.metrics)
    assert spec.primary_metric == "precision@10"
    assert spec.problems == []


@pytest.mark.parametrize(
    "line",
    [
        "Success metrics: Precision@10 > 0.25; Recall@10 > 0.15",
        "- Success metrics: Precision@10 > 0.25, Recall@10 > 0.15",
        "**Success metrics**: Precision@10 > 0.25, Recall@10 > 0.15",
        "- **Success Metrics:** Precision@10 > 0.25,Recall@10 > 0.15",
        "* success metric: Precision@10 > 0.25 ; Recall@10 > 0.15",
    ],
)
def test_success_metrics_lines_anywhere(tmp_path, line):
    spec = spec_of(tmp_path, f"# Spec\n## Overview\n{line}\n")
    assert [m.threshold.metric for m in spec.metrics] == ["precision@10", "recall@10"]
    assert [m.id for m in spec.metrics] == ["SM-1", "SM-2"]


def test_a_thousands_comma_does_not_split(tmp_path):
    spec = spec_of(tmp_path, "Success metrics: throughput >= 1,000 req/sec, precision@10 > 0.2\n")
    assert [(m.threshold.metric, m.threshold.value) for m in spec.metrics] == [("throughput_rps", 1000), ("precision@10", 0.2)]


def test_prose_parts_of_a_success_metrics_line_are_not_metrics(tmp_path):
    assert texts(spec_of(tmp_path, "Success metrics: precision@10 > 0.25, happy users\n")) == ["precision@10 > 0.25"]


def test_an_empty_success_metrics_label_reads_the_list_below(tmp_path):
    spec = spec_of(
        tmp_path,
        "**Success metrics**:\n- Precision@10 > 0.25\n\n- AUC >= 0.9\nThat is all.\n- recall@10 > 0.5\n",
    )
    assert texts(spec) == ["Precision@10 > 0.25", "AUC >= 0.9"]


@pytest.mark.parametrize(
    "heading",
    ["## Success Metrics", "### Success Criteria", "# Model Requirements", "## 5. Success metrics (v1)", "#### SUCCESS CRITERIA"],
)
def test_section_headings(tmp_path, heading):
    spec = spec_of(tmp_path, f"{heading}\n- precision@10 > 0.25\nPrecision: >= 0.3\n")
    assert texts(spec) == ["precision@10 > 0.25", "Precision: >= 0.3"]


def test_a_section_keeps_its_subheadings_and_ends_at_its_level(tmp_path):
    spec = spec_of(
        tmp_path,
        "## Success Metrics\n### Performance\n- **Latency**: <100ms inference\n#### Deep\n- AUC > 0.9\n"
        "## Non-goals\n- precision@10 > 0.9\n### Success criteria\n- recall > 0.5\n",
    )
    assert [(m.text, m.line) for m in spec.metrics] == [
        ("Latency: <100ms inference", 3),
        ("AUC > 0.9", 5),
        ("recall > 0.5", 9),
    ]


def test_lines_outside_sections_and_prose_inside_are_not_metrics(tmp_path):
    spec = spec_of(
        tmp_path,
        "## Overview\n- precision@10 > 0.25\nLatency: <100ms\n## Success Metrics\n"
        "The model should be good.\n**Context**:\n- Measured weekly\n- Owner: data team\n",
    )
    assert spec.metrics == []


def test_checkboxes_and_status_marks_in_front_of_a_metric(tmp_path):
    spec = spec_of(tmp_path, "## Success Criteria\n- [ ] precision@10 > 0.25\n- ✅ AUC >= 0.9\n")
    assert texts(spec) == ["precision@10 > 0.25", "AUC >= 0.9"]


def test_fenced_and_commented_lines_are_not_metrics(tmp_path):
    spec = spec_of(
        tmp_path,
        "## Success Metrics\n```\n- precision@10 > 0.25\n```\n<!--\n- recall > 0.1\n-->\n- AUC > 0.9\n",
    )
    assert texts(spec) == ["AUC > 0.9"]


def test_a_metric_that_cannot_be_read_keeps_its_error(tmp_path):
    spec = spec_of(tmp_path, "# Spec\n## Success Metrics\n- precision@10 > > 0.25\n- AUC >= 0.9\n")
    broken, fine = spec.metrics
    assert broken.threshold is None and isinstance(broken.error, ThresholdError)
    assert (broken.error.path, broken.error.line) == (tmp_path / "spec.md", 3)
    assert (broken.id, fine.id) == ("SM-1", "SM-2")
    assert fine.error is None and spec.primary_metric == "roc_auc"


def test_acceptance_criteria(tmp_path):
    spec = spec_of(
        tmp_path,
        "## US-001\n**AC-US1-01**: Recommendations are shown\n- [ ] **AC-US1-02**: Fast (p95 < 100ms)\n"
        "- [x] **AC-US1-03:** Explained\n- AC-US2-01: plain\nSee AC-US1-01 for details.\n**AC-US1-01**: again\n",
    )
    assert [(ac.id, ac.text, ac.line, ac.checked) for ac in spec.acceptance_criteria] == [
        ("AC-US1-01", "Recommendations are shown", 2, None),
        ("AC-US1-02", "Fast (p95 < 100ms)", 3, False),
        ("AC-US1-03", "Explained", 4, True),
        ("AC-US2-01", "plain", 5, None),
    ]
    assert spec.metrics == []


def test_an_acceptance_criterion_in_a_metrics_section_is_not_a_metric(tmp_path):
    spec = spec_of(tmp_path, "## Success Criteria\n- [ ] **AC-US1-01**: precision@10 > 0.25\n")
    assert spec.metrics == [] and [ac.id for ac in spec.acceptance_criteria] == ["AC-US1-01"]


def test_frontmatter_primary_metric_and_directions(tmp_path):
    spec = spec_of(
        tmp_path,
        "---\nprimary_metric: Precision_at_10\ndirections:\n  Coverage-Ratio: higher\n  cv_spread: minimize\n---\n"
        "# Spec\n## Success Metrics\n- AUC >= 0.9\n- cv_spread 2%\n",
    )
    assert spec.frontmatter["primary_metric"] == "Precision_at_10"
    assert spec.primary_metric == "precision@10"
    assert spec.directions == {"coverage_ratio": "higher", "cv_spread": "lower"}
    assert spec.metrics[1].threshold.op == "<="  # the declared direction reached the parser
    assert [m.line for m in spec.metrics] == [9, 10]


def test_no_frontmatter_no_metrics(tmp_path):
    spec = spec_of(tmp_path, "# Plain spec\nNothing to measure.\n")
    assert (spec.frontmatter, spec.metrics, spec.primary_metric, spec.directions, spec.problems) == ({}, [], None, {}, [])


def test_bad_frontmatter_is_a_problem_and_the_body_is_still_read(tmp_path):
    spec = spec_of(tmp_path, "---\nprimary_metric: [unclosed\n---\n## Success Metrics\n- AUC > 0.9\n")
    assert len(spec.problems) == 1
    problem = spec.problems[0]
    assert type(problem) is SourceError and problem.path == tmp_path / "spec.md" and problem.line in (2, 3)
    assert texts(spec) == ["AUC > 0.9"]


@pytest.mark.parametrize(
    "frontmatter, line",
    [
        ("title: x\ndirections:\n  auc: sideways\n", 3),
        ("directions: [auc]\n", 2),
        ("primary_metric: 3\n", 2),
    ],
)
def test_bad_frontmatter_values_are_problems(tmp_path, frontmatter, line):
    spec = spec_of(tmp_path, f"---\n{frontmatter}---\n# Spec\n")
    assert [problem.line for problem in spec.problems] == [line]


def test_a_file_with_a_byte_that_is_not_utf8_is_read(tmp_path):
    path = tmp_path / "spec.md"
    path.write_bytes(b"# Spec \x80\n")
    spec = parse_spec(path)
    assert spec.title == "Spec \ufffd" and spec.problems == []


def test_an_acceptance_criterion_continued_on_indented_lines_keeps_its_whole_text(tmp_path):
    path = tmp_path / "spec.md"
    path.write_text(
        "## User Stories\n"
        "- [ ] **AC-US1-01**: three candidate algorithms are compared with random and popularity\n"
        "  baselines on validation, and the best is tuned on validation\n"
        "- [ ] **AC-US1-02**: the chosen model is evaluated once\n"
        "\n"
        "Some prose after.\n"
    )
    spec = parse_spec(path)
    assert [ac.text for ac in spec.acceptance_criteria] == [
        "three candidate algorithms are compared with random and popularity baselines on validation, "
        "and the best is tuned on validation",
        "the chosen model is evaluated once",
    ]
