"""spec.md: the success metrics an increment must meet, its acceptance criteria, its frontmatter.

Success metrics are read from
  (a) a `Success metrics:` line (a list item or bold key too), split on commas and semicolons into
      one metric per threshold; when the line says nothing after the colon, the list right below it;
  (b) list items and `Key: value` lines under a heading that says Success Metrics, Success Criteria
      or Model Requirements, down to the next heading of the same or a higher level.
Only lines that look like a threshold are metrics; the others are prose. A threshold that cannot be
read is kept as a metric with its error, never raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError, ThresholdError
from . import metric_names, source, thresholds
from .skipped import Skipped, line_skipped
from .thresholds import Threshold

_SECTION = re.compile(r"success[ \t]+metrics?|success[ \t]+criteria|model[ \t]+requirements", re.IGNORECASE)
_SUCCESS_KEYS = ("success metrics", "success metric")
_SEPARATOR = re.compile(r"[;,]")
_AC_ID = re.compile(r"AC-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![A-Za-z0-9_])")
_LEADING_MARKS = re.compile(r"^(?:[✅✔☑❌⬜🔄⏳🚧⚠]\ufe0f?[ \t]*)+")
NOT_A_THRESHOLD = "no comparator, baseline ratio or number with a unit: read as prose, not a success metric"
_DIRECTIONS = {"higher": "higher", "max": "higher", "maximize": "higher", "lower": "lower", "min": "lower", "minimize": "lower"}


@dataclass
class SuccessMetric:
    id: str  # "SM-1", "SM-2" ... in file order
    text: str  # the line as written (list marker and surrounding ** stripped)
    path: Path
    line: int
    threshold: Threshold | None = None
    error: ThresholdError | None = None  # set instead when it looks like a threshold but cannot be read
    key: str | None = None  # the key of a `Key: value` line


@dataclass
class AcceptanceCriterion:
    id: str  # "AC-US1-01"
    text: str
    path: Path
    line: int
    checked: bool | None = None  # the checkbox in front of it, None when there is none


@dataclass
class Spec:
    path: Path
    frontmatter: dict = field(default_factory=dict)
    metrics: list[SuccessMetric] = field(default_factory=list)
    acceptance_criteria: list[AcceptanceCriterion] = field(default_factory=list)
    primary_metric: str | None = None  # canonical: frontmatter primary_metric, else the first metric's
    directions: dict[str, str] = field(default_factory=dict)  # canonical metric -> "higher" | "lower"
    title: str | None = None  # the first `# ` heading
    problems: list[SourceError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # lines where a success metric belongs that are none


def parse_spec(path: str | Path) -> Spec:
    """Parse spec.md. Raises SourceError only when the file cannot be read as UTF-8 text."""
    path = Path(path)
    return parse_spec_lines(source.read_markdown(path), path)


def parse_spec_lines(lines: list[str], path: Path) -> Spec:
    spec = Spec(path)
    try:
        spec.frontmatter, body = source.split_frontmatter(lines, path)
    except SourceError as error:
        spec.problems.append(error)
        body = source.frontmatter_end(lines)
    spec.directions = _directions(spec, lines)
    primary = spec.frontmatter.get("primary_metric")
    if isinstance(primary, str) and metric_names.canonical(primary):
        spec.primary_metric = metric_names.canonical(primary)
    elif primary is not None:
        spec.problems.append(
            SourceError("frontmatter `primary_metric` must name a metric", path, _frontmatter_line(lines, "primary_metric"))
        )
    _read_body(spec, lines, body)
    if spec.primary_metric is None:
        spec.primary_metric = next(
            (m.threshold.metric for m in spec.metrics if m.threshold is not None and m.threshold.metric), None
        )
    return spec


def _read_body(spec: Spec, lines: list[str], body: int) -> None:
    section_level: int | None = None  # inside a Success Metrics / Model Requirements section
    list_after_label = False  # right below an empty `Success metrics:` line
    continued = None  # the acceptance criterion whose indented continuation lines come next
    for lineno, text in source.outside_fences(lines, body):
        found_heading = source.heading(text)
        if continued is not None and found_heading is None and text[:1] in (" ", "\t") and text.strip() \
                and source.list_item(text) is None:
            continued.text = f"{continued.text} {text.strip()}"
            continue
        continued = None
        if found_heading is not None:
            level, title = found_heading
            if spec.title is None and level == 1:
                spec.title = source.strip_emphasis(title)
            list_after_label = False
            if section_level is not None and level <= section_level:
                section_level = None
            if section_level is None and _SECTION.search(title):
                section_level = level
            continue
        item = source.list_item(text)
        content = item[1] if item is not None else text.strip()
        if not content:
            continue
        box = source.checkbox(content)
        if box is not None:
            content = box[1]
        if _read_acceptance_criterion(spec, content, lineno, box):
            found = spec.acceptance_criteria[-1]
            continued = found if found.line == lineno else None
            continue
        pair = source.key_value(content)
        if pair is not None and " ".join(pair[0].lower().split()) in _SUCCESS_KEYS:
            if pair[1]:
                for part in _split_metrics(pair[1]):
                    _add_metric(spec, part, None, lineno)
            else:
                list_after_label = True
            continue
        if list_after_label and item is None:
            list_after_label = False
        if section_level is None and not list_after_label:
            continue
        if pair is not None:
            key, value = pair
            if value:
                _add_metric(spec, value, source.strip_emphasis(key), lineno)
        elif item is not None:
            _add_metric(spec, content, None, lineno)


def _split_metrics(text: str) -> list[str]:
    """The parts of a `Success metrics:` value between semicolons and commas (not the comma of 1,000)."""
    parts, start = [], 0
    for found in _SEPARATOR.finditer(text):
        at = found.start()
        if text[at] == "," and 0 < at < len(text) - 1 and text[at - 1].isdecimal() and text[at + 1].isdecimal():
            continue
        parts.append(text[start:at].strip())
        start = at + 1
    parts.append(text[start:].strip())
    return parts


def _add_metric(spec: Spec, text: str, key: str | None, lineno: int) -> None:
    text = _LEADING_MARKS.sub("", source.strip_emphasis(text)).strip()
    if text and not thresholds.looks_like_threshold(text):
        spec.skipped.append(line_skipped(spec.path, lineno, f"{key}: {text}" if key else text, NOT_A_THRESHOLD))
    if not text or not thresholds.looks_like_threshold(text):
        return
    metric = SuccessMetric(
        id=f"SM-{len(spec.metrics) + 1}",
        text=f"{key}: {text}" if key else text,
        path=spec.path,
        line=lineno,
        key=key,
    )
    try:
        metric.threshold = thresholds.parse_threshold(text, key=key, directions=spec.directions or None)
    except ThresholdError as error:
        metric.error = error.located(spec.path, lineno)
    spec.metrics.append(metric)


def _read_acceptance_criterion(spec: Spec, content: str, lineno: int, box) -> bool:
    bold = content[:2] if content[:2] in ("**", "__") else ""
    match = _AC_ID.match(content, len(bold))
    if not match:
        return False
    rest = content[match.end() :]
    if bold:
        if rest.startswith(":" + bold):
            rest = rest[len(bold) + 1 :]
        elif rest.startswith(bold) and rest[len(bold) :].lstrip().startswith(":"):
            rest = rest[len(bold) :].lstrip()[1:]
        else:
            return False
    elif rest.lstrip().startswith(":"):
        rest = rest.lstrip()[1:]
    else:
        return False
    if all(ac.id != match.group(0) for ac in spec.acceptance_criteria):
        checked = None if box is None else box[0] in "xX"
        spec.acceptance_criteria.append(AcceptanceCriterion(match.group(0), rest.strip(), spec.path, lineno, checked))
    return True


def _directions(spec: Spec, lines: list[str]) -> dict[str, str]:
    declared = spec.frontmatter.get("directions")
    if declared is None:
        return {}
    line = _frontmatter_line(lines, "directions")
    if not isinstance(declared, dict):
        spec.problems.append(SourceError("frontmatter `directions` must map metric names to higher or lower", spec.path, line))
        return {}
    directions = {}
    for name, value in declared.items():
        word = _DIRECTIONS.get(str(value).strip().lower())
        if word is None or not str(name).strip():
            spec.problems.append(
                SourceError(f"frontmatter `directions`: {name}: {value!r} is not higher or lower", spec.path, line)
            )
            continue
        directions[metric_names.canonical(str(name))] = word
    return directions


def _frontmatter_line(lines: list[str], key: str) -> int:
    """The 1-based line of a top-level frontmatter key (the first line when it cannot be found)."""
    pattern = re.compile(rf"^{re.escape(key)}[ \t]*:")
    end = source.frontmatter_end(lines)
    return next((index + 1 for index in range(1, max(end - 1, 1)) if pattern.match(lines[index])), 1)
