"""Deployment metrics: latency, throughput, model size, training time — under the names specs use.

| call                   | logs                                              | "spec line" it answers     |
|------------------------|---------------------------------------------------|----------------------------|
| measure_latency        | latency_p50_ms, latency_p95_ms, latency_p99_ms,   | Latency: <100ms (p95)      |
|                        | latency_mean_ms                                   |                            |
| measure_throughput     | throughput_rps (single-row requests per second,   | Throughput: 1000 req/sec   |
|                        | sequential), throughput_rows_per_s (batches)      |                            |
| measure_model_size     | model_size_bytes                                  |                            |
| measure_training_time  | training_time_s                                   |                            |

A model is anything with `predict(X)`, or a plain function given as `predict=`. Requests are
single rows sliced from X (a 2-D slice: `X[i:i+1]`, `X.iloc[i:i+1]`), cycled when X has fewer
rows than requests, after a warm-up. This measures the model in this process, not a server:
serialisation and network are not counted. Times come from time.perf_counter_ns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


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


@dataclass
class LatencyResult:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    n_requests: int

    def metrics(self) -> dict[str, float]:
        return {
            "latency_p50_ms": self.p50_ms,
            "latency_p95_ms": self.p95_ms,
            "latency_p99_ms": self.p99_ms,
            "latency_mean_ms": self.mean_ms,
        }


def measure_latency(model=None, X=None, *, predict=None, n_requests: int = 200, warmup: int = 20,
                    experiment=None) -> LatencyResult:
    """Per-request latency of single-row predictions: p50, p95, p99 (and mean, max) in milliseconds.

    `warmup` calls are made first and not counted (caches, lazy initialisation, JIT).
    experiment: logs latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_mean_ms.
    """
    import numpy as np

    fn = predict_function(model, predict, caller="measure_latency")
    n = _check_X(X, "measure_latency")
    n_requests = _count(n_requests, "n_requests", 1)
    warmup = _count(warmup, "warmup", 0)
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
    result = LatencyResult(p50, p95, p99, float(ms.mean()), float(ms.max()), n_requests)
    if experiment is not None:
        experiment.log_metrics(result.metrics())
        experiment.log_params({"latency_requests": n_requests, "latency_warmup": warmup})
    return result


@dataclass
class ThroughputResult:
    throughput_rps: float  # single-row requests per second, one after another
    throughput_rows_per_s: float  # rows per second when predicting in batches of batch_size
    n_requests: int
    batch_size: int
    n_batches: int

    def metrics(self) -> dict[str, float]:
        return {"throughput_rps": self.throughput_rps, "throughput_rows_per_s": self.throughput_rows_per_s}


def measure_throughput(model=None, X=None, *, predict=None, n_requests: int = 1000, batch_size: int = 256,
                       n_batches: int = 20, max_seconds: float = 5.0, warmup: int = 20,
                       experiment=None) -> ThroughputResult:
    """Requests per second (single rows, sequential, after warm-up) and rows per second in batches.

    Each phase stops early after `max_seconds` (the rate is measured over what ran).
    experiment: logs throughput_rps and throughput_rows_per_s.
    """
    fn = predict_function(model, predict, caller="measure_throughput")
    n = _check_X(X, "measure_throughput")
    n_requests = _count(n_requests, "n_requests", 1)
    batch_size = _count(batch_size, "batch_size", 1)
    n_batches = _count(n_batches, "n_batches", 1)
    warmup = _count(warmup, "warmup", 0)
    singles = [_slice(X, i % n, i % n + 1) for i in range(min(n, n_requests))]
    for i in range(warmup):
        fn(singles[i % len(singles)])
    clock = time.perf_counter
    deadline = clock() + max_seconds
    start = clock()
    done = 0
    while done < n_requests:
        fn(singles[done % len(singles)])
        done += 1
        if clock() > deadline:
            break
    rps = done / (clock() - start)

    size = min(batch_size, n)
    starts = list(range(0, n - size + 1, size)) or [0]
    batches = [_slice(X, s, s + size) for s in starts]
    fn(batches[0])
    deadline = clock() + max_seconds
    start = clock()
    rows = count = 0
    while count < n_batches:
        batch = batches[count % len(batches)]
        fn(batch)
        rows += _rows(batch)
        count += 1
        if clock() > deadline:
            break
    rows_per_s = rows / (clock() - start)
    result = ThroughputResult(float(rps), float(rows_per_s), done, size, count)
    if experiment is not None:
        experiment.log_metrics(result.metrics())
        experiment.log_params({"throughput_requests": done, "throughput_batch_size": size})
    return result


class _CountingSink:
    def __init__(self):
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def measure_model_size(model, *, experiment=None) -> int:
    """Model size in bytes: the file (or folder) size for a path, else the length of its pickle.

    experiment: logs model_size_bytes.
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
        experiment.log_metric("model_size_bytes", size)
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


def measure_deployment(model=None, X=None, *, predict=None, experiment=None, n_requests: int = 200,
                       batch_size: int = 256) -> dict[str, float]:
    """Latency, throughput and (for a model object) size in one call: {metric name: value}, logged when asked."""
    out = measure_latency(model, X, predict=predict, n_requests=n_requests, experiment=experiment).metrics()
    out.update(measure_throughput(model, X, predict=predict, n_requests=max(n_requests, 200), batch_size=batch_size,
                                  experiment=experiment).metrics())
    if model is not None:
        out["model_size_bytes"] = float(measure_model_size(model, experiment=experiment))
    return out
