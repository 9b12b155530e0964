"""Forecast evaluation: rolling-origin folds, interval coverage, residual and stationarity tests, the
drift baseline, the forecast chart, and a DataFrame checked against data/schema.yaml."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pytest_specweave import (
    cross_validate,
    drift_forecast_baseline,
    forecast_chart,
    interval_coverage,
    residual_diagnostics,
    rolling_origin,
    stationarity_tests,
    track_experiment,
    validate_dataframe,
)
from pytest_specweave.evaluation import evidence
from pytest_specweave.tracking.store import ExperimentStore


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0004-forecast"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# f\n")
    return folder


def test_rolling_origin_forecasts_the_last_blocks_each_from_everything_before():
    pairs = rolling_origin(50, horizon=12, n_origins=3)
    assert [(len(train), test[0], test[-1]) for train, test in pairs] == [(14, 14, 25), (26, 26, 37), (38, 38, 49)]
    assert all(train[0] == 0 and train[-1] == test[0] - 1 for train, test in pairs)
    gapped = rolling_origin(np.zeros(50), horizon=12, n_origins=3, gap=2)
    assert [train[-1] for train, _ in gapped] == [11, 23, 35]
    with pytest.raises(ValueError, match="50 rows cannot hold 5 origins of 12 rows"):
        rolling_origin(50, horizon=12, n_origins=5)


class _LastValue:
    """A forecaster of the next rows: the last training value."""

    def fit(self, X, y):
        self.last_ = float(np.asarray(y)[-1])
        return self

    def predict(self, X):
        return np.full(len(X), self.last_)


def test_rolling_origin_folds_drive_cross_validate_for_forecasting():
    y = np.arange(1.0, 41.0)  # a straight line: the last value misses by 1, 2, ... h
    result = cross_validate(_LastValue(), y.reshape(-1, 1), y, problem="forecasting",
                            cv=rolling_origin(40, horizon=4, n_origins=3), metrics=["mae"])
    assert result.folds["mae"] == pytest.approx([2.5, 2.5, 2.5])
    assert result.test_train_ratio == pytest.approx(4 / np.mean([28, 32, 36]))


def test_interval_coverage_counts_bounds_as_inside_and_keeps_evidence_by_origin(inc):
    actual = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    low, high = actual - 0.5, actual + 0.5
    low[1], (low[4], high[4]) = 2.5, (3.0, 4.0)  # month 2 below its interval, month 5 above it
    high[0] = 1.0  # on the bound: inside
    with track_experiment("forecast", increment=inc) as exp:
        value = interval_coverage(actual, low, high, origins=[0, 0, 0, 1, 1, 1], experiment=exp, name="pi80_coverage")
        interval_coverage(actual, low, high, experiment=exp, name="test_pi80_coverage")
    assert value == pytest.approx(4 / 6)
    record = ExperimentStore(inc).records()[-1]
    assert record.metrics["pi80_coverage"].value == pytest.approx(4 / 6)
    kept = evidence.load(record, "pi80_coverage")
    assert kept is not None and len(np.unique(kept.groups)) == 2
    assert evidence.load(record, "test_pi80_coverage") is None  # one forecast's months: no evidence
    with pytest.raises(ValueError, match="lower > upper in 1 rows"):
        interval_coverage([1.0], [2.0], [0.0])


def test_residual_diagnostics_tells_white_noise_from_autocorrelated_residuals():
    rng = np.random.default_rng(3)
    noise = rng.normal(size=400)
    white = residual_diagnostics(noise, lags=(12, 24))
    assert white.ljung_box_p[12] > 0.05 and abs(white.acf[1]) < white.band
    ar = np.zeros(400)
    for t in range(1, 400):
        ar[t] = 0.8 * ar[t - 1] + noise[t]
    correlated = residual_diagnostics(ar, lags=(12,), model_df=1)
    assert correlated.ljung_box_p[12] < 1e-6 and correlated.acf[1] > 0.6 and 1 in correlated.outside_band
    assert set(correlated.metrics()) == {"ljung_box_p_lag12", "jarque_bera_p", "residual_acf_lag1"}
    with pytest.raises(ValueError, match="too few for lags"):
        residual_diagnostics(noise[:20], lags=(24,))


def test_stationarity_tests_read_a_random_walk_and_white_noise():
    rng = np.random.default_rng(5)
    steps = rng.normal(size=300)
    assert stationarity_tests(steps)["reading"] == "stationary"
    walk = stationarity_tests(np.cumsum(steps))
    assert walk["reading"] == "unit root" and walk["adf_p"] > 0.05
    with pytest.raises(ValueError, match="regression must be 'c' or 'ct'"):
        stationarity_tests(steps, regression="n")


def test_drift_baseline_extends_the_average_change(inc):
    train = np.array([10.0, 12.0, 11.0, 16.0])  # average change (16 - 10) / 3 = 2
    result = drift_forecast_baseline(train, np.array([18.0, 21.0]), increment=inc)
    assert result.predictions.tolist() == [18.0, 20.0]
    assert result.metrics["mae"] == pytest.approx(0.5)
    assert ExperimentStore(inc).records()[-1].params["baseline"] == "drift"
    with pytest.raises(ValueError, match="at least 2 training values"):
        drift_forecast_baseline([1.0], [2.0], track=False)


def test_forecast_chart_writes_the_same_png_for_the_same_inputs(tmp_path):
    pytest.importorskip("matplotlib")
    months = pd.date_range("2020-01-01", periods=36, freq="MS")
    history = pd.Series(np.sin(np.arange(24)) + 10, index=months[:24])
    forecast = pd.Series(np.sin(np.arange(24, 36)) + 10, index=months[24:])
    drawn = [forecast_chart(tmp_path / f"{n}.png", history, forecast, actual=forecast + 0.1,
                            intervals={"95%": (forecast - 1, forecast + 1)}, lines={"naive": forecast * 0 + 10},
                            title="t") for n in (1, 2)]
    assert drawn[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn[0].read_bytes() == drawn[1].read_bytes()
    with pytest.raises(TypeError, match="pandas Series"):
        forecast_chart(tmp_path / "x.png", history.to_numpy(), forecast)


def test_validate_dataframe_checks_data_outside_data_folder_with_the_schema_of_a_named_file(tmp_path):
    pytest.importorskip("pandera")
    folder = tmp_path / "increments" / "0005-x"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "schema.yaml").write_text(
        "files: [other.csv]\ncolumns:\n  a:\n    dtype: int64\n---\n"
        "files: [sample.csv]\ncolumns:\n  month:\n    dtype: str\n  value:\n    dtype: float64\n"
        "    checks:\n      in_range: {min_value: 0.0, max_value: 10.0}\nstrict: true\n", encoding="utf-8")
    good = pd.DataFrame({"month": ["2020-01-01", "2020-02-01"], "value": [1.0, 2.0]})
    assert validate_dataframe(good, folder) is None
    bad = pd.DataFrame({"month": ["2020-01-01", "2020-02-01"], "value": [1.0, 12.0]})
    message = validate_dataframe(bad, folder)
    assert "column value, check in_range" in message and "row 1: 12.0" in message
    assert "column a is missing" in validate_dataframe(good, folder, as_file="other.csv")
    assert validate_dataframe(good, tmp_path) == f"no data/schema.yaml in {tmp_path}"
