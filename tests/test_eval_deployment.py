"""Deployment metrics: latency percentiles, throughput, size, training time, under the names specs resolve to."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pytest_specweave import (
    measure_deployment,
    measure_latency,
    measure_model_size,
    measure_throughput,
    measure_training_time,
    track_experiment,
)
from pytest_specweave.model.metric_names import canonical
from pytest_specweave.tracking.store import ExperimentStore


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0005-deploy"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# d\n")
    return folder


class Sleeper:
    """predict sleeps 2 ms per call, whatever the batch; records the shapes it was given."""

    def __init__(self):
        self.shapes = []

    def predict(self, X):
        self.shapes.append(np.shape(X))
        time.sleep(0.002)
        return np.zeros(len(X))


def test_latency_of_single_rows_after_warm_up(inc):
    model = Sleeper()
    X = np.zeros((7, 3))
    with track_experiment("serve", increment=inc) as exp:
        result = measure_latency(model, X, n_requests=30, warmup=5, experiment=exp)
    assert len(model.shapes) == 35 and set(model.shapes) == {(1, 3)}
    assert 2.0 <= result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms
    metrics = ExperimentStore(inc).records()[0].metrics
    assert metrics["latency_p95_ms"].value == result.p95_ms
    # "Latency: <100ms" resolves to latency_p95_ms
    assert canonical("Latency") == "latency_p95_ms" and {"latency_p50_ms", "latency_p99_ms"} <= set(metrics)


def test_throughput_single_requests_and_batches(inc):
    model = Sleeper()
    with track_experiment("serve", increment=inc) as exp:
        result = measure_throughput(model, np.zeros((100, 2)), n_requests=20, batch_size=50, n_batches=4, warmup=2,
                                    experiment=exp)
    assert result.n_requests == 20 and 100 < result.throughput_rps <= 500  # at most one call per 2 ms
    assert result.throughput_rows_per_s > 5 * result.throughput_rps  # 50 rows per 2 ms call
    metrics = ExperimentStore(inc).records()[0].metrics
    assert canonical("Throughput") == "throughput_rps"
    assert metrics["throughput_rps"].value == result.throughput_rps
    assert metrics["throughput_rows_per_s"].value == result.throughput_rows_per_s


def test_a_plain_function_and_dataframes():
    calls = []
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0, 1, 0]})

    def score(rows):
        calls.append(type(rows).__name__)
        return rows["a"].to_numpy()

    result = measure_latency(X=df, predict=score, n_requests=5, warmup=1)
    assert result.n_requests == 5 and set(calls) == {"DataFrame"}
    out = measure_deployment(X=df, predict=score, n_requests=5)
    assert {"latency_p95_ms", "throughput_rps", "throughput_rows_per_s"} <= set(out) and "model_size_bytes" not in out


def test_objects_without_predict_are_refused():
    with pytest.raises(TypeError, match="measure_latency: object object has no predict method"):
        measure_latency(object(), np.zeros((2, 2)))
    with pytest.raises(TypeError, match=r"a plain function goes in predict="):
        measure_throughput(lambda X: X, np.zeros((2, 2)))
    with pytest.raises(TypeError, match="predict= must be callable"):
        measure_latency(X=np.zeros((2, 2)), predict=42)
    with pytest.raises(ValueError, match="X has no rows"):
        measure_latency(Sleeper(), np.zeros((0, 2)))


def test_model_size_and_training_time(inc, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 4)), rng.integers(0, 2, 80)
    with track_experiment("train", increment=inc) as exp:
        timed = measure_training_time(LogisticRegression(), X, y, experiment=exp)
        size = measure_model_size(timed.result, experiment=exp)
    assert isinstance(timed.result, LogisticRegression) and timed.seconds > 0
    import pickle

    assert size == len(pickle.dumps(timed.result, protocol=pickle.HIGHEST_PROTOCOL))
    metrics = ExperimentStore(inc).records()[0].metrics
    assert metrics["model_size_bytes"].value == size and metrics["training_time_s"].value == timed.seconds
    saved = tmp_path / "model.bin"
    saved.write_bytes(b"x" * 1234)
    assert measure_model_size(saved) == 1234
    assert measure_training_time(lambda a, b: a + b, 2, 3).result == 5
    with pytest.raises(TypeError, match="no fit method and is not callable"):
        measure_training_time(object())


def test_quantile_interval_from_order_statistics():
    from scipy import stats

    from pytest_specweave.evaluation.deployment import quantile_interval

    sample = np.arange(1.0, 201.0)  # sorted ranks 1..200: the interval's bounds are order statistics
    low, high = quantile_interval(sample, 0.95, 0.95)
    ranks = int(low), int(high)
    # P(l <= Binom(200, 0.95) < u) covers at least 95%, and neither tail is above 2.5%
    assert stats.binom.cdf(ranks[1] - 1, 200, 0.95) - stats.binom.cdf(ranks[0] - 1, 200, 0.95) >= 0.95
    assert stats.binom.cdf(ranks[0] - 1, 200, 0.95) <= 0.025 and stats.binom.sf(ranks[1] - 1, 200, 0.95) <= 0.025
    assert low <= np.percentile(sample, 95) <= high
    # too few values for a 95% interval around p99: 0.99^200 = 13% of samples have every value below it
    assert quantile_interval(sample, 0.99, 0.95) is None
    assert quantile_interval(np.arange(1.0, 501.0), 0.99, 0.95) is not None


def test_quantile_interval_covers_the_true_quantile():
    from pytest_specweave.evaluation.deployment import quantile_interval

    rng = np.random.default_rng(0)
    true_p95 = -np.log(0.05)  # exponential(1)
    hits = [lo <= true_p95 <= hi for lo, hi in (quantile_interval(rng.exponential(size=200), 0.95, 0.95)
                                               for _ in range(400))]
    assert np.mean(hits) >= 0.93


def test_latency_and_throughput_are_logged_with_intervals(inc):
    model = Sleeper()
    with track_experiment("serve", increment=inc) as exp:
        latency = measure_latency(model, np.zeros((7, 3)), n_requests=120, warmup=2, experiment=exp)
        throughput = measure_throughput(model, np.zeros((100, 2)), n_requests=40, batch_size=50, n_batches=8,
                                        rounds=4, warmup=2, experiment=exp)
    metrics = ExperimentStore(inc).records()[0].metrics
    p95 = metrics["latency_p95_ms"]
    assert p95.ci is not None and p95.ci[0] <= latency.p95_ms <= p95.ci[1] and p95.level == 0.95
    assert p95.ci == latency.intervals["latency_p95_ms"]
    assert metrics["latency_p50_ms"].ci[0] <= latency.p50_ms <= metrics["latency_p50_ms"].ci[1]
    mean = metrics["latency_mean_ms"]
    assert mean.ci[0] <= latency.mean_ms <= mean.ci[1]
    assert metrics["latency_p99_ms"].ci is None  # 120 requests are too few for p99 at 95%
    for key in ("throughput_rps", "throughput_rows_per_s"):
        assert metrics[key].ci is not None and metrics[key].ci[0] <= metrics[key].value <= metrics[key].ci[1]
    assert throughput.rounds == 4 and 100 < throughput.throughput_rps <= 500


def test_too_few_requests_for_an_interval_warn_and_say_why(inc):
    with track_experiment("serve", increment=inc) as exp:
        with pytest.warns(UserWarning, match=r"latency_p99_ms.*no interval.*at least \d+ requests"):
            measure_latency(X=np.zeros((3, 2)), predict=lambda X: X, n_requests=50, warmup=0, experiment=exp)
    metrics = ExperimentStore(inc).records()[0].metrics
    assert metrics["latency_p99_ms"].ci is None and metrics["latency_p50_ms"].ci is not None


def test_the_model_size_is_logged_as_exact(inc):
    from pytest_specweave.model.metric_names import is_exact

    with track_experiment("size", increment=inc) as exp:
        measure_model_size(LogisticRegression(), experiment=exp)
    record = ExperimentStore(inc).records()[0]
    assert record.metrics["model_size_bytes"].exact and record.metrics["model_size_bytes"].ci is None
    assert is_exact("model_size_bytes") and is_exact("Model size (MB)") and is_exact("n_parameters")
    assert not is_exact("latency_p95_ms") and not is_exact("accuracy") and not is_exact("batch_size")
