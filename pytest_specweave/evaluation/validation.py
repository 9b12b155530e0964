"""Validation: cross-validation splits and per-fold metrics, bootstrap intervals, paired bootstrap.

- `cross_validate` fits a fresh copy of a model on each fold (stratified k-fold for
  classification, group k-fold when `groups` are given, shuffled k-fold for regression,
  time-series splits, and only those, for forecasting) and logs every metric's per-fold values
  through `Experiment.log_cv` (mean, std and the Nadeau–Bengio corrected t-interval on the mean,
  with the splits' real n_test / n_train).
- `bootstrap_ci` puts a confidence interval around a metric and logs it with `ci=`, with the
  metric's per-unit evidence (evidence.py): exact (Clopper–Pearson) for a proportion of
  independent rows, else a BCa bootstrap over rows, users, clusters (`groups=`) or blocks of a
  time series (`block_length=`; a time series is never resampled row by row). A metric that is a
  function of means of per-row values (accuracy, precision, recall, f1, rmse, mae, mape, r2,
  precision@k, hit_rate@k, ndcg@k, ...) is never recomputed: each unit's contribution is summed
  once and the resamples are weighted sums (intervals.py). roc_auc and pr_auc come from
  per-resample counts of positives and negatives at each distinct score. Anything else (coverage,
  macro averages, a callable) is recomputed on each resample by scipy.stats.bootstrap (BCa).
- `paired_bootstrap` resamples the same rows (clusters, blocks) for a candidate and a baseline:
  the BCa interval of their difference says whether the candidate is better on this data.

numpy, scipy and scikit-learn are imported inside the functions.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from ..model import metric_names
from ..settings import confidence_level
from .metrics import (canonical, compute_metrics, metric_value, problem_type, record_eval_targets,
                      split_cut_off)

CHUNK_ELEMENTS = 1_000_000  # indices drawn per chunk: 10 resamples of 100,000 rows, cache-sized


@dataclass(frozen=True)
class Interval:
    """A confidence interval [low, high] at `level`; refuses low > high, non-finite bounds, a level outside (0, 1)."""

    low: float
    high: float
    level: float = 0.95

    def __post_init__(self):
        for name in ("low", "high", "level"):
            value = getattr(self, name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"interval {name} must be a number, got {value!r}") from None
            if not math.isfinite(number):
                raise ValueError(f"interval {name} must be finite, got {number}")
            object.__setattr__(self, name, number)
        if self.low > self.high:
            raise ValueError(f"interval low {self.low} is above high {self.high}")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"interval level must be between 0 and 1 (0.95 for 95%), got {self.level}")

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high

    @property
    def ci(self) -> tuple[float, float]:
        return (self.low, self.high)


def _check_level(level) -> float:
    from .intervals import level_or_default

    return level_or_default(level)


def _check_resamples(n_resamples) -> int:
    import operator

    try:
        n = operator.index(n_resamples)
    except TypeError:
        raise TypeError(f"n_resamples must be an integer, got {n_resamples!r}") from None
    if n < 10:
        raise ValueError(f"n_resamples must be at least 10 (1000 is usual), got {n}")
    return n


def _rng(seed):
    import numpy as np

    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _take(obj, idx):
    """Rows `idx` of an array, DataFrame/Series, sparse matrix or list; None stays None."""
    if obj is None:
        return None
    if hasattr(obj, "iloc"):
        return obj.iloc[idx]
    if hasattr(obj, "shape") and hasattr(obj, "__getitem__"):
        return obj[idx]
    return [obj[i] for i in idx]


def _n_rows(obj) -> int:
    shape = getattr(obj, "shape", None)
    return int(shape[0]) if shape is not None else len(obj)


# -- statistics that can be resampled -----------------------------------------------------------------


class _RankCounts:
    """roc_auc / pr_auc of a binary problem: per resample, counts of positives and negatives at each distinct score."""

    method = "rank counts"

    def __init__(self, kind: str, y_true, scores, pos_label):
        import numpy as np

        from .metrics import _pair, _positive_scores

        yt, s = _pair(y_true, scores, "y_score")
        s = _positive_scores(s.astype(float))
        if not np.all(np.isfinite(s)):
            raise ValueError("y_score must be finite (found NaN or infinity)")
        positive = (yt == pos_label).astype(np.int64)
        if positive.min() == positive.max():
            raise ValueError(f"{kind} needs both classes in y_true; it holds one")
        _, group = np.unique(s, return_inverse=True)
        self.kind = kind
        self.n = len(s)
        self.n_groups = int(group.max()) + 1
        # counts laid out as (resample, negative/positive, distinct score): contiguous rows for cumsum
        self.key = (positive * self.n_groups + group).astype(np.int64)
        full = np.bincount(self.key, minlength=2 * self.n_groups).reshape(1, 2, self.n_groups)
        self.value = float(self._statistic(full)[0])

    def _statistic(self, counts):
        import numpy as np

        neg, pos = counts[:, 0, :], counts[:, 1, :]
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "roc_auc":  # pairs ranked right, ties counting half, in integers: 2·below + tied
                twice = (pos * (2 * np.cumsum(neg, axis=1) - neg)).sum(axis=1)
                out = twice / (2.0 * n_pos * n_neg)
            else:  # average precision, thresholds from the highest score down
                pos, neg = pos[:, ::-1], neg[:, ::-1]
                tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
                seen = tp + fp
                precision = np.divide(tp, seen, out=np.zeros(tp.shape), where=seen > 0)
                out = (pos * precision).sum(axis=1) / n_pos
        return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)

    def resample(self, idx):
        import numpy as np

        b = idx.shape[0]
        width = 2 * self.n_groups
        flat = (self.key[idx] + (np.arange(b, dtype=np.int64) * width)[:, None]).ravel()
        counts = np.bincount(flat, minlength=b * width).reshape(b, 2, self.n_groups)
        return self._statistic(counts)


class _Recompute:
    """Any other metric: computed again on each resample's rows."""

    method = "recomputed per resample"

    def __init__(self, func, y_true, y_pred, y_score):
        self.func = func
        self.y_true, self.y_pred, self.y_score = y_true, y_pred, y_score
        self.n = _n_rows(y_true)
        self.value = float(func(y_true, y_pred, y_score))

    def resample(self, idx):
        import numpy as np

        out = np.empty(idx.shape[0])
        for i, rows in enumerate(idx):
            try:
                out[i] = self.func(_take(self.y_true, rows), _take(self.y_pred, rows), _take(self.y_score, rows))
            except ValueError:  # undefined on this resample (one class left, say)
                out[i] = np.nan
        return out


