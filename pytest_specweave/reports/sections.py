"""A team's own section of an increment's reports (the `pytest_specweave_report_sections` hook).

A `ReportSection` is what an implementation returns: its markdown (and charts) go into
COMPLETION-SUMMARY.md after the built-in sections, its `json` value into the JSON report under
the increment's "sections" (keyed by title), its `step_summary` text into the CI step summary.
The built-in sections are not written this way: they read the shared judgement, this run's
results and the charts in a fixed order, and stay in summary.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ReportSection:
    """One section of an increment's reports; every part is optional but the title.

    title: the section's heading in COMPLETION-SUMMARY.md and its key in the JSON report.
    markdown: the section's body in COMPLETION-SUMMARY.md (under `## title`).
    charts: image files the implementation wrote into `charts_dir` (names or paths), linked below the markdown.
    json: any JSON value, for the JSON report (`--sw-json`).
    step_summary: markdown for the CI step summary ($GITHUB_STEP_SUMMARY), under the increment's verdicts.
    """

    title: str
    markdown: str = ""
    charts: list[str | Path] = field(default_factory=list)
    json: Any = None
    step_summary: str = ""


@dataclass
class SectionFailure:
    """An implementation that raised (or answered something else): said in its sections' place."""

    who: str  # the conftest.py (relative to the rootdir) or the plugin's name
    error: str  # "ValueError: no data"

    def line(self) -> str:
        return f"> ⚠️ A report section could not be written: pytest_specweave_report_sections in {self.who} " \
               f"raised {self.error}"


def summary_lines(sections: list[ReportSection | SectionFailure], increment_dir: Path) -> list[str]:
    """The sections' markdown for COMPLETION-SUMMARY.md, a failure's line in its place; charts linked relative to it."""
    lines: list[str] = []
    for section in sections:
        if isinstance(section, SectionFailure):
            lines += [section.line(), ""]
            continue
        lines += [f"## {section.title}", ""]
        if section.markdown.strip():
            lines += [section.markdown.strip("\n"), ""]
        for chart in section.charts:
            lines += [_chart_line(Path(chart), increment_dir), ""]
    return lines


def _chart_line(chart: Path, increment_dir: Path) -> str:
    file = chart if chart.is_absolute() else increment_dir / "charts" / chart
    try:
        shown = file.relative_to(increment_dir).as_posix()
    except ValueError:
        return f"_chart {chart.name}: not in the increment's folder, not linked_"
    if not file.is_file():
        return f"_chart {shown}: not written, not linked_"
    return f"![{file.stem}]({shown})"


def json_entries(sections: list[ReportSection | SectionFailure]) -> dict[str, Any]:
    """title -> json value, for the sections that have one (a repeated title gets ` (2)`, ` (3)` …)."""
    found: dict[str, Any] = {}
    for section in sections:
        if isinstance(section, SectionFailure) or section.json is None:
            continue
        title, number = section.title, 1
        while title in found:
            number += 1
            title = f"{section.title} ({number})"
        found[title] = section.json
    return found


def step_summary_lines(sections: list[ReportSection | SectionFailure]) -> list[str]:
    lines: list[str] = []
    for section in sections:
        if isinstance(section, SectionFailure):
            lines += [section.line(), ""]
        elif section.step_summary.strip():
            lines += [section.step_summary.strip("\n"), ""]
    return lines
