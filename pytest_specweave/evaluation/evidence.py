"""Per-unit evidence: what a verdict needs to put an interval on a metric, or on a ratio of two experiments' metrics.

A metric is stored as per-row columns and a combiner — the metric is `combine(column means)` —
with the rows' unit ids (for pairing two experiments row by row), optional cluster ids
(`groups`: rows that are not independent, such as the transactions of one card) and, for a time
series, a block length. `Experiment.log_evidence` writes it as a compressed numpy archive in the
experiment's `evidence/` folder; `compute_metrics`, `bootstrap_ci` and the baselines do so for
every metric they compute.

| combine     | columns                     | metric                         |
|-------------|-----------------------------|--------------------------------|
| mean        | value                       | mean (accuracy, mae, precision@k, a user's own metric) |
| ratio       | numerator, denominator      | sum / sum (precision, recall)  |
| f1          | tp, predicted, actual       | 2 tp / (predicted + actual)    |
| sqrt_mean   | squared error               | sqrt(mean) (rmse)              |
| r2          | squared error, y, y²        | 1 - SSE / SST                  |
| roc_auc, pr_auc | is positive, score      | ranked: not a function of means |
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..model.metric_names import canonical
from . import custom_metrics, intervals
from .intervals import Estimate, NoInterval

RANKED = ("roc_auc", "pr_auc")


def _combiner(name: str):
    import numpy as np

    def ratio(num, den):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)

    if name == "mean":
        return lambda m: m[:, 0]
    if name == "ratio":
        return lambda m: ratio(m[:, 0], m[:, 1])
    if name == "f1":
        return lambda m: ratio(2.0 * m[:, 0], m[:, 1] + m[:, 2])
    if name == "sqrt_mean":
        return lambda m: np.sqrt(np.maximum(m[:, 0], 0.0))
    if name == "r2":
        def r2(m):
            variance = m[:, 2] - m[:, 1] ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(variance > 1e-12 * np.maximum(np.abs(m[:, 2]), 1e-300), 1.0 - m[:, 0] / variance, np.nan)
        return r2
    raise ValueError(f"unknown combine {name!r}")


@dataclass
class Evidence:
    metric: str
    columns: object  # (n, c) float array
    combine: str = "mean"
    units: object = None  # (n,) unit ids, or None: rows in order
    groups: object = None  # (n,) cluster ids, or None
    block_length: int | None = None
    unit: str = "rows"
    _value: float | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n_rows(self) -> int:
        return int(self.columns.shape[0])

    @property
    def ranked(self) -> bool:
        return self.combine in RANKED

    def value(self) -> float:
        """The metric on all units (computed once: the columns are not changed after they are built)."""
        if self._value is None:
            if self.ranked:
                from .validation import _RankCounts

                self._value = float(_RankCounts(self.combine, self.columns[:, 0].astype(int), self.columns[:, 1], 1).value)
            elif self.n_rows:
                self._value = float(_combiner(self.combine)(self.columns.mean(axis=0)[None, :])[0])
            else:
                self._value = math.nan
        return self._value

    def proportion(self) -> tuple[int, int] | None:
        """(successes, trials) when the metric is an exact proportion of independent rows; else None."""
        import numpy as np

        if self.groups is not None or self.block_length or self.ranked:
            return None
        cols = self.columns
        if not np.all((cols == 0) | (cols == 1)):
            return None
        if self.combine == "mean" and cols.shape[1] == 1:
            return int(cols[:, 0].sum()), self.n_rows
        if self.combine == "ratio" and np.all(cols[:, 0] <= cols[:, 1]):
            return int(cols[:, 0].sum()), int(cols[:, 1].sum())
        return None

    def sorted_by_unit(self) -> "Evidence":
        import numpy as np

        if self.units is None:
            return self
        order = np.argsort(self.units, kind="stable")
        return Evidence(self.metric, self.columns[order], self.combine, self.units[order],
                        None if self.groups is None else self.groups[order], self.block_length, self.unit)


# -- from predictions ----------------------------------------------------------------------------------


def from_predictions(metric: str, y_true, y_pred=None, *, y_score=None, units=None, groups=None, block_length=None,
                     **options) -> Evidence | None:
    """The evidence of a named metric computed on these rows (users, for ranking), or None when it has none."""
    import numpy as np

    from .metrics import _array, _pair, _positive_scores, row_decomposition, split_cut_off

    custom = custom_metrics.registered(canonical(metric))
    if custom is not None:
        return _custom_evidence(custom, metric, y_true, y_pred, y_score, units, groups, block_length)
    base, k = split_cut_off(metric)
    if base in RANKED:
        scores = _array(y_score if y_score is not None else y_pred, "y_score")
        if scores.ndim == 2 and scores.shape[1] > 2:
            return None
        yt, s = _pair(y_true, scores, "y_score")
        positive = (yt == options.get("pos_label", 1)).astype(float)
        columns = np.column_stack([positive, _positive_scores(s.astype(float))])
        return _with_ids(Evidence(base, columns, base), units, groups, block_length)
    decomposition = row_decomposition(metric, y_true, y_pred, y_score=y_score, **options)
    if decomposition is None:
        return None
    evidence = Evidence(metric, np.asarray(decomposition.columns, dtype=float), decomposition.combine)
    if k is not None or base == "mrr":
        from .ranking import RankedLists

        evaluated = np.flatnonzero(RankedLists(y_true, y_pred).evaluated)  # the users the mean is over
        evidence.unit = "users"
        if units is not None:
            units = np.asarray(units)[evaluated]
        else:
            units = evaluated
        if groups is not None:
            groups = np.asarray(groups)[evaluated]
    return _with_ids(evidence, units, groups, block_length)


def _custom_evidence(custom, metric: str, y_true, y_pred, y_score, units, groups, block_length) -> Evidence | None:
    """A registered metric's per-unit values; one resampled by a unit other than rows needs its `groups`."""
    import warnings

    import numpy as np

    from .metrics import MetricWarning

    given = custom.given(y_pred, y_score)
    if given is None:
        return None
    if custom.grouped and groups is None:
        warnings.warn(f"{custom.name} is logged without an interval: it is resampled by {custom.unit}, so its rows"
                      f" need groups= (the {custom.unit} of each row)", MetricWarning, stacklevel=4)
        return None
    columns, combine = custom.columns(y_true, given)
    return _with_ids(Evidence(metric, np.asarray(columns, dtype=float), combine), units, groups, block_length)