def _statistic(metric, y_true, y_pred, y_score, options):
    """The resampling plan of a metric with no per-row evidence: rank counts for roc_auc/pr_auc, else recomputed
    (a callable(y_true, y_pred) -> float, coverage, macro averages)."""
    if callable(metric):
        def func(yt, yp, ys):
            return float(metric(yt, yp))

        return _Recompute(func, y_true, y_pred, None)
    name = canonical(metric)
    pos_label = options.get("pos_label", 1)
    if name in ("roc_auc", "pr_auc"):
        from .metrics import _array

        scores = _array(y_score if y_score is not None else y_pred, "y_score")
        if scores.ndim == 1 or scores.shape[1] <= 2:
            return _RankCounts(name, y_true, scores, pos_label)
    def func(yt, yp, ys):
        return metric_value(name, yt, yp, y_score=ys, **options)

    return _Recompute(func, y_true, y_pred, y_score)


def _index_chunks(rng, n: int, n_resamples: int):
    import numpy as np

    dtype = np.int32 if n < 2**31 else np.int64
    chunk = max(1, min(n_resamples, CHUNK_ELEMENTS // max(n, 1)))
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        yield start, rng.integers(0, n, size=(b, n), dtype=dtype)


def _percentiles(values, level):
    import numpy as np

    finite = values[np.isfinite(values)]
    if len(finite) < max(10, len(values) // 2):
        raise ValueError(
            f"the metric is undefined on {len(values) - len(finite)} of {len(values)} resamples:"
            " too few rows of some kind (a class, a relevant item) to bootstrap it"
        )
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high), float(finite.std(ddof=1)), len(values) - len(finite)


# -- results -----------------------------------------------------------------------------------------


@dataclass
class BootstrapResult:
    """A metric's value on all rows and its confidence interval; `method` says which (exact, BCa bootstrap)."""

    metric: str
    value: float
    low: float
    high: float
    level: float
    n_resamples: int
    n_rows: int
    std_error: float
    method: str
    undefined_resamples: int = 0

    @property
    def interval(self) -> Interval:
        return Interval(self.low, self.high, self.level)

    @property
    def ci(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass
class PairedBootstrapResult:
    """candidate - baseline on the same resampled rows: its value, interval, and which side it favours."""

    metric: str
    candidate: float
    baseline: float
    difference: float
    low: float
    high: float
    level: float
    p_value: float  # share of resamples in which the candidate is not better than the baseline
    direction: str  # higher | lower: which way is better for this metric
    n_resamples: int
    n_rows: int

    @property
    def better(self) -> str:
        """'candidate' or 'baseline' when the whole interval favours it, else 'inconclusive'."""
        sign = -1.0 if self.direction == "lower" else 1.0
        low, high = sorted((sign * self.low, sign * self.high))
        if low > 0:
            return "candidate"
        if high < 0:
            return "baseline"
        return "inconclusive"

    @property
    def interval(self) -> Interval:
        return Interval(self.low, self.high, self.level)


def _metric_label(metric, name) -> str:
    if name is not None:
        return str(name)
    if callable(metric):
        return getattr(metric, "__name__", "metric")
    return canonical(metric)


def _finite_value(label, value) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{label} is {value} on the given rows: no interval can be put around it")
    return value


def bootstrap_ci(
    metric,
    y_true,
    y_pred=None,
    *,
    y_score=None,
    n_resamples: int = 2000,
    level: float | None = None,
    seed=0,
    experiment=None,
    name: str | None = None,
    log_predictions: bool = True,
    units=None,
    groups=None,
    block_length: int | None = None,
    **options,
) -> BootstrapResult:
    """The metric on all rows, and its confidence interval at `level` (the run's, 0.95 unless set).

    metric: a name ('accuracy', 'rmse', 'precision@10', 'roc_auc' ...) or a callable(y_true, y_pred).
    y_pred: labels, values, or ranked lists (n_users, k); for roc_auc/pr_auc the scores (or y_score=).
    options: threshold=, pos_label=, average=, y_train=/season_length= (mase), catalogue= (coverage@k).

    Which interval: a proportion of independent rows (accuracy, precision, recall, hit_rate@k)
    gets the exact Clopper–Pearson interval, which never collapses at 0 or 1; anything else a
    BCa bootstrap (at least `n_resamples` resamples, more when an endpoint is close to a
    decision). units: an id per row (user, customer): experiments evaluated on the same ids are
    compared pair by pair. groups: a cluster id per row (card, household): rows of a cluster are
    resampled together. block_length: the rows are a time series in time order, resampled in
    blocks of that many consecutive rows; a time series (a date index, mase, y_train=) is never
    resampled row by row and is refused without it.
    seed: an int (the default 0 makes intervals reproducible).
    experiment: logs `name` (default: the metric's canonical name) with ci=(low, high) and level,
    its per-unit evidence (Experiment.log_evidence), the hash of y_true as its "eval_targets"
    input, and with `log_predictions` (not for ranking metrics) the rows as predictions.npz for
    the report's charts (see metrics.compute_metrics).
    """
    from . import evidence as evidence_module
    from .intervals import NoInterval

    level = _check_level(level)
    n_resamples = _check_resamples(n_resamples)
    label = _metric_label(metric, name)
    _refuse_iid_time_series(metric, y_true, block_length, options)
    if callable(metric):
        if groups is not None or block_length:
            raise ValueError("a callable metric is resampled row by row only: log per-unit values with"
                             " experiment.log_evidence(..., groups=) for clustered or time-ordered rows")
        return _scipy_bca(metric, label, y_true, y_pred, level, n_resamples, seed, experiment)
    evidence = evidence_module.from_predictions(metric, y_true, y_pred, y_score=y_score, units=units, groups=groups,
                                                block_length=block_length, **options)
    if evidence is None:
        if groups is not None or block_length:
            raise ValueError(f"{label} does not decompose over rows: it cannot be resampled by clusters or blocks")
        name_ = canonical(metric)

        def func(yt, yp):
            return metric_value(name_, yt, yp, y_score=None, **options)

        return _scipy_bca(func, label, y_true, y_pred if y_score is None else y_score, level, n_resamples, seed,
                          experiment)
    evidence.metric = label
    try:
        found = evidence_module.estimate(evidence, level, seed=int(seed) if not hasattr(seed, "integers") else 0,
                                         min_resamples=n_resamples)
    except NoInterval as err:
        raise ValueError(f"{label}: {err}") from None
    value = _finite_value(label, found.value)
    result = BootstrapResult(label, value, found.low, found.high, level, found.resamples, evidence.n_rows,
                             _std_error(found), found.describe())
    if experiment is not None:
        experiment.log_metric(label, value, ci=(found.low, found.high), level=level)
        evidence_module.save(experiment, evidence)
        record_eval_targets(experiment, y_true)
        if log_predictions:
            _save_predictions(metric, experiment, y_true, y_pred, y_score, options)
    return result


def _std_error(found) -> float:
    from scipy.stats import norm

    return (found.high - found.low) / (2.0 * float(norm.ppf(0.5 + found.level / 2.0)))


def _refuse_iid_time_series(metric, y_true, block_length, options) -> None:
    if block_length:
        return
    index = getattr(y_true, "index", None)
    dated = type(index).__name__ in ("DatetimeIndex", "PeriodIndex")
    forecast = not callable(metric) and canonical(metric).startswith("mase") or options.get("y_train") is not None
    if dated or forecast:
        what = "a date index" if dated else "a forecast (mase / y_train=)"
        raise ValueError(
            f"these rows are a time series ({what}): neighbouring values are not independent, so they are not"
            " resampled one by one. Pass block_length= (a season, say 12 months) for a block bootstrap, or"
            " judge the forecast over rolling-origin folds with cross_validate(cv='time_series') / log_cv"
        )


def _scipy_bca(func, label, y_true, y_pred, level, n_resamples, seed, experiment) -> BootstrapResult:
    """Any metric as a function of the rows: scipy.stats.bootstrap's BCa over rows, recomputing it each time."""
    import numpy as np
    from scipy.stats import bootstrap

    yt, yp = _as_rows(y_true), _as_rows(y_pred)
    n = _n_rows(yt)
    if n < 2:
        raise ValueError(f"bootstrap needs at least 2 rows, got {n}")
    value = _finite_value(label, float(func(yt, yp)))
    rows = np.arange(n)

    def statistic(idx):
        try:
            return float(func(_take(yt, idx), _take(yp, idx)))
        except ValueError:
            return np.nan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = bootstrap((rows,), statistic, vectorized=False, n_resamples=n_resamples, confidence_level=level,
                          method="BCa", random_state=np.random.default_rng(seed))
    low, high = float(found.confidence_interval.low), float(found.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)) or not high > low:
        raise ValueError(f"{label}: the bootstrap is degenerate on these rows (no interval of non-zero width)")
    result = BootstrapResult(label, value, low, high, level, n_resamples, n, float(found.standard_error),
                             "BCa bootstrap (recomputed per resample)")
    if experiment is not None:
        experiment.log_metric(label, value, ci=(low, high), level=level)
        record_eval_targets(experiment, y_true)
    return result


def _as_rows(values):
    import numpy as np

    if values is None or hasattr(values, "iloc") or hasattr(values, "shape"):
        return values
    return np.asarray(values, dtype=object) if values and not np.isscalar(values[0]) else np.asarray(values)


def _save_predictions(metric, experiment, y_true, y_pred, y_score, options) -> None:
    """The rows a bootstrap judged, as predictions.npz: scores where the metric reads scores, else labels or values."""
    from .metrics import save_predictions, split_cut_off

    if not callable(metric):
        base, k = split_cut_off(metric)
        if k is not None or base in ("mrr", "coverage"):
            return  # ranked lists: no chart reads them
        if base in ("roc_auc", "pr_auc"):
            y_score, y_pred = (y_score if y_score is not None else y_pred), None
        elif options.get("threshold") is not None and y_pred is not None:
            from .metrics import labels_at_threshold

            try:
                y_score, y_pred = y_pred, labels_at_threshold(y_true, y_pred, options["threshold"],
                                                              options.get("pos_label", 1))
            except ValueError:
                return
    if y_pred is None and y_score is None:
        return
    save_predictions(experiment, y_true, y_pred, y_score=y_score)


def paired_bootstrap(
    metric,
    y_true,
    candidate,
    baseline,
    *,
    n_resamples: int = 1000,
    level: float | None = None,
    seed=0,
    experiment=None,
    name: str | None = None,
    direction: str | None = None,
    groups=None,
    block_length: int | None = None,
    **options,
) -> PairedBootstrapResult:
    """Candidate vs baseline on the same rows: the difference (candidate - baseline) and its bootstrap interval.

    candidate, baseline: the two models' predictions for the same rows of y_true (scores for
    roc_auc/pr_auc, ranked lists for ranking metrics). direction: 'higher' or 'lower' is better
    (known for the standard metrics). experiment: logs '<metric>_delta' with its interval and
    '<metric>_delta_p_value' (the share of resamples in which the candidate is not better).
    A metric that decomposes over rows gets a BCa interval; groups= resamples clusters of rows
    together and block_length= blocks of consecutive rows (a time series), as in bootstrap_ci.
    """
    import numpy as np

    level = _check_level(level)
    n_resamples = _check_resamples(n_resamples)
    label = _metric_label(metric, name)
    direction = direction or (None if callable(metric) else metric_names.direction(label))
    if direction not in ("higher", "lower"):
        raise ValueError(f"say whether higher or lower {label} is better: direction='higher' or 'lower'")
    if _n_rows(candidate) != _n_rows(baseline):
        raise ValueError(
            f"candidate has {_n_rows(candidate)} rows but baseline has {_n_rows(baseline)}: a paired test needs"
            " both models' predictions for the same rows"
        )
    _refuse_iid_time_series(metric, y_true, block_length, options)
    paired = _paired_evidence(metric, y_true, candidate, baseline, groups, block_length, options)
    if paired is not None:
        return _paired_bca(paired, label, direction, level, n_resamples, seed, experiment, y_true)
    if groups is not None or block_length:
        raise ValueError(f"{label} does not decompose over rows: it cannot be resampled by clusters or blocks")
    first = _statistic(metric, y_true, candidate, None, options)
    second = _statistic(metric, y_true, baseline, None, options)
    cand, base = _finite_value(f"{label} of the candidate", first.value), _finite_value(f"{label} of the baseline", second.value)
    diffs = np.empty(n_resamples)
    for start, idx in _index_chunks(_rng(seed), first.n, n_resamples):
        diffs[start:start + len(idx)] = first.resample(idx) - second.resample(idx)
    low, high, _, _ = _percentiles(diffs, level)
    return _paired_result(label, cand, base, low, high, level, diffs, direction, first.n, experiment, y_true)


def _paired_result(label, cand, base, low, high, level, replicates, direction, n_rows, experiment, y_true):
    """The PairedBootstrapResult (p_value: the share of finite resamples not favouring the candidate), logged."""
    import numpy as np

    finite = replicates[np.isfinite(replicates)]
    not_better = finite <= 0 if direction == "higher" else finite >= 0
    result = PairedBootstrapResult(label, cand, base, cand - base, low, high, level, float(not_better.mean()),
                                   direction, len(replicates), n_rows)
    if experiment is not None:
        interval = result.interval
        experiment.log_metric(f"{label}_delta", result.difference, ci=interval.ci, level=interval.level)
        experiment.log_metric(f"{label}_delta_p_value", result.p_value)
        record_eval_targets(experiment, y_true)
    return result


def _paired_evidence(metric, y_true, candidate, baseline, groups, block_length, options):
    """Both models' per-row evidence of a metric that decomposes over rows, or None."""
    if callable(metric):
        return None
    from .evidence import from_predictions

    base, _ = split_cut_off(metric)
    if base in ("roc_auc", "pr_auc"):
        return None
    first = from_predictions(metric, y_true, candidate, groups=groups, block_length=block_length, **options)
    second = from_predictions(metric, y_true, baseline, groups=groups, block_length=block_length, **options)
    if first is None or second is None or first.n_rows != second.n_rows:
        return None
    return first, second


def _paired_bca(paired, label, direction, level, n_resamples, seed, experiment, y_true) -> PairedBootstrapResult:
    """candidate - baseline, both resampled on the same rows (clusters, blocks): BCa interval and the one-sided share."""
    import numpy as np

    from . import evidence
    from .intervals import NoInterval

    first, second = paired
    cand = _finite_value(f"{label} of the candidate", first.value())
    base = _finite_value(f"{label} of the baseline", second.value())
    if cand == base and np.array_equal(first.columns, second.columns):  # the same predictions: no difference at all
        return _paired_result(label, cand, base, 0.0, 0.0, level, np.zeros(n_resamples), direction, first.n_rows,
                              experiment, y_true)
    try:
        found, replicates = evidence.paired(first, second, level, how="difference",
                                            seed=int(seed) if isinstance(seed, int) else 0,
                                            min_resamples=max(n_resamples, 10))
    except NoInterval as err:
        raise ValueError(f"{label}: {err}") from None
    return _paired_result(label, cand, base, found.low, found.high, level, replicates, direction, first.n_rows,
                          experiment, y_true)


# -- cross-validation --------------------------------------------------------------------------------


def stratified_kfold(y, n_splits: int = 5, *, shuffle: bool = True, seed=0) -> list:
    """(train, test) index pairs whose test folds keep the class proportions of y."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    return list(splitter.split(_placeholder(y), y))


def group_kfold(groups, n_splits: int = 5) -> list:
    """(train, test) index pairs in which no group is on both sides (a user, a patient, a store)."""
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(n_splits=n_splits).split(_placeholder(groups), groups=groups))


def time_series_split(n_samples, n_splits: int = 5, *, gap: int = 0, test_size=None, max_train_size=None) -> list:
    """(train, test) index pairs in time order: each test fold lies after its whole training window.

    n_samples: the number of rows (in time order), or the series itself. `gap` rows are left out
    between training and test (the forecast lead time).
    """
    from sklearn.model_selection import TimeSeriesSplit

    n = n_samples if isinstance(n_samples, int) else _n_rows(n_samples)
    splitter = TimeSeriesSplit(n_splits=n_splits, gap=gap, test_size=test_size, max_train_size=max_train_size)
    return list(splitter.split(_placeholder(n)))


def kfold(n_samples, n_splits: int = 5, *, shuffle: bool = True, seed=0) -> list:
    """(train, test) index pairs of plain k-fold (shuffled by default): for regression."""
    from sklearn.model_selection import KFold

    n = n_samples if isinstance(n_samples, int) else _n_rows(n_samples)
    return list(KFold(n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None).split(_placeholder(n)))


def _placeholder(y_or_n):
    import numpy as np

    n = y_or_n if isinstance(y_or_n, int) else _n_rows(y_or_n)
    return np.zeros((n, 1))


@dataclass
class CVResult:
    """Per-fold metric values and what log_cv derives from them."""

    folds: dict[str, list[float]]
    n_splits: int
    splitter: str
    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    ci: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    test_train_ratio: float | None = None  # mean test size / mean training size over the splits


SPLITTERS = ("stratified", "group", "time_series", "kfold")


def _splits(kind, cv, n_splits, y, groups, seed, n):
    """The (train, test) pairs and a label for them; forecasting only ever gets time-ordered ones."""
    if cv is None:
        if kind == "forecasting":
            cv = "time_series"
        elif groups is not None:
            cv = "group"
        else:
            cv = "stratified" if kind == "classification" else "kfold"
    if isinstance(cv, str):
        key = cv.strip().lower().replace("-", "_").replace(" ", "_")
        if key in ("timeseries", "time"):
            key = "time_series"
        if key not in SPLITTERS:
            raise ValueError(f"unknown cv {cv!r}; expected one of {', '.join(SPLITTERS)}, a splitter or (train, test) pairs")
        if kind == "forecasting" and key != "time_series":
            raise ValueError(
                f"forecasting is never validated on a {key} split (it trains on the future):"
                " use cv='time_series'"
            )
        if key == "stratified":
            return stratified_kfold(y, n_splits, seed=seed), key
        if key == "group":
            if groups is None:
                raise ValueError("cv='group' needs groups= (one group label per row)")
            return group_kfold(groups, n_splits), key
        if key == "time_series":
            return time_series_split(n, n_splits), key
        return kfold(n, n_splits, seed=seed), key
    if hasattr(cv, "split"):
        pairs = list(cv.split(_placeholder(n), y, groups))
        label = type(cv).__name__
    else:
        pairs = list(cv)
        label = "given splits"
    if kind == "forecasting":
        for number, (train, test) in enumerate(pairs):
            if len(train) and len(test) and max(train) >= min(test):
                raise ValueError(
                    f"fold {number} trains on rows after its test rows: forecasting is validated only on"
                    " time-ordered splits (every training row before every test row); use cv='time_series'"
                )
    return pairs, label


def _fresh(model):
    try:
        from sklearn.base import clone

        return clone(model)
    except Exception:  # not a scikit-learn estimator
        import copy

        return copy.deepcopy(model)


def cross_validate(
    model,
    X,
    y,
    *,
    problem: str,
    cv=None,
    n_splits: int = 5,
    groups=None,
    seed=0,
    metrics=None,
    experiment=None,
    prefix: str = "",
    fit_params=None,
    **metric_options,
) -> CVResult:
    """Fit a fresh copy of `model` on each training fold, score it on the test fold, log per-fold values.

    cv: 'stratified' (classification's default), 'group' (the default when `groups` are given),
    'kfold' (shuffled; regression's default), 'time_series' (forecasting's only choice), a
    scikit-learn splitter, or (train, test) index pairs. For forecasting any split whose training
    rows do not all come before its test rows is refused, and mase is scaled on each training fold.
    metrics: names to keep (default: all of compute_metrics). experiment: each metric goes through
    log_cv (`prefix` + name), which stores its folds, mean, std and interval. The interval (in
    `CVResult.ci` and logged) is the Nadeau–Bengio corrected t-interval (see cv_interval), at the
    run's confidence level, with n_test / n_train the mean test size over the mean training size
    of the splits (`CVResult.test_train_ratio`).
    Classification scores come from predict_proba when the model has it (roc_auc, pr_auc).
    """
    import numpy as np

    kind = problem_type(problem)
    if kind == "ranking":
        raise ValueError(
            "cross_validate does not split ranking data: split users or time yourself, compute"
            " compute_metrics('ranking', ...) per fold and log the values with experiment.log_cv"
        )
    n = _n_rows(X)
    if _n_rows(y) != n:
        raise ValueError(f"X has {n} rows but y has {_n_rows(y)}")
    pairs, label = _splits(kind, cv, n_splits, y, groups, seed, n)
    keep = None if metrics is None else [canonical(m) for m in metrics]
    per_fold: list[dict[str, float]] = []
    sizes = [(len(train), len(test)) for train, test in pairs]
    n_train, n_test = (sum(size[i] for size in sizes) / max(len(sizes), 1) for i in (0, 1))
    ratio = n_test / n_train if n_train > 0 and n_test > 0 else None
    for train, test in pairs:
        fitted = _fresh(model)
        fitted.fit(_take(X, train), _take(y, train), **(fit_params or {}))
        X_test, y_test = _take(X, test), _take(y, test)
        options = dict(metric_options)
        y_pred = fitted.predict(X_test)
        if kind == "classification" and hasattr(fitted, "predict_proba"):
            proba = np.asarray(fitted.predict_proba(X_test))
            classes = list(getattr(fitted, "classes_", []))
            positive = classes.index(options.get("pos_label", 1)) if options.get("pos_label", 1) in classes else 1
            options["y_score"] = proba[:, positive] if proba.ndim == 2 and proba.shape[1] == 2 else proba
            if proba.ndim == 2 and proba.shape[1] > 2 and proba.shape[1] != len(np.unique(np.asarray(y_test))):
                options.pop("y_score")  # a fold missing a class: no per-class scores to match
        if kind == "forecasting" and "y_train" not in options:
            options["y_train"] = _take(y, train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = compute_metrics(kind, y_test, y_pred, **options)
        per_fold.append(scores if keep is None else {k: v for k, v in scores.items() if k in keep})
    names = [k for k in per_fold[0] if all(k in fold for fold in per_fold)]
    missing = sorted({k for fold in per_fold for k in fold} - set(names))
    if missing:
        warnings.warn(f"left out, undefined on some folds: {', '.join(missing)}", stacklevel=2)
    if keep is not None:
        absent = [m for m in keep if m not in names]
        if absent:
            raise ValueError(f"metrics not computed for {kind}: {', '.join(absent)}")
    from ..tracking.experiment import cv_interval

    result = CVResult({k: [fold[k] for fold in per_fold] for k in names}, len(pairs), label, test_train_ratio=ratio)
    for key, values in result.folds.items():
        arr = np.asarray(values, dtype=float)
        result.mean[key] = float(arr.mean())
        result.std[key] = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
        interval = cv_interval(values, result.mean[key], result.std[key], confidence_level(), test_train_ratio=ratio)
        result.ci[key] = None if interval is None else (interval[0], interval[1])
        if experiment is not None:
            experiment.log_cv(f"{prefix}{key}", values, test_train_ratio=ratio)
    if experiment is not None:
        experiment.log_params({"cv": label, "cv_folds": len(pairs)})
    return result
