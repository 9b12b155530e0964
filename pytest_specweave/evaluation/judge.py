"""Judging a threshold against the experiment store: which experiment, which value, which verdict.

Plain Python: knows the markdown model's Threshold and the store's records, nothing of pytest.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..model import metric_display, metric_names
from ..model.thresholds import Threshold, compare
from ..settings import confidence_level
from . import evidence as evidence_module
from .intervals import Estimate, NoInterval, data_factor, sidak_level

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
    basis: str | None = None  # interval | point (no interval) | exact (no sampling error)
    level: float | None = None  # of the interval judged
    method: str | None = None  # how the interval was made ("exact (Clopper-Pearson) over 812 rows")
    selection: str | None = None  # how the judged experiment was chosen, when that matters
    ratio: tuple[float, float, float] | None = None  # a ratio verdict: (ratio, low, high), judged against `target`
    data_factor: float | None = None  # inconclusive: ~ times the evaluation units that would settle it
    reference_experiment: str | None = None  # the folder of the experiment a ratio's reference came from
    unit: str | None = None  # the threshold's unit as written ("%", "ms", "$"): how the values are shown

    @property
    def point(self) -> bool:
        """Judged on a value with no interval (and with sampling error): a strict gate does not accept it."""
        return self.basis == "point"

    def properties(self) -> list[tuple[str, object]]:
        """Builtin-typed (metric, value, threshold, verdict, experiment) pairs for JUnit and xdist."""
        props: list[tuple[str, object]] = []
        for key in ("metric", "value", "threshold", "op", "target", "experiment", "reference", "basis", "level", "method",
                    "selection", "data_factor", "unit"):
            value = getattr(self, key)
            if value is not None:
                props.append((key, float(value) if isinstance(value, (float, int)) and not isinstance(value, bool)
                              else str(value)))
        if self.interval is not None:
            props.append(("interval", f"[{self.interval[0]:.4g}, {self.interval[1]:.4g}]"))
        if self.ratio is not None:
            props.append(("ratio", f"{self.ratio[0]:.4g}× [{self.ratio[1]:.4g}, {self.ratio[2]:.4g}]"))
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
    level: float = field(default_factory=confidence_level)  # the confidence the verdicts are asked at
    _selection: tuple | None = field(default=None, init=False, repr=False, compare=False)

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

    def best(self, records: list, metric: str | None, *, key=None):
        """The best of `records` by `metric` (its direction; higher when unknown); None if none logged it.

        key: a function giving the name each record is ranked by instead (its validation score of `metric`).
        """
        if metric is None:
            return None
        scored = [(r, r.metric(key(r) if key else metric)) for r in records]
        scored = [(r, m.value) for r, m in scored if m is not None and _finite(m.value)]
        if not scored:
            return None
        sign = -1 if self.direction(metric) == "lower" else 1
        return max(scored, key=lambda rv: (sign * rv[1], rv[0].number))[0]

    def judged_experiment(self):
        """The candidate the verdicts judge: chosen on validation data when candidates logged it (see selection)."""
        return self.selection()[0]

    def selection(self) -> tuple:
        """(judged record, how it was chosen, K): the best candidate by the validation score of the primary
        metric (`val_<metric>`) when any candidate logged one (K = 1: the test data chose nothing), else
        the best by the primary metric itself, chosen among K candidates scored on the same test data."""
        if self._selection is not None:
            return self._selection
        metric = self.primary_metric
        logged = [r for r in self.candidates if metric is not None and r.metric(metric) is not None
                  and _finite(r.metric(metric).value)]
        validated = [(r, validation_metric(r, metric)) for r in logged]
        validated = [(r, key) for r, key in validated if key is not None]
        if validated:
            keys = {r.folder: key for r, key in validated}
            judged = self.best([r for r, _ in validated], metric, key=lambda r: keys[r.folder])
            found = (judged, f"chosen on validation ({keys[judged.folder]})", 1)
        else:
            judged = self.best(logged, metric)
            peers = [r for r in logged if judged is not None and not _different_evaluation_data(r, judged)]
            found = (judged, f"chosen among {len(peers)} on test" if len(peers) > 1 else None, max(1, len(peers)))
        self._selection = found
        return found

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


VALIDATION_PREFIXES = ("val_", "valid_", "validation_")


def validation_metric(record, metric: str | None) -> str | None:
    """The key under which `record` logged `metric` scored on validation data (`val_precision@10`), if it did."""
    if metric is None:
        return None
    for key in record.metrics:
        lowered = key.lower()
        for prefix in VALIDATION_PREFIXES:
            if lowered.startswith(prefix) and metric_names.same_metric(key[len(prefix):], metric) \
                    and _finite(record.metrics[key].value):
                return key
    return None


def judge(threshold: Threshold, context: JudgeContext) -> Verdict:
    if threshold.kind == "explainability":
        return _judge_explainability(threshold, context)
    if threshold.kind == "artifact":
        return _judge_artifact(threshold, context)
    if threshold.kind == "drift":
        return _judge_drift(threshold, context)
    metric = threshold.metric or context.primary_metric
    if metric is None:
        return Verdict(FAILED, "no primary metric: name one in spec.md (frontmatter `primary_metric:`)",
                       threshold=threshold.describe())
    if threshold.metric is None:
        threshold = replace(threshold, metric=metric)  # reads "precision@10 ≥ 3× random baseline"
    record, problem = _measured_record(threshold, metric, context)
    if record is None:
        return Verdict(FAILED, problem, metric=metric, threshold=threshold.describe())
    level, selection = context.level, None
    judged, how, compared = context.selection()
    if not threshold.experiment and record is judged and how:
        selection = how
        if compared > 1:
            level = sidak_level(context.level, compared)
    measured = record.metric(metric)
    if threshold.kind == "ratio":
        verdict = _judge_ratio(threshold, metric, record, measured, context, level)
    else:
        verdict = _decide(metric, record, measured, threshold.op, threshold.value, threshold, level)
    verdict.selection = selection
    if selection and compared > 1 and verdict.basis == "interval":
        verdict.message += (f" — {selection}: the interval is widened to {_percent(level)} for the {compared}"
                            " candidates compared on it (Šidák)")
    elif selection and compared > 1 and verdict.point:
        verdict.message += f" — {selection}"
    return verdict


def _percent(level: float) -> str:
    return f"{level * 100:.4g}%"


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


# -- the interval of one measured value --------------------------------------------------------------


ZERO_WIDTH = "zero width"


@dataclass
class _Found:
    estimate: Estimate | None = None
    problem: str | None = None  # why there is no usable interval
    blocks: bool = False  # the problem makes the verdict inconclusive (a level or width that cannot be trusted)


def measured_interval(metric: str, record, measured, level: float, target: float | None = None) -> _Found:
    """The interval of `record`'s `metric` at `level`: from its per-unit evidence, its folds, or the interval
    logged with it (when that was made at `level` or wider)."""
    problem = None
    found = evidence_module.load(record, metric)
    if found is not None:
        if _agrees(found.value(), measured.value):
            try:
                return _Found(evidence_module.estimate(found, level, target=target))
            except NoInterval as err:
                problem = str(err)
        else:
            problem = (f"its evidence gives {found.value():.6g}, not the logged {measured.value:.6g}, so it was "
                       "not used")
    if measured.folds and len(measured.folds) >= 2:
        interval = _fold_interval(measured, level)
        if interval is not None:
            (low, high), used = interval
            if low < 0 <= min(measured.folds) and metric_names.direction(metric) == "lower":
                low = 0.0  # an error is never negative: the t-interval's part below 0 holds no possible value
            return _Found(Estimate(measured.value, low, high, used, "Nadeau-Bengio corrected t", len(measured.folds),
                                   "folds"))
    if measured.ci is not None:
        low, high = measured.ci
        stored = measured.level or 0.95
        if not high > low:
            return _Found(problem=f"the interval on record has {ZERO_WIDTH}: it cannot show the target is met",
                          blocks=True)
        if stored + 1e-9 >= level:
            return _Found(Estimate(measured.value, low, high, stored, "interval on record", 0, ""))
        return _Found(problem=(f"the interval on record is at {_percent(stored)}, the verdict needs {_percent(level)}:"
                               " log per-unit evidence (compute_metrics, bootstrap_ci or log_evidence with"
                               " experiment=) so that it can be recomputed at any level"), blocks=True)
    if problem and found is not None and ZERO_WIDTH in problem:
        return _Found(problem=problem, blocks=True)
    return _Found(problem=problem)


def _agrees(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _fold_interval(measured, level: float):
    """((low, high), level) of per-fold values at `level`."""
    from ..tracking.experiment import cv_interval

    folds = [float(f) for f in measured.folds]
    if not all(math.isfinite(f) for f in folds):
        return None
    mean = sum(folds) / len(folds)
    std = math.sqrt(sum((f - mean) ** 2 for f in folds) / (len(folds) - 1))
    ratio = measured.test_train_ratio
    try:
        found = cv_interval(folds, mean, std, level, test_train_ratio=ratio)
    except ValueError:  # a hand-edited ratio that is not a positive number: the k-fold default
        found = cv_interval(folds, mean, std, level)
    return ((found[0], found[1]), found[2]) if found else None


def _decide(metric, record, measured, op, target, threshold, level) -> Verdict:
    value = measured.value
    base = Verdict(FAILED, "", metric=metric, value=value, op=op, target=target,
                   threshold=threshold.describe(), experiment=record.folder, unit=threshold.unit)
    unit = display_unit(metric, threshold)
    shown_target = format_value(metric, target, unit)
    if not _finite(value):
        base.message = f"{metric} = {value} ({record.folder}) is not a finite number"
        return base
    found = measured_interval(metric, record, measured, level, target)
    if found.estimate is not None:
        e = found.estimate
        span = (f"{format_value(metric, value, unit)} [{format_value(metric, e.low, unit)}, "
                f"{format_value(metric, e.high, unit)}] ({_percent(e.level)} interval, {record.folder})")
        return _interval_outcome(base, e, op, target, f"{metric} = {span}", shown_target)
    shown = f"{metric} = {format_value(metric, value, unit)} ({record.folder})"
    return _point_outcome(base, found, compare(op, value, target), shown, op, shown_target,
                          exact=_exact(metric, measured))


def _exact(metric: str, measured) -> bool:
    return measured.exact or metric_names.is_exact(metric)


def _interval_outcome(base: Verdict, e: Estimate, op, target, span: str, shown_target: str,
                      joiner: str = " is ") -> Verdict:
    base.interval, base.level, base.basis = (e.low, e.high), e.level, "interval"
    base.method = e.describe() if e.n_units else e.method
    lows, highs = compare(op, e.low, target), compare(op, e.high, target)
    if lows and highs:
        base.outcome, base.message = PASSED, f"{span}{joiner}{op} {shown_target}"
    elif not lows and not highs:
        base.message = f"{span}{joiner}not {op} {shown_target}"
    else:
        base.outcome = INCONCLUSIVE
        base.message = f"{span}: the interval straddles {shown_target}"
        factor = data_factor(e.value, e.low, e.high, target)
        if e.method.startswith("exact") and e.value in (0.0, 1.0) and e.n_units:
            factor = _all_or_none_factor(e, target)
        base.data_factor = factor
        base.message += "; " + more_data_sentence(factor, e)
    return base


def _point_outcome(base: Verdict, found: _Found, met: bool, shown: str, op, shown_target, *, exact: bool,
                   joiner: str = " is ") -> Verdict:
    if found.blocks:
        base.outcome, base.basis = INCONCLUSIVE, "point"
        base.message = f"{shown}: {found.problem}"
        return base
    base.basis = "exact" if exact else "point"
    label = "" if exact else " — no interval (a point value" + (f"; {found.problem}" if found.problem else "") + ")"
    if met:
        base.outcome, base.message = PASSED, f"{shown}{joiner}{op} {shown_target}{label}"
    else:
        base.message = f"{shown}{joiner}not {op} {shown_target}{label}"
    return base


MORE_DATA_LIMIT = 100.0


def _all_or_none_factor(e: Estimate, target: float) -> float | None:
    """All (or none) of n trials right: the exact bound is (tail)^(1/n), which moves as 1/n, not 1/sqrt(n).
    How many times n trials, all right (or all wrong) again, would put the bound past the target."""
    tail = (1.0 - e.level) / 2.0
    edge = target if e.value == 1.0 else 1.0 - target
    if not 0.0 < edge < 1.0:
        return None
    return max(1.0, math.ceil(math.log(tail) / math.log(edge)) / e.n_units)


def more_data_sentence(factor: float | None, e: Estimate) -> str:
    """'about 2.3x the evaluation data (~14,000 users) would settle it', or why no amount would."""
    if factor is None or factor > MORE_DATA_LIMIT:
        return "no realistic amount of evaluation data would settle it: the measured value sits too close to the target"
    if e.n_units and e.unit != "folds":
        return (f"about {factor:.2g}× the evaluation data (~{math.ceil(factor * e.n_units - 1e-9):,} {e.unit}) would settle"
                " it at the measured value")
    return f"about {factor:.2g}× the evaluation data would settle it at the measured value"


# -- a ratio to a reference ----------------------------------------------------------------------------


def _judge_ratio(threshold, metric, record, measured, context, level) -> Verdict:
    ref = threshold.reference
    ref_value, ref_label, problem, ref_record = _reference_value(ref, metric, context)
    if not problem and ref_record is not None:
        problem = _different_evaluation_data(record, ref_record)
    if problem:
        return Verdict(FAILED, problem, metric=metric, experiment=record.folder, threshold=threshold.describe())
    higher = context.direction(metric) != "lower"
    op, factor = threshold.bound(1.0, higher)
    unit = display_unit(metric, threshold)
    base = Verdict(FAILED, "", metric=metric, value=measured.value, op=op, target=factor,
                   threshold=threshold.describe(), experiment=record.folder, unit="x")
    base.reference = f"{ref_label} {metric} = {format_value(metric, ref_value, unit)}"
    base.reference_experiment = ref_record.folder if ref_record is not None else None
    if not (_finite(measured.value) and _finite(ref_value)) or ref_value == 0:
        base.message = (f"{metric} = {format_value(metric, measured.value, unit)} ({record.folder}) cannot be compared "
                        f"as a ratio to {base.reference}")
        return base
    ratio = measured.value / ref_value
    shown = (f"{metric} = {format_value(metric, measured.value, unit)} ({record.folder}) is {ratio:.4g}× "
             f"{ref_label} ({metric} = {format_value(metric, ref_value, unit)})")
    target_text = f"{factor:.4g}×"
    estimate, found, against_point = _ratio_interval(metric, record, measured, ref_record, ref_value, level, factor)
    if estimate is not None:
        base.ratio = (ratio, estimate.low, estimate.high)
        span = (f"{shown}; the ratio is {ratio:.4g} [{estimate.low:.4g}, {estimate.high:.4g}] "
                f"({_percent(estimate.level)} {estimate.describe() if estimate.n_units else estimate.method})")
        if against_point:
            span += "; the reference has no interval, so its own uncertainty is not counted"
        verdict = _interval_outcome(base, estimate, op, factor, span, target_text, joiner=", which is ")
        verdict.interval = None  # the interval judged is the ratio's
        if against_point:
            verdict.basis = "point"
        return verdict
    return _point_outcome(base, found, compare(op, ratio, factor), shown, op, target_text,
                          exact=False, joiner=", which is ")


def _ratio_interval(metric, record, measured, ref_record, ref_value, level, factor):
    """(Estimate of candidate / reference, None, against a point) or (None, _Found saying why there is none, False).

    Paired when both experiments kept per-unit evidence on the same units (a resample takes the same
    users for both); else both uncertainties combined conservatively: each interval at the level
    1 - (1 - level)/2 and the ratio's extremes between them (joint coverage at least `level`).
    """
    ours = evidence_module.load(record, metric)
    theirs = evidence_module.load(ref_record, metric) if ref_record is not None else None
    notes = []
    if ours is not None and theirs is not None and _agrees(ours.value(), measured.value) \
            and _agrees(theirs.value(), ref_value):
        if ours.units is None and theirs.units is None and not _recorded_same_evaluation_data(record, ref_record):
            notes.append("no unit ids and no common evaluation-data hash to pair them by")
        else:
            try:
                return evidence_module.paired_ratio(ours, theirs, level, target=factor), None, False
            except (evidence_module.NotPaired, NoInterval) as err:
                notes.append(str(err))
    half = 1.0 - (1.0 - level) / 2.0
    ref_measured = ref_record.metric(metric) if ref_record is not None else None
    reference = measured_interval(metric, ref_record, ref_measured, half) if ref_record is not None else _Found()
    constant = reference.blocks and ZERO_WIDTH in (reference.problem or "")  # e.g. a constant guess's AUC: exact
    if reference.estimate is None and (not reference.blocks or constant):
        # the reference is a value without an interval: the candidate's interval against it, said so
        mine = measured_interval(metric, record, measured, level, factor * ref_value)
        if mine.estimate is None:
            return None, _Found(problem=mine.problem, blocks=mine.blocks), False
        a = mine.estimate
        exact = constant or (ref_measured is not None and _exact(metric, ref_measured))
        return Estimate(a.value / ref_value, a.low / ref_value, a.high / ref_value, a.level, a.method,
                        a.n_units, a.unit, a.resamples), None, not exact
    mine = measured_interval(metric, record, measured, half)
    if mine.estimate is None or reference.estimate is None:
        missing = "the reference" if reference.estimate is None else "the candidate"
        why = (reference if reference.estimate is None else mine).problem
        return None, _Found(problem=f"{missing} has no interval" + (f" ({why})" if why else ""),
                            blocks=mine.blocks or reference.blocks), False
    a, b = mine.estimate, reference.estimate
    if b.low <= 0:
        return None, _Found(problem=f"the reference's {_percent(half)} interval [{b.low:.4g}, {b.high:.4g}] reaches 0, "
                                    "so the ratio to it has no bound", blocks=True), False
    if a.low < 0 and metric_names.direction(metric) == "lower":
        a = replace(a, low=0.0)  # an error metric is never negative: the interval's negative part is empty
    corners = (a.low / b.high, a.high / b.low)
    why = "; ".join(notes) or "not paired"
    return Estimate(a.value / b.value, min(corners), max(corners), level,
                    f"unpaired: both intervals at {_percent(half)}, combined ({why})", 0, ""), None, False


def _recorded_same_evaluation_data(a, b) -> bool:
    """Both recorded the hash of their evaluation targets, and it is the same: rows in order pair up."""
    ours, theirs = _evaluation_hashes(a).get("eval_targets"), _evaluation_hashes(b).get("eval_targets")
    return bool(ours and theirs and ours & theirs)


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
        if not isinstance(metrics, dict):
            raise ValueError('"metrics" is not an object')
    except (OSError, ValueError, RecursionError, AttributeError) as exc:
        return None, None, f"{meta.name} cannot be read: {exc}"
    for key, value in metrics.items():
        if metric_names.same_metric(key, metric):
            value = value.get("value") if isinstance(value, dict) else value
            return float(value), f"promoted model-v{number}", None
    return None, None, f"promoted model-v{number} recorded no {metric} (it has: {', '.join(metrics) or 'none'})"


def _judge_explainability(threshold, context) -> Verdict:
    judged = context.judged_experiment()
    if judged is None:
        return Verdict(FAILED, "no judged experiment: no succeeded candidate logged the primary metric "
                       f"{context.primary_metric}", threshold=threshold.describe())
    for record in context.explaining(judged):
        found = [a for a in record.artifacts if any(fnmatch.fnmatch(a.lower(), p) for p in EXPLANATION_PATTERNS)]
        if found:
            where = record.folder if record is judged else f"{record.folder}, explaining {judged.folder}"
            return Verdict(PASSED, f"explanation artifacts for {judged.folder}: {', '.join(found)} ({where})"
                           + _lime_disagreement(record), threshold=threshold.describe(), experiment=judged.folder)
    return Verdict(FAILED, f"no explanation artifacts for the judged experiment {judged.folder} "
                   "(expected SHAP values, feature importances or explanations, in it or in an experiment "
                   f"whose param `explains` is {judged.folder})", threshold=threshold.describe(),
                   experiment=judged.folder)


def _lime_disagreement(record) -> str:
    """'; SHAP and LIME disagree on the top reason for 2 of 5 explained rows' when LIME ran beside SHAP."""
    from .lime_reasons import LIME_FILE

    if LIME_FILE not in record.artifacts:
        return ""
    try:
        found = record.load_dict(LIME_FILE)
    except Exception:  # noqa: BLE001 - a changed file: the artifact check stands, the note is left out
        return ""
    rows, disagree = len(found.get("examples") or []), len(found.get("disagreements") or [])
    if not rows:
        return ""
    if not disagree:
        return f"; LIME agrees with the other explanation's top reason for all {rows} explained rows"
    return f"; ⚠️ LIME disagrees on the top reason for {disagree} of {rows} explained rows (see explanations.md)"


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


def _reference_profile(context):
    """(profile, where it came from) for drift: the judged experiment's reference-profile.json (what its
    promotion ships), else the latest promoted version's models/model-vN.profile.json; (None, why) without."""
    from ..errors import StoreError
    from ..monitoring.drift import increment_profile
    from ..monitoring.profile import PROFILE_ARTIFACT

    judged = context.judged_experiment()
    if judged is not None and PROFILE_ARTIFACT in judged.artifacts:
        try:
            return judged.load_dict(PROFILE_ARTIFACT), f"{judged.folder}/{PROFILE_ARTIFACT}"
        except StoreError as err:
            return None, str(err)
    if context.increment_dir is None:
        return None, "no increment folder to find a promoted model in"
    try:
        profile, path = increment_profile(context.increment_dir)
    except (ValueError, StoreError) as err:
        return None, str(err)
    return profile, f"models/{path.name}"


