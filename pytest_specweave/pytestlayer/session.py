"""After the run: the terminal table and the reports of every increment the session touched.

Works from test reports only (what pytest-xdist carries back to the controller), so a run with
`-n 2` gives the same table and the same files as a run without it. Each increment is judged once
on the controller (`increment_judgement`): the modes, the promotion, comparison.md, the summary
and the JSON report share that judgement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..reports.summary import ItemResult

VERDICT_WORDS = {"passed": "PASS", "failed": "FAIL", "inconclusive": "INCONCLUSIVE", "skipped": "SKIP"}


def _item_results(reports) -> dict[str, ItemResult]:
    """nodeid -> how the item fared, from its setup/call/teardown reports (messages without terminal codes)."""
    from ..tracking._files import plain_text

    results: dict[str, ItemResult] = {}
    for report in reports:
        if report.when == "teardown" and not report.failed:
            continue
        current = results.get(report.nodeid)
        if current is not None and current.outcome == "failed":
            continue
        if report.when == "setup" and report.passed:
            continue
        outcome, message = report.outcome, ""
        if report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2].removeprefix("Skipped: ")
            if message.startswith("inconclusive"):
                outcome = "inconclusive"
                message = message.removeprefix("inconclusive").removeprefix(":").strip()
        elif report.failed:
            message = _first_line(report.longreprtext)
        start = getattr(report, "start", None)
        if current is not None and current.start is not None:
            start = current.start
        results[report.nodeid] = ItemResult(outcome, plain_text(message), start)
    return results


KINDS = {"tasks.md": "task", "spec.md": "metric", "tests.md": "criterion"}
VALIDATE_PREFIX = "validate-"  # the --sw-validate rules' items (no task, metric or criterion id starts so)


def _kind(file: str, item_id: str) -> str:
    if item_id.startswith(VALIDATE_PREFIX):
        return "validate"
    return KINDS.get(Path(file).name, "criterion")  # any other file is a declared criteria file


@dataclass
class ItemRow:
    """One increment item as the controller saw it: outcome and the verdict's properties."""

    nodeid: str
    increment: Path
    id: str
    kind: str
    result: ItemResult
    properties: dict
    file: str
    line: int | None  # 1-based


def item_rows(config, reports) -> list[ItemRow]:
    results = _item_results(reports)
    properties: dict[str, dict] = {}
    locations: dict[str, tuple] = {}
    for report in reports:
        if report.user_properties:
            properties[report.nodeid] = dict(report.user_properties)
        locations.setdefault(report.nodeid, report.location)
    rows = []
    for nodeid, result in results.items():
        file = nodeid.split("::", 1)[0]
        location = locations.get(nodeid)
        line = location[1] + 1 if location and location[1] is not None else None
        item_id = nodeid.rsplit("::", 1)[-1]
        rows.append(ItemRow(nodeid, increment_of_nodeid(config, nodeid), item_id, _kind(file, item_id), result,
                            properties.get(nodeid, {}), file, line))
    return rows


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("E "):
            return line[2:].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def increment_of_nodeid(config, nodeid: str) -> Path:
    """The folder of the increment an item of `nodeid` belongs to, in this process's checkout."""
    return (config.rootpath / nodeid.split("::", 1)[0]).parent


def increment_judgement(config, folder: Path):
    """The increment in `folder` judged on the controller (evaluation.judgement.IncrementJudgement), once a session."""
    from ..evaluation.judgement import judge_increment
    from .criteria_files import load_increment

    judged = config.stash.setdefault(_JUDGEMENTS, {})
    if folder not in judged:
        judged[folder] = judge_increment(load_increment(config, folder))
    return judged[folder]


