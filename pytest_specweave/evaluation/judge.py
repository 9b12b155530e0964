"""Judging a threshold against the experiment store: which experiment, which value, which verdict.

Plain Python: knows the markdown model's Threshold and the store's records, nothing of pytest.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..model import metric_names
from ..model.thresholds import Threshold, compare

PASSED, FAILED, INCONCLUSIVE, SKIPPED = "passed", "failed", "inconclusive", "skipped"

EXPLANATION_PATTERNS = ("*shap*", "*importance*", "*explanation*", "*explain*", "*lime*")


@dataclass
class Verdict:
    outcome: str  # passed | failed | inconclusive | skipped
    message: str
    metric: str | None = None
    value: float | None = None
    interval: tuple[float, float] | None = None
    op: str | None = None
    target: float | None = None
    threshold: str | None = None
    experiment: str | None = None
    reference: str | None = None
    notes: list[str] = field(default_factory=list)

    def properties(self) -> list[tuple[str, object]]:
        """Builtin-typed (metric, value, threshold, verdict, experiment) pairs for JUnit and xdist."""
        props: list[tuple[str, object]] = []
        for key in ("metric", "value", "threshold", "target", "experiment", "reference"):
            value = getattr(self, key)
            if value is not None:
                props.append((key, float(value) if isinstance(value, float) else str(value)))
        if self.interval is not None:
            props.append(("interval", f"[{self.interval[0]:.4g}, {self.interval[1]:.4g}]"))
        props.append(("verdict", self.outcome))
        return props


@dataclass
class JudgeContext:
    """What a verdict depends on besides the threshold itself."""

    records: list  # ExperimentRecord of the increment, every folder
    primary_metric: str | None
    directions: dict[str, str] = field(default_factory=dict)
    increment_dir: Path | None = None
    load_other_increment: object = None  # callable(id) -> (JudgeContext, name) for "x increment 0041"

    @classmethod
    def for_increment(cls, increment) -> "JudgeContext":
        """The store of an Increment (markdown model), its primary metric and its declared directions."""
        from ..tracking.store import ExperimentStore

        spec = increment.spec
        return cls(
            records=ExperimentStore(increment.path).records(),
            primary_metric=primary_metric(increment),
            directions=dict(spec.directions) if spec else {},
            increment_dir=increment.path,
            load_other_increment=lambda ident: _sibling_context(increment.path, ident),
        )

    def direction(self, metric: str) -> str | None:
        return metric_names.direction(metric, self.directions)

    @property
    def succeeded(self) -> list:
        return [r for r in self.records if r.status == "succeeded"]

    @property
    def candidates(self) -> list:
        return [r for r in self.succeeded if not r.baseline]

    @property
    def baselines(self) -> list:
        return [r for r in self.succeeded if r.baseline]

    def best(self, records: list, metric: str | None):
        """The best of `records` by `metric` (its direction; higher when unknown); None if none logged it."""
        if metric is None:
            return None
        logged = [(r, r.metric(metric)) for r in records]
        logged = [(r, m.value) for r, m in logged if m is not None and _finite(m.value)]
        if not logged:
            return None
        sign = -1 if self.direction(metric) == "lower" else 1
        return max(logged, key=lambda rv: (sign * rv[1], rv[0].number))[0]

    def judged_experiment(self):
        """The best succeeded candidate by the primary metric."""
        return self.best(self.candidates, self.primary_metric)

    def explaining(self, record) -> list:
        """`record` and the succeeded experiments whose param `explains` names it (explanation tasks)."""
        return [record] + [r for r in self.succeeded
                           if r.folder != record.folder and str(r.params.get("explains", "")) == record.folder]

    def latest_logging(self, records: list, metric: str):
        logged = [r for r in records if r.metric(metric) is not None]
        return max(logged, key=lambda r: (r.started or "", r.number)) if logged else None

    def find(self, name: str):
        """A record by folder (`exp-003-xgboost`), by name (`xgboost`), or by folder prefix (`exp-003`)."""
        key = name.strip().lower()
        for record in self.records:
            if key in (record.folder.lower(), record.name.lower()):
                return record
        prefixed = [r for r in self.records if r.folder.lower().startswith(key)]
        return prefixed[0] if len(prefixed) == 1 else None


def primary_metric(increment) -> str | None:
    """The metric that ranks experiments: spec.md's, else the first criterion's that names one."""
    if increment.spec is not None and increment.spec.primary_metric:
        return increment.spec.primary_metric
    for criterion in increment.criteria.criteria if increment.criteria else []:
        if criterion.threshold is not None and criterion.threshold.metric:
            return criterion.threshold.metric
    return None


def _sibling_context(increment_dir: Path, ident: str):
    from ..model.increment import Increment, resolve_increment

    folder = resolve_increment(str(increment_dir.parent / ident), increment_dir.parent)
    return JudgeContext.for_increment(Increment.load(folder)), folder.name


def judge(threshold: Threshold, context: JudgeContext) -> Verdict:
    if threshold.kind == "explainability":
        return _judge_explainability(threshold, context)
    if threshold.kind == "artifact":
        return _judge_artifact(threshold, context)
    metric = threshold.metric or context.primary_metric
    if metric is None:
        return Verdict(FAILED, "no primary metric: name one in spec.md (frontmatter `primary_metric:`)",
                       threshold=threshold.describe())
    if threshold.metric is None:
        threshold = replace(threshold, metric=metric)  # reads "precision@10 ≥ 3× random baseline"
    record, problem = _measured_record(threshold, metric, context)
    if record is None:
        return Verdict(FAILED, problem, metric=metric, threshold=threshold.describe())
    measured = record.metric(metric)
    if threshold.kind == "ratio":
        return _judge_ratio(threshold, metric, record, measured, context)
    return _decide(metric, record, measured, threshold.op, threshold.value, threshold, context)


def _measured_record(threshold: Threshold, metric: str, context: JudgeContext):
    """The record whose value of `metric` is judged, or (None, why not)."""
    if threshold.experiment:
        record = context.find(threshold.experiment)
        if record is None:
            known = ", ".join(r.folder for r in context.records) or "none"
            return None, f"no experiment named {threshold.experiment!r} (experiments: {known})"
        if record.metric(metric) is None:
            return None, f"{record.folder} did not log {metric} (it logged: {_logged(record)})"
        return record, None
    if not context.records:
        return None, f"no experiment on record logged {metric}: nothing tracked yet"
    judged = context.judged_experiment()
    if judged is not None and judged.metric(metric) is not None:
        return judged, None
    fallback = context.latest_logging(context.candidates, metric)
    if fallback is not None:
        return fallback, None
    logged_by = [r for r in context.records if r.metric(metric) is not None]
    if logged_by:
        who = ", ".join(f"{r.folder} [{_kind(r)}]" for r in logged_by)
        return None, f"no succeeded candidate experiment logged {metric} (logged only by {who})"
    logged = sorted({k for r in context.records for k in r.metrics})
    return None, f"no experiment logged {metric} (metrics on record: {', '.join(logged) or 'none'})"


def _judge_ratio(threshold, metric, record, measured, context) -> Verdict:
    ref = threshold.reference
    ref_value, ref_label, problem, ref_record = _reference_value(ref, metric, context)
    if not problem and ref_record is not None:
        problem = _different_evaluation_data(record, ref_record)
    if problem:
        return Verdict(FAILED, problem, metric=metric, experiment=record.folder, threshold=threshold.describe())
    higher = context.direction(metric) != "lower"
    op, target = threshold.bound(ref_value, higher)
    verdict = _decide(metric, record, measured, op, target, threshold, context)
    verdict.reference = f"{ref_label} {metric} = {format_value(metric, ref_value, display_unit(metric, threshold))}"
    verdict.message += f" [{verdict.reference}]"
    return verdict


def _reference_value(ref, metric, context: JudgeContext):
    if ref.kind == "baseline":
        baselines = context.baselines
        if ref.baseline == "best":
            chosen = context.best(baselines, context.primary_metric or metric) or context.best(baselines, metric)
            label = "best baseline"
        else:
            matching = [r for r in baselines if ref.baseline.lower() in r.name.lower()]
            chosen = context.latest_logging(matching, metric)
            label = f"{ref.baseline} baseline"
        if chosen is None:
            names = ", ".join(r.folder for r in baselines) or "none"
            return None, None, f"no succeeded {label} logged {metric} (baselines: {names})", None
        value = chosen.metric(metric)
        if value is None:
            return None, None, f"{label} {chosen.folder} did not log {metric}", None
        return value.value, f"{label} {chosen.folder}", None, chosen
    if ref.kind == "promoted":
        return (*_promoted_value(metric, context), None)
    if ref.kind == "increment":
        if context.load_other_increment is None:
            return None, None, f"increment {ref.increment} cannot be looked up here", None
        try:
            other, other_name = context.load_other_increment(ref.increment)
        except Exception as exc:  # noqa: BLE001 - reported as the verdict, the run goes on
            return None, None, str(exc), None
        chosen = other.judged_experiment()
        if chosen is None or chosen.metric(metric) is None:
            chosen = other.latest_logging(other.candidates, metric)
        if chosen is None:
            return None, None, f"increment {other_name} has no succeeded candidate that logged {metric}", None
        return chosen.metric(metric).value, f"increment {other_name} {chosen.folder}", None, chosen
    return None, None, f"unknown reference {ref.kind!r}", None


EVALUATION_ROLES = ("eval", "eval_targets")


def _evaluation_hashes(record) -> dict[str, set[str]]:
    hashes: dict[str, set[str]] = {}
    for entry in record.meta.get("inputs", []) or []:
        if isinstance(entry, dict) and entry.get("role") in EVALUATION_ROLES and entry.get("sha256"):
            hashes.setdefault(entry["role"], set()).add(entry["sha256"])
    return hashes


def _different_evaluation_data(record, reference) -> str | None:
    """A ratio compares like with like: refuse when both recorded their evaluation data and it differs."""
    ours, theirs = _evaluation_hashes(record), _evaluation_hashes(reference)
    for role in EVALUATION_ROLES:
        if role in ours and role in theirs and ours[role] != theirs[role]:
            return (f"{record.folder} and {reference.folder} were evaluated on different data "
                    f"(their recorded {role} hashes differ: {min(ours[role])[:12]}… vs {min(theirs[role])[:12]}…); "
                    "a ratio between them would compare unlike things")
    return None


def _promoted_value(metric, context: JudgeContext):
    models = (context.increment_dir / "models") if context.increment_dir else None
    versions = []
    if models and models.is_dir():
        for meta in models.glob("model-v*.metadata.json"):
            number = meta.name[len("model-v"):-len(".metadata.json")]
            if number.isdigit():
                versions.append((int(number), meta))
    if not versions:
        return None, None, "no promoted model: models/model-vN.metadata.json does not exist yet"
    number, meta = max(versions)
    try:
        metrics = json.loads(meta.read_text(encoding="utf-8")).get("metrics", {})
    except (OSError, ValueError) as exc:
        return None, None, f"{meta.name} cannot be read: {exc}"
    for key, value in metrics.items():
        if metric_names.same_metric(key, metric):
            value = value.get("value") if isinstance(value, dict) else value
            return float(value), f"promoted model-v{number}", None
    return None, None, f"promoted model-v{number} recorded no {metric} (it has: {', '.join(metrics) or 'none'})"


def _decide(metric, record, measured, op, target, threshold, context) -> Verdict:
    value = measured.value
    base = Verdict(FAILED, "", metric=metric, value=value, op=op, target=target,
                   threshold=threshold.describe(), experiment=record.folder)
    unit = display_unit(metric, threshold)
    shown_target = format_value(metric, target, unit)
    if not _finite(value):
        base.message = f"{metric} = {value} ({record.folder}) is not a finite number"
        return base
    interval, level = measured.ci, measured.level or 0.95
    if measured.folds and len(measured.folds) >= 2:
        interval, level = _fold_interval(measured) or (interval, level)
    if interval is not None:
        low, high = interval
        base.interval = (low, high)
        span = f"{format_value(metric, value, unit)} [{format_value(metric, low, unit)}, " \
               f"{format_value(metric, high, unit)}] ({level * 100:.4g}% interval, {record.folder})"
        lows, highs = compare(op, low, target), compare(op, high, target)
        if lows and highs:
            base.outcome, base.message = PASSED, f"{metric} = {span} is {op} {shown_target}"
        elif not lows and not highs:
            base.message = f"{metric} = {span} is not {op} {shown_target}"
        else:
            base.outcome = INCONCLUSIVE
            base.message = f"{metric} = {span}: the interval straddles {shown_target}"
        return base
    shown = f"{metric} = {format_value(metric, value, unit)} ({record.folder})"
    if compare(op, value, target):
        base.outcome, base.message = PASSED, f"{shown} is {op} {shown_target}"
    else:
        base.message = f"{shown} is not {op} {shown_target}"
    return base


def _fold_interval(measured):
    """The Nadeau–Bengio corrected interval of per-fold values at the run's confidence level (`--sw-confidence`).

    Uses the n_test / n_train ratio stored with the folds (k-fold's 1 / (folds - 1) when absent).
    """
    from ..settings import confidence_level
    from ..tracking.experiment import cv_interval

    folds = [float(f) for f in measured.folds]
    mean = sum(folds) / len(folds)
    std = math.sqrt(sum((f - mean) ** 2 for f in folds) / (len(folds) - 1))
    ratio = getattr(measured, "test_train_ratio", None)
    try:
        found = cv_interval(folds, mean, std, confidence_level(), test_train_ratio=ratio)
    except ValueError:  # a hand-edited ratio that is not a positive number: the k-fold default
        found = cv_interval(folds, mean, std, confidence_level())
    return ((found[0], found[1]), found[2]) if found else None


def _judge_explainability(threshold, context) -> Verdict:
    judged = context.judged_experiment()
    if judged is None:
        return Verdict(FAILED, "no judged experiment: no succeeded candidate logged the primary metric "
                       f"{context.primary_metric}", threshold=threshold.describe())
    for record in context.explaining(judged):
        found = [a for a in record.artifacts if any(fnmatch.fnmatch(a.lower(), p) for p in EXPLANATION_PATTERNS)]
        if found:
            where = record.folder if record is judged else f"{record.folder}, explaining {judged.folder}"
            return Verdict(PASSED, f"explanation artifacts for {judged.folder}: {', '.join(found)} ({where})",
                           threshold=threshold.describe(), experiment=judged.folder)
    return Verdict(FAILED, f"no explanation artifacts for the judged experiment {judged.folder} "
                   "(expected SHAP values, feature importances or explanations, in it or in an experiment "
                   f"whose param `explains` is {judged.folder})", threshold=threshold.describe(),
                   experiment=judged.folder)


def _judge_artifact(threshold, context) -> Verdict:
    record = context.find(threshold.experiment) if threshold.experiment else context.judged_experiment()
    if record is None:
        return Verdict(FAILED, "no experiment to look in for the artifact", threshold=threshold.describe())
    pattern = threshold.artifact.lower()
    found = [a for a in record.artifacts
             if fnmatch.fnmatch(a.lower(), pattern) or fnmatch.fnmatch(Path(a).name.lower(), pattern)]
    if found:
        return Verdict(PASSED, f"{record.folder} has {', '.join(found)}", threshold=threshold.describe(),
                       experiment=record.folder)
    return Verdict(FAILED, f"{record.folder} has no artifact matching {threshold.artifact!r} "
                   f"(artifacts: {', '.join(record.artifacts) or 'none'})", threshold=threshold.describe(),
                   experiment=record.folder)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _kind(record) -> str:
    return "baseline" if record.baseline else record.status if record.status != "succeeded" else "candidate"


def _logged(record) -> str:
    return ", ".join(sorted(record.metrics)) or "nothing"


def display_unit(metric: str, threshold) -> str | None:
    """The unit values are shown in: the threshold's own, else, for a ratio to a reference, % for a rate
    logged as a fraction (mape 20% better than the baseline reads 4.011%, as the experiments table does)."""
    if threshold.unit is not None:
        return threshold.unit
    if threshold.reference is not None and metric_names.is_percent_like(metric):
        return "%"
    return None


def format_value(metric: str, value, unit: str | None = None) -> str:
    """A value as a reader expects it: in the threshold's unit where it has one, else 4 significant digits."""
    if value is None:
        return "?"
    if not _finite(value):
        return str(value)
    if unit == "%":
        return f"{value * 100:.4g}%"
    if unit in ("$", "€", "£"):
        return f"{unit}{value:,.2f}"
    if unit == "ms":
        return f"{value:.4g} ms"
    return f"{value:.4g}"
