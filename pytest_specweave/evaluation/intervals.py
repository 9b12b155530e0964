"""Confidence intervals from per-unit evidence: exact proportions, BCa bootstrap over units, block and cluster units.

Plain numpy and scipy over arrays; nothing here knows the store or pytest.

A metric whose value is `combine(column means of per-row values)` (see evidence.py) is resampled
through *resampling units*: rows, or the clusters given as groups (cards, customers), or blocks
of consecutive rows of a time series. Each unit is reduced once to its column sums and row count,
so a resample is a weighted sum of unit rows, computed for all resamples at once as one matrix
product. Past MAX_UNITS units, units are dealt at random (by their id, so that two experiments on
the same units get the same deal) into MAX_UNITS batches that are resampled instead: for
exchangeable units this keeps the bootstrap's variance and skewness, and it keeps the cost of an
interval independent of the number of rows.

The interval is BCa (bias-corrected and accelerated; Efron 1987), with the acceleration from the
jackknife over the same units. The number of resamples grows (up to MAX_RESAMPLES) while its two
halves disagree on which side of the target an endpoint falls, so that no seed flips a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_UNITS = 2000
MIN_RESAMPLES = 2000
MAX_RESAMPLES = 16000


class NoInterval(ValueError):
    """The data cannot give this interval (too few units, a statistic undefined on most resamples)."""


@dataclass(frozen=True)
class Estimate:
    """A value and its interval, with how the interval was made."""

    value: float
    low: float
    high: float
    level: float
    method: str  # "exact (Clopper-Pearson)", "BCa bootstrap", "Nadeau-Bengio t", ...
    n_units: int  # the units the interval rests on (rows, users, clusters, blocks, folds)
    unit: str = "rows"
    resamples: int = 0

    @property
    def width(self) -> float:
        return self.high - self.low

    def describe(self) -> str:
        units = f"{self.n_units:,} {self.unit}"
        if self.resamples:
            return f"{self.method} over {units}, {self.resamples:,} resamples"
        return f"{self.method}, {units}"


def check_level(level, what: str = "level") -> float:
    """A confidence level as a float in (0, 1); a clear ValueError naming `what` otherwise."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number between 0 and 1, got {level!r}") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"{what} must be between 0 and 1 (0.95 for 95%), got {level}")
    return level


def level_or_default(level) -> float:
    """`level`, checked, or the run's confidence level (`--sw-confidence`, 0.95 unless set) when None."""
    if level is None:
        from ..settings import confidence_level

        return confidence_level()
    return check_level(level)


def sidak_level(level: float, comparisons: int) -> float:
    """The per-comparison level that keeps `level` over `comparisons` looks: level ** (1/K)."""
    return level ** (1.0 / max(1, int(comparisons)))


def exact_proportion(successes: int, trials: int, level: float) -> tuple[float, float]:
    """Clopper–Pearson's exact interval for successes / trials (never of zero width, even at 0 or 1)."""
    from scipy.stats import binomtest

    if trials < 1:
        raise NoInterval("a proportion of zero trials has no interval")
    found = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=level, method="exact")
    return float(found.low), float(found.high)


# -- resampling units ----------------------------------------------------------------------------------


@dataclass
class Units:
    """Per-unit column sums S (m, c) and row counts w (m,), and what a unit is."""

    sums: object
    counts: object
    n_units: int  # before batching
    unit: str
    batched: bool = False


def _codes(ids):
    """Dense integer codes of unit ids in sorted-id order (equal ids, equal codes; two experiments agree)."""
    import numpy as np

    ids = np.asarray(ids)
    if ids.dtype == object:
        ids = ids.astype(str)
    _, codes = np.unique(ids, return_inverse=True)
    return codes.reshape(-1)


def resampling_units(columns, *, groups=None, block_length=None, unit: str = "rows", max_units: int = MAX_UNITS,
                     seed: int = 0) -> Units:
    """Reduce per-row columns (n, c) to per-unit sums: groups as clusters, or blocks of consecutive rows."""
    import numpy as np

    columns = np.asarray(columns, dtype=float)
    if columns.ndim == 1:
        columns = columns[:, None]
    n = columns.shape[0]
    if groups is not None:
        codes = _codes(groups)
        if len(codes) != n:
            raise ValueError(f"groups has {len(codes)} entries but there are {n} rows")
    elif block_length:
        block_length = int(block_length)
        if block_length < 1:
            raise ValueError(f"block_length must be at least 1, got {block_length}")
        codes = np.arange(n) // block_length
        unit = f"blocks of {block_length} consecutive rows"
    else:
        codes = None
    if codes is None:
        sums, counts = columns, np.ones(n)
    else:
        m = int(codes.max()) + 1 if n else 0
        sums = np.zeros((m, columns.shape[1]))
        np.add.at(sums, codes, columns)
        counts = np.bincount(codes, minlength=m).astype(float)
    m = sums.shape[0]
    if m <= max_units:
        return Units(sums, counts, m, unit)
    deal = np.random.default_rng(seed).permutation(m) % max_units
    batched = np.zeros((max_units, sums.shape[1]))
    np.add.at(batched, deal, sums)
    return Units(batched, np.bincount(deal, weights=counts, minlength=max_units), m, unit, batched=True)