def write_reports(config, reports) -> None:
    """Promote the best model, then rebuild COMPLETION-SUMMARY.md and experiments/comparison.md, of each increment the session ran."""
    from ..errors import SpecweaveError
    from ..reports.comparison import write_comparison
    from ..reports.summary import targets_of, write_summary
    from ..tracking.targets import record_targets
    from .criteria_files import load_increment
    from .promotion_hooks import failed, outcome, promote_for_session
    from .report_sections import added_summary_lines

    by_increment: dict[Path, dict[str, ItemResult]] = {}
    for nodeid, result in _item_results(reports).items():
        folder = increment_of_nodeid(config, nodeid)
        by_increment.setdefault(folder, {})[nodeid.rsplit("::", 1)[-1]] = result
    written = []
    promoted = []
    for folder, session in sorted(by_increment.items()):
        try:
            increment = load_increment(config, folder)
            if not increment.tracks_experiments:
                continue
            judgement = increment_judgement(config, folder)
            try:  # unless a team's veto hook stops it (promotion_hooks.py)
                metadata = promote_for_session(config, folder, judgement)
                if metadata is not None:
                    promoted.append((folder / "models" / metadata["file"], metadata["source_experiment"]))
            except (SpecweaveError, OSError) as error:
                failed(config, folder, judgement.judged.folder if judgement.judged else None, error)
                config.stash[_PROMOTE_ERRORS] = config.stash.get(_PROMOTE_ERRORS, []) + [f"{folder.name}: {error}"]
            statuses = None
            if (folder / "experiments").is_dir():  # nothing tracked yet (a fixture failed first): nothing to compare
                write_comparison(increment, judgement)
                try:  # the targets as judged now: recorded the first time, flagged when edited since
                    statuses = record_targets(folder, targets_of(increment))
                    config.stash.setdefault(_TARGETS, {})[folder] = statuses
                except (SpecweaveError, OSError) as error:
                    config.stash[_WRITE_ERRORS] = config.stash.get(_WRITE_ERRORS, []) + [
                        f"{folder.name}: targets not recorded: {error}"]
            written.append(write_summary(increment, session, judgement, targets=statuses,
                                         promotion=outcome(config, folder),
                                         sections=added_summary_lines(config, folder)))
        except (SpecweaveError, OSError) as error:
            config.stash[_WRITE_ERRORS] = config.stash.get(_WRITE_ERRORS, []) + [f"{folder.name}: {error}"]
    config.stash[_WRITTEN] = written
    config.stash[_PROMOTED] = promoted


def _prune(config, folders: list[Path]) -> None:
    """The ini key sw_keep_runs: keep the last N runs of each experiment (tracking/prune.py)."""
    raw = str(config.getini("sw_keep_runs") or "").strip()
    if not raw:
        return
    from ..errors import SpecweaveError
    from ..tracking.prune import prune_history

    lines = config.stash.setdefault(_MODE_LINES, [])
    if not (raw.isdigit() and int(raw) >= 1):
        where = config.inipath.name if config.inipath else "the ini file"
        lines.append(f"could not prune: {where}: sw_keep_runs = {raw!r}, expected a whole number of runs, at least 1")
        return
    for folder in folders:
        try:
            result = prune_history(folder, int(raw))
        except (SpecweaveError, OSError) as error:
            lines.append(f"could not prune {folder.name}: {error}")
            continue
        if result.removed or result.kept_for_models:
            lines.append(f"{folder.name}: sw_keep_runs = {raw}: {result.describe()}")