def _judge_drift(threshold, context) -> Verdict:
    from ..monitoring.limits import limits_of, spec_limits

    shown = threshold.describe()
    profile, source = _reference_profile(context)
    if profile is None:
        return Verdict(FAILED, f"no reference profile to judge drift against: {source}", threshold=shown)
    if threshold.data is None:
        features = len(profile.get("features") or {})
        score = " and the model's scores" if isinstance(profile.get("score"), dict) else ""
        return Verdict(PASSED, f"{source} profiles {features} feature(s){score} over {profile.get('rows', 0):,} rows; "
                       f"new data is gated at {limits_of(threshold).describe()} per feature "
                       "(`pytest-specweave drift`, or a `no drift on <file>` criterion)", threshold=shown)
    from ..monitoring.drift import check_drift, read_table

    path = Path(threshold.data)
    if not path.is_absolute() and context.increment_dir is not None:
        path = context.increment_dir / path
    base = spec_limits(context.increment_dir) if context.increment_dir is not None else None
    try:
        report = check_drift(profile, read_table(path), limits=limits_of(threshold, base))
    except (ValueError, TypeError) as err:
        return Verdict(FAILED, str(err), threshold=shown)
    return Verdict(PASSED if report.ok else FAILED, f"{report.message()} — against {source}", threshold=shown)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _kind(record) -> str:
    return "baseline" if record.baseline else record.status if record.status != "succeeded" else "candidate"


def _logged(record) -> str:
    return ", ".join(sorted(record.metrics)) or "nothing"


def display_unit(metric: str, threshold) -> str | None:
    """The unit a verdict shows the metric's values in (model.metric_display: % for a rate, none for a score)."""
    return metric_display.unit_of(metric, threshold.unit)


def format_value(metric: str, value, unit: str | None = None) -> str:
    """A value as every report shows it (model.metric_display); `unit`: the threshold's, as written."""
    return metric_display.value_text(metric, value, unit)
