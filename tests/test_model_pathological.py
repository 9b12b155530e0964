"""Lines no person writes: long runs of spaces, tabs, backticks, dashes, stars and status words.

The patterns that read them used to try a run once per position in it (quadratic, or cubic for
backticks); they are linear now. Time is measured in benchmarks/parsing.py only, never here: these
tests pin what the rewritten readers return, on the long runs and, for short lines, against the
patterns they replace.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_specweave.model import source
from pytest_specweave.model.criteria import parse_criterion_lines
from pytest_specweave.model.spec import parse_spec_lines
from pytest_specweave.model.tasks import parse_task_lines, strip_status_markers
from pytest_specweave.model.thresholds import looks_like_threshold, parse_threshold

N = 20_000

SAME = settings(derandomize=True, database=None, deadline=None, max_examples=800,
                suppress_health_check=[HealthCheck.too_slow])

# The patterns as they were: the rewritten readers must read short lines the same way.
OLD_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
OLD_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+(.*?))?[ \t]*$")
OLD_KEY_VALUE = re.compile(
    r"^(?P<open>\*\*|__)?(?P<key>[^\W\d_][^:<>=≤≥*`|]{0,59}?)[ \t]*"
    r"(?:(?P<close>\*\*|__)[ \t]*:|:[ \t]*(?P<close_after>\*\*|__)?)(?:[ \t]+(?P<value>.*?)|)[ \t]*$"
)


def old_heading(text):
    match = OLD_HEADING.match(text)
    return None if not match else (len(match.group(1)), (match.group(2) or "").strip())


def old_list_item(text):
    match = OLD_LIST_ITEM.match(text)
    return None if not match else (len(match.group(1).expandtabs(4)), match.group(2) or "")


def old_key_value(text):
    match = OLD_KEY_VALUE.match(text.strip())
    if not match:
        return None
    opened, closed = match.group("open"), match.group("close") or match.group("close_after")
    if (opened or None) != (closed or None):
        return None
    return match.group("key").strip(), (match.group("value") or "").strip()


def commonmark_code_spans(text):
    """Code spans by the CommonMark rule, the slow obvious way: each run looks for its twin."""
    runs = [(m.start(), len(m.group())) for m in re.finditer(r"`+", text)]
    spans, index = [], 0
    while index < len(runs):
        start, size = runs[index]
        twin = next((j for j in range(index + 1, len(runs)) if runs[j][1] == size), None)
        if twin is None:
            index += 1
            continue
        spans.append((start, runs[twin][0] + size, text[start + size : runs[twin][0]].strip()))
        index = twin + 1
    return spans


short_lines = st.lists(
    st.sampled_from(["#", "##", "-", "*", "1.", "1)", " ", "  ", "\t", "**", "__", ":", "Key", "a", "b c", "`", "``",
                     "x", "é", "\u00a0", "<", "|", "_", "2", "T-001"]),
    max_size=10,
).map("".join)


@SAME
@given(short_lines)
def test_headings_read_as_before(text):
    new, old = source.heading(text), old_heading(text)
    if old is not None and old[1] and not old[1].strip("# \t"):
        assert new == (old[0], "")  # `## ##`: an empty heading, as CommonMark reads it
    else:
        assert new == old


@SAME
@given(short_lines)
def test_list_items_read_as_before(text):
    assert source.list_item(text) == old_list_item(text)


@SAME
@given(short_lines)
def test_key_value_lines_read_as_before(text):
    assert source.key_value(text) == old_key_value(text)


@SAME
@given(st.lists(st.sampled_from(["`", "``", "```", "a", " ", "b`c", "**"]), max_size=12).map("".join))
def test_code_spans_follow_commonmark(text):
    assert source.code_spans(text) == commonmark_code_spans(text)


def test_code_spans_pair_runs_of_equal_length_only():
    assert source.code_spans("``a`b``") == [(0, 7, "a`b")]
    assert source.code_spans("```a`") == []  # nothing closes the run of three; the lone ` is literal
    assert source.code_spans("`a`` b `c`") == [(0, 8, "a`` b")]  # the last ` opens nothing


# --- long runs ------------------------------------------------------------------------------------


def test_a_run_of_backticks_is_no_code_span():
    assert source.code_spans("`" * N) == []
    assert source.code_spans("`" * N + "x" + "`" * N) == [(0, 2 * N + 1, "x")]
    assert source.code_spans("`" * N + "x" + "`" * (N - 1)) == []


def test_many_unclosed_and_closed_spans():
    assert len(source.code_spans("`x " * N)) == N // 2
    for text in ("``x` " * 1000, "`" + "``x`" * 1000, "``` `` ` " * 1000, "`a" * 1000 + "``"):
        assert source.code_spans(text) == commonmark_code_spans(text)


def test_runs_of_spaces_and_tabs_in_line_shapes():
    assert source.heading("# x" + " " * N + "y" + "\t" * N) == (1, "x" + " " * N + "y")
    assert source.heading("## Title" + " " * N + "##" + " " * N) == (2, "Title")
    assert source.heading("#" + " " * N) == (1, "")
    assert source.list_item("-" + " " * N + "x" + " \t" * N) == (0, "x")
    assert source.list_item(" " * N + "x") is None
    assert source.key_value("Key:" + " " * N + "value" + " " * N) == ("Key", "value")
    assert source.key_value("a" + " " * N + ":") == ("a", "")
    assert source.key_value("**Key:**" + " " * N + "v") == ("Key", "v")
    assert source.key_value("Key" + " " * N + "x") is None


def test_a_success_metrics_line_with_long_space_runs_splits_into_its_metrics():
    spec = parse_spec_lines(["- Success metrics: AUC > 0.8" + " " * N + ";" + " " * N + "F1 > 0.5" + " " * N],
                            Path("spec.md"))
    assert [metric.threshold.describe() for metric in spec.metrics] == ["roc_auc > 0.8", "f1 > 0.5"]
    spec = parse_spec_lines(["Success metrics: " + " ; " * N], Path("spec.md"))
    assert spec.metrics == []


def test_tasks_with_long_runs():
    lines = [
        "- [ ] T-001: Train — `pipeline.py::train`" + " " * N,
        "- [x] T-002: " + "`" * N,
        "- [ ] T-003: Tune" + " DONE" * N,
        "### T-004:" + "\t" * N + "Explain" + " " * N + "###",
        "**Status**:" + " " * N + "[x] completed" + " " * N,
        "- [ ] T-005: " + "-" * N + "> x",
    ]
    tasks = parse_task_lines(lines, Path("tasks.md")).tasks
    assert [(t.id, t.title, t.status) for t in tasks] == [
        ("T-001", "Train", "pending"), ("T-002", "`" * N, "done"), ("T-003", "Tune", "pending"),
        ("T-004", "Explain", "done"), ("T-005", "-" * N + "> x", "pending"),
    ]
    assert tasks[0].link.target == "pipeline.py::train"
    assert strip_status_markers("x" + " DONE" * N) == "x"
    assert strip_status_markers(" DONE" * N) == " DONE"


def test_criteria_with_long_runs():
    lines = ["- TC-001: precision@10 >" + " " * N + "0.25", "- TC-002: " + "`" * N + "checks.py::f",
             "- TC-003: explainability artifacts present in exp-1" + "." * N + " z"]
    criteria = parse_criterion_lines(lines, Path("tests.md")).criteria
    assert criteria[0].threshold.describe() == "precision@10 > 0.25"
    assert criteria[1].link is None and criteria[1].threshold is None
    assert criteria[2].threshold.kind == "explainability" and criteria[2].threshold.experiment is None


def test_thresholds_with_long_runs():
    assert parse_threshold("latency < 5ms " + "-" * N).describe() == "latency_p95_ms < 5 ms"
    assert parse_threshold("latency " + "-" * N + "> 5ms").describe() == "→_latency_p95_ms ≤ 5 ms"  # an arrow
    found = parse_threshold("explainability artifacts present in exp-1" + "." * N)
    assert found.experiment == "exp-1" + "." * N
    assert looks_like_threshold("x" + " is" * N + " > 5")
    with pytest.raises(Exception):
        parse_threshold("`" * N)