_WRITTEN = pytest.StashKey[list]()
_JUDGEMENTS = pytest.StashKey[dict]()  # increment folder -> the IncrementJudgement the modes and reports share
_TARGETS = pytest.StashKey[dict]()  # increment folder -> the TargetStatus list record_targets returned
_MODE_LINES = pytest.StashKey[list]()
_WRITE_ERRORS = pytest.StashKey[list]()
_PROMOTED = pytest.StashKey[list]()
_PROMOTE_ERRORS = pytest.StashKey[list]()


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def terminal_summary(terminalreporter, reports) -> None:
    config = terminalreporter.config
    rows = item_rows(config, reports)
    by_increment: dict[Path, list[ItemRow]] = {}
    for row in rows:
        if row.kind in ("metric", "criterion") and ("verdict" in row.properties or _unreadable(row)):
            by_increment.setdefault(row.increment, []).append(row)
    width = max(getattr(getattr(terminalreporter, "_tw", None), "fullwidth", 0) or 0, 80)
    for folder, judged in sorted(by_increment.items()):
        terminalreporter.write_sep("-", f"specweave: {folder.name}")
        table = VerdictTable(judged, width)
        terminalreporter.write_line(table.header())
        for lines, outcome in table.rows():
            markup = {"red": True} if outcome == "failed" else {"yellow": True} if outcome == "inconclusive" else {"green": True}
            for line in lines:
                terminalreporter.write_line(line, **markup)
        judged_on: dict[str, list[str]] = {}
        for row in judged:
            if row.properties.get("experiment"):
                judged_on.setdefault(str(row.properties["experiment"]), []).append(row.id)
        if len(judged_on) == 1:
            terminalreporter.write_line(f"judged on {next(iter(judged_on))}")
        elif judged_on:
            terminalreporter.write_line("judged on " + "; ".join(f"{name}: {', '.join(ids)}" for name, ids in judged_on.items()))
    rules: dict[Path, list[ItemRow]] = {}
    for row in rows:
        if row.kind == "validate":
            rules.setdefault(row.increment, []).append(row)
    for folder, checked in sorted(rules.items()):
        terminalreporter.write_sep("-", f"specweave validate: {folder.name}")
        for row in checked:
            outcome = row.result.outcome
            word = VERDICT_WORDS.get(outcome, outcome.upper())
            message = str(row.properties.get("message", "")) or row.result.message
            markup = {"red": True} if outcome == "failed" else {"yellow": True} if outcome != "passed" else {"green": True}
            terminalreporter.write_line(f"{row.id:<28} {word:<5} {_clip(message, 120)}", **markup)
    for line in config.stash.get(_MODE_LINES, []):
        failed = any(word in line for word in ("not complete", "could not", "not synced"))
        terminalreporter.write_line(f"specweave: {line}", **({"red": True} if failed else {}))
    results = {row.nodeid: row.result for row in rows}
    inconclusive = [(n, r) for n, r in results.items() if r.outcome == "inconclusive"]
    if inconclusive:
        terminalreporter.write_sep("-", "inconclusive (the interval straddles the threshold; --sw-strict fails them)")
        for nodeid, result in inconclusive:
            terminalreporter.write_line(f"INCONCLUSIVE {nodeid} - {result.message}", yellow=True)
    for path, source in config.stash.get(_PROMOTED, []):
        terminalreporter.write_line(f"specweave: promoted {_shown(config, path)} (the model of {source})")
    from .promotion_hooks import vetoes

    for folder, veto in vetoes(config):
        terminalreporter.write_line(f"specweave: {folder.name}: {veto.describe()} (no model version written)", red=True)
    for path in config.stash.get(_WRITTEN, []):
        terminalreporter.write_line(f"specweave: wrote {_shown(config, path)}")
    for error in config.stash.get(_PROMOTE_ERRORS, []):
        terminalreporter.write_line(f"specweave: could not promote the best model of {error}", red=True)
    for error in config.stash.get(_WRITE_ERRORS, []):
        terminalreporter.write_line(f"specweave: could not write the reports of {error}", red=True)


_UNREADABLE = re.compile(r"^(?:[^:\s]+\.md:\d+: )?cannot read the threshold (?P<text>'.*?'): (?P<expected>.*)$")


def _unreadable(row: ItemRow) -> re.Match | None:
    """A metric or criterion whose threshold could not be read: (the text, what was expected)."""
    if row.result.outcome != "failed" or "verdict" in row.properties:
        return None
    return _UNREADABLE.match(row.result.message or "")


def verdict_word(row: ItemRow) -> str:
    props, outcome = row.properties, row.result.outcome
    if props.get("stale"):  # judged on an earlier run's experiment: a task of this run failed
        return "FAIL (stale)" if outcome == "failed" else "STALE"
    if outcome == "failed" and props.get("verdict") == "inconclusive":  # failed by --sw-strict or --sw-done
        return "FAIL (inconclusive)"
    if outcome == "failed" and props.get("verdict") == "passed":  # a point value, under a strict gate
        return "FAIL (no interval)"
    if outcome == "passed" and props.get("basis") == "point":
        return "PASS (no interval)"
    if _unreadable(row):
        return "FAIL (unreadable)"
    return VERDICT_WORDS.get(outcome, outcome.upper())