def _with_ids(evidence: Evidence, units, groups, block_length) -> Evidence:
    import numpy as np

    n = evidence.n_rows
    for name, ids in (("units", units), ("groups", groups)):
        if ids is not None and len(ids) != n:
            raise ValueError(f"{name} has {len(ids)} entries but the metric has {n} {evidence.unit}")
    evidence.units = None if units is None else np.asarray(units)
    evidence.groups = None if groups is None else np.asarray(groups)
    evidence.block_length = int(block_length) if block_length else None
    return evidence


# -- stored ---------------------------------------------------------------------------------------------

def save(experiment, evidence: Evidence) -> None:
    """Experiment.log_evidence for an Evidence (the library's own metrics)."""
    experiment.log_evidence(evidence.metric, evidence.columns, combine=evidence.combine, units=evidence.units,
                            groups=evidence.groups, block_length=evidence.block_length, unit=evidence.unit)


def decode(data: bytes) -> Evidence:
    from ..tracking.experiment import read_evidence

    found = read_evidence(data)
    return Evidence(found["metric"], found["values"], found["combine"], found["units"], found["groups"],
                    found["block_length"], found["unit"])


_LOADED: dict = {}


def load(record, metric: str) -> Evidence | None:
    """The evidence `record` holds for `metric` (same-metric spelling), checked against its recorded sha256."""
    from ..model.metric_names import same_metric

    import hashlib

    kept = record.meta.get("evidence") if isinstance(record.meta.get("evidence"), dict) else {}
    for rel, info in kept.items():
        if not isinstance(info, dict) or not same_metric(str(info.get("metric", "")), metric):
            continue
        key = (str(record.path), rel, info.get("sha256"))
        if key not in _LOADED:
            try:
                data = (record.path / rel).read_bytes() if not Path(rel).is_absolute() and ".." not in rel else b""
                _LOADED[key] = decode(data) if hashlib.sha256(data).hexdigest() == info.get("sha256") else None
            except Exception:  # noqa: BLE001 - unreadable or changed evidence is no evidence
                _LOADED[key] = None
        return _LOADED[key]
    return None


