"""The judged model against every baseline, metric by metric: what a sceptic asks before trusting a gate
that compares with one baseline only.

For each metric the spec and criteria judge, and each succeeded baseline that logged it, the judged
experiment's value and the baseline's, and how they compare: their ratio (model ÷ baseline, when both
values are positive) or else their difference (model − baseline), with a paired interval when both
experiments kept per-unit evidence on the same units (the same customers resampled for both), and
whether the model is better, worse, or not told apart from the baseline at that level.

Plain Python: reads the store's records and their evidence, nothing of pytest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import evidence as evidence_module
from .intervals import Estimate, NoInterval
from .judge import JudgeContext, _agrees, _recorded_same_evaluation_data

BETTER, WORSE, NOT_SETTLED = "better", "worse", "not settled"


@dataclass
class BaselineComparison:
    """The judged experiment against one baseline on one metric."""

    metric: str
    baseline: str  # the baseline's folder
    model_value: float
    baseline_value: float
    how: str  # "ratio" (model / baseline) or "difference" (model - baseline)
    value: float  # the ratio or the difference
    estimate: Estimate | None  # its paired interval; None when there is none (see note)
    outcome: str  # BETTER, WORSE or NOT_SETTLED (at the interval's level; on the value alone without one)
    note: str = ""  # why there is no interval

    @property
    def neutral(self) -> float:
        """The ratio or difference at which the two are equal."""
        return 1.0 if self.how == "ratio" else 0.0


def compare_with_baselines(context: JudgeContext, metrics, record=None) -> list[BaselineComparison]:
    """`record` (the judged experiment by default) against every succeeded baseline, on each of `metrics`
    that both logged with a finite value, in the order of `metrics` then of the baselines."""
    record = record if record is not None else context.judged_experiment()
    if record is None:
        return []
    found = []
    for metric in dict.fromkeys(metrics):
        ours = record.metric(metric)
        if ours is None or not _finite(ours.value):
            continue
        for baseline in context.baselines:
            theirs = baseline.metric(metric)
            if theirs is not None and _finite(theirs.value):
                found.append(_compare(context, metric, record, ours.value, baseline, theirs.value))
    return found


def _compare(context, metric, record, model_value, baseline, baseline_value) -> BaselineComparison:
    how = "ratio" if model_value > 0 and baseline_value > 0 else "difference"
    value = model_value / baseline_value if how == "ratio" else model_value - baseline_value
    estimate, note = _paired_interval(context, metric, record, model_value, baseline, baseline_value, how)
    lower = context.direction(metric) == "lower"
    neutral = 1.0 if how == "ratio" else 0.0
    low, high = (estimate.low, estimate.high) if estimate is not None else (value, value)
    if (high < neutral) if lower else (low > neutral):
        outcome = BETTER
    elif (low > neutral) if lower else (high < neutral):
        outcome = WORSE
    else:
        outcome = NOT_SETTLED
    return BaselineComparison(metric, baseline.folder, model_value, baseline_value, how, value, estimate, outcome,
                              note)


def _paired_interval(context, metric, record, model_value, baseline, baseline_value, how):
    """(the paired Estimate, "") or (None, why there is none)."""
    ours, theirs = evidence_module.load(record, metric), evidence_module.load(baseline, metric)
    if ours is None or theirs is None:
        return None, f"{'the model' if ours is None else 'the baseline'} kept no per-unit evidence of {metric}"
    if not (_agrees(ours.value(), model_value) and _agrees(theirs.value(), baseline_value)):
        return None, f"the evidence of {metric} does not give the logged values"
    if ours.units is None and theirs.units is None and not _recorded_same_evaluation_data(record, baseline):
        return None, "no unit ids and no common evaluation-data hash to pair them by"
    try:
        return evidence_module.paired(ours, theirs, context.level, how=how)[0], ""
    except (evidence_module.NotPaired, NoInterval) as err:
        return None, str(err)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