class VerdictTable:
    """The terminal's table of verdicts: id, requirement, measured, target, verdict (the experiments
    judged are named below it). Columns take the width of their cells; when the table is wider than
    the terminal, the requirement, then the measured value, wrap between words, so a number is never cut."""

    CAPS = {"requirement": 48, "measured": 34, "target": 24}
    FLOORS = {"requirement": 24, "measured": 16}

    def __init__(self, rows: list[ItemRow], width: int):
        self.names = ["id", "requirement", "measured", "target"]
        self.cells = [(self._cells(row), verdict_word(row), row.result.outcome) for row in rows]
        self.widths = {name: max([len(name)] + [len(cells[i]) for cells, _, _ in self.cells])
                       for i, name in enumerate(self.names)}
        for name, cap in self.CAPS.items():
            if name in self.widths:
                self.widths[name] = min(self.widths[name], cap)
        verdict = max([len("verdict")] + [len(word) for _, word, _ in self.cells])
        shared = self.widths["requirement"] + self.widths["measured"]
        available = width - (sum(self.widths.values()) - shared) - len(self.names) - verdict
        if shared > available:  # the requirement wraps first, down to its floor; then the measured value
            requirement = max(self.FLOORS["requirement"], available - self.widths["measured"])
            self.widths["requirement"] = min(self.widths["requirement"], requirement)
            self.widths["measured"] = max(self.FLOORS["measured"], available - self.widths["requirement"])

    def _cells(self, row: ItemRow) -> list[str]:
        props = row.properties
        unreadable = _unreadable(row)
        if unreadable:
            expected = unreadable["expected"]
            cells = [row.id, str(props.get("title") or unreadable["text"].strip("'")),
                     "unreadable: " + (expected if expected.startswith("expected") else f"expected {expected}"), "—"]
        else:
            cells = [row.id, str(props.get("threshold") or props.get("title") or ""), measured(props) or "—",
                     target(props) or "—"]
        return cells

    def _lines(self, cells: list[str], last: str) -> list[str]:
        import textwrap

        widths = [self.widths[name] for name in self.names]
        wrapped = [[line.replace(_GLUE, " ") for line in textwrap.wrap(
                       _glued(cell), width, break_long_words=False, break_on_hyphens=False)] or [""]
                   for cell, width in zip(cells, widths)]
        lines = []
        for i in range(max(len(column) for column in wrapped)):
            parts = [(column[i] if i < len(column) else "").ljust(width) for column, width in zip(wrapped, widths)]
            lines.append(" ".join(parts + [last if i == 0 else ""]).rstrip())
        return lines

    def header(self) -> str:
        return self._lines(self.names, "verdict")[0]

    def rows(self):
        """(lines, outcome) of each row."""
        for cells, word, outcome in self.cells:
            yield self._lines(cells, word), outcome


_GLUE = "\u00a0"  # textwrap never breaks at it
_OPERATOR_NUMBER = re.compile(r"(?<=[<>≤≥=]) (?=[-+$€£]?\d)")
_NUMBER_UNIT = re.compile(r"(?<=\d) (?=(?:ms|s|sec|min|h|%|req/sec|req/s|rps|qps|x|×|KB|MB|GB|bytes)(?![\w/]))")


def _glued(text: str) -> str:
    """`< 100 ms` kept on one line: a comparison to its number, a number to its unit."""
    return _NUMBER_UNIT.sub(_GLUE, _OPERATOR_NUMBER.sub(_GLUE, text))


