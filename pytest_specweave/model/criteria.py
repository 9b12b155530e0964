"""tests.md: evaluation criteria, each a threshold, an artifact check, or a link to a check function.

    - TC-001: precision@10 > 0.25
    - TC-005: no leakage between train and validation — `checks.py::check_no_leakage`

    ### TC-006: Ranking quality
    **Metric**: ndcg@10 >= 0.4
    **Run**: `checks.py::check_ranking`

Criterion ids start with `TC` (`TC-001`, `TC001`, `TC-US1-01`, `TC-001.1`); other prefixes are not
read, so that a tests.md full of prose and test plans yields no stray items. A criterion starts a
heading, a list item (a checkbox is allowed; without one the id needs a colon), or a paragraph line
`**TC-002**: text`. Its threshold is the `Metric:` field when there is one, else its text without the
link. Text that does not look like a threshold is a prose criterion: no threshold and no error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError, ThresholdError
from . import source, thresholds
from .skipped import Skipped, line_skipped
from .tasks import Link, hidden_items, hidden_skipped, link_in_field, link_on_line, match_item_start, why_not_an_item
from .thresholds import Threshold

CRITERION_ID = re.compile(
    r"[Tt][Cc]-?(?:[A-Za-z][A-Za-z0-9]*-)?\d+[A-Za-z]?(?:[.-][A-Za-z0-9]+)*(?![A-Za-z0-9_])"
)
# What starts a line that looks like a criterion: TC, an optional dash or underscore, letters, a digit.
CRITERION_ID_LIKE = re.compile(r"[Tt][Cc][-_]?[A-Za-z]*\d[\w.]*(?:-[\w.]+)*")
_FIELDS = {"metric": "metric", "threshold": "metric", "run": "run"}
_FIELD_SEPARATOR = re.compile(r"[ \t]\|[ \t]")


@dataclass
class Criterion:
    id: str  # "TC-001"
    title: str
    path: Path
    line: int
    threshold: Threshold | None = None
    error: ThresholdError | None = None
    link: Link | None = None
    occurrences: list[int] = field(default_factory=list)
    metric_text: str | None = None  # the `Metric:` field as written
    metric_line: int | None = None
    form: str = "list"  # "list" | "heading" | "paragraph"
    broken_link: bool = False  # it names code in a way that would never run (a problem says how)


@dataclass
class CriterionList:
    path: Path
    criteria: list[Criterion]
    problems: list[SourceError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # lines shaped like criteria that are none, with why

    def get(self, criterion_id: str) -> Criterion | None:
        return next((criterion for criterion in self.criteria if criterion.id == criterion_id), None)


def parse_criteria(path: str | Path, directions: dict[str, str] | None = None) -> CriterionList:
    """Parse tests.md. Raises SourceError only when the file cannot be read as UTF-8 text.

    `directions` (metric -> higher/lower, from spec.md) is passed on to the threshold parser.
    """
    path = Path(path)
    return parse_criterion_lines(source.read_markdown(path), path, directions)


def parse_criterion_lines(lines: list[str], path: Path, directions: dict[str, str] | None = None) -> CriterionList:
    parser = _CriterionParser(path)
    start = source.frontmatter_end(lines)
    code = source.fenced_lines(lines, start)
    for lineno, text in source.outside_fences(lines, start, code):
        parser.feed(lineno, text)
    parser.close()
    parser.problems.extend(hidden_items(lines, start, path, CRITERION_ID, "criterion", code))
    criteria: dict[str, Criterion] = {}
    for found in parser.found:
        known = criteria.get(found.id)
        if known is not None:
            known.occurrences.append(found.line)
            continue
        _judge(found, directions)
        found.occurrences = [found.line]
        criteria[found.id] = found
    skipped = parser.skipped + hidden_skipped(lines, start, path, CRITERION_ID_LIKE, "criterion", code)
    return CriterionList(path, list(criteria.values()), parser.problems, sorted(skipped, key=lambda r: r.line))


def _judge(criterion: Criterion, directions: dict[str, str] | None) -> None:
    """Set the criterion's threshold, or the error that keeps it from having one."""
    line = criterion.line
    if criterion.broken_link and criterion.metric_text is None:
        return  # the writer meant a check to run, not the text around it as a threshold
    if criterion.metric_text is not None:
        text, key = criterion.metric_text, None
        line = criterion.metric_line or line
    else:
        text = criterion.title
        pair = source.key_value(text)
        key = None
        if pair is not None and pair[1] and thresholds.looks_like_threshold(pair[1]):
            key, text = pair
        elif not thresholds.looks_like_threshold(text):
            return
    try:
        criterion.threshold = thresholds.parse_threshold(text, key=key, directions=directions or None)
    except ThresholdError as error:
        criterion.error = error.located(criterion.path, line)


