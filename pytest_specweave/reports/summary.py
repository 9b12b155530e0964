"""COMPLETION-SUMMARY.md: what an increment's run found, rebuilt from the whole store.

Sections, in order: the header (status, primary metric, problem type), Experiments Run (the best
marked), Best Model (algorithm, the judged experiment's notes, promoted version, metrics, training time, size), Success Metrics
and Evaluation Criteria (each measured value and verdict), Against the baselines (the judged
experiment against every baseline on the judged metrics, paired where the evidence allows),
Targets and test-data use (each target unchanged since first judged, or changed; how often the
judged experiment's test data was scored, from experiments/targets.json and
experiments/evaluations.jsonl), Deployment Readiness (latency, throughput, model size,
explainability, A/B test plan), Charts (PNG files in `charts/` beside the summary, see charts.py,
linked relative to the summary), Tasks (and the acceptance criteria they satisfy).

Every figure is read from the store or judged from it here; the session only adds how each task
and linked check fared in this run (which the store cannot know). A figure that is not on record
is said to be missing, and how to record it — never filled in.
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from ..evaluation.judge import FAILED, INCONCLUSIVE, PASSED, JudgeContext, Verdict, format_value
from ..evaluation.judgement import IncrementJudgement, Judgement, judge_increment
from ..model import metric_display, metric_names
from ..tracking._files import atomic_write, plain_text
from .charts import OPS, PLOTS_HINT, ChartSet, explaining_records, metric_unit, prediction_files

SUMMARY_FILE = "COMPLETION-SUMMARY.md"
MAX_METRIC_COLUMNS = 8
STALE = "stale"  # judged on an earlier run's experiment, because a task of this run failed (evaluation/staleness.py)
MARKS = {PASSED: "✅ pass", FAILED: "❌ FAIL", INCONCLUSIVE: "❔ inconclusive", "skipped": "⏭ skipped",
         STALE: "⚠️ stale"}
ICONS = {PASSED: "✅", FAILED: "❌", INCONCLUSIVE: "❔"}
NO_TARGET = "ℹ️"
PROBLEM_TYPES = {"classification": "classification", "regression": "regression", "forecasting": "forecasting",
                 "ranking": "recommendation"}
TRAINING_TIME = re.compile(r"^(?:fit|train|training)_?(?:time|seconds|secs|duration)(?:_(s|sec|secs|seconds|ms|min))?$")


@dataclass
class ItemResult:
    """How one item fared in this session: outcome (passed/failed/skipped/inconclusive) and its message."""

    outcome: str
    message: str = ""
    start: float | None = None


@dataclass
class SummaryData:
    increment: object
    judgement: IncrementJudgement  # a JudgeContext is judged here (evaluation/judgement.py)
    session: dict[str, ItemResult] = field(default_factory=dict)  # item id -> result
    charts: ChartSet | None = None  # None: charts not written in this rendering
    status: str | None = None  # shown instead of the computed status (e.g. "COMPLETE" under --sw-done)
    targets: list | None = None  # TargetStatus of every target (record_targets); None: read from targets.json
    promotion: object | None = None  # what this session's promotion did (pytestlayer.promotion_hooks.Promotion)
    sections: list[str] = field(default_factory=list)  # markdown lines of the sections a hook added (sections.py)

    def __post_init__(self):
        if isinstance(self.judgement, JudgeContext):
            self.judgement = judge_increment(self.increment, context=self.judgement)

    @property
    def context(self) -> JudgeContext:
        return self.judgement.context

    @cached_property
    def target_rows(self) -> list:
        """Every target's status: as recorded this session, else compared with targets.json without writing."""
        if self.targets is not None:
            return list(self.targets)
        if not self.increment.tracks_experiments:
            return []
        from ..tracking.targets import target_statuses

        return target_statuses(self.increment.path, targets_of(self.increment))

    @cached_property
    def test_data(self):
        """How often the judged experiment's evaluation data was scored (TestDataUse), or None."""
        return judged_test_data(self.increment.path, self.judged, self.target_rows)

    @cached_property
    def earlier_test_data(self) -> list:
        """Scorings of evaluation data sets scored before the judged experiment's (TestDataUse each)."""
        from ..tracking.ledger import earlier_data_use

        use = self.test_data
        return [] if use is None else earlier_data_use(self.increment.path, use.sha256)

    @cached_property
    def judged(self):
        return self.judgement.judged

    @cached_property
    def metric_rows(self) -> list[Judgement]:
        return self._with_session(self.judgement.metric_rows)

    @cached_property
    def criteria_rows(self) -> list[Judgement]:
        return self._with_session(self.judgement.criteria_rows)

    def rows(self) -> list[Judgement]:
        """Every success metric and criterion, judged once (the judgement keeps each verdict)."""
        return self.metric_rows + self.criteria_rows

    def _with_session(self, rows: list[Judgement]) -> list[Judgement]:
        """The rows, a linked check's with how its item fared in this session, a stale verdict marked stale."""
        from ..evaluation.staleness import stale_because

        shown = []
        for row in rows:
            result = self.session.get(row.id) if row.linked else None
            if result is not None:
                row = replace(row, verdict=Verdict(result.outcome if result.outcome in MARKS else FAILED,
                                                   result.message), note=f"linked check: {result.outcome}")
            elif row.verdict is not None and self.unfinished:
                stale = stale_because(row.verdict, self.context.records, self.unfinished)
                if stale:
                    outcome = FAILED if row.verdict.outcome == FAILED else STALE
                    message = f"{stale.removeprefix('stale: ')} — {row.verdict.message}"
                    row = replace(row, verdict=replace(row.verdict, outcome=outcome, message=message))
            shown.append(row)
        return shown

    @cached_property
    def unfinished(self) -> dict:
        """The tasks that failed in this session (or did not run because a dependency failed): UnfinishedTask by id."""
        from ..evaluation.staleness import unfinished_tasks

        tasks = {t.id for t in self.increment.tasks.tasks} if self.increment.tasks else set()
        return unfinished_tasks((i, r.outcome, r.message, r.start) for i, r in self.session.items() if i in tasks)

    @cached_property
    def _metric_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.context.records:
            for key in record.metrics:
                name = metric_names.canonical(key)
                counts[name] = counts.get(name, 0) + 1
        return counts

    def metric_columns(self) -> list[str]:
        """The primary metric, the metrics the spec and criteria name, their variants (`val_precision@10`),
        then the rest by how many experiments logged them."""
        return list(self._metric_columns)

    @cached_property
    def _metric_columns(self) -> list[str]:
        counts = self._metric_counts
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

    @cached_property
    def _problem(self) -> tuple[str | None, str]:
        return _problem_type(self)

    @property
    def problem_type(self) -> str | None:
        """classification, regression, forecasting or recommendation (None when it cannot be told)."""
        return self._problem[0]

    @property
    def problem_source(self) -> str:
        return self._problem[1]