def _numbers(text) -> list[float]:
    """The numbers of an `interval` or `ratio` property: `[0.94, 0.97]`, `1.961× [1.94, 1.98]`."""
    return [float(x) for x in re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|[-+]?inf|nan", str(text or ""))]


def measured(props: dict) -> str:
    """The measured value with its interval (a ratio's value, then the ratio) by the display rule."""
    from ..model.metric_display import measured_text

    value = props.get("value")
    if not isinstance(value, (int, float)):
        return ""
    interval = _numbers(props.get("interval"))
    ratio = _numbers(props.get("ratio"))
    return measured_text(props.get("metric"), value, interval if len(interval) == 2 else None,
                         props.get("unit"), ratio if len(ratio) == 3 else None)


def target(props: dict) -> str:
    """`≥ 95%`, `< 100 ms`, `≥ 1.5×` (a ratio to its reference), by the display rule."""
    from ..model.metric_display import ratio_text, value_text

    goal, op = props.get("target"), props.get("op")
    if not isinstance(goal, (int, float)):
        return ""
    shown_op = _OPS.get(str(op), str(op or ""))
    if props.get("unit") == "x":
        return f"{shown_op} {ratio_text(goal)}".strip()
    return f"{shown_op} {value_text(props.get('metric'), goal, props.get('unit'))}".strip()


_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def _shown(config, path: Path):
    try:
        return path.relative_to(config.invocation_params.dir)
    except ValueError:
        return path


REPORT_SCHEMA = "pytest-specweave/report/1"


def _increment_status(rows: list[ItemRow]) -> str:
    outcomes = {row.result.outcome for row in rows if row.kind != "task"} | {
        row.result.outcome for row in rows if row.kind == "task" and row.result.outcome == "failed"}
    for status in ("failed", "inconclusive", "passed"):
        if status in outcomes:
            return status
    return "skipped"


def json_report(config, reports) -> dict:
    """The machine-readable report (`--sw-json PATH`); its schema is documented in docs/reports.md."""
    from ..errors import SpecweaveError
    from ..reports.summary import judged_test_data, targets_of
    from ..tracking.targets import target_statuses
    from .criteria_files import load_increment
    from .report_sections import added_json

    by_increment: dict[Path, list[ItemRow]] = {}
    for row in item_rows(config, reports):
        by_increment.setdefault(row.increment, []).append(row)
    increments = []
    for folder, rows in sorted(by_increment.items()):
        entry = {"name": folder.name, "path": _relative(config, folder), "status": _increment_status(rows),
                 "primary_metric": None, "judged_experiment": None, "items": [], "experiments": [],
                 "targets": [], "test_data_evaluations": None, "promotion": None,
                 "sections": added_json(config, folder)}
        for row in rows:
            props = row.properties
            interval = props.get("interval")
            entry["items"].append({
                "id": row.id, "kind": row.kind, "title": props.get("title"), "nodeid": row.nodeid, "file": row.file,
                "line": row.line,
                "outcome": row.result.outcome, "message": row.result.message or props.get("message") or None,
                "metric": props.get("metric"), "value": props.get("value"),
                "interval": [float(x) for x in interval.strip("[]").split(",")] if interval else None,
                "threshold": props.get("threshold"), "experiment": props.get("experiment"),
                "reference": props.get("reference"), "basis": props.get("basis"), "level": props.get("level"),
                "method": props.get("method"), "selection": props.get("selection"),
                "ratio": _numbers(props.get("ratio")) or None,
                "data_factor": props.get("data_factor"), "stale": props.get("stale"),
            })
        try:
            increment = load_increment(config, folder)
            if increment.tracks_experiments:
                judgement = increment_judgement(config, folder)
                judged = judgement.judged
                entry["primary_metric"] = judgement.primary_metric
                entry["judged_experiment"] = judged.folder if judged else None
                entry["experiments"] = [{
                    "folder": r.folder, "name": r.name, "number": r.number, "baseline": r.baseline,
                    "status": r.status, "task": r.task,
                    "metrics": {k: _json_number(v.value) for k, v in r.metrics.items()},
                } for r in judgement.records]
                statuses = config.stash.get(_TARGETS, {}).get(folder)
                if statuses is None:
                    statuses = target_statuses(folder, targets_of(increment))
                entry["targets"] = [s.as_json() for s in statuses]
                use = judged_test_data(folder, judged, statuses)
                entry["test_data_evaluations"] = use.as_json() if use is not None else None
                from .promotion_hooks import outcome

                promotion = outcome(config, folder)
                entry["promotion"] = promotion.as_json() if promotion is not None else None
        except (SpecweaveError, OSError):
            pass
        increments.append(entry)
    from .skipped import json_entries

    return {"schema": REPORT_SCHEMA, "increments": increments, "skipped": json_entries(config)}


def _json_number(value: float):
    from ..tracking._files import tag_float

    return tag_float(value)


def _strict_json(value):
    """The report with every non-finite number as the store writes it ("NaN", "Infinity", "-Infinity"):
    bare NaN/Infinity tokens are not JSON, and strict parsers (JSON.parse) refuse the whole file.
    Text goes without terminal codes."""
    from ..tracking._files import plain_text

    if isinstance(value, float):
        return _json_number(value)
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, dict):
        return {key: _strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(item) for item in value]
    return value