# -- BCa bootstrap -------------------------------------------------------------------------------------

_WEIGHTS: dict = {}


def _resample_weights(m: int, start: int, count: int, seed: int):
    """How often each of m units is drawn in resamples start .. start+count (float32 (count, m)), cached."""
    import numpy as np

    key = (m, start, count, seed)
    found = _WEIGHTS.get(key)
    if found is None:
        if len(_WEIGHTS) > 8:
            _WEIGHTS.clear()
        rng = np.random.default_rng([seed, m, start])
        draws = rng.integers(0, m, size=(count, m), dtype=np.int64)
        flat = (draws + (np.arange(count, dtype=np.int64) * m)[:, None]).ravel()
        found = np.bincount(flat, minlength=count * m).reshape(count, m).astype(np.float32)
        _WEIGHTS[key] = found
    return found


def _replicates(units: Units, statistic, start: int, count: int, seed: int):
    import numpy as np

    weights = _resample_weights(len(units.counts), start, count, seed)
    totals = weights @ units.sums.astype(np.float32)
    n = weights @ units.counts.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return statistic(totals.astype(float) / n.astype(float)[:, None])


def _jackknife(units: Units, statistic):
    import numpy as np

    total, n = units.sums.sum(axis=0), units.counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return statistic((total[None, :] - units.sums) / (n - units.counts)[:, None])


def bca_bounds(replicates, jack, value: float, level: float) -> tuple[float, float]:
    import numpy as np
    from scipy.stats import norm

    finite = replicates[np.isfinite(replicates)]
    if len(finite) < 0.5 * len(replicates):
        raise NoInterval(f"the metric is undefined on {len(replicates) - len(finite)} of {len(replicates)} resamples")
    below = (np.sum(finite < value) + 0.5 * np.sum(finite == value)) / len(finite)
    if below <= 0.0 or below >= 1.0:
        raise NoInterval("every resample gives the same side of the value: the bootstrap is degenerate here")
    z0 = norm.ppf(below)
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack if len(jack) else np.zeros(1)
    denominator = 6.0 * float(np.sum(d**2)) ** 1.5
    a = float(np.sum(d**3)) / denominator if denominator > 0 else 0.0
    tail = (1.0 - level) / 2.0
    out = []
    for alpha in (tail, 1.0 - tail):
        z = norm.ppf(alpha)
        adjusted = norm.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
        out.append(float(np.quantile(finite, min(max(adjusted, 0.0), 1.0))))
    return out[0], out[1]


def bca_interval(units: Units, statistic, value: float, level: float, *, seed: int = 0, target: float | None = None,
                 min_resamples: int = MIN_RESAMPLES, max_resamples: int = MAX_RESAMPLES) -> tuple[float, float, int]:
    """(low, high, resamples) of the BCa interval; statistic maps column means (B, c) to values (B,).

    With a target, resampling goes on (doubling) while the two halves of the resamples put an
    endpoint on different sides of it.
    """
    low, high, replicates = bca_with_replicates(units, statistic, value, level, seed=seed, target=target,
                                                min_resamples=min_resamples, max_resamples=max_resamples)
    return low, high, len(replicates)


def bca_with_replicates(units: Units, statistic, value: float, level: float, *, seed: int = 0,
                        target: float | None = None, min_resamples: int = MIN_RESAMPLES,
                        max_resamples: int = MAX_RESAMPLES):
    """bca_interval, returning the bootstrap replicates themselves instead of their count."""
    import numpy as np

    if units.n_units < 2:
        raise NoInterval(f"an interval needs at least 2 {units.unit}, got {units.n_units}")
    jack = _jackknife(units, statistic)
    chunks = [_replicates(units, statistic, 0, min_resamples, seed)]
    while True:
        replicates = np.concatenate(chunks)
        low, high = bca_bounds(replicates, jack, value, level)
        total = len(replicates)
        if target is None or total * 2 > max_resamples:
            return low, high, replicates
        half = total // 2
        first = bca_bounds(replicates[:half], jack, value, level)
        second = bca_bounds(replicates[half:], jack, value, level)
        if all((f < target) == (s < target) == (e < target) for f, s, e in zip(first, second, (low, high))):
            return low, high, replicates
        chunks.append(_replicates(units, statistic, total, total, seed))


# -- how much more data ------------------------------------------------------------------------------


def data_factor(value: float, low: float, high: float, target: float) -> float | None:
    """How many times the evaluation units would make the interval clear `target` at the observed value.

    Half-widths shrink as 1/sqrt(n): the side of the interval facing the target must shrink to the
    distance between the value and the target. None when the value sits on the target.
    """
    distance = abs(value - target)
    half = (value - low) if target <= value else (high - value)
    if distance <= 0 or not math.isfinite(distance) or half <= 0:
        return None
    return max(1.0, (half / distance) ** 2)
