"""Forecasters of increment 0072: the baselines, the statistical models and the ML model, one API.

Every forecaster is a scikit-learn estimator, so that pytest-specweave's `cross_validate` (over
`rolling_origin` folds) and scikit-learn's `ParameterGrid` run the rolling-origin evaluation and
the tuning (the baselines are the library's own: `seasonal_naive_baseline` and its kin):

- `fit(X, y)`: X is a (n, 1) array of month numbers (`year * 12 + month - 1`, consecutive), y the
  monthly values (positive);
- `predict(X)`: X must be the months right after the training data; the forecast of those
  len(X) months, made from the end of the training data (no value of X's months is used);
- `forecast(steps)` and `forecast_interval(steps, level)`: the same from the end of the training
  data, and a central prediction interval (statistical models: the model's own; the ML model:
  empirical, from its out-of-sample errors, see `LagBoostingForecaster`).

`SalesForecastModel` wraps the fitted forecaster that is evaluated and promoted: it knows the
calendar, and `forecast(12)` returns the dated 12-month forecast with its intervals.

statsmodels, LightGBM and scikit-learn are imported inside the functions that need them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

try:  # scikit-learn is the [ml] extra: without it the estimators cannot be tuned, only used
    from sklearn.base import BaseEstimator, RegressorMixin
except ImportError:  # pragma: no cover - the increment's tasks need scikit-learn anyway
    BaseEstimator, RegressorMixin = object, object

SEASON = 12  # months in a seasonal cycle
HORIZON = 12  # months forecast from each origin
SEED = 42


# ---------------------------------------------------------------------------------------------
# Months
# ---------------------------------------------------------------------------------------------


def month_number(index: pd.DatetimeIndex) -> np.ndarray:
    """Month numbers (year * 12 + month - 1) of a monthly DatetimeIndex, as a (n, 1) array."""
    return (index.year * 12 + index.month - 1).to_numpy().reshape(-1, 1)


def month_start(number: int) -> pd.Timestamp:
    """The first day of month number `number` (the inverse of `month_number`)."""
    year, month = divmod(int(number), 12)
    return pd.Timestamp(year=year, month=month + 1, day=1)


# ---------------------------------------------------------------------------------------------
# The common interface
# ---------------------------------------------------------------------------------------------


def _months(X) -> np.ndarray:
    t = np.asarray(X)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"X must be a (n, 1) array of month numbers, got shape {np.shape(X)}")
    return t.astype(np.int64)


class Forecaster(RegressorMixin, BaseEstimator):
    """Base class: checks the months, keeps the training data, forecasts from its end."""

    family = "forecaster"

    def fit(self, X, y):
        t = _months(X)
        y = np.asarray(y, dtype=float).ravel()
        if len(t) != len(y):
            raise ValueError(f"X has {len(t)} months but y has {len(y)} values")
        if np.any(np.diff(t) != 1):
            raise ValueError("the training months must be consecutive (one value per month, in order)")
        if not np.all(np.isfinite(y)) or np.any(y <= 0):
            raise ValueError("the training values must be finite and positive")
        self.first_month_ = int(t[0])
        self.y_ = y
        self._fit(y)
        return self

    @property
    def last_month_(self) -> int:
        return self.first_month_ + len(self.y_) - 1

    def predict(self, X):
        t = _months(X)
        expected = np.arange(self.last_month_ + 1, self.last_month_ + 1 + len(t))
        if not np.array_equal(t, expected):
            raise ValueError(
                f"predict forecasts the {len(t)} months right after the training data "
                f"({month_start(expected[0]):%Y-%m} on); got months from {month_start(t[0]):%Y-%m}"
            )
        return self.forecast(len(t))

    def forecast(self, steps: int) -> np.ndarray:
        return np.asarray(self._forecast(int(steps)), dtype=float)

    def forecast_interval(self, steps: int, level: float) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} has no prediction intervals")

    def label(self) -> str:
        return self.family

    def _fit(self, y: np.ndarray) -> None:
        raise NotImplementedError

    def _forecast(self, steps: int) -> np.ndarray:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Statistical models (statsmodels)
# ---------------------------------------------------------------------------------------------


def _quiet():
    """statsmodels' convergence and frequency warnings, silenced while a model is fitted."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("ignore")
    return context