# -- intervals --------------------------------------------------------------------------------------------

_ESTIMATES: dict = {}


def estimate(evidence: Evidence, level: float, *, seed: int = 0, target: float | None = None,
             min_resamples: int = intervals.MIN_RESAMPLES) -> Estimate:
    """The metric's value and its interval at `level`: exact for a proportion of independent rows, else BCa
    (at least `min_resamples` resamples, more near `target`)."""
    key = (id(evidence), level, seed, target, min_resamples)
    found = _ESTIMATES.get(key)
    if found is not None and found[0] is evidence:
        return found[1]
    result = _estimate(evidence, level, seed, target, min_resamples)
    if len(_ESTIMATES) > 512:
        _ESTIMATES.clear()
    _ESTIMATES[key] = (evidence, result)
    return result


def _estimate(evidence: Evidence, level: float, seed: int, target, min_resamples: int) -> Estimate:
    value = evidence.value()
    if not math.isfinite(value):
        raise NoInterval(f"{evidence.metric} is {value} on its evidence")
    counted = evidence.proportion()
    if counted is not None:
        low, high = intervals.exact_proportion(*counted, level)
        return Estimate(value, low, high, level, "exact (Clopper-Pearson)", counted[1], evidence.unit)
    if evidence.ranked:
        return _ranked_estimate(evidence, value, level, seed, target, min_resamples)
    units = intervals.resampling_units(evidence.columns, groups=evidence.groups, block_length=evidence.block_length,
                                       unit=_unit_name(evidence), seed=seed)
    try:
        low, high, b = intervals.bca_interval(units, _combiner(evidence.combine), value, level, seed=seed, target=target,
                                              min_resamples=min_resamples,
                                              max_resamples=max(intervals.MAX_RESAMPLES, min_resamples))
        _check_width(evidence.metric, low, high)
    except NoInterval:
        fallback = _clustered_proportion(evidence, units, value, level)
        if fallback is None:
            raise
        return fallback
    return Estimate(value, low, high, level, "BCa bootstrap", units.n_units, units.unit, b)


def _unit_name(evidence: Evidence) -> str:
    """What is resampled: the rows (users), or clusters of them, named by a registered metric's unit ("customers")."""
    if evidence.groups is None:
        return evidence.unit
    custom = custom_metrics.registered(canonical(evidence.metric))
    if custom is not None and custom.grouped:
        return custom.unit if custom.unit.endswith("s") else f"{custom.unit}s"
    return f"clusters of {evidence.unit}"


def _check_width(metric: str, low: float, high: float) -> None:
    if not high > low:
        raise NoInterval(f"the interval of {metric} has zero width: the data show no variation to measure its"
                         " uncertainty from")


def _clustered_proportion(evidence: Evidence, units, value: float, level: float) -> Estimate | None:
    """A degenerate cluster bootstrap of a 0/1 proportion (all hits, say): exact, on one trial per cluster."""
    import numpy as np

    cols = evidence.columns
    if evidence.combine not in ("mean", "ratio") or not np.all((cols == 0) | (cols == 1)) or not 0 <= value <= 1:
        return None
    trials = units.n_units
    low, high = intervals.exact_proportion(round(value * trials), trials, level)
    return Estimate(value, low, high, level, "exact (Clopper-Pearson, one trial per cluster)", trials, units.unit)