def _thresholded(increment):
    elements = list(increment.spec.metrics) if increment.spec else []
    elements += list(increment.criteria.criteria) if increment.criteria else []
    return [e for e in elements if getattr(e, "threshold", None) is not None]


def targets_of(increment) -> list:
    """The targets to record: every success metric of spec.md, and every criterion of tests.md with a threshold
    (its `Metric:` field when it has one), as Target(id, text as written, file name, line)."""
    from ..tracking.targets import Target

    found = []
    if increment.spec is not None:
        found += [Target(m.id, m.text, Path(m.path).name, m.line) for m in increment.spec.metrics]
    if increment.criteria is not None:
        found += [Target(c.id, c.metric_text or c.title, Path(c.path).name, c.metric_line or c.line)
                  for c in increment.criteria.criteria if c.threshold is not None]
    return found


def eval_data_hash(record) -> str | None:
    """The sha256 of the evaluation targets a record scored (its meta.json input of role "eval_targets")."""
    from ..tracking.ledger import EVAL_TARGETS_ROLE

    inputs = record.meta.get("inputs") if record is not None else None
    hashes = [e["sha256"] for e in inputs or [] if isinstance(e, dict) and e.get("role") == EVAL_TARGETS_ROLE
              and isinstance(e.get("sha256"), str)]
    return hashes[-1] if hashes else None


def targets_fixed(statuses) -> str | None:
    """When the first of the targets was recorded (ISO), or None when none is on record."""
    from ..tracking.store import parse_iso

    times = [s.first_judged for s in statuses if s.first_judged and parse_iso(s.first_judged) is not None]
    return min(times, key=parse_iso) if times else None


def judged_test_data(increment_dir, record, statuses):
    """TestDataUse of the judged experiment's evaluation data (the ledger read once), or None without one."""
    from ..tracking.ledger import read_evaluations, test_data_use

    sha = eval_data_hash(record)
    if sha is None:
        return None
    return test_data_use(read_evaluations(increment_dir), sha, targets_fixed(statuses))


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# ----------------------------------------------------------------------------------------------
# Problem type


def _problem_word(text: str) -> str | None:
    from ..evaluation.metrics import PROBLEMS

    words = re.findall(r"[a-z_]+", text.lower().replace("time series", "time_series").replace("time-series", "time_series"))
    for word in words:
        if word in PROBLEMS:
            return PROBLEM_TYPES[PROBLEMS[word]]
    return None


_PROBLEM_LINE = re.compile(r"problem[ _-]?type\**\s*:\s*(.+)", re.IGNORECASE)
_SPLITS = re.compile(r"^(?:train|training|val|valid|validation|test|eval|holdout)_")


