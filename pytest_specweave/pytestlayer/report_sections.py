"""The `pytest_specweave_report_sections` hook, asked once per increment on the controller.

The summary, the JSON report and the CI step summary share the answers. Each implementation is
called on its own: one that raises, or answers something that is not a `ReportSection` (or a
list of them) with JSON-ready `json`, is reported as a `SpecweaveHookWarning` and by a line in its
sections' place; the reports are still written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..errors import SpecweaveError
from ..reports.sections import ReportSection, SectionFailure, json_entries, step_summary_lines, summary_lines
from .hook_calls import describe, given_config, hookimpls, implemented, shown, warn

HOOK = "pytest_specweave_report_sections"
_SECTIONS = pytest.StashKey[dict]()  # increment folder -> [ReportSection | SectionFailure]


def report_sections(config: pytest.Config, folder: Path) -> list[ReportSection | SectionFailure]:
    """The sections added to the reports of the increment in `folder` (none when nobody implements the hook)."""
    if not implemented(config, HOOK):
        return []
    found = config.stash.setdefault(_SECTIONS, {})
    if folder not in found:
        found[folder] = _ask(config, folder)
    return found[folder]


def _ask(config: pytest.Config, folder: Path) -> list[ReportSection | SectionFailure]:
    from .criteria_files import load_increment
    from .session import increment_judgement

    try:
        increment = load_increment(config, folder)
        judgement = increment_judgement(config, folder) if increment.tracks_experiments else None
        charts_dir = folder / "charts"
        charts_dir.mkdir(parents=True, exist_ok=True)
    except (SpecweaveError, OSError):  # the reports say what is wrong with the increment
        return []
    kwargs = {"config": given_config(config), "increment": increment, "judgement": judgement, "charts_dir": charts_dir}
    sections: list[ReportSection | SectionFailure] = []
    for impl in reversed(hookimpls(config, HOOK)):  # pluggy's order
        try:
            answer = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            sections += _checked(answer)
        except Exception as error:  # noqa: BLE001 - a team's section never costs the reports
            warn(impl, HOOK, error)
            sections.append(SectionFailure(shown(config, describe(impl)), f"{type(error).__name__}: {error}"))
    return sections


def _checked(answer) -> list[ReportSection]:
    if answer is None:
        return []
    answers = [answer] if isinstance(answer, ReportSection) else answer
    if not isinstance(answers, (list, tuple)) or not all(isinstance(a, ReportSection) for a in answers):
        raise TypeError(f"expected a ReportSection or a list of them, got {answer!r}")
    for section in answers:
        json.dumps(section.json)  # a TypeError here, not a JSON report that cannot be written
    return list(answers)


def added_summary_lines(config: pytest.Config, folder: Path) -> list[str]:
    return summary_lines(report_sections(config, folder), folder)


def added_json(config: pytest.Config, folder: Path) -> dict:
    return json_entries(report_sections(config, folder))


def added_step_summary(config: pytest.Config, folder: Path) -> list[str]:
    return step_summary_lines(report_sections(config, folder))
