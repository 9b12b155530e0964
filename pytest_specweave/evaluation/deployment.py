"""Deployment metrics: latency, throughput, model size, training time — under the names specs use.

| call                   | logs                                              | "spec line" it answers     |
|------------------------|---------------------------------------------------|----------------------------|
| measure_latency        | latency_p50_ms, latency_p95_ms, latency_p99_ms,   | Latency: <100ms (p95)      |
|                        | latency_mean_ms                                   |                            |
| measure_throughput     | throughput_rps (single-row requests per second,   | Throughput: 1000 req/sec   |
|                        | sequential), throughput_rows_per_s (batches)      |                            |
| measure_model_size     | model_size_bytes (exact)                          |                            |
| measure_training_time  | training_time_s                                   |                            |

A model is anything with `predict(X)`, or a plain function given as `predict=`. Requests are
single rows sliced from X (a 2-D slice: `X[i:i+1]`, `X.iloc[i:i+1]`), cycled when X has fewer
rows than requests, after a warm-up. This measures the model in this process, not a server:
serialisation and network are not counted. Times come from time.perf_counter_ns.

Every timing is logged with a confidence interval at the run's level (`--sw-confidence`, 0.95 by
default), so that verdicts on it are interval-aware:

- latency percentiles: the distribution-free interval of a quantile from the order statistics of
  the n timed requests (`quantile_interval`): the number of requests faster than the true p95 is
  Binomial(n, 0.95), which gives ranks l < u with P(l <= Binomial < u) >= level. It holds whatever
  the shape of the latency distribution. With too few requests (p99 at 95% needs about 300) no
  interval exists; the value is then logged without one, with a warning saying how many
  requests would do.
- latency_mean_ms: a t-interval on the mean of the n request times.
- throughput: the requests (and batches) are timed in `rounds` consecutive rounds; the value is
  the mean of the rounds' rates and the interval a t-interval over the rounds.

The model size is logged as exact (no sampling error). numpy and scipy are imported inside the
functions.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field


def predict_function(model=None, predict=None, *, caller: str = "measure"):
    """The callable that predicts: `predict=` if given, else model.predict; a clear TypeError otherwise."""
    if predict is not None:
        if not callable(predict):
            raise TypeError(f"{caller}: predict= must be callable, got {type(predict).__name__}")
        return predict
    if model is None:
        raise TypeError(f"{caller}: pass a model with a predict method, or a function as predict=")
    method = getattr(model, "predict", None)
    if not callable(method):
        hint = " (a plain function goes in predict=)" if callable(model) else ""
        raise TypeError(
            f"{caller}: {type(model).__name__} object has no predict method; pass a fitted model with"
            f" predict(X), or predict=callable{hint}"
        )
    return method


def _rows(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None:
        if len(shape) == 0:
            raise ValueError("X must hold rows (a 2-D array, DataFrame or list of rows), got a scalar")
        return int(shape[0])
    return len(X)


def _slice(X, start: int, stop: int):
    if hasattr(X, "iloc"):
        return X.iloc[start:stop]
    return X[start:stop]


def _check_X(X, caller):
    if X is None:
        raise TypeError(f"{caller}: X (the rows to predict) is required")
    n = _rows(X)
    if n == 0:
        raise ValueError(f"{caller}: X has no rows")
    return n


def _count(value, name, minimum):
    if int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return int(value)


def _level(level):
    from .intervals import level_or_default

    return level_or_default(level)


def _quantile_ranks(n: int, q: float, level: float) -> tuple[int, int] | None:
    """1-based ranks l < u with P(l <= Binomial(n, q) < u) >= level, tails as even as the edges allow."""
    from scipy.stats import binom

    alpha = 1.0 - level
    below = binom.cdf(range(n + 1), n, q)  # below[k] = P(B <= k)
    # lower rank l: the largest with P(B < l) = below[l - 1] <= alpha/2; upper u: the smallest with P(B >= u) <= alpha/2
    lower_ok = [k for k in range(1, n + 1) if below[k - 1] <= alpha / 2]
    upper_ok = [k for k in range(1, n + 1) if 1.0 - below[k - 1] <= alpha / 2]
    if lower_ok and upper_ok:
        return lower_ok[-1], upper_ok[0]
    # one tail cannot be kept under alpha/2: take the extreme order statistic there, spend the rest on the other
    if lower_ok:  # no upper rank: u = n, the largest value
        left = alpha - (1.0 - below[n - 1])
        ranks = [k for k in range(1, n) if below[k - 1] <= left]
        return (ranks[-1], n) if ranks else None
    if upper_ok:
        left = alpha - below[0]
        ranks = [k for k in range(2, n + 1) if 1.0 - below[k - 1] <= left]
        return (1, ranks[0]) if ranks else None
    return None


def quantile_interval(values, q: float, level: float | None = None) -> tuple[float, float] | None:
    """A distribution-free confidence interval for the q-quantile of the population `values` were drawn from.

    Order statistics: with x(1) <= ... <= x(n) the sorted values, [x(l), x(u)] for ranks l < u with
    P(l <= Binomial(n, q) < u) >= level (scipy.stats.binom), each tail at most (1 - level) / 2
    where possible. None when n is too small for any such pair (p99 at 95% needs n >= 299).
    """
    import numpy as np

    level = _level(level)
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be a quantile between 0 and 1, got {q}")
    ordered = np.sort(np.asarray(values, dtype=float).ravel())
    n = len(ordered)
    if n < 2:
        return None
    ranks = _quantile_ranks(n, q, level)
    if ranks is None:
        return None
    return float(ordered[ranks[0] - 1]), float(ordered[ranks[1] - 1])


def _needed(q: float, level: float) -> int:
    """The fewest values for which quantile_interval finds an interval around the q-quantile at `level`."""
    n = 2
    while _quantile_ranks(n, q, level) is None:
        n = n + max(1, n // 8)
        if n > 10_000_000:
            break
    low = max(2, n - max(1, n // 8))
    while low < n and _quantile_ranks(low, q, level) is None:
        low += 1
    return low


def mean_interval(values, level: float | None = None) -> tuple[float, float] | None:
    """A t-interval on the mean of `values` at `level`; None for fewer than two values or no spread to measure."""
    import numpy as np
    from scipy.stats import t

    level = _level(level)
    arr = np.asarray(values, dtype=float).ravel()
    if len(arr) < 2 or not np.all(np.isfinite(arr)):
        return None
    mean, std = float(arr.mean()), float(arr.std(ddof=1))
    half = float(t.ppf(0.5 + level / 2.0, len(arr) - 1)) * std / math.sqrt(len(arr))
    return mean - half, mean + half


def _log_with_intervals(experiment, values: dict, intervals: dict, level: float) -> None:
    for key, value in values.items():
        interval = intervals.get(key)
        if interval is None:
            experiment.log_metric(key, value)
        else:
            experiment.log_metric(key, value, ci=interval, level=level)


@dataclass
class LatencyResult:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    n_requests: int
    # metric name -> (low, high) at `level`, or None when there were too few requests for one
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    level: float = 0.95

    def metrics(self) -> dict[str, float]:
        return {
            "latency_p50_ms": self.p50_ms,
            "latency_p95_ms": self.p95_ms,
            "latency_p99_ms": self.p99_ms,
            "latency_mean_ms": self.mean_ms,
        }


def measure_latency(model=None, X=None, *, predict=None, n_requests: int = 500, warmup: int = 20,
                    experiment=None, level: float | None = None) -> LatencyResult:
    """Per-request latency of single-row predictions: p50, p95, p99 (and mean, max) in milliseconds.

    `warmup` calls are made first and not counted (caches, lazy initialisation, JIT).
    Each of p50, p95, p99 gets a distribution-free interval from the order statistics of the
    `n_requests` times (`quantile_interval`), the mean a t-interval, at `level` (default: the
    run's confidence level). An interval that needs more requests than were made is left out with
    a warning: p99 at 95% needs at least 299, hence the default of 500.
    experiment: logs latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_mean_ms, each with its ci.
    """
    import numpy as np

    fn = predict_function(model, predict, caller="measure_latency")
    n = _check_X(X, "measure_latency")
    n_requests = _count(n_requests, "n_requests", 1)
    warmup = _count(warmup, "warmup", 0)
    level = _level(level)
    requests = [_slice(X, i % n, i % n + 1) for i in range(n_requests + warmup)]
    for row in requests[:warmup]:
        fn(row)
    clock = time.perf_counter_ns
    times = np.empty(n_requests)
    for i, row in enumerate(requests[warmup:]):
        start = clock()
        fn(row)
        times[i] = clock() - start
    ms = times / 1e6
    p50, p95, p99 = (float(v) for v in np.percentile(ms, [50, 95, 99]))
    intervals: dict[str, tuple[float, float] | None] = {}
    for key, q in (("latency_p50_ms", 0.50), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99)):
        intervals[key] = quantile_interval(ms, q, level)
        if intervals[key] is None:
            warnings.warn(
                f"measure_latency: {key} logged with no interval: a distribution-free {level:.4g} interval"
                f" for the {q:g} quantile needs at least {_needed(q, level)} requests, got {n_requests}"
                " (raise n_requests=)",
                stacklevel=2,
            )
    intervals["latency_mean_ms"] = mean_interval(ms, level)
    result = LatencyResult(p50, p95, p99, float(ms.mean()), float(ms.max()), n_requests, intervals, level)
    if experiment is not None:
        _log_with_intervals(experiment, result.metrics(), intervals, level)
        experiment.log_params({"latency_requests": n_requests, "latency_warmup": warmup})
    return result


@dataclass
class ThroughputResult:
    throughput_rps: float  # single-row requests per second, one after another (mean over rounds)
    throughput_rows_per_s: float  # rows per second when predicting in batches of batch_size (mean over rounds)
    n_requests: int
    batch_size: int
    n_batches: int
    rounds: int = 1  # rounds the requests (and the batches) were timed in
    # metric name -> (low, high) at `level`, a t-interval over the rounds; None with fewer than two rounds
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    level: float = 0.95

    def metrics(self) -> dict[str, float]:
        return {"throughput_rps": self.throughput_rps, "throughput_rows_per_s": self.throughput_rows_per_s}


def _timed_rounds(fn, inputs, total: int, rounds: int, deadline: float, size) -> tuple[list[float], int]:
    """Call fn on `total` inputs (cycled) in `rounds` consecutive rounds; each round's rate (items per second).

    Stops after the round in progress at `deadline`; a round cut short still gives its rate.
    """
    clock = time.perf_counter
    per_round = [total // rounds + (1 if r < total % rounds else 0) for r in range(rounds)]
    rates, done = [], 0
    for count in per_round:
        if count == 0:
            continue
        items = 0
        start = clock()
        for _ in range(count):
            item = inputs[done % len(inputs)]
            fn(item)
            items += size(item)
            done += 1
            if clock() > deadline:
                break
        rates.append(items / max(clock() - start, 1e-9))
        if clock() > deadline:
            break
    return rates, done


def measure_throughput(model=None, X=None, *, predict=None, n_requests: int = 1000, batch_size: int = 256,
                       n_batches: int = 20, max_seconds: float = 5.0, warmup: int = 20, rounds: int = 10,
                       experiment=None, level: float | None = None) -> ThroughputResult:
    """Requests per second (single rows, sequential, after warm-up) and rows per second in batches.

    The requests, then the batches, are timed in `rounds` consecutive rounds (n_requests / rounds
    requests each; n_batches / rounds batches each, at most n_batches rounds): each rate is the
    mean of its rounds' rates, with a t-interval over the rounds at `level` (default: the run's
    confidence level). Each phase stops early after `max_seconds` (the rounds that ran count; with
    fewer than two there is no interval).
    experiment: logs throughput_rps and throughput_rows_per_s, each with its ci.
    """
    fn = predict_function(model, predict, caller="measure_throughput")
    n = _check_X(X, "measure_throughput")
    n_requests = _count(n_requests, "n_requests", 1)
    batch_size = _count(batch_size, "batch_size", 1)
    n_batches = _count(n_batches, "n_batches", 1)
    warmup = _count(warmup, "warmup", 0)
    rounds = _count(rounds, "rounds", 1)
    level = _level(level)
    singles = [_slice(X, i % n, i % n + 1) for i in range(min(n, n_requests))]
    for i in range(warmup):
        fn(singles[i % len(singles)])
    clock = time.perf_counter
    single_rates, done = _timed_rounds(fn, singles, n_requests, min(rounds, n_requests), clock() + max_seconds,
                                       lambda item: 1)

    size = min(batch_size, n)
    starts = list(range(0, n - size + 1, size)) or [0]
    batches = [_slice(X, s, s + size) for s in starts]
    fn(batches[0])
    batch_rates, count = _timed_rounds(fn, batches, n_batches, min(rounds, n_batches), clock() + max_seconds, _rows)
    rps = sum(single_rates) / len(single_rates)
    rows_per_s = sum(batch_rates) / len(batch_rates)
    intervals = {"throughput_rps": mean_interval(single_rates, level),
                 "throughput_rows_per_s": mean_interval(batch_rates, level)}
    for key, rates in (("throughput_rps", single_rates), ("throughput_rows_per_s", batch_rates)):
        if intervals[key] is None:
            warnings.warn(f"measure_throughput: {key} logged with no interval: timed in {len(rates)} round(s);"
                          " an interval needs at least 2 (raise rounds=, n_requests=/n_batches= or max_seconds=)",
                          stacklevel=2)
    result = ThroughputResult(float(rps), float(rows_per_s), done, size, count, max(len(single_rates), 1),
                              intervals, level)
    if experiment is not None:
        _log_with_intervals(experiment, result.metrics(), intervals, level)
        experiment.log_params({"throughput_requests": done, "throughput_batch_size": size,
                               "throughput_rounds": len(single_rates)})
    return result


class _CountingSink:
    def __init__(self):
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def measure_model_size(model, *, experiment=None) -> int:
    """Model size in bytes: the file (or folder) size for a path, else the length of its pickle.

    experiment: logs model_size_bytes, as exact (a size has no sampling error).
    """
    import os
    from pathlib import Path

    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise FileNotFoundError(f"measure_model_size: no such file or folder {path}")
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    else:
        import pickle

        sink = _CountingSink()
        try:
            pickle.dump(model, sink, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise TypeError(
                f"measure_model_size: a {type(model).__name__} cannot be pickled ({err}); pass the path of its saved file"
            ) from None
        size = sink.size
    if experiment is not None:
        experiment.log_metric("model_size_bytes", size, exact=True)
    return int(size)


@dataclass
class TrainingTime:
    seconds: float
    result: object  # what fit (or the function) returned: the fitted model for scikit-learn


def measure_training_time(model_or_fit, *args, experiment=None, **kwargs) -> TrainingTime:
    """Wall-clock time of `model.fit(*args, **kwargs)` (or of calling a function with them), in seconds.

    experiment: logs training_time_s.
    """
    fit = getattr(model_or_fit, "fit", None)
    if not callable(fit):
        if not callable(model_or_fit):
            raise TypeError(
                f"measure_training_time: {type(model_or_fit).__name__} object has no fit method and is not callable"
            )
        fit = model_or_fit
    start = time.perf_counter()
    result = fit(*args, **kwargs)
    seconds = time.perf_counter() - start
    if experiment is not None:
        experiment.log_metric("training_time_s", seconds)
    return TrainingTime(seconds, result)


def measure_deployment(model=None, X=None, *, predict=None, experiment=None, n_requests: int = 500,
                       batch_size: int = 256) -> dict[str, float]:
    """Latency, throughput and (for a model object) size in one call: {metric name: value}, logged when asked."""
    out = measure_latency(model, X, predict=predict, n_requests=n_requests, experiment=experiment).metrics()
    out.update(measure_throughput(model, X, predict=predict, n_requests=max(n_requests, 200), batch_size=batch_size,
                                  experiment=experiment).metrics())
    if model is not None:
        out["model_size_bytes"] = float(measure_model_size(model, experiment=experiment))
    return out
