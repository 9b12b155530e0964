"""Reading markdown: encodings, line ends, frontmatter, fences, comments, and line shapes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_specweave.errors import SourceError
from pytest_specweave.model import source
from pytest_specweave.model.criteria import parse_criteria
from pytest_specweave.model.spec import parse_spec, parse_spec_lines
from pytest_specweave.model.tasks import parse_tasks


def write(tmp_path: Path, data: bytes | str, name: str = "tasks.md") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# --- read_markdown --------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_line_ending_gives_the_same_lines(tmp_path, ending):
    path = write(tmp_path, ending.join(["# Title", "", "- [ ] T-001: a"]) + ending)
    assert source.read_markdown(path) == ["# Title", "", "- [ ] T-001: a"]


def test_mixed_line_endings_count_each_break_once(tmp_path):
    path = write(tmp_path, "a\r\nb\rc\nd")
    assert source.read_markdown(path) == ["a", "b", "c", "d"]


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf- [ ] T-001: a\n")
    assert source.read_markdown(path) == ["- [ ] T-001: a"]


def test_an_empty_file_has_no_lines(tmp_path):
    assert source.read_markdown(write(tmp_path, b"")) == []


def test_a_last_line_without_a_break_is_kept(tmp_path):
    assert source.read_markdown(write(tmp_path, "a\n\nb")) == ["a", "", "b"]


def test_other_unicode_separators_do_not_break_lines(tmp_path):
    # Editors count only CR and LF; a stray U+2028 must not shift line numbers.
    assert source.read_markdown(write(tmp_path, "a\u2028b\x0cc\nd")) == ["a\u2028b\x0cc", "d"]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_bytes_that_are_not_utf8_are_replaced_and_warned_of_by_line(tmp_path, ending):
    path = write(tmp_path, ending.join([b"# Tasks", b"", b"- [ ] T-001: caf\xe9", b"- [ ] T-002: b \xf0\x9f\x98", b"ok"]))
    warnings = []
    lines = source.read_markdown(path, warnings)
    assert lines == ["# Tasks", "", "- [ ] T-001: caf\ufffd", "- [ ] T-002: b \ufffd", "ok"]
    assert [(w.path, w.line) for w in warnings] == [(path, 3), (path, 4)]
    assert "0xe9" in warnings[0].message and "0xf0 0x9f 0x98" in warnings[1].message
    assert str(warnings[0]).startswith("tasks.md:3: ")
    assert [w.line for w in source.undecodable(path)] == [3, 4]


def test_lines_after_a_byte_order_mark_and_a_bad_byte(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfab\xff\nc\n\xc3")
    assert source.read_markdown(path) == ["ab\ufffd", "c", "\ufffd"]
    assert [w.line for w in source.undecodable(path)] == [1, 3]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16(tmp_path, encoding):
    path = write(tmp_path, "- [ ] T-001: a é\n- [ ] T-002: b\n".encode(encoding))
    if encoding == "utf-16":  # with its byte-order mark: decoded
        assert source.read_markdown(path) == ["- [ ] T-001: a é", "- [ ] T-002: b"]
        return
    with pytest.raises(SourceError, match="looks like UTF-16 text: save it as UTF-8") as raised:
        source.read_markdown(path)
    assert str(raised.value).startswith("tasks.md:1: ")


def test_text_with_a_few_nul_bytes_is_not_taken_for_utf16(tmp_path):
    path = write(tmp_path, b"- [ ] T-001: a\x00b\n- [ ] T-002: b\n")
    assert len(source.read_markdown(path)) == 2


def test_a_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError) as raised:
        source.read_markdown(tmp_path / "absent.md")
    assert raised.value.path == tmp_path / "absent.md"


# --- frontmatter ----------------------------------------------------------------------------------


def test_frontmatter_is_read_and_the_body_starts_after_it():
    lines = ["---", "primary_metric: precision@10", "directions:", "  cv_std: lower", "---", "# Spec"]
    data, body = source.split_frontmatter(lines)
    assert data == {"primary_metric": "precision@10", "directions": {"cv_std": "lower"}}
    assert lines[body] == "# Spec"


@pytest.mark.parametrize(
    "lines",
    [
        ["# Spec", "---", "a: 1", "---"],  # not at the top
        ["---", "a: 1"],  # never closed: a thematic break
        [],
    ],
)
def test_no_frontmatter(lines):
    assert source.split_frontmatter(lines) == ({}, 0)


def test_empty_frontmatter_is_an_empty_mapping():
    assert source.split_frontmatter(["---", "---", "body"]) == ({}, 2)


def test_frontmatter_may_close_with_dots():
    assert source.split_frontmatter(["---", "a: 1", "...", "body"]) == ({"a": 1}, 3)


def test_bad_yaml_names_its_line(tmp_path):
    lines = ["---", "title: ok", "directions: [higher", "---", "# Spec"]
    with pytest.raises(SourceError) as raised:
        source.split_frontmatter(lines, tmp_path / "spec.md")
    assert raised.value.line in (3, 4)
    assert "frontmatter is not valid YAML" in raised.value.message
    assert raised.value.path == tmp_path / "spec.md"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!timestamp x", "`!!timestamp x` is not a valid timestamp"),  # AttributeError inside PyYAML
        ("!!int", "`!!int` is not a valid int"),  # IndexError
        ("!!float", "`!!float` is not a valid float"),  # IndexError
        ("!!bool", "`!!bool` is not a valid bool"),  # KeyError
        ("!!int x", "`!!int x` is not a valid int"),  # ValueError
    ],
)
def test_a_tagged_value_yaml_cannot_build_is_a_source_error_on_its_line(value, shown):
    lines = ["---", "title: ok", f"created: {value}", "---", "# Spec"]
    with pytest.raises(SourceError) as raised:
        source.split_frontmatter(lines, "spec.md")
    assert type(raised.value) is SourceError
    assert str(raised.value) == f"spec.md:3: frontmatter is not valid YAML: {shown}"


def test_a_tagged_value_yaml_cannot_build_is_a_problem_of_the_spec_and_the_body_is_read():
    spec = parse_spec_lines(["---", "primary_metric: !!bool", "---", "## Success Metrics", "- AUC > 0.8"],
                            Path("spec.md"))
    assert [str(problem) for problem in spec.problems] == [
        "spec.md:2: frontmatter is not valid YAML: `!!bool` is not a valid bool"
    ]
    assert [metric.text for metric in spec.metrics] == ["AUC > 0.8"]


def test_frontmatter_must_be_a_mapping():
    with pytest.raises(SourceError, match="mapping"):
        source.split_frontmatter(["---", "- a", "- b", "---"])


# --- fences and comments --------------------------------------------------------------------------


def visible(text: str) -> list[tuple[int, str]]:
    return list(source.outside_fences(text.split("\n")))


def test_lines_in_backtick_and_tilde_fences_are_skipped():
    text = "a\n```python\nb\n```\nc\n~~~\nd\n~~~\ne"
    assert visible(text) == [(1, "a"), (5, "c"), (9, "e")]


def test_a_fence_closes_only_with_its_own_character_and_at_least_its_length():
    text = "````\n```\n~~~\nhidden\n````\nshown"
    assert visible(text) == [(6, "shown")]


def test_an_indented_fence_in_a_list_item_is_a_fence():
    text = "- [ ] T-001: a\n   ```bash\n   - [ ] T-002: hidden\n   ```\n- [ ] T-003: b"
    assert [n for n, _ in visible(text)] == [1, 5]


def test_triple_backticks_inside_a_line_are_inline_code_not_a_fence():
    assert [n for n, _ in visible("```x``` is code\nshown")] == [1, 2]


def test_an_unclosed_fence_runs_to_the_end():
    assert visible("a\n```\nb\nc") == [(1, "a")]


def test_fences_nested_with_same_length_markers_are_read_as_nested():
    # SpecWeave writes markdown examples that hold code blocks with fences of the same length.
    text = "\n".join(
        ["```markdown", "### Example", "```typescript", "code()", "```", "more example", "```", "### T-002: real"]
    )
    assert visible(text) == [(8, "### T-002: real")]


def test_nested_reading_is_dropped_when_it_would_leave_a_fence_open():
    # CommonMark: the bare ``` closes the outer fence; reading it as nested would hide the rest.
    text = "\n".join(["```markdown", "1. step", "   ```typescript", "   x()", "   ```", "shown", "```js", "y", "```", "end"])
    assert [n for n, _ in visible(text)] == [6, 10]


def test_html_comments_are_skipped_across_lines():
    text = "a\n<!--\n- [ ] T-001: hidden\n-->\nb <!-- note --> c\nd <!-- open\nhidden\nclose --> e"
    assert visible(text) == [(1, "a"), (5, "b  c"), (6, "d "), (8, " e")]


def test_a_comment_marker_inside_inline_code_is_text():
    assert visible("use `<!--` to start\nnext") == [(1, "use `<!--` to start"), (2, "next")]


def test_a_fence_inside_a_comment_is_no_fence():
    assert visible("<!--\n```\n-->\nshown") == [(4, "shown")]


def test_start_skips_lines_and_numbers_stay_true():
    assert list(source.outside_fences(["a", "b", "c"], 1)) == [(2, "b"), (3, "c")]


# --- line shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("**Status**: [x] done", ("Status", "[x] done")),
        ("**Status:** pending", ("Status", "pending")),
        ("Status: pending", ("Status", "pending")),
        ("**Status**:", ("Status", "")),
        ("**Latency**: <100ms inference", ("Latency", "<100ms inference")),
        ("Precision@10: > 0.3", ("Precision@10", "> 0.3")),
        ("http://example.com", None),
        ("12:30 am", None),
        ("Key:value", None),
        ("Accuracy >= 0.9: strict", None),
        ("**Bold** text: x", None),
    ],
)
def test_key_value(text, expected):
    assert source.key_value(text) == expected


def test_headings_lists_checkboxes_and_code_spans():
    assert source.heading("### T-004: Train ##") == (3, "T-004: Train")
    assert source.heading("#hashtag") is None
    assert source.heading("####### seven") is None
    assert source.list_item("  1. x") == (2, "x")
    assert source.list_item("* [ ] y") == (0, "[ ] y")
    assert source.list_item("---") is None
    assert source.checkbox("[X] T-001") == ("X", "T-001")
    assert source.checkbox("[P] T-001") is None
    assert source.code_spans("run `a.py::f` and ``b`c``") == [(4, 13, "a.py::f"), (18, 25, "b`c")]


# --- any text: parsed, or a SourceError with a line -----------------------------------------------

_MARKDOWN_LINES = [
    "---", "primary_metric: precision@10", "directions: {cv_std: lower}", "directions: [", "...",
    "# Title", "## Success Metrics", "## Model Requirements", "### Tasks", "#### T-004: Train ✅",
    "- Success metrics: Precision@10 > 0.25, Recall@10 > 0.15", "**Success metrics**:",
    "- Latency: <100ms inference", "- **Throughput**: 1000 req/sec", "- Accuracy: Better than random baseline by 3x",
    "- [ ] T-001: Data exploration — `notebooks/01-eda.ipynb`", "- [x] T-002 Train — `pipeline.py::train`",
    "* [~] **T-003**: tune", "1. [-] T-004: drop", "- T-005: summary", "- T-006 depends on T-005",
    "**Status**: [x] completed", "**Status**:", "- [x] Completed", "- [ ] step", "**Depends on**: T-001, T-002",
    "**Run**: `pipeline.py::train_candidates`", "**Satisfies ACs**: AC-US1-01", "**User Story**: US-001",
    "**AC-US1-01**: it works", "- [ ] **AC-US1-02**: fast", "| T-001 | done |", "```", "~~~", "````markdown",
    "```python", "<!--", "-->", "<!-- c -->", "- TC-001: precision@10 > 0.25", "### TC-002: ranking",
    "**Metric**: ndcg@10 >= 0.4", "**Metric**: > > >", "- TC-003: it feels good — `checks.py::check`",
    "**TC-004**: explainability artifacts present", "- TC-005: MAPE < 10%", "", "   ", "\t- nested",
]


@st.composite
def documents(draw) -> bytes:
    lines = draw(st.lists(st.one_of(st.sampled_from(_MARKDOWN_LINES), st.text(max_size=40)), max_size=30))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(line.replace("\r", "").replace("\n", "") for line in lines)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 4)) == 0:  # now and then, bytes that are not UTF-8
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9x", b"\xed\xa0\x80"])) + data[at:]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents())
def test_any_file_parses_or_raises_a_source_error_with_a_line(data):
    with tempfile.TemporaryDirectory() as folder:
        for name, parse in (("spec.md", parse_spec), ("tasks.md", parse_tasks), ("tests.md", parse_criteria)):
            path = Path(folder) / name
            path.write_bytes(data)
            try:
                parsed = parse(path)
            except SourceError as error:
                assert type(error) is SourceError  # not a ThresholdError escaping a parser
                assert source._looks_like_utf16(data)  # bytes that are not UTF-8 are read as U+FFFD
                assert error.path == path and isinstance(error.line, int) and error.line >= 1
                continue
            count = len(source.read_markdown(path))
            items = getattr(parsed, "metrics", None) or getattr(parsed, "tasks", None) or getattr(parsed, "criteria", None) or []
            for item in items:
                assert 1 <= item.line <= count
            for problem in parsed.problems:
                assert type(problem) is SourceError and problem.path == path