def _problem_type(data: SummaryData) -> tuple[str | None, str]:
    """The problem type and where it was read: spec.md's frontmatter `problem_type:`, its `Problem type:`
    line, else the metrics the judged experiment (or any experiment) logged."""
    spec = data.increment.spec
    if spec is not None:
        declared = spec.frontmatter.get("problem_type")
        if declared is not None and _problem_word(str(declared)):
            return _problem_word(str(declared)), "spec.md frontmatter"
        try:
            text = Path(spec.path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for match in _PROBLEM_LINE.finditer(text):
            found = _problem_word(match.group(1))
            if found:
                return found, "spec.md `Problem type:`"
    records = [data.judged] if data.judged is not None else data.context.succeeded
    names = {_SPLITS.sub("", metric_names.canonical(k)) for r in records for k in r.metrics}
    if any("@" in n or n in ("mrr", "ndcg", "map") for n in names):
        return "recommendation", "inferred from the ranking metrics logged"
    if names & {"mase", "smape"}:
        return "forecasting", "inferred from the forecasting metrics logged"
    if names & {"roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "precision", "recall", "log_loss"}:
        return "classification", "inferred from the classification metrics logged"
    if names & {"mape", "wape"} and data.judged is not None and _has_time_index(data.judged):
        return "forecasting", "inferred from mape and the time index of the predictions"
    if names & {"rmse", "mae", "mse", "r2", "mape"}:
        return "regression", "inferred from the regression metrics logged"
    return None, "not stated in spec.md (frontmatter `problem_type:`) and not told by the metrics logged"


def _has_time_index(record) -> bool:
    files = prediction_files(record)
    if not files:
        return False
    try:
        import numpy as np

        with np.load(record.path / files[0], allow_pickle=False) as npz:
            return "index" in npz.files and npz["index"].dtype.kind == "M"
    except (ImportError, OSError, ValueError):
        return False


# ----------------------------------------------------------------------------------------------
# Rendering


def render_summary(data: SummaryData) -> str:
    increment = data.increment
    verdicts = [r.verdict.outcome for r in data.rows() if r.verdict is not None]
    title = increment.spec.title if increment.spec and increment.spec.title else increment.name
    if data.status:
        status = data.status
    elif not increment.tracks_experiments:
        status = "NOT TRACKED (no experiments)"
    elif FAILED in verdicts:
        status = "GATES FAILED"
    elif STALE in verdicts:
        status = "STALE (a task failed in this run: its gates judged an earlier run)"
    elif INCONCLUSIVE in verdicts:
        status = "INCONCLUSIVE"
    elif verdicts and increment.metadata.get("status") == "completed":
        status = "COMPLETE"  # --sw-done completed it, and every gate still passes
    elif verdicts:
        status = "ALL GATES PASSED"
    else:
        status = "IN PROGRESS"

    lines = [f"# {title} — Completion Summary", "", f"**Increment**: `{increment.name}`  ", f"**Status**: {status}  "]
    primary = data.context.primary_metric
    if primary:
        direction = data.context.direction(primary) or "higher"
        lines.append(f"**Primary metric**: {primary} ({direction} is better)  ")
    if increment.tracks_experiments:
        problem = data.problem_type
        lines.append(f"**Problem type**: {problem} ({data.problem_source})" if problem
                     else f"**Problem type**: unknown — {data.problem_source}")
    lines.append("")
    if (increment.path / "plan.md").is_file():
        compared = (" · all metrics: [experiments/comparison.md](experiments/comparison.md)"
                    if (increment.path / "experiments").is_dir() else "")
        lines += ["Plan: [plan.md](plan.md) · spec: [spec.md](spec.md)" + compared, ""]
    lines += _experiments_section(data)
    lines += _best_model_section(data)
    lines += _judgement_section("Success Metrics (spec.md)", data.metric_rows)
    lines += _judgement_section(f"Evaluation Criteria ({', '.join(increment.criteria_lists) or 'tests.md'})",
                                data.criteria_rows)
    if increment.tracks_experiments:
        lines += _optional(_baselines_section, data, "Against the baselines")
        lines += _optional(_search_section, data, "Hyperparameter Search")
        lines += _targets_section(data)
        lines += _deployment_section(data)
    lines += _charts_section(data)
    lines += data.sections
    lines += _tasks_section(data)
    lines.append("_Rebuilt from `experiments/` by pytest-specweave after every run; edit spec.md, tasks.md "
                 "and tests.md, not this file._")
    return "\n".join(lines) + "\n"


def _experiments_section(data: SummaryData) -> list[str]:
    records = data.context.records
    stale = {r.folder for r in data.stale()}
    quiet = [r.folder for r in records if not r.metrics and r.status == "succeeded" and r.folder not in stale]
    lines = [f"## Experiments Run: {len(records) - len(quiet)}", ""]  # the rows of the table below
    if not records:
        return lines + ["No experiment on record yet.", ""]
    all_columns = data._metric_columns
    columns = all_columns[:MAX_METRIC_COLUMNS]
    units = {column: "%" if metric_display.is_rate(column) else "bytes" if metric_unit(column) == "bytes"
             else None for column in columns}
    best = data.judged
    lines.append("| # | experiment | kind | status | task | " + " | ".join(columns) + " |")
    lines.append("|---|---|---|---|---|" + "---|" * len(columns))
    skipped = set(quiet)
    for record in records:
        if record.folder in skipped:
            continue
        kind = "baseline" if record.baseline else "candidate"
        status = record.status + (" (stale)" if record.folder in stale else "")
        name = f"**{record.folder}** ✅ BEST" if best is not None and record.folder == best.folder else record.folder
        cells = [_cell(column, record.metric(column), units[column]) for column in columns]
        lines.append(f"| {record.number} | {name} | {kind} | {status} | {record.task or ''} | " + " | ".join(cells) + " |")
    hidden = len(all_columns) - len(columns)
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


def _cell(metric: str, value, unit: str | None = "") -> str:
    if value is None:
        return ""
    if unit == "":
        unit = "%" if metric_display.is_rate(metric) else None
    if unit == "bytes":
        return _size(value.value)
    shown = format_value(metric, value.value, unit)
    if value.ci is not None:
        shown += f" [{format_value(metric, value.ci[0], unit)}, {format_value(metric, value.ci[1], unit)}]"
    if not math.isfinite(value.value):
        shown += " ⚠ not finite"
    return shown


def _with_unit(metric: str, value, *, interval=True) -> str:
    """A metric's value with its unit (%, ms, s, MB ...) and interval; ⚠ when it is not finite."""
    if value is None:
        return "not logged"
    unit = metric_unit(metric)
    number = value.value

    def one(x):
        if not math.isfinite(x):
            return str(x)
        if unit == "%":
            return f"{x * 100:.4g}%"
        if unit == "bytes":
            return _size(x)
        if unit in ("ms", "s", "requests/s", "rows/s"):
            return f"{x:,.4g} {unit}" if abs(x) < 1e4 else f"{x:,.0f} {unit}"
        return f"{x:.4g}"

    text = one(number)
    if interval and value.ci is not None:
        text += f" [{one(value.ci[0])}, {one(value.ci[1])}]"
    if not math.isfinite(number):
        text += " ⚠ not finite"
    return text


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return f"{seconds} ⚠ not finite"
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _training_time(record) -> tuple[float, str] | None:
    """(seconds, metric name) of a fit/training-time metric the record logged."""
    for key, value in record.metrics.items():
        match = TRAINING_TIME.match(metric_names.canonical(key))
        if match:
            scale = {"ms": 0.001, "min": 60.0}.get(match.group(1) or "", 1.0)
            return value.value * scale, key
    return None


def _model_file(record):
    """(model entry, size in bytes) of the record's model; an entry whose file is on record but not on
    disk (a clone: git ignores *.pkl) carries "absent": True."""
    from ..tracking.models import model_of

    model = model_of(record) or _recorded_model(record)
    if model is None:
        return None, None
    model["absent"] = not (record.path / model["file"]).is_file()
    size = model.get("bytes")
    if not isinstance(size, int):
        try:
            size = (record.path / model["file"]).stat().st_size
        except OSError:
            size = None
    return model, size


def _recorded_model(record) -> dict | None:
    """A model file in meta.json's artifacts whose file is not on disk (model_of sees present files only)."""
    from ..tracking.models import MODEL_ARTIFACT

    meta = record.meta if isinstance(record.meta, dict) else {}
    artifacts = meta.get("artifacts") if isinstance(meta.get("artifacts"), dict) else {}
    found = sorted((rel != "model.pkl", rel) for rel, entry in artifacts.items()
                   if isinstance(entry, dict) and fnmatch.fnmatch(Path(rel).name.lower(), MODEL_ARTIFACT))
    if not found:
        return None
    rel = found[0][1]
    return {"file": rel, "sha256": artifacts[rel].get("sha256"), "bytes": artifacts[rel].get("bytes")}


def _promoted(increment_dir: Path, record):
    """(version, metadata) of the latest promoted model that came from `record`, and the latest version overall."""
    from ..tracking.models import model_versions, read_metadata

    try:
        versions = model_versions(increment_dir)
    except OSError:
        return None, None
    from ..tracking.models import model_of

    digest = (model_of(record) or {}).get("sha256")
    ours, latest = None, None
    for version in reversed(versions):
        try:
            meta = read_metadata(increment_dir, version)
        except Exception:  # noqa: BLE001 - an unreadable version is not ours
            continue
        if latest is None:
            latest = (version, meta)
        if meta.get("source_experiment") == record.folder and (
                meta.get("source_run") in (None, record.run) or (digest and meta.get("sha256") == digest)):
            ours = (version, meta)
            break
    return ours, latest


def _best_model_section(data: SummaryData) -> list[str]:
    best = data.judged
    lines = ["## Best Model", ""]
    primary = data.context.primary_metric
    if best is None:
        why = (f"No succeeded candidate has logged the primary metric {primary} yet." if primary
               else "spec.md names no primary metric (frontmatter `primary_metric:`), so no experiment is ranked.")
        return lines + [why, ""]
    model, size = _model_file(best)
    from ..tracking.models import algorithm_of

    algorithm = algorithm_of(best, model or {})
    cls = (model or {}).get("class")
    short_cls = cls.rsplit(".", 1)[-1] if isinstance(cls, str) else None
    shown = str(algorithm) if algorithm else (short_cls or best.name)
    details = [f"`{short_cls}`"] if short_cls and short_cls != shown else []
    from ..tracking.models import FRAMEWORKS

    if model and model.get("framework") in FRAMEWORKS:
        details.append(str(model["framework"]))
    how = data.context.selection()[1] or f"best succeeded candidate by {primary}"
    lines.append(f"- Experiment: `{best.folder}` (task {best.task or '—'}; {how})")
    lines.append(f"- Algorithm: {shown}" + (f" ({', '.join(details)})" if details else ""))
    notes = _notes_line(best)
    if notes:
        lines.append(notes)
    ours, latest = _promoted(data.increment.path, best)
    if ours is not None:
        version, meta = ours
        file = meta.get("file") or f"model-v{version}.pkl"
        sha = str(meta.get("sha256") or "")[:12]
        lines.append(f"- Version: [models/{file}](models/{file}) (v{version}, promoted from this experiment"
                     + (f"; sha256 {sha}…" if sha else "") + ")")
        from .model_card import card_path

        if card_path(data.increment.path, version).is_file():
            card = card_path(data.increment.path, version).name
            lines.append(f"- Model card: [models/{card}](models/{card})")
    elif model is None:
        lines.append("- Version: none — this experiment saved no model file (`exp.log_model(model)` saves it; the "
                     "run then promotes it to models/model-vN.pkl)")
    elif latest is not None:
        source = latest[1].get("source_experiment")
        held = ("the model of an earlier run of this experiment" if source == best.folder
                else f"the model of {source}" if source else "another experiment's model")
        lines.append(f"- Version: this experiment's model file ({best.folder}/{model['file']}) is not promoted "
                     f"yet; the promoted version, models/model-v{latest[0]}.pkl, holds {held} "
                     "(a pytest run promotes the best model)")
    else:
        lines.append(f"- Version: not promoted yet — its model file is {best.folder}/{model['file']} "
                     "(a pytest run promotes it to models/model-vN.pkl)")
    veto = getattr(data.promotion, "veto", None)
    if veto is not None:
        lines.append(f"- Promotion: {veto.markdown()}")
    shown_metrics = ", ".join(f"{k}={_with_unit(k, v)}" for k, v in best.metrics.items())
    lines.append(f"- Metrics: {shown_metrics or 'none logged'}")
    timed = _training_time(best)
    run_time = f"Run time: {best.duration_s:.1f} s for the whole experiment" if best.duration_s is not None else None
    if timed is not None:
        seconds, key = timed
        lines.append(f"- Training time: {_duration(seconds)} (logged as `{key}`)" + (f"; {run_time}" if run_time else ""))
    elif run_time:
        lines.append(f"- Training time: not logged separately — {run_time} (log `training_time_s`, e.g. with "
                     "measure_training_time, to time the fit alone)")
    else:
        lines.append("- Training time: not on record (the experiment has no duration and logged no training time)")
    lines.append("- Model size: " + _model_size(data, best, model, size))
    versions = [e for e in best.meta.get("inputs") or [] if isinstance(e, dict) and isinstance(e.get("dvc"), dict)]
    if versions:
        shown = "; ".join(
            f"{e.get('path')} md5 {str(e['dvc'].get('md5'))[:12]}… ({e['dvc'].get('file')}"
            + (f", stage {e['dvc']['stage']}" if e["dvc"].get("stage") else "")
            + (", ⚠️ the file differs from it" if e["dvc"].get("matches") is False else "") + ")" for e in versions)
        lines.append(f"- Data versions (DVC): {shown}")
    monitoring = _monitoring_line(data, best, ours)
    if monitoring:
        lines.append(monitoring)
    lines.append("")
    return lines


def _monitoring_line(data: SummaryData, best, ours) -> str | None:
    """What the model hands to production monitoring (docs/monitoring.md), when it ships a reference profile."""
    from ..monitoring.limits import spec_limits
    from ..monitoring.profile import PROFILE_ARTIFACT

    shipped = ours[1].get("monitoring_profile") if ours is not None else None
    if not shipped and PROFILE_ARTIFACT not in best.artifacts:
        return None
    try:
        profile = best.load_dict(PROFILE_ARTIFACT) if PROFILE_ARTIFACT in best.artifacts else None
    except Exception:  # noqa: BLE001 - a changed or broken file is reported by the drift items, not here
        profile = None
    where = f"[models/{shipped}](models/{shipped})" if shipped else f"{best.folder}/{PROFILE_ARTIFACT} (shipped on promotion)"
    size = ""
    if isinstance(profile, dict):
        count = len(profile.get("features") or {})
        size = f": {count} feature{'' if count == 1 else 's'}" + (" and the model's scores" if "score" in profile else "")
        size += f" over {profile.get('rows', 0):,} rows"
    limits = spec_limits(data.increment.path)
    gate = limits.describe() if limits else "PSI < 0.2 (the default; spec.md's `Drift:` line sets it)"
    return f"- Monitoring: reference profile {where}{size}; new data gated at {gate} per feature (`pytest-specweave drift`)"


NOTES_SHOWN = 500  # characters of the judged experiment's notes shown; the rest is linked


def _notes_line(record) -> str | None:
    """The judged experiment's notes.md in one line (what its code says a reader must know about it)."""
    text = " ".join(record.notes.split()) if record.notes else ""
    if not text:
        return None
    if len(text) > NOTES_SHOWN:
        text = text[:NOTES_SHOWN].rsplit(" ", 1)[0] + " … (the rest in notes.md)"
    return f"- Notes ([notes.md](experiments/{record.folder}/notes.md)): {text}"


def _model_size(data: SummaryData, best, model, size) -> str:
    if model is not None and size is not None:
        absent = ", as recorded; not in this checkout" if model.get("absent") else ""
        return f"{_size(size)} (`{model['file']}` of {best.folder}{absent})"
    logged = best.metric("model_size_bytes")
    source = best
    if logged is None:
        source = data.context.latest_logging(data.context.candidates, "model_size_bytes")
        logged = source.metric("model_size_bytes") if source is not None else None
    if logged is not None:
        return f"{_with_unit('model_size_bytes', logged)} (model_size_bytes logged by {source.folder})"
    return ("not on record — no model file saved and no `model_size_bytes` logged "
            "(measure_model_size(model, experiment=exp) logs it)")


def _size(size) -> str:
    if not isinstance(size, (int, float)) or not math.isfinite(size):
        return f"{size} ⚠ not finite"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def _measured(verdict: Verdict, unit: str | None) -> str:
    text = metric_display.measured_text(verdict.metric or "", verdict.value, verdict.interval, unit, verdict.ratio)
    if verdict.value is not None and not math.isfinite(verdict.value):
        text += " ⚠ not finite"
    return text


def _judgement_section(title: str, rows: list[Judgement]) -> list[str]:
    if not rows:
        return []
    lines = [f"## {title}", "", "| id | requirement | measured | experiment | verdict |", "|---|---|---|---|---|"]
    for row in rows:
        verdict = row.verdict
        if verdict is None:
            lines.append(f"| {row.id} | {_escape(row.text)} | | | {row.note} |")
            continue
        measured = _measured(verdict, row.unit) if verdict.value is not None else ""
        mark = MARKS.get(verdict.outcome, verdict.outcome)
        quiet = verdict.outcome == PASSED and verdict.value is not None or not verdict.message
        detail = "" if quiet else f" — {_escape(verdict.message)}"
        if quiet and verdict.point:
            detail = " (no interval)"
        elif quiet and verdict.selection:
            detail = f" — {_escape(verdict.selection)}"
        lines.append(f"| {row.id} | {_escape(row.text)} | {measured} | {verdict.experiment or ''} | {mark}{detail} |")
    lines.append("")
    return lines


# ----------------------------------------------------------------------------------------------
# Against the baselines


def _baselines_section(data: SummaryData) -> list[str]:
    from ..evaluation.baseline_comparison import compare_with_baselines

    judged = data.judged
    metrics = [e.threshold.metric for e in _thresholded(data.increment) if e.threshold.metric]
    rows = compare_with_baselines(data.context, metrics, judged) if judged is not None else []
    if not rows:
        return []
    units = {e.threshold.metric: e.threshold.unit for e in _thresholded(data.increment)
             if e.threshold.metric and e.threshold.kind == "compare"}  # a ratio's unit is its factor's
    methods = sorted({r.estimate.describe() for r in rows if r.estimate is not None})
    level = next((r.estimate.level for r in rows if r.estimate is not None), data.context.level)
    lines = ["## Against the baselines", "",
             f"The judged experiment `{judged.folder}` against every baseline, on each metric the spec and criteria "
             "judge that both logged, whichever baseline a target names: model ÷ baseline when both values are "
             "positive, else model − baseline"
             + (f", with its {level * 100:.4g}% interval ({'; '.join(methods)})" if methods else "") + ".", "",
             "| metric | baseline | baseline's value | model's value | model vs baseline | the model is |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        unit = units.get(row.metric)
        shown = lambda v: metric_display.value_text(row.metric, v, unit)  # noqa: E731
        if row.how == "ratio":
            versus = metric_display.ratio_text(row.value, *((row.estimate.low, row.estimate.high)
                                                            if row.estimate is not None else ()))
        else:
            versus = f"{row.value:+.4g}" + (f" [{row.estimate.low:+.4g}, {row.estimate.high:+.4g}]"
                                              if row.estimate is not None else "")
        outcome = row.outcome + ("" if row.estimate is not None else f" (no interval: {_escape(row.note)})")
        lines.append(f"| {row.metric} | {row.baseline} | {shown(row.baseline_value)} | {shown(row.model_value)} | "
                     f"{versus} | {outcome} |")
    lines.append("")
    return lines


# ----------------------------------------------------------------------------------------------
# Targets and test-data use


def _times(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _test_data_line(data: SummaryData) -> str | None:
    judged = data.judged
    if judged is None:
        return None
    use = data.test_data
    if use is None:
        return (f"The judged experiment {judged.folder} recorded no hash of its test data, so how often that data "
                "was scored cannot be told (`compute_metrics(..., experiment=exp)` records it).")
    shown = f"The test data (sha256 {use.sha256[:12]}…)"
    if use.count == 0:
        return f"{shown} has no scoring on record in experiments/evaluations.jsonl (runs before it existed are not counted)."
    text = f"{shown} was scored {_scorings(use)}"
    if use.since is None:
        text += "; no target is on record yet."
    else:
        text += f"; {use.since} of those since the targets were first fixed."
    for earlier in data.earlier_test_data:
        text += (f" Before it, other evaluation data (sha256 {earlier.sha256[:12]}…) was scored {_scorings(earlier)}:"
                 " those looks are not counted above.")
    return text


def _scorings(use) -> str:
    """'4 times by 2 experiments', or '6 times: 2 times by 2 experiments and 4 times outside the tracker (pilot A, …)'."""
    tracked = use.count - len(use.outside)
    by_runs = f"{_times(tracked, 'time')} by {_times(use.experiments, 'experiment')}"
    if not use.outside:
        return by_runs
    outside = f"{_times(len(use.outside), 'time')} outside the tracker ({', '.join(_escape(x) for x in use.outside)})"
    return f"{_times(use.count, 'time')}: " + (f"{by_runs} and {outside}" if tracked else outside)


def _targets_section(data: SummaryData) -> list[str]:
    rows = data.target_rows
    line = _test_data_line(data)
    if not rows and line is None:
        return []
    lines = ["## Targets and test-data use", ""]
    if rows:
        lines += ["| id | target | since first judged |", "|---|---|---|"]
        for row in rows:
            if row.first_judged is None:
                state = "not on record yet (recorded when pytest next judges it)"
            elif row.changed:
                first = _escape(row.first_text or "").replace("`", "'")
                state = f"**changed** — first judged as `{first}` on {row.first_judged[:10]}"
            else:
                state = f"unchanged since {row.first_judged[:10]}"
            lines.append(f"| {row.id} | {_escape(row.text)} | {state} |")
        lines.append("")
    if line is not None:
        lines += [line, ""]
    return lines


# ----------------------------------------------------------------------------------------------
# Deployment readiness


def _worst(rows: list[Judgement]) -> str:
    outcomes = [r.verdict.outcome for r in rows]
    for outcome in (FAILED, INCONCLUSIVE):
        if outcome in outcomes:
            return outcome
    return PASSED if PASSED in outcomes else FAILED


def _targets_text(rows: list[Judgement]) -> str:
    parts: dict[str, list[str]] = {}
    for row in rows:
        verdict = row.verdict
        if verdict.op and verdict.target is not None:
            goal = (metric_display.ratio_text(verdict.target) if row.unit == "x"
                    else metric_display.value_text(verdict.metric or "", verdict.target, row.unit))
            target = f"{OPS.get(verdict.op, verdict.op)} {goal}"
        else:
            target = verdict.threshold or row.text
        parts.setdefault(target, []).append(row.id)
    return "; ".join(f"target {t}: {', '.join(ids)}" for t, ids in parts.items())


def _rows_on(data: SummaryData, prefix: str) -> list[Judgement]:
    return [r for r in data.rows() if r.verdict is not None and (r.verdict.metric or "").startswith(prefix)]


def _measured_record(data: SummaryData, rows: list[Judgement], prefix: str):
    for row in rows:
        if row.verdict.experiment:
            found = data.context.find(row.verdict.experiment)
            if found is not None:
                return found
    context = data.context
    logging = [r for r in context.candidates if any(metric_names.canonical(k).startswith(prefix) for k in r.metrics)]
    if data.judged is not None and data.judged in logging:
        return data.judged
    return max(logging, key=lambda r: (r.started or "", r.number)) if logging else None


def _latency_line(data: SummaryData) -> tuple[str, str]:
    rows = _rows_on(data, "latency")
    record = _measured_record(data, rows, "latency")
    how = "(`measure_latency(model, X, experiment=exp)` logs latency_p50/p95/p99_ms)"
    if record is None:
        if rows:
            return ICONS[FAILED], f"Inference latency: not measured ({_targets_text(rows)}) {how}"
        return ICONS[FAILED], f"Inference latency: not measured {how}"
    values = {}
    for key in record.metrics:
        name = metric_names.canonical(key)
        if name.startswith("latency_"):
            values[name] = (key, record.metrics[key])
    order = sorted(values, key=lambda n: (n != "latency_p95_ms", n not in ("latency_p50_ms", "latency_p99_ms"), n))
    main = order[0]
    parts = [f"{_stat(main)} {_with_unit(main, values[main][1])}"]
    others = ", ".join(f"{_stat(n)} {_with_unit(n, values[n][1])}" for n in order[1:] if n.endswith(("_ms", "_s")))
    text = f"Inference latency: {parts[0]}"
    if rows:
        text += f" ({_targets_text(rows)})"
    if others:
        text += f"; {others}"
    text += f" — measured by {record.folder}"
    if not rows:
        return NO_TARGET, text + " (no latency target in spec.md or tests.md)"
    return ICONS[_worst(rows)], text


def _stat(name: str) -> str:
    parts = name.split("_")
    return parts[1] if len(parts) >= 3 else name


def _throughput_line(data: SummaryData) -> tuple[str, str]:
    rows = _rows_on(data, "throughput")
    record = _measured_record(data, rows, "throughput")
    how = "(`measure_throughput(model, X, experiment=exp)` logs throughput_rps)"
    if record is None:
        if rows:
            return ICONS[FAILED], f"Throughput: not measured ({_targets_text(rows)}) {how}"
        return ICONS[FAILED], f"Throughput: not measured {how}"
    values = [(k, v) for k, v in record.metrics.items() if metric_names.canonical(k).startswith("throughput")]
    values.sort(key=lambda kv: (metric_names.canonical(kv[0]) != "throughput_rps", kv[0]))
    shown = ", ".join(f"{_with_unit(k, v)}" + ("" if metric_names.canonical(k) == "throughput_rps" else f" ({k})") for k, v in values)
    text = f"Throughput: {shown}"
    if rows:
        text += f" ({_targets_text(rows)})"
    text += f" — measured by {record.folder}"
    if not rows:
        return NO_TARGET, text + " (no throughput target in spec.md or tests.md)"
    return ICONS[_worst(rows)], text


def _size_line(data: SummaryData) -> tuple[str, str]:
    best = data.judged
    rows = [r for r in data.rows() if r.verdict is not None and "size" in (r.verdict.metric or "")]
    if best is None:
        return ICONS[FAILED], "Model size: no judged experiment, so no model"
    model, size = _model_file(best)
    ours, _ = _promoted(data.increment.path, best)
    text = "Model size: " + _model_size(data, best, model, size)
    if ours is not None:
        text += f"; promoted as models/{ours[1].get('file') or f'model-v{ours[0]}.pkl'}"
    if rows:
        return ICONS[_worst(rows)], f"{text} ({_targets_text(rows)})"
    if model is None:
        return ICONS[FAILED], f"Model file: none saved by {best.folder} (`exp.log_model(model)` saves it)"
    if model.get("absent"):
        sha = f"sha256 {model['sha256'][:12]}…" if isinstance(model.get("sha256"), str) else "no sha256"
        rerun = f"rerun its task {best.task} to recreate it" if best.task else "rerun the code that trained it"
        return ICONS[INCONCLUSIVE], (f"Model file: `{model['file']}` of {best.folder} is on record ({sha}) but not "
                                     f"in this checkout (git ignores *.pkl); {rerun}")
    return ICONS[PASSED], text


EXPLANATION_KINDS = (("SHAP values", ("shap",)), ("feature importances", ("importance",)),
                     ("example explanations", ("explanation", "explain")), ("LIME explanations", ("lime",)))


def _explainability_line(data: SummaryData) -> tuple[str, str]:
    rows = [r for r in data.rows() if r.kind == "explainability" and r.verdict is not None]
    verdict = rows[0].verdict if rows else data.judgement.explainability
    outcome = _worst(rows) if rows else verdict.outcome
    found = []
    for record in explaining_records(data):
        for label, words in EXPLANATION_KINDS:
            for artifact in record.artifacts:
                name = Path(artifact).name.lower()
                if any(w in name for w in words) and not any(artifact in f for _, f in found):
                    found.append((label, f"[{artifact}](experiments/{record.folder}/{artifact})"))
    ids = f" ({', '.join(r.id for r in rows)})" if rows else ""
    if outcome == PASSED and found:
        by_kind: dict[str, list[str]] = {}
        for label, link in found:
            by_kind.setdefault(label, []).append(link)
        listed = "; ".join(f"{label}: {', '.join(links)}" for label, links in by_kind.items())
        return ICONS[PASSED], f"Explainability: {listed}{ids}"
    if outcome == PASSED:
        return ICONS[PASSED], f"Explainability: {verdict.message}{ids}"
    return ICONS[outcome], (f"Explainability: {verdict.message}{ids} (`explain_model(model, X, y, experiment=exp)` "
                            "writes feature_importance.csv, shap_values.pkl and explanations.md)")


_AB_TASK = re.compile(r"\bA/B\b|\bAB[ -]test|\bsplit[ -]test", re.IGNORECASE)
_MD_FILE = re.compile(r"[\w./-]+\.md\b")


def _ab_plan_line(data: SummaryData) -> tuple[str, str]:
    from ..model.increment import DATA_DIRS

    folder = data.increment.path
    files = []
    for path in sorted(folder.glob("*.md")) + sorted(folder.glob("*/*.md")):
        relative = path.relative_to(folder)
        if relative.parts[0] in DATA_DIRS or len(relative.parts) > 1 and relative.parts[0].startswith("."):
            continue
        if re.search(r"ab.*plan", path.name, re.IGNORECASE) or re.search(r"a-b.*plan", path.name, re.IGNORECASE):
            files.append(relative.as_posix())
    tasks = [t for t in (data.increment.tasks.tasks if data.increment.tasks else [])
             if _AB_TASK.search(t.title) or (t.link and re.search(r"ab.*plan", t.link.target, re.IGNORECASE))]
    for task in tasks:
        for name in _MD_FILE.findall(task.title):
            if (folder / name).is_file() and name not in files:
                files.append(name)
    named = ", ".join(f"{t.id} ({t.status.replace('_', ' ')})" for t in tasks)
    if files:
        links = ", ".join(f"[{f}]({f})" for f in files)
        return ICONS[PASSED], f"A/B test plan: {links}" + (f" — task {named}" if tasks else "")
    done = [t for t in tasks if t.status == "done"]
    if done:
        return ICONS[PASSED], (f"A/B test plan: task {named} marked done (no *ab*plan*.md file in the increment to "
                               "link)")
    if tasks:
        return ICONS[FAILED], f"A/B test plan: task {named} not done, and no *ab*plan*.md file in the increment"
    return ICONS[FAILED], "A/B test plan: none — no *ab*plan*.md file in the increment and no task for one"


def _deployment_section(data: SummaryData) -> list[str]:
    checks = [_latency_line(data), _throughput_line(data), _size_line(data), _explainability_line(data),
              _ab_plan_line(data)]
    judged = [mark for mark, _ in checks if mark != NO_TARGET]
    failing = sum(mark != ICONS[PASSED] for mark in judged)
    if failing:
        head = f"**Not ready**: {failing} of {len(judged)} checks do not pass."
    else:
        head = f"**Ready**: all {len(judged)} checks pass."
    lines = ["## Deployment Readiness", "", head, ""]
    lines += [f"- {mark} {text}" for mark, text in checks]
    lines.append("")
    return lines


# ----------------------------------------------------------------------------------------------
# Charts and tasks


def _optional(section, data: SummaryData, title: str) -> list[str]:
    """A section built from artifacts the store holds: one that cannot be built says why, and the
    summary is still written."""
    try:
        return section(data)
    except Exception as error:  # noqa: BLE001 - one unreadable artifact never costs the summary
        return [f"## {title}", "", f"Not shown: {type(error).__name__}: {_escape(str(error))}", ""]


def _search_section(data: SummaryData, shown: int = 5) -> list[str]:
    """Each hyperparameter search on record (tracking.search): its size, its best trials, what mattered."""
    from .charts import searches

    found = searches(data.context)
    if not found:
        return []
    lines = ["## Hyperparameter Search", ""]
    for record, search in found:
        trials = [t for t in search.get("trials", []) if isinstance(t, dict)]
        metric = str(search.get("metric") or "score")
        lower = search.get("direction") == "minimize"
        counts = search.get("counts") or {}
        states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        lines.append(f"`{record.folder}` (task {record.task or '—'}): {search.get('library')}, {len(trials)} trials "
                     f"({states}), ranked by {metric} ({'lower' if lower else 'higher'} is better). Each trial "
                     f"scored the validation data: its best value is the best of {len(trials)} looks, optimistic "
                     "as an estimate; the verdicts rest on the test data, which the search never saw.")
        lines.append("")
        done = [t for t in trials if t.get("state") == "complete" and isinstance(t.get("value"), (int, float))]
        done.sort(key=lambda t: (t["value"] if lower else -t["value"], t["number"]))
        if done:
            spread = any(t.get("std") is not None for t in done)
            header = "| trial | " + metric + (" | std over folds" if spread else "") + " | params |"
            lines += [header, "|---|---|" + ("---|" if spread else "") + "---|"]
            for t in done[:shown]:
                best = " ✅" if t["number"] == search.get("best") else ""
                params = ", ".join(f"{k}={v}" for k, v in sorted((t.get("params") or {}).items()))
                std = f" | {format_value(metric, t['std'])}" if spread and t.get("std") is not None else (" | " if spread else "")
                lines.append(f"| {t['number']}{best} | {format_value(metric, t['value'])}{std} | {_escape(params)} |")
            lines.append("")
        importance = search.get("importance")
        if isinstance(importance, dict) and importance:
            ranked = sorted(importance.items(), key=lambda kv: -kv[1])
            lines += ["Parameter importance (Optuna, fANOVA): " + ", ".join(f"`{k}` {v:.0%}" for k, v in ranked), ""]
        lines += [f"All trials: [{record.folder}/search-trials.json](experiments/{record.folder}/search-trials.json).", ""]
    return lines


def _charts_section(data: SummaryData) -> list[str]:
    charts = data.charts
    if charts is None:
        return []
    lines = ["## Charts", ""]
    if not charts.available:
        return lines + [f"Charts need matplotlib: `{PLOTS_HINT}`.", ""]
    if not charts.charts:
        lines += ["No chart yet: nothing on record to draw.", ""]
    for chart in charts.charts:
        lines += [f"### {chart.title}", "", f"![{_escape(chart.title)}]({chart.file})", "", f"_{chart.caption}_", ""]
    if charts.notes:
        lines += ["Not drawn:", ""] + [f"- {note}" for note in charts.notes] + [""]
    return lines


def _tasks_section(data: SummaryData) -> list[str]:
    tasks = data.increment.tasks.tasks if data.increment.tasks else []
    if not tasks:
        return []
    done = sum(t.status == "done" for t in tasks)
    with_acs = any(t.satisfies for t in tasks)
    lines = [f"## Tasks: {done}/{len(tasks)} done", ""]
    ran = [data.session[t.id].outcome for t in tasks if t.id in data.session]
    if ran:
        counts = {o: ran.count(o) for o in (PASSED, FAILED, INCONCLUSIVE, "skipped") if ran.count(o)}
        said = ", ".join(f"{n} {o}" for o, n in counts.items())
        lines += [f"This run: {said} (of {len(tasks)}); \"done\" is the status in tasks.md "
                  "(`--sw-update-tasks` ticks passing tasks).", ""]
    lines += ["| id | task | " + ("ACs | " if with_acs else "") + "tasks.md | this run |",
              "|---|---|" + ("---|" if with_acs else "") + "---|---|"]
    for task in tasks:
        result = data.session.get(task.id)
        run = "" if result is None else MARKS.get(result.outcome, result.outcome)
        if result is not None and result.outcome != PASSED and result.message:
            run += f" — {_escape(result.message)[:120]}"
        linked = f" (`{task.link.target}`)" if task.link else ""
        acs = f"{', '.join(task.satisfies)} | " if with_acs else ""
        lines.append(f"| {task.id} | {_escape(task.title)}{linked} | {acs}{task.status.replace('_', ' ')} | {run} |")
    lines.append("")
    lines += _acceptance_section(data, tasks)
    return lines


def _acceptance_section(data: SummaryData, tasks) -> list[str]:
    spec = data.increment.spec
    criteria = spec.acceptance_criteria if spec else []
    if not criteria:
        return []
    lines = ["### Acceptance criteria", ""]
    for ac in criteria:
        by = [t for t in tasks if ac.id in t.satisfies]
        shown = []
        for task in by:
            result = data.session.get(task.id)
            mark = ICONS.get(result.outcome, "⏭") if result else ("✅" if task.status == "done" else "⬜")
            shown.append(f"{task.id} {mark}")
        lines.append(f"- **{ac.id}** {_escape(ac.text)} — " + (", ".join(shown) if shown else "no task names it"))
    lines.append("")
    return lines


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_summary(increment, session: dict[str, ItemResult] | None = None,
                  judgement: IncrementJudgement | JudgeContext | None = None, *, charts: bool = True,
                  status: str | None = None, targets: list | None = None, promotion=None,
                  sections: list[str] | None = None) -> Path:
    """Write COMPLETION-SUMMARY.md (and, with `charts`, the PNG charts it links) from the store.

    judgement: the increment judged (evaluation/judgement.py), or its JudgeContext; judged here when None.
    status: shown instead of the computed status (the modes pass "COMPLETE" when --sw-done passed).
    targets: the TargetStatus list record_targets returned; None: compared with experiments/targets.json.
    promotion: what the session's promotion did (a veto is shown under Best Model).
    sections: markdown lines added after the charts (the report-sections hook's, reports/sections.py).
    """
    if judgement is None:
        judgement = judge_increment(increment)
    data = SummaryData(increment, judgement, session or {}, status=status, targets=targets, promotion=promotion,
                       sections=sections or [])
    if charts and increment.tracks_experiments:
        from .charts import write_charts

        data.charts = write_charts(data)
    if increment.tracks_experiments:
        from .model_card import write_model_card

        try:
            write_model_card(data)  # before the summary, which links it
        except Exception as error:  # noqa: BLE001 - the summary is still written, and says the card is missing
            import warnings

            warnings.warn(f"{increment.name}: the model card could not be written: {type(error).__name__}: {error}",
                          stacklevel=2)
    path = increment.path / SUMMARY_FILE
    atomic_write(path, plain_text(render_summary(data)).encode("utf-8"))
    return path