class ExponentialSmoothingForecaster(Forecaster):
    """Holt-Winters exponential smoothing as an ETS state-space model (statsmodels ETSModel):
    `error` and `seasonal` "add" or "mul", `trend` None or "add", optionally `damped`.
    Prediction intervals: exact for the additive models, simulated (2,000 paths, seeded) otherwise."""

    family = "holt-winters"

    def __init__(self, error="mul", trend="add", damped=True, seasonal="mul"):
        self.error = error
        self.trend = trend
        self.damped = damped
        self.seasonal = seasonal

    def label(self) -> str:
        trend = "N" if self.trend is None else ("Ad" if self.damped else "A")
        return f"ETS({self.error[0].upper()},{trend},{self.seasonal[0].upper()})"

    def _fit(self, y):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        endog = pd.Series(y, index=pd.RangeIndex(len(y)))
        quiet = _quiet()
        try:
            self.result_ = ETSModel(
                endog, error=self.error, trend=self.trend,
                damped_trend=bool(self.damped and self.trend is not None),
                seasonal=self.seasonal, seasonal_periods=SEASON,
            ).fit(disp=False)
        finally:
            quiet.__exit__(None, None, None)

    def _forecast(self, steps):
        return np.asarray(self.result_.forecast(steps))

    def forecast_interval(self, steps, level):
        n = len(self.y_)
        quiet = _quiet()
        try:
            prediction = self.result_.get_prediction(
                start=n, end=n + steps - 1, simulate_repetitions=2000, rng=np.random.default_rng(SEED)
            )
            frame = prediction.summary_frame(alpha=1 - level)
        finally:
            quiet.__exit__(None, None, None)
        return frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()

    def residuals(self) -> tuple[np.ndarray, int, str]:
        """(in-sample one-step residuals after the first year, ARMA parameters (none), their scale)."""
        return (np.asarray(self.result_.resid)[SEASON:], 0,
                "relative errors" if self.error == "mul" else "index points")

    def components(self, steps: int) -> pd.DataFrame:
        """The forecast split into its level-and-trend part and its seasonal part (the ETS
        decomposition): forecast = trend part x seasonal factor (multiplicative seasonality) or
        trend part + seasonal term (additive)."""
        r = self.result_
        level, slope = float(r.level.iloc[-1]), float(r.slope.iloc[-1]) if self.trend else 0.0
        phi = float(r.damping_trend) if self.trend and self.damped else 1.0
        h = np.arange(1, steps + 1)
        damped_sum = np.array([sum(phi**j for j in range(1, k + 1)) for k in h])
        trend_part = level + damped_sum * slope
        season_states = np.asarray(r.season)[-SEASON:]
        seasonal = season_states[(h - 1) % SEASON]
        return pd.DataFrame({"trend_part": trend_part, "seasonal": seasonal,
                             "combined": trend_part * seasonal if self.seasonal == "mul" else trend_part + seasonal})


class SarimaForecaster(Forecaster):
    """Seasonal ARIMA (statsmodels SARIMAX) of log(y) by default: `order` (p, d, q),
    `seasonal_order` (P, D, Q) with period 12, `trend` "n" or "c". The forecast is exp of the
    forecast of log(y) (the median of the forecast distribution); intervals are the model's. The
    innovation variance is concentrated out of the likelihood (same estimates, about 10x faster)."""

    family = "sarima"

    def __init__(self, order=(0, 1, 1), seasonal_order=(0, 1, 1), trend="n", log=True):
        self.order = order
        self.seasonal_order = seasonal_order
        self.trend = trend
        self.log = log

    def label(self) -> str:
        p, d, q = self.order
        P, D, Q = self.seasonal_order
        return f"SARIMA({p},{d},{q})({P},{D},{Q})12{' + c' if self.trend == 'c' else ''}{' log' if self.log else ''}"

    def _fit(self, y):
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        endog = np.log(y) if self.log else y
        quiet = _quiet()
        try:
            self.result_ = SARIMAX(endog, order=tuple(self.order),
                                   seasonal_order=(*self.seasonal_order, SEASON),
                                   trend=self.trend, concentrate_scale=True).fit(disp=False)
        finally:
            quiet.__exit__(None, None, None)

    def _back(self, values):
        return np.exp(values) if self.log else np.asarray(values)

    def _forecast(self, steps):
        return self._back(self.result_.forecast(steps))

    def forecast_interval(self, steps, level):
        bounds = np.asarray(self.result_.get_forecast(steps).conf_int(alpha=1 - level))
        return self._back(bounds[:, 0]), self._back(bounds[:, 1])

    def residuals(self) -> tuple[np.ndarray, int, str]:
        """(one-step residuals after the 13 months the differencing consumes, ARMA parameters, scale)."""
        (p, _, q), (P, _, Q) = self.order, self.seasonal_order
        return np.asarray(self.result_.resid)[SEASON + 1:], p + q + P + Q, "log scale" if self.log else "index points"