def _ranked_estimate(evidence: Evidence, value: float, level: float, seed: int, target,
                     min_resamples: int = intervals.MIN_RESAMPLES) -> Estimate:
    """roc_auc / pr_auc: BCa over rows from per-resample rank counts; exact on min(positives, negatives) at 0 or 1."""
    if evidence.block_length:
        raise NoInterval(f"{evidence.combine} intervals over blocks of a time series are not computed: log its"
                         " interval with ci= from your own block bootstrap")
    if evidence.groups is not None:
        return _clustered_ranked_estimate(evidence, value, level, seed, min_resamples)
    if evidence.combine == "roc_auc" and evidence.n_rows > intervals.MAX_UNITS and value not in (0.0, 1.0):
        return _delong_estimate(evidence, value, level)
    replicates, jack, n_pos, n_neg, n = _ranked_replicates(evidence, seed, min_resamples)
    return _bca_or_exact(evidence, value, level, replicates, jack, n, "rows", min(n_pos, n_neg),
                         "exact (Clopper-Pearson on the smaller class)")


def _bca_or_exact(evidence, value, level, replicates, jack, n, unit, trials, exact_method) -> Estimate:
    """BCa bounds of a ranked metric; at 0 or 1, where they collapse, the exact interval on `trials`."""
    try:
        low, high = intervals.bca_bounds(replicates, jack, value, level)
        _check_width(evidence.combine, low, high)
    except NoInterval:
        if value not in (0.0, 1.0):
            raise
        low, high = intervals.exact_proportion(round(value * trials), trials, level)
        return Estimate(value, low, high, level, exact_method, trials, unit)
    return Estimate(value, low, high, level, "BCa bootstrap", n, unit, len(replicates))


_RANKED: dict = {}


def ranked_slots(kind: str, positive, scores):
    """(key per row, number of slots, statistic): roc_auc / pr_auc as a function of per-slot class counts.

    Slots, in ascending score order: each distinct score some positive row has, and between them the
    run of scores only negatives have. key = is_positive * n_slots + slot; statistic(counts) maps
    counts (B, 2 * n_slots) (any non-negative weights: resampled rows or clusters) to B values,
    equal to the metric on the rows so weighted.
    """
    import numpy as np

    from .validation import _RankCounts

    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    levels = np.unique(scores[positive])
    k = len(levels)
    at = np.searchsorted(levels, scores, side="left")
    tied = (at < k) & (levels[np.minimum(at, k - 1)] == scores)
    n_slots = 2 * k + 1
    key = positive.astype(np.int64) * n_slots + np.where(tied, 2 * at + 1, 2 * at)
    stat = _RankCounts.__new__(_RankCounts)  # only its statistic is used
    stat.kind = kind

    def statistic(counts):
        return stat._statistic(np.asarray(counts, dtype=float).reshape(-1, 2, n_slots))

    return key, n_slots, statistic