class _CriterionParser:
    def __init__(self, path: Path):
        self.path = path
        self.found: list[Criterion] = []
        self.problems: list[SourceError] = []
        self.current: Criterion | None = None
        self.level = 0  # heading level or list indent of the current criterion
        self.skipped: list[Skipped] = []

    def feed(self, lineno: int, text: str) -> None:
        found_heading = source.heading(text)
        if found_heading is not None:
            level, content = found_heading
            if self.current and (self.current.form != "heading" or level <= self.level):
                self.close()
            started = match_item_start(content, CRITERION_ID, need_colon=False) if level >= 2 else None
            if started:
                self.start(lineno, started, "heading", level)
            else:
                self.skip(lineno, text, content, "heading", level)
            return
        item = source.list_item(text)
        if item is not None:
            indent, content = item
            box = source.checkbox(content)
            if box is not None:
                started = match_item_start(box[1], CRITERION_ID, need_colon=False)
            else:
                started = match_item_start(content, CRITERION_ID, need_colon=True)
            if started:
                self.close()
                self.start(lineno, started, "list", indent)
                return
            if self.current is None or (self.current.form != "heading" and indent <= self.level):
                self.skip(lineno, text, box[1] if box is not None else content, "checkbox" if box else "list", 0)
        elif text.strip():
            started = match_item_start(text.strip(), CRITERION_ID, need_colon=True)
            if started and source.indent_of(text) < 4:
                self.close()
                self.start(lineno, started, "paragraph", -1)
                self.close()  # a paragraph criterion is one line
                return
        if self.current is None:
            return
        if self.current.form != "heading" and text.strip() and source.indent_of(text) <= self.level:
            self.close()
            return
        content = item[1] if item is not None else text.strip()
        for part in _FIELD_SEPARATOR.split(content):
            pair = source.key_value(part)
            if pair is not None:
                self.read_field(*pair, lineno)

    def skip(self, lineno: int, text: str, content: str, form: str, level: int) -> None:
        reason = why_not_an_item(content, form, level, CRITERION_ID, CRITERION_ID_LIKE, "criterion")
        if reason is not None:
            self.skipped.append(line_skipped(self.path, lineno, text, reason))

    def start(self, lineno: int, started: tuple[str, str, str], form: str, level: int) -> None:
        criterion_id, rest, _ = started
        link, title, problems = link_on_line(rest, lineno)
        self.problems.extend(SourceError(message, self.path, lineno) for message in problems)
        title = source.strip_emphasis(title) if title.startswith(("**", "__")) else title.strip()
        self.current = Criterion(criterion_id, title, self.path, lineno, link=link, form=form,
                                 broken_link=link is None and bool(problems))
        self.level = level
        self.found.append(self.current)

    def read_field(self, key: str, value: str, lineno: int) -> None:
        name = _FIELDS.get(" ".join(key.lower().split()))
        criterion = self.current
        if name == "metric" and criterion.metric_text is None and value:
            criterion.metric_text = source.strip_emphasis(value).strip("`").strip()
            criterion.metric_line = lineno
        elif name == "run" and criterion.link is None:
            criterion.link, problem = link_in_field(value, lineno)
            if problem:
                self.problems.append(SourceError(problem, self.path, lineno))
                criterion.broken_link = True

    def close(self) -> None:
        self.current = None