# ---------------------------------------------------------------------------------------------
# ML model: gradient boosting on lags (LightGBM)
# ---------------------------------------------------------------------------------------------

LAGS = (1, 2, 3, 6, 12)
FEATURES = tuple(f"growth_lag_{k}" for k in LAGS) + ("growth_mean_3", "growth_mean_12", "month_of_year")
FIRST_ROW = 2 * SEASON  # the first month with every feature defined (growth needs 12 months, lags 12 more)


def yoy_growth(y: np.ndarray) -> np.ndarray:
    """Year-over-year log growth z_t = log y_t - log y_(t-12); NaN for the first 12 months."""
    log_y = np.log(np.asarray(y, dtype=float))
    z = np.full(len(log_y), np.nan)
    z[SEASON:] = log_y[SEASON:] - log_y[:-SEASON]
    return z


def feature_row(z: np.ndarray, t: int, month_of_year: int) -> list[float]:
    """The features predicting z_t: lags of z before t, its 3- and 12-month means before t, and the
    calendar month. Only z[:t] is read, so a forecast never uses the month it predicts."""
    past = z[:t]
    return [*(past[t - k] for k in LAGS), float(np.mean(past[t - 3:t])), float(np.mean(past[t - 12:t])),
            float(month_of_year)]


def lag_feature_table(y, first_month: int) -> pd.DataFrame:
    """The ML model's training table: one row per month from FIRST_ROW on, the features and the
    target `growth` (z_t); the index is the month number."""
    z = yoy_growth(y)
    rows = [feature_row(z, t, (first_month + t) % 12 + 1) for t in range(FIRST_ROW, len(z))]
    table = pd.DataFrame(rows, columns=list(FEATURES), index=first_month + np.arange(FIRST_ROW, len(z)))
    table["growth"] = z[FIRST_ROW:]
    return table


class LagBoostingForecaster(Forecaster):
    """LightGBM on lag and calendar features of the year-over-year log growth, forecast recursively.

    The target is z_t = log y_t - log y_(t-12); a forecast of z_(T+h) becomes
    y_(T+h) = y_(T+h-12) * exp(z_(T+h)), so a model predicting zero growth is the seasonal naive
    forecast, and the boosting learns how growth persists or reverts. Forecasts of z feed the lags
    of the later months (recursive multi-step forecasting).

    Intervals: the model has no error model of its own. `interval_sigma_` (per horizon, the root
    mean square of log(actual / forecast) over rolling-origin folds, set by `set_interval_errors`)
    gives forecast * exp(+-z_level * sigma_h); without it, forecast_interval raises.
    """

    family = "lightgbm"

    def __init__(self, n_estimators=200, learning_rate=0.05, num_leaves=7, min_child_samples=10):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples

    def label(self) -> str:
        return (f"LightGBM(trees={self.n_estimators}, leaves={self.num_leaves}, "
                f"min_child={self.min_child_samples}, lr={self.learning_rate})")

    def _fit(self, y):
        import lightgbm

        if len(y) < FIRST_ROW + 24:
            raise ValueError(f"the lag model needs at least {FIRST_ROW + 24} months, got {len(y)}")
        table = lag_feature_table(y, self.first_month_)
        self.model_ = lightgbm.LGBMRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples, random_state=SEED, n_jobs=1, deterministic=True,
            force_row_wise=True, verbose=-1,
        )
        self.model_.fit(table[list(FEATURES)].to_numpy(), table["growth"].to_numpy())

    def _forecast(self, steps):
        n = len(self.y_)
        z = np.concatenate([yoy_growth(self.y_), np.full(steps, np.nan)])
        y = np.concatenate([self.y_, np.full(steps, np.nan)])
        booster = self.model_.booster_
        for t in range(n, n + steps):
            row = np.array([feature_row(z, t, (self.first_month_ + t) % 12 + 1)])
            z[t] = booster.predict(row)[0]
            y[t] = y[t - SEASON] * math.exp(z[t])
        return y[n:]

    def residuals(self) -> tuple[np.ndarray, int, str]:
        """(in-sample residuals of the growth model, ARMA parameters (none), their scale)."""
        table = lag_feature_table(self.y_, self.first_month_)
        fitted = self.model_.booster_.predict(table[list(FEATURES)].to_numpy())
        return (table["growth"].to_numpy() - fitted, 0,
                "year-over-year log growth, in-sample (boosting fits its training data closely)")

    def set_interval_errors(self, log_errors: np.ndarray) -> None:
        """log_errors: (folds, horizons) array of log(actual / forecast) from rolling-origin folds."""
        errors = np.asarray(log_errors, dtype=float)
        self.interval_sigma_ = np.sqrt(np.mean(errors**2, axis=0))

    def forecast_interval(self, steps, level):
        sigma = getattr(self, "interval_sigma_", None)
        if sigma is None or len(sigma) < steps:
            raise NotImplementedError("LagBoostingForecaster: call set_interval_errors() first")
        from scipy.stats import norm

        mean = self.forecast(steps)
        spread = np.exp(norm.ppf(0.5 + level / 2) * sigma[:steps])
        return mean / spread, mean * spread