def _relative(config, path: Path) -> str:
    try:
        return path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return path.as_posix()


def write_json_report(config, reports, path: str) -> Path:
    import json

    from ..tracking._files import atomic_write

    target = Path(path) if Path(path).is_absolute() else config.invocation_params.dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    report = _strict_json(json_report(config, reports))
    atomic_write(target, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False).encode() + b"\n")
    return target


STEP_MARKS = {"passed": "✅", "failed": "❌", "inconclusive": "❔", "skipped": "⏭"}


def step_summary(config, reports) -> str:
    """Markdown for a CI job page ($GITHUB_STEP_SUMMARY): each increment's verdicts, a vetoed promotion, a hook's sections."""
    from .promotion_hooks import outcome
    from .report_sections import added_step_summary

    by_increment: dict[Path, list[ItemRow]] = {}
    for row in item_rows(config, reports):
        by_increment.setdefault(row.increment, []).append(row)
    lines = []
    for folder, rows in sorted(by_increment.items()):
        status = _increment_status(rows)
        lines += [f"### {STEP_MARKS.get(status, '')} {folder.name}: {status}", ""]
        judged = [r for r in rows if r.kind != "task"]
        if judged:
            lines += ["| id | requirement | measured | experiment | verdict |", "|---|---|---|---|---|"]
            for row in judged:
                props = row.properties
                verdict = f"{STEP_MARKS.get(row.result.outcome, '')} {row.result.outcome}"
                if row.result.outcome != "passed" and row.result.message:
                    verdict += f": {row.result.message}".replace("|", "\\|")
                requirement = props.get("threshold") or props.get("title", "")
                lines.append(f"| {row.id} | {str(requirement).replace('|', '/')} | {measured(props)} "
                             f"| {props.get('experiment', '')} | {verdict} |")
            lines.append("")
        tasks = [r for r in rows if r.kind == "task"]
        if tasks:
            counts = {}
            for row in tasks:
                counts[row.result.outcome] = counts.get(row.result.outcome, 0) + 1
            lines += ["Tasks: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())), ""]
        promotion = outcome(config, folder)
        if promotion is not None and promotion.veto is not None:
            lines += [f"Promotion: {promotion.veto.markdown()}", ""]
        lines += added_step_summary(config, folder)
        summary = folder / "COMPLETION-SUMMARY.md"
        if summary.exists():
            lines += [f"Full report: `{_relative(config, summary)}`", ""]
    return "\n".join(lines) + "\n"


def _run_modes(config, reports) -> None:
    """--sw-update-tasks, --sw-done, --sw-sync-docs, before the reports, so that they read the result."""
    update, done, sync = (config.getoption(name, False) for name in ("sw_update_tasks", "sw_done", "sw_sync_docs"))
    if not (update or done or sync):
        return
    rows = item_rows(config, reports)
    lines: list[str] = []
    if update:
        from ..modes.task_marks import finish_update_tasks

        lines += finish_update_tasks(config, rows)
    if done:
        from ..modes.completion import finish_done

        lines += finish_done(config, rows)
    if sync:
        from ..modes.sync_docs import finish_sync_docs

        lines += finish_sync_docs(config, rows, judged=lambda folder: increment_judgement(config, folder))
    config.stash[_MODE_LINES] = lines


def finish_session(config, reports) -> None:
    """After the run, on the controller: the increments' reports, the JSON report, the CI step summary."""
    import os

    _run_modes(config, reports)
    if not config.getoption("sw_no_report"):
        write_reports(config, reports)
    _prune(config, sorted({increment_of_nodeid(config, report.nodeid) for report in reports}))
    json_path = config.getoption("sw_json")
    if json_path:
        config.stash[_WRITTEN] = config.stash.get(_WRITTEN, []) + [write_json_report(config, reports, json_path)]
    step_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_file:
        with open(step_file, "a", encoding="utf-8") as handle:
            handle.write(step_summary(config, reports))
