"""Forecast evaluation beyond point metrics: rolling-origin folds, prediction-interval coverage,
residual diagnostics and stationarity tests.

rolling_origin        (train, test) index pairs, expanding window, one block of `horizon` rows per origin
interval_coverage     the share of actual values inside a prediction interval, logged with its evidence
residual_diagnostics  Ljung-Box, Jarque-Bera and the autocorrelations of a model's residuals
stationarity_tests    ADF (H0: unit root) and KPSS (H0: stationary) of one series

numpy, scipy and statsmodels are imported inside the functions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field


def rolling_origin(n_samples, *, horizon: int, n_origins: int, gap: int = 0) -> list:
    """(train, test) index pairs of a rolling origin with an expanding window.

    The last `n_origins` blocks of `horizon` rows are forecast, each from every row before it
    (less `gap` rows, the lead time). n_samples: the number of rows in time order, or the series.
    The pairs go to `cross_validate(..., problem="forecasting", cv=pairs)`.
    """
    import numpy as np

    n = n_samples if isinstance(n_samples, (int, np.integer)) else len(n_samples)
    horizon, n_origins, gap = int(horizon), int(n_origins), int(gap)
    if horizon < 1 or n_origins < 1 or gap < 0:
        raise ValueError(f"rolling_origin: horizon and n_origins must be at least 1 and gap at least 0, "
                         f"got horizon={horizon}, n_origins={n_origins}, gap={gap}")
    first_test = n - horizon * n_origins
    if first_test - gap < 1:
        raise ValueError(f"rolling_origin: {n} rows cannot hold {n_origins} origins of {horizon} rows "
                         f"after at least one training row (and a gap of {gap})")
    pairs = []
    for k in range(n_origins):
        start = first_test + k * horizon
        pairs.append((np.arange(0, start - gap), np.arange(start, start + horizon)))
    return pairs


def interval_coverage(y_true, lower, upper, *, origins=None, experiment=None, name: str = "interval_coverage"
                      ) -> float:
    """The share of `y_true` inside [lower, upper] (bounds included).

    origins: the forecast origin of each row (forecasts made from one origin share their errors,
    so they are resampled together). experiment: logs `name` and, with `origins`, its per-row
    evidence grouped by origin, so that a verdict puts an interval on it (over the origins).
    Without origins no evidence is kept: the rows of one forecast are a time series, not
    independent draws.
    """
    import numpy as np

    y = np.asarray(y_true, dtype=float).ravel()
    low = np.asarray(lower, dtype=float).ravel()
    high = np.asarray(upper, dtype=float).ravel()
    if not (len(y) == len(low) == len(high)) or len(y) == 0:
        raise ValueError(f"interval_coverage: y_true, lower and upper must hold the same number of values (> 0), "
                         f"got {len(y)}, {len(low)}, {len(high)}")
    if np.any(low > high):
        raise ValueError(f"interval_coverage: lower > upper in {int(np.sum(low > high))} rows")
    inside = ((y >= low) & (y <= high)).astype(float)
    value = float(inside.mean())
    if experiment is not None:
        experiment.log_metric(name, value)
        if origins is not None:
            groups = np.asarray(origins).ravel()
            if len(groups) != len(y):
                raise ValueError(f"interval_coverage: origins has {len(groups)} entries but there are {len(y)} rows")
            experiment.log_evidence(name, inside, groups=groups, unit="forecast months")
    return value


@dataclass
class ResidualDiagnostics:
    """What residual_diagnostics found; `metrics()` is what it logs."""

    n: int
    mean: float
    std: float
    ljung_box_p: dict[int, float]  # lag -> p-value (H0: no autocorrelation up to the lag)
    jarque_bera_p: float  # H0: normal
    acf: list[float] = field(default_factory=list)  # autocorrelations at lags 0 .. max(lags)
    band: float = 0.0  # the 95% band of an autocorrelation under white noise, 1.96 / sqrt(n)
    model_df: int = 0

    @property
    def outside_band(self) -> list[int]:
        """The lags whose autocorrelation lies outside ±band."""
        return [k for k in range(1, len(self.acf)) if abs(self.acf[k]) > self.band]

    def metrics(self, prefix: str = "") -> dict[str, float]:
        out = {f"{prefix}ljung_box_p_lag{lag}": p for lag, p in self.ljung_box_p.items()}
        out[f"{prefix}jarque_bera_p"] = self.jarque_bera_p
        out[f"{prefix}residual_acf_lag1"] = self.acf[1] if len(self.acf) > 1 else float("nan")
        return out


def residual_diagnostics(residuals, *, lags=(12, 24), model_df: int = 0, experiment=None, prefix: str = ""
                         ) -> ResidualDiagnostics:
    """Are a model's residuals white noise? Ljung-Box at each of `lags` (`model_df`: the ARMA
    parameters estimated, subtracted from the degrees of freedom), Jarque-Bera, and the
    autocorrelations up to the largest lag. experiment: logs ResidualDiagnostics.metrics(prefix)."""
    import numpy as np
    from scipy.stats import jarque_bera
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    r = np.asarray(residuals, dtype=float).ravel()
    lags = sorted(int(lag) for lag in lags)
    if not lags or lags[0] < 1 or len(r) <= lags[-1] + 1:
        raise ValueError(f"residual_diagnostics: {len(r)} residuals are too few for lags {lags} (need more than "
                         f"the largest lag + 1)")
    if not np.all(np.isfinite(r)):
        raise ValueError("residual_diagnostics: the residuals must be finite")
    box = acorr_ljungbox(r, lags=lags, model_df=int(model_df))
    found = ResidualDiagnostics(
        n=len(r), mean=float(r.mean()), std=float(r.std(ddof=1)),
        ljung_box_p={lag: float(p) for lag, p in zip(lags, box["lb_pvalue"])},
        jarque_bera_p=float(jarque_bera(r).pvalue), acf=[float(v) for v in acf(r, nlags=lags[-1])],
        band=float(1.96 / np.sqrt(len(r))), model_df=int(model_df))
    if experiment is not None:
        experiment.log_metrics(found.metrics(prefix))
    return found


def stationarity_tests(x, *, regression: str = "c") -> dict:
    """ADF (H0: a unit root) and KPSS (H0: stationary) of `x`, with `regression` 'c' (constant) or
    'ct' (constant and trend). Returns adf_stat, adf_p, kpss_stat, kpss_p and a reading:
    'stationary' (ADF rejects, KPSS does not, at 5%), 'unit root' (the reverse) or 'mixed'.
    KPSS p-values are tabulated between 0.01 and 0.1 only: values at those bounds mean "at most"
    and "at least"."""
    import numpy as np
    from statsmodels.tsa.stattools import adfuller, kpss

    if regression not in ("c", "ct"):
        raise ValueError(f"stationarity_tests: regression must be 'c' or 'ct', got {regression!r}")
    values = np.asarray(x, dtype=float).ravel()
    if len(values) < 12 or not np.all(np.isfinite(values)):
        raise ValueError(f"stationarity_tests: needs at least 12 finite values, got {len(values)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KPSS warns at its table's bounds; adfuller of a future return type
        adf = adfuller(values, regression=regression, autolag="AIC")
        k = kpss(values, regression=regression, nlags="auto")
    adf_p, kpss_p = float(adf[1]), float(k[1])
    reading = ("stationary" if adf_p < 0.05 and kpss_p > 0.05 else
               "unit root" if adf_p >= 0.05 and kpss_p <= 0.05 else "mixed")
    return {"regression": regression, "adf_stat": float(adf[0]), "adf_p": adf_p, "kpss_stat": float(k[0]),
            "kpss_p": kpss_p, "reading": reading}