FAMILIES = {
    "holt-winters": ExponentialSmoothingForecaster,
    "sarima": SarimaForecaster,
    "lightgbm": LagBoostingForecaster,
}


def rolling_forecasts(estimator, X, y, pairs, levels=()) -> list[dict]:
    """Each (train, test) fold's forecast, and intervals at `levels`, from a fresh fit of `estimator`."""
    from sklearn.base import clone

    out = []
    for fold, (train, test) in enumerate(pairs):
        model = clone(estimator).fit(X[train], y[train])
        row = {"fold": fold, "actual": y[test], "forecast": model.predict(X[test])}
        out.append(row | {level: model.forecast_interval(len(test), level) for level in levels})
    return out


# The default configuration of each family (T-004) and the grids of T-005.
DEFAULTS = {
    "holt-winters": {"error": "mul", "trend": "add", "damped": True, "seasonal": "mul"},
    "sarima": {"order": (0, 1, 1), "seasonal_order": (0, 1, 1), "trend": "n"},
    "lightgbm": {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 10},
}


def _ets(error, trend, damped, seasonal):
    return {"error": [error], "trend": [trend], "damped": [damped], "seasonal": [seasonal]}


def _sarima(order, seasonal_order, trend="n"):
    return {"order": [order], "seasonal_order": [seasonal_order], "trend": [trend]}


# Each grid holds its family's default: tuning can only confirm or improve it.
GRIDS = {
    "holt-winters": [_ets("add", None, False, "add"), _ets("mul", None, False, "mul"), _ets("add", "add", False, "add"),
                     _ets("mul", "add", False, "mul"), _ets("add", "add", True, "add"), _ets("mul", "add", True, "mul")],
    "sarima": [_sarima((0, 1, 1), (0, 1, 1)), _sarima((1, 1, 0), (0, 1, 1)), _sarima((2, 1, 0), (0, 1, 1)),
               _sarima((1, 1, 1), (0, 1, 1)), _sarima((0, 1, 1), (1, 1, 1))],
    "lightgbm": {"n_estimators": [100, 200], "num_leaves": [3, 7], "min_child_samples": [5, 10], "learning_rate": [0.05]},
}


def make_forecaster(family: str, params: dict) -> Forecaster:
    try:
        cls = FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}") from None
    return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in params.items()})


# ---------------------------------------------------------------------------------------------
# The model that is evaluated, promoted and served
# ---------------------------------------------------------------------------------------------


class SalesForecastModel:
    """A fitted forecaster with its calendar: `forecast(12)` is the next twelve months, dated."""

    def __init__(self, forecaster: Forecaster, family: str, params: dict, levels=(0.8, 0.95)):
        self.forecaster = forecaster
        self.family = family
        self.params = dict(params)
        self.levels = tuple(levels)

    @property
    def trained_through(self) -> pd.Timestamp:
        return month_start(self.forecaster.last_month_)

    def forecast(self, steps: int = HORIZON, levels=None) -> pd.DataFrame:
        """Columns forecast, lo80, hi80, lo95, hi95 (for the default levels), one row per month."""
        levels = self.levels if levels is None else tuple(levels)
        months = pd.date_range(month_start(self.forecaster.last_month_ + 1), periods=steps, freq="MS")
        frame = pd.DataFrame({"forecast": self.forecaster.forecast(steps)}, index=months)
        frame.index.name = "month"
        for level in levels:
            low, high = self.forecaster.forecast_interval(steps, level)
            tag = f"{round(level * 100):d}"
            frame[f"lo{tag}"], frame[f"hi{tag}"] = low, high
        return frame

    def __repr__(self) -> str:
        return (f"SalesForecastModel({self.forecaster.label()}, trained through "
                f"{self.trained_through:%Y-%m})")
