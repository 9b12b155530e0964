"""COMPLETION-SUMMARY.md: what an increment's run found, rebuilt from the whole store.

Every figure is read from the store or judged from it here; the session only adds how each task and
linked check fared in this run (which the store cannot know).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..evaluation.judge import FAILED, INCONCLUSIVE, PASSED, JudgeContext, Verdict, format_value, judge
from ..model import metric_names
from ..tracking._files import atomic_write

SUMMARY_FILE = "COMPLETION-SUMMARY.md"
MAX_METRIC_COLUMNS = 8
MARKS = {PASSED: "✅ pass", FAILED: "❌ FAIL", INCONCLUSIVE: "❔ inconclusive", "skipped": "⏭ skipped"}


@dataclass
class ItemResult:
    """How one item fared in this session: outcome (passed/failed/skipped/inconclusive) and its message."""

    outcome: str
    message: str = ""
    start: float | None = None


@dataclass
class Judgement:
    id: str
    text: str
    source: str  # "spec.md:12"
    verdict: Verdict | None  # None: not judged here (prose, linked check, nothing tracked)
    note: str = ""


@dataclass
class SummaryData:
    increment: object
    context: JudgeContext
    session: dict[str, ItemResult] = field(default_factory=dict)  # item id -> result

    @property
    def judged(self):
        return self.context.judged_experiment()

    def judgements(self, elements, file: str) -> list[Judgement]:
        rows = []
        for element in elements:
            source = f"{file}:{element.line}"
            if not self.increment.tracks_experiments:
                rows.append(Judgement(element.id, element.text if hasattr(element, "text") else element.title,
                                      source, None, "nothing tracked"))
                continue
            text = getattr(element, "text", None) or element.title
            if getattr(element, "error", None) is not None:
                rows.append(Judgement(element.id, text, source,
                                      Verdict(FAILED, element.error.message)))
            elif getattr(element, "threshold", None) is not None:
                rows.append(Judgement(element.id, text, source, judge(element.threshold, self.context)))
            else:
                result = self.session.get(element.id)
                note = (f"linked check: {result.outcome}" if result and getattr(element, "link", None)
                        else "linked check: not run in this session" if getattr(element, "link", None)
                        else "judged by a person")
                verdict = None
                if result and getattr(element, "link", None):
                    verdict = Verdict(result.outcome if result.outcome in MARKS else FAILED, result.message)
                rows.append(Judgement(element.id, text, source, verdict, note))
        return rows

    def metric_columns(self) -> list[str]:
        """The primary metric, the metrics the spec and criteria name, their variants (`val_precision@10`),
        then the rest by how many experiments logged them."""
        counts: dict[str, int] = {}
        for record in self.context.records:
            for key in record.metrics:
                name = metric_names.canonical(key)
                counts[name] = counts.get(name, 0) + 1
        named = [self.context.primary_metric] if self.context.primary_metric else []
        named += [e.threshold.metric for e in _thresholded(self.increment) if e.threshold.metric]
        named = [m for m in dict.fromkeys(named) if m in counts]
        variants = sorted((m for m in counts if m not in named and any(m.endswith(n) for n in named)),
                          key=lambda m: (-counts[m], m))
        rest = sorted((m for m in counts if m not in named and m not in variants), key=lambda m: (-counts[m], m))
        return named + variants + rest

    def stale(self) -> list:
        """Experiments of a task that ran this session but were not re-run by it."""
        stale = []
        for record in self.context.records:
            result = self.session.get(record.task or "")
            if result and result.start and record.started and _epoch(record.started) < result.start - 1:
                stale.append(record)
        return stale


def _thresholded(increment):
    elements = list(increment.spec.metrics) if increment.spec else []
    elements += list(increment.criteria.criteria) if increment.criteria else []
    return [e for e in elements if getattr(e, "threshold", None) is not None]


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def render_summary(data: SummaryData) -> str:
    increment = data.increment
    metrics_rows = data.judgements(increment.spec.metrics if increment.spec else [], "spec.md")
    criteria_rows = data.judgements(increment.criteria.criteria if increment.criteria else [], "tests.md")
    verdicts = [r.verdict.outcome for r in metrics_rows + criteria_rows if r.verdict is not None]
    title = increment.spec.title if increment.spec and increment.spec.title else increment.name
    if not increment.tracks_experiments:
        status = "NOT TRACKED (no experiments)"
    elif FAILED in verdicts:
        status = "GATES FAILED"
    elif INCONCLUSIVE in verdicts:
        status = "INCONCLUSIVE"
    elif verdicts:
        status = "ALL GATES PASSED"
    else:
        status = "IN PROGRESS"

    lines = [f"# {title} — Completion Summary", "", f"**Increment**: `{increment.name}`  ", f"**Status**: {status}  "]
    primary = data.context.primary_metric
    if primary:
        direction = data.context.direction(primary) or "higher"
        lines.append(f"**Primary metric**: {primary} ({direction} is better)")
    lines.append("")
    lines += _experiments_section(data)
    lines += _best_model_section(data)
    lines += _judgement_section("Success Metrics (spec.md)", metrics_rows)
    lines += _judgement_section("Evaluation Criteria (tests.md)", criteria_rows)
    lines += _tasks_section(data)
    lines.append("_Rebuilt from `experiments/` by pytest-specweave after every run; edit spec.md, tasks.md "
                 "and tests.md, not this file._")
    return "\n".join(lines) + "\n"


def _experiments_section(data: SummaryData) -> list[str]:
    records = data.context.records
    lines = [f"## Experiments Run: {len(records)}", ""]
    if not records:
        return lines + ["No experiment on record yet.", ""]
    columns = data.metric_columns()[:MAX_METRIC_COLUMNS]
    best = data.judged
    stale = {r.folder for r in data.stale()}
    lines.append("| # | experiment | kind | status | task | " + " | ".join(columns) + " |")
    lines.append("|---|---|---|---|---|" + "---|" * len(columns))
    quiet = [r.folder for r in records if not r.metrics and r.status == "succeeded" and r.folder not in stale]
    skipped = set(quiet)
    for record in records:
        if record.folder in skipped:
            continue
        kind = "baseline" if record.baseline else "candidate"
        status = record.status + (" (stale)" if record.folder in stale else "")
        name = f"**{record.folder}** ✅ BEST" if best is not None and record.folder == best.folder else record.folder
        cells = []
        for column in columns:
            value = record.metric(column)
            cells.append(_cell(column, value))
        lines.append(f"| {record.number} | {name} | {kind} | {status} | {record.task or ''} | " + " | ".join(cells) + " |")
    hidden = len(data.metric_columns()) - len(columns)
    lines.append("")
    if quiet:
        lines.append(f"Also on record, with no metrics: {', '.join(quiet)}.")
        lines.append("")
    if hidden > 0:
        lines.append(f"{hidden} more metric(s) in [experiments/comparison.md](experiments/comparison.md).")
        lines.append("")
    failed = [r for r in records if r.status in ("failed", "crashed")]
    for record in failed:
        note = record.notes.strip().splitlines()
        lines.append(f"- {record.folder} {record.status}" + (f": {note[-1]}" if note else ""))
    if failed:
        lines.append("")
    if stale:
        lines.append(f"Stale (their task ran this session without re-running them): {', '.join(sorted(stale))}")
        lines.append("")
    return lines


def _cell(metric: str, value) -> str:
    if value is None:
        return ""
    unit = "%" if metric_names.is_percent_like(metric) else None
    shown = format_value(metric, value.value, unit)
    if value.ci is not None:
        shown += f" [{format_value(metric, value.ci[0], unit)}, {format_value(metric, value.ci[1], unit)}]"
    if not math.isfinite(value.value):
        shown += " ⚠ not finite"
    return shown


def _best_model_section(data: SummaryData) -> list[str]:
    best = data.judged
    lines = ["## Best Model", ""]
    if best is None:
        return lines + ["No succeeded candidate has logged the primary metric yet.", ""]
    algorithm = best.params.get("algorithm") or best.params.get("model") or best.name
    lines.append(f"- Experiment: `{best.folder}` (task {best.task or '—'})")
    lines.append(f"- Algorithm: {algorithm}")
    shown = ", ".join(f"{k}={format_value(k, v.value)}" for k, v in best.metrics.items())
    lines.append(f"- Metrics: {shown}")
    if best.duration_s is not None:
        lines.append(f"- Run time: {best.duration_s:.1f} s")
    models = [a for a in best.artifacts if a.endswith((".pkl", ".joblib", ".pt", ".json", ".ubj", ".txt"))
              and not a.startswith("logs/")]
    if models:
        size = sum((best.path / a).stat().st_size for a in models if (best.path / a).exists())
        lines.append(f"- Artifacts: {', '.join(models)} ({_size(size)})")
    lines.append("")
    return lines


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def _judgement_section(title: str, rows: list[Judgement]) -> list[str]:
    if not rows:
        return []
    lines = [f"## {title}", "", "| id | requirement | measured | experiment | verdict |", "|---|---|---|---|---|"]
    for row in rows:
        verdict = row.verdict
        if verdict is None:
            lines.append(f"| {row.id} | {_escape(row.text)} | | | {row.note} |")
            continue
        measured = format_value(verdict.metric or "", verdict.value) if verdict.value is not None else ""
        if verdict.interval is not None:
            measured += f" [{verdict.interval[0]:.4g}, {verdict.interval[1]:.4g}]"
        mark = MARKS.get(verdict.outcome, verdict.outcome)
        quiet = verdict.outcome == PASSED and verdict.value is not None or not verdict.message
        detail = "" if quiet else f" — {_escape(verdict.message)}"
        lines.append(f"| {row.id} | {_escape(row.text)} | {measured} | {verdict.experiment or ''} | {mark}{detail} |")
    lines.append("")
    return lines


def _tasks_section(data: SummaryData) -> list[str]:
    tasks = data.increment.tasks.tasks if data.increment.tasks else []
    if not tasks:
        return []
    done = sum(t.status == "done" for t in tasks)
    lines = [f"## Tasks: {done}/{len(tasks)} done", "", "| id | task | tasks.md | this run |", "|---|---|---|---|"]
    for task in tasks:
        result = data.session.get(task.id)
        run = "" if result is None else MARKS.get(result.outcome, result.outcome)
        if result is not None and result.outcome != PASSED and result.message:
            run += f" — {_escape(result.message)[:120]}"
        linked = f" (`{task.link.target}`)" if task.link else ""
        lines.append(f"| {task.id} | {_escape(task.title)}{linked} | {task.status.replace('_', ' ')} | {run} |")
    lines.append("")
    return lines


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_summary(increment, session: dict[str, ItemResult] | None = None, context: JudgeContext | None = None) -> Path:
    context = context or JudgeContext.for_increment(increment)
    text = render_summary(SummaryData(increment, context, session or {}))
    path = increment.path / SUMMARY_FILE
    atomic_write(path, text.encode("utf-8"))
    return path