def _clustered_ranked_estimate(evidence: Evidence, value: float, level: float, seed: int,
                               min_resamples: int = intervals.MIN_RESAMPLES) -> Estimate:
    """roc_auc / pr_auc over clusters (the transactions of a card): a BCa interval from resampling whole clusters.

    Exact per resample without re-sorting: the scores are reduced to ordered slots, each distinct
    score that some positive row has, and between them the runs of scores only negatives have
    (both metrics depend on a negative only through which positive scores it lies between or ties
    with). A cluster is its counts per slot and class; a resample sums the drawn clusters' counts.
    Beyond intervals.MAX_UNITS clusters, they are dealt into that many batches (as for the other
    clustered metrics); the jackknife leaves out one batch (or cluster) at a time.
    """
    import numpy as np
    import scipy.sparse as sp

    key, n_slots, statistic = ranked_slots(evidence.combine, evidence.columns[:, 0] > 0, evidence.columns[:, 1])
    codes = intervals._codes(evidence.groups)
    m = int(codes.max()) + 1
    n_units = m
    if m > intervals.MAX_UNITS:
        codes = (np.random.default_rng(seed).permutation(m) % intervals.MAX_UNITS)[codes]
        m = intervals.MAX_UNITS
    counts = sp.csr_matrix((np.ones(len(key), dtype=np.float32), (key, codes)), shape=(2 * n_slots, m))
    full = np.asarray(counts.sum(axis=1)).ravel()
    chunk = max(1, min(min_resamples, 4_000_000 // (2 * n_slots)))
    replicates = np.concatenate([
        statistic((counts @ intervals._resample_weights(m, start, min(chunk, min_resamples - start), seed).T).T)
        for start in range(0, min_resamples, chunk)])
    dense = counts.toarray() if 2 * n_slots * m <= 50_000_000 else None
    jack = np.concatenate([
        statistic(full[None, :] - (dense[:, start:start + chunk] if dense is not None
                                   else counts[:, start:start + chunk].toarray()).T)
        for start in range(0, m, chunk)])
    return _bca_or_exact(evidence, value, level, replicates, jack, n_units, _unit_name(evidence), n_units,
                         "exact (Clopper-Pearson, one trial per cluster)")



def _delong_estimate(evidence: Evidence, value: float, level: float) -> Estimate:
    """roc_auc on many rows: DeLong's variance from the placement values, on the logit scale (it stays in (0, 1)).

    Costs one sort, where a bootstrap of the rank statistic costs resamples x rows.
    """
    import numpy as np
    from scipy.special import expit, logit
    from scipy.stats import norm, rankdata

    positive = evidence.columns[:, 0] == 1
    scores = evidence.columns[:, 1]
    pos, neg = scores[positive], scores[~positive]
    m, n = len(pos), len(neg)
    if m < 2 or n < 2:
        raise NoInterval("roc_auc needs at least two rows of each class for an interval")
    ranks = rankdata(np.concatenate([pos, neg]))
    below = (ranks[:m] - rankdata(pos)) / n  # per positive: the share of negatives scored lower (ties half)
    above = 1.0 - (ranks[m:] - rankdata(neg)) / m  # per negative: the share of positives scored higher
    variance = below.var(ddof=1) / m + above.var(ddof=1) / n
    if not variance > 0:
        raise NoInterval("the interval of roc_auc has zero width: the data show no variation to measure its uncertainty from")
    half = float(norm.ppf(0.5 + level / 2.0)) * math.sqrt(variance) / (value * (1.0 - value))
    low, high = float(expit(logit(value) - half)), float(expit(logit(value) + half))
    return Estimate(value, low, high, level, "DeLong (logit scale)", evidence.n_rows, "rows")


def _ranked_replicates(evidence: Evidence, seed: int, min_resamples: int = intervals.MIN_RESAMPLES):
    """(replicates, jackknife values, positives, negatives, rows) of a ranked metric's bootstrap.

    They do not depend on the level, so they are computed once per evidence and seed: a ratio's
    interval at 1 - (1 - level)/2 and a plain threshold's at `level` share them.
    """
    key = (id(evidence), seed, min_resamples)
    found = _RANKED.get(key)
    if found is not None and found[0] is evidence:
        return found[1]
    import numpy as np

    from .validation import _index_chunks, _RankCounts

    positive = evidence.columns[:, 0].astype(np.int64)
    n_pos, n_neg = int(positive.sum()), int(len(positive) - positive.sum())
    stat = _RankCounts(evidence.combine, positive, evidence.columns[:, 1], 1)
    rng = np.random.default_rng([seed, stat.n])
    replicates = np.concatenate([stat.resample(idx) for _, idx in _index_chunks(rng, stat.n, min_resamples)])
    groups = np.random.default_rng(seed).permutation(stat.n) % min(stat.n, 200)
    result = (replicates, _ranked_jackknife(stat, groups), n_pos, n_neg, stat.n)
    if len(_RANKED) > 32:
        _RANKED.clear()
    _RANKED[key] = (evidence, result)
    return result


def _ranked_jackknife(stat, groups):
    """The statistic without each group of rows, from the full rank counts minus the group's.

    The same values as recomputing it on the kept rows: the kept counts, with the scores no kept
    row has left out, are the counts those rows give.
    """
    import numpy as np

    width = 2 * stat.n_groups
    full = np.bincount(stat.key, minlength=width)
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(int(groups.max()) + 2))
    jack = []
    for g in range(len(bounds) - 1):
        kept = (full - np.bincount(stat.key[order[bounds[g]:bounds[g + 1]]], minlength=width)).reshape(2, -1)
        if kept[0].sum() == 0 or kept[1].sum() == 0:
            continue  # one class left: undefined, as on the kept rows
        jack.append(float(stat._statistic(kept[:, kept.sum(axis=0) > 0][None])[0]))
    return np.asarray(jack)


# -- a ratio of two experiments ------------------------------------------------------------------------


class NotPaired(ValueError):
    """The two experiments' evidence does not cover the same units."""


def paired(candidate: Evidence, reference: Evidence, level: float, *, how: str = "ratio", seed: int = 0,
           target: float | None = None, min_resamples: int = intervals.MIN_RESAMPLES):
    """candidate / reference (how="ratio") or candidate - reference ("difference") on the same units, resampled
    together: (its Estimate, the bootstrap replicates). Units are matched by id, else taken in order."""
    import numpy as np

    if candidate.ranked or reference.ranked:
        raise NotPaired(f"{candidate.combine} is not resampled in pairs here")
    if (candidate.units is None) != (reference.units is None):
        raise NotPaired("only one of the two experiments recorded unit ids")
    a, b = candidate.sorted_by_unit(), reference.sorted_by_unit()
    if a.n_rows != b.n_rows or (a.units is not None and not np.array_equal(a.units, b.units)):
        raise NotPaired(f"they were evaluated on different {candidate.unit} ({a.n_rows:,} vs {b.n_rows:,})")
    split = a.columns.shape[1]
    first, second = _combiner(a.combine), _combiner(b.combine)

    def statistic(m):
        with np.errstate(divide="ignore", invalid="ignore"):
            ours, theirs = first(m[:, :split]), second(m[:, split:])
            return ours / theirs if how == "ratio" else ours - theirs

    columns = np.hstack([a.columns, b.columns])
    value = float(statistic(columns.mean(axis=0)[None, :])[0])
    if not math.isfinite(value):
        raise NoInterval("the reference's value is 0: no ratio to it")
    units = intervals.resampling_units(columns, groups=a.groups if a.groups is not None else b.groups,
                                       block_length=a.block_length or b.block_length, unit=_unit_name(a), seed=seed)
    low, high, replicates = intervals.bca_with_replicates(units, statistic, value, level, seed=seed, target=target,
                                                          min_resamples=min_resamples,
                                                          max_resamples=max(intervals.MAX_RESAMPLES, min_resamples))
    _check_width(f"the {how} of {candidate.metric}", low, high)
    found = Estimate(value, low, high, level, "paired BCa bootstrap", units.n_units, units.unit, len(replicates))
    return found, replicates


def paired_ratio(candidate: Evidence, reference: Evidence, level: float, *, seed: int = 0,
                 target: float | None = None) -> Estimate:
    """candidate / reference on the same units, resampled together: the ratio's value and BCa interval."""
    return paired(candidate, reference, level, how="ratio", seed=seed, target=target)[0]
