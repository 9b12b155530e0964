"""Fuzzing every parser: whatever the markdown, a parser returns, or raises the project's own error.

One test per parser: spec.md, tasks.md, tests.md, the threshold language and YAML frontmatter.
The inputs mix markdown-ish fragments (headings, checklist items, fields, code spans, frontmatter
with YAML tags, unicode, runs of whitespace and backticks) with random text. The settings are
deterministic (`derandomize=True`, no example database), so CI runs the same examples every time;
the example counts are those that find the known crash classes (YAML tags in frontmatter:
`!!timestamp x`, an empty `!!int`/`!!float`, an empty `!!bool`) within a few seconds.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_specweave.errors import SourceError, ThresholdError
from pytest_specweave.model import source
from pytest_specweave.model.criteria import parse_criterion_lines
from pytest_specweave.model.spec import parse_spec_lines
from pytest_specweave.model.tasks import parse_task_lines
from pytest_specweave.model.thresholds import Threshold, looks_like_threshold, parse_threshold

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- what the inputs are made of ------------------------------------------------------------------

# Mostly YAML that parses, so that the values reach the constructors; now and then YAML that does not.
SCALAR_TAGS = ["!!int", "!!float", "!!bool", "!!timestamp", "!!str", "!!null", ""]
OTHER_TAGS = ["!!binary", "!!set", "!!seq", "!!map", "!!omap", "!!python/name:os.system", "!foo"]
SCALARS = ["", "x", "1", "0.5", "yes", "_", "2025-01-01", "2025-13-45 25:61", "1e999", ".inf", "0x1f", "~", "é",
           "０.９", "'quoted'"]
ODD_VALUES = ["[a, b]", "{a: 1}", "&a [*a]", "*a", "\"dq", "|", ">", "{higher: [x]}"]
KEYS = ["primary_metric", "directions", "title", "increment", "status", "a"]
ODD_KEYS = ["? [a]", "<<", "- item", "", "  nested"]
MARKDOWN = [
    "# Title", "## Success Metrics", "### Model Requirements", "## Tasks", "### T-004: Train ✅", "#### TC-006: x",
    "- Success metrics: Precision@10 > 0.25, Recall@10 > 0.15", "**Success metrics**:", "Success metrics: ",
    "- Latency: <100ms inference", "- **Throughput**: 1000 req/sec", "- Accuracy: Better than random baseline by 3x",
    "- [ ] T-001: Data exploration — `notebooks/01-eda.ipynb`", "- [x] T-002 Train — `pipeline.py::train`",
    "* [~] **T-003**: tune", "1. [-] T-004: drop", "- T-005: summary", "- T-006 depends on T-005",
    "**Status**: [x] completed", "**Status**:", "- [x] Completed", "- [ ] step", "**Depends on**: T-001, T-002",
    "**Run**: `pipeline.py::train_candidates`", "**Run**: pipeline.py", "**Satisfies ACs**: AC-US1-01",
    "**User Story**: US-001", "**AC-US1-01**: it works", "- [ ] **AC-US1-02**: fast", "| T-001 | done |",
    "```", "~~~", "````markdown", "```python", "<!--", "-->", "<!-- c -->", "- TC-001: precision@10 > 0.25",
    "### TC-002: ranking", "**Metric**: ndcg@10 >= 0.4", "**Metric**: > > >", "- TC-003: ok — `checks.py::check`",
    "- TC-005: no leakage — `checks.py::check_no_leakage", "- TC-007: `data.csv::f`", "- TC-008: checks.py::check",
    "**TC-004**: explainability artifacts present", "- TC-009: MAPE < 10", "- accuracy ≧ ０.９", "- x > 1e999",
    "- accuracy > 0.8 banana", "", "   ", "\t- nested", "---", "...",
]
TEXT_BITS = ["`", "``", "```", "**", "__", "*", "#", "- ", "[ ]", "[x]", "T-001", "TC-001", ":", "::", ".py", " ",
             "\t", "\u00a0", "\u3000", ">", ">=", "≥", "≧", "<", "%", "0.5", "1,000", "ms", "é", "🔄", "✅", "—",
             "|", "<!--", "-->", "\\", "x"]


@st.composite
def runs(draw) -> str:
    """A run of one character: whitespace, backticks, stars, dashes, digits."""
    return draw(st.sampled_from(" \t`*_-#:>1.,")) * draw(st.integers(1, 200))


fragment_text = st.lists(st.sampled_from(TEXT_BITS), max_size=12).map("".join)
line = st.one_of(
    st.sampled_from(MARKDOWN),
    fragment_text,
    st.tuples(st.sampled_from(MARKDOWN), runs(), st.sampled_from(MARKDOWN)).map("".join),
    st.text(max_size=30),
).map(lambda text: text.replace("\r", "").replace("\n", ""))


@st.composite
def yaml_line(draw) -> str:
    key = draw(st.sampled_from(KEYS) if draw(st.integers(0, 9)) else st.sampled_from(ODD_KEYS))
    tag = draw(st.sampled_from(SCALAR_TAGS) if draw(st.integers(0, 7)) else st.sampled_from(OTHER_TAGS))
    value = draw(st.sampled_from(SCALARS) if draw(st.integers(0, 7)) else st.sampled_from(ODD_VALUES))
    return f"{key}: {tag} {value}".rstrip() if key else f"{tag} {value}".rstrip()


@st.composite
def frontmatter(draw) -> list[str]:
    mixed = draw(st.integers(0, 3)) == 0  # now and then markdown or random text among the YAML
    lines = draw(st.lists(st.one_of(yaml_line(), line) if mixed else yaml_line(), max_size=6))
    return ["---", *lines, draw(st.sampled_from(["---", "...", "--- ", "---"]))]


@st.composite
def documents(draw) -> list[str]:
    head = draw(frontmatter()) if draw(st.integers(0, 3)) else []
    return head + draw(st.lists(line, max_size=25))


def _check_problems(problems, path: Path, count: int) -> None:
    for problem in problems:
        assert isinstance(problem, SourceError), problem
        assert problem.path == path, problem
        assert problem.line is None or 1 <= problem.line <= max(count, 1), problem


# --- the tests ------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=400)
@given(lines=documents())
def test_any_spec_md_parses(lines):
    path = Path("spec.md")
    spec = parse_spec_lines(lines, path)
    _check_problems(spec.problems, path, len(lines))
    for metric in spec.metrics:
        assert 1 <= metric.line <= len(lines)
        assert (metric.threshold is None) != (metric.error is None)
        if metric.error is not None:
            assert metric.error.path == path and metric.error.line == metric.line


@settings(FUZZ, max_examples=300)
@given(lines=documents())
def test_any_tasks_md_parses(lines):
    path = Path("tasks.md")
    task_list = parse_task_lines(lines, path)
    _check_problems(task_list.problems, path, len(lines))
    for task in task_list.tasks:
        assert 1 <= task.line <= len(lines)


@settings(FUZZ, max_examples=300)
@given(lines=documents())
def test_any_tests_md_parses(lines):
    path = Path("tests.md")
    criteria = parse_criterion_lines(lines, path, {"coverage_gap": "lower"})
    _check_problems(criteria.problems, path, len(lines))
    for criterion in criteria.criteria:
        assert 1 <= criterion.line <= len(lines)
        if criterion.error is not None:
            assert criterion.error.path == path and criterion.error.line is not None


THRESHOLD_BITS = [
    "precision@10", "AUC", "MAPE", "accuracy", "latency", "throughput", "of", "exp-003", ">", ">=", "<", "≤", "≥",
    "≧", "≦", "⩾", "⩽", "=", "=>", "at least", "under", "0.25", "０.９", "1,000", "1k", "3x", "20%", "%", "$",
    "ms", "req/sec", "+", "better than", "by", "random", "baseline", "increment", "0041", "artifact", "present",
    "explainability artifacts", "`", "**", "-", "1e999", "-1e999", "nan", "inf", ".5", "10", "banana", "(p95)",
    "inference", "is", "the", " ", "   ", "\t",
]


@settings(FUZZ, max_examples=500)
@given(
    text=st.one_of(
        st.lists(st.sampled_from(THRESHOLD_BITS), max_size=8).map(" ".join),
        st.lists(st.sampled_from(THRESHOLD_BITS), max_size=8).map("".join),
        st.text(max_size=30),
    ),
    key=st.one_of(st.none(), st.sampled_from(["Latency", "Accuracy", "MAPE", "Throughput", "x", ""])),
)
def test_any_threshold_text_parses_or_raises_threshold_error(text, key):
    assert looks_like_threshold(text) in (True, False)
    try:
        threshold = parse_threshold(text, key=key, directions={"coverage_gap": "lower"})
    except ThresholdError:
        return
    assert isinstance(threshold, Threshold)
    assert isinstance(threshold.describe(), str)


@settings(FUZZ, max_examples=300)
@given(lines=frontmatter())
def test_any_frontmatter_is_a_mapping_or_a_source_error_with_a_line(lines):
    path = Path("spec.md")
    try:
        data, body = source.split_frontmatter(lines, path)
    except SourceError as error:
        assert type(error) is SourceError
        assert error.path == path and error.line is not None and 1 <= error.line <= len(lines)
        return
    assert isinstance(data, dict)
    assert 0 <= body <= len(lines)
