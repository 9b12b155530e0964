"""Increment 0063's models and baselines: each predicts every customer's spend ($) over a horizon
from the purchases before a cut-off.

BG/NBD (Fader, Hardie & Lee 2005) × Gamma-Gamma (Fader & Hardie 2013) fitted by lifetimes and
predicted by their closed forms; LightGBM and a Tweedie GLM learning the spend of the label
window before the cut-off, scaled to the horizon; LightGBM on top of BG/NBD (a learnt correction
with the statistical model's expected spend as its offset). The baselines use the purchases
before the cut-off only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .features import FEATURES, LABEL_FRACTION, Split, customer_features, features_at, spend_between

SEED = 42


BGNBD_FEATURES = ["frequency", "recency_weeks", "age_weeks", "repeat_avg_value"]


def bgnbd_expected_purchases(params: dict, t, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under the BG/NBD model (FHL 2005, eq. 10)."""
    from scipy.special import hyp2f1

    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    active = x > 0
    dropout = np.where(active, a / np.where(active, b + x - 1, 1.0) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return numerator / (1 + dropout)


def gamma_gamma_expected_value(params: dict, x, m) -> np.ndarray:
    """E[$ per purchase day | x repeat days of mean value m] under the Gamma-Gamma model."""
    p, q, v = params["p"], params["q"], params["v"]
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * (v * p / (q - 1)) + weight * m


def fit_bgnbd_gg(X: pd.DataFrame, penalizer: float = 0.0) -> tuple[dict, dict]:
    """BG/NBD on (frequency, recency, age) of every customer, Gamma-Gamma on the repeat customers'
    mean purchase value (those with a positive one), both by lifetimes' maximum likelihood."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes sets a pandas option that pandas 3 deprecates
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        bg = BetaGeoFitter(penalizer_coef=penalizer).fit(
            X["frequency"].to_numpy(), X["recency_weeks"].to_numpy(), X["age_weeks"].to_numpy())
        repeat = (X["frequency"] > 0) & (X["repeat_avg_value"] > 0)
        gg = GammaGammaFitter(penalizer_coef=penalizer).fit(
            X.loc[repeat, "frequency"].to_numpy(), X.loc[repeat, "repeat_avg_value"].to_numpy())
    return ({k: float(v) for k, v in bg.params_.items()}, {k: float(v) for k, v in gg.params_.items()})


def bgnbd_gg_spend(bg: dict, gg: dict, X: np.ndarray | pd.DataFrame, weeks: float) -> np.ndarray:
    """Expected spend in the next `weeks`: expected purchase days x expected $ per purchase day."""
    M = X[BGNBD_FEATURES].to_numpy() if hasattr(X, "columns") else np.asarray(X)
    x, t_x, T, m = M[:, 0], M[:, 1], M[:, 2], M[:, 3]
    return bgnbd_expected_purchases(bg, weeks, x, t_x, T) * gamma_gamma_expected_value(gg, x, m)


# Models: every one predicts each customer's spend ($) over `horizon_weeks` after the cut-off of
# the features it is given.


class LtvModel:
    """A fitted model for one horizon. predict(X): X holds at least `self.features` (a frame from
    features_at, or an array in that column order); predict_customer: from raw purchase rows."""

    algorithm: str
    features: list[str]

    def __init__(self, params: dict, origin: pd.Timestamp, horizon_weeks: float):
        self.params = dict(params)
        self.origin = pd.Timestamp(origin)
        self.horizon_weeks = float(horizon_weeks)

    def _matrix(self, X) -> np.ndarray:
        if hasattr(X, "columns"):
            return X[self.features].to_numpy(dtype=float)
        X = np.asarray(X, dtype=float)
        return X if X.shape[1] == len(self.features) else X[:, [FEATURES.index(f) for f in self.features]]

    def predict(self, X) -> np.ndarray:
        return np.maximum(self._predict(self._matrix(X)), 0.0)

    def _predict(self, M: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_customer(self, history) -> float:
        """Expected spend of one customer over the horizon from their purchase rows (a frame or a
        mapping with date, dollar_value, number_of_cds) before the model's cut-off."""
        row = customer_features(history["date"], history["dollar_value"], history["number_of_cds"], self.origin)
        return float(self.predict(row[None, :])[0])


class BgNbdGammaGamma(LtvModel):
    algorithm = "bgnbd-gg"
    features = BGNBD_FEATURES

    def __init__(self, params, origin, horizon_weeks, bg: dict, gg: dict):
        super().__init__(params, origin, horizon_weeks)
        self.bg, self.gg = bg, gg

    def _predict(self, M):
        return bgnbd_gg_spend(self.bg, self.gg, M, self.horizon_weeks)


class SupervisedRate(LtvModel):
    """A regressor of the spend in the label window, scaled to the horizon (stationary rate)."""

    features = FEATURES

    def __init__(self, algorithm, params, origin, horizon_weeks, estimator, label_weeks: float):
        super().__init__(params, origin, horizon_weeks)
        self.algorithm = algorithm
        self.estimator = estimator
        self.label_weeks = float(label_weeks)

    def _predict(self, M):
        return self.estimator.predict(M) * (self.horizon_weeks / self.label_weeks)


class BoostedBgNbd(LtvModel):
    """BG/NBD x Gamma-Gamma expected spend, times a boosted multiplicative correction: a LightGBM
    model with a log link trained with log(BG/NBD-GG expected spend in the label window) as its
    offset (init_score); at prediction the offset is the expected spend over the horizon."""

    algorithm = "lightgbm-on-bgnbd"
    features = FEATURES

    def __init__(self, params, origin, horizon_weeks, booster, bg: dict, gg: dict):
        super().__init__(params, origin, horizon_weeks)
        self.booster, self.bg, self.gg = booster, bg, gg

    def _predict(self, M):
        base = bgnbd_gg_spend(self.bg, self.gg, M[:, [FEATURES.index(f) for f in BGNBD_FEATURES]], self.horizon_weeks)
        return np.exp(np.log(np.maximum(base, 1e-6)) + self.booster.predict(M, raw_score=True))


LGBM_FIXED = {"random_state": SEED, "n_jobs": 1, "deterministic": True, "force_col_wise": True, "verbose": -1}


def _lgbm(params: dict):
    from lightgbm import LGBMRegressor

    return LGBMRegressor(**{**params, **LGBM_FIXED})


def _tweedie_glm(params: dict):
    from sklearn.linear_model import TweedieRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(FunctionTransformer(np.log1p), StandardScaler(),
                         TweedieRegressor(power=params["power"], alpha=params["alpha"], link="log", max_iter=1000))


def fit_model(algorithm: str, params: dict, transactions: pd.DataFrame, split: Split) -> LtvModel:
    """Fit `algorithm` for `split` on the purchases before its origin only (see Split)."""
    if algorithm == "bgnbd-gg":
        bg, gg = fit_bgnbd_gg(features_at(transactions, split.origin), params["penalizer"])
        return BgNbdGammaGamma(params, split.origin, split.horizon_weeks, bg, gg)
    X_label = features_at(transactions, split.label_start)
    y_label = spend_between(transactions, split.label_start, split.origin, X_label.index).to_numpy()
    M = X_label[FEATURES].to_numpy(dtype=float)
    if algorithm in ("lightgbm", "tweedie-glm"):
        estimator = _lgbm(params) if algorithm == "lightgbm" else _tweedie_glm(params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(M, y_label)
        return SupervisedRate(algorithm, params, split.origin, split.horizon_weeks, estimator, split.label_weeks)
    if algorithm == "lightgbm-on-bgnbd":
        bg_label, gg_label = fit_bgnbd_gg(X_label)
        offset = np.log(np.maximum(bgnbd_gg_spend(bg_label, gg_label, X_label, split.label_weeks), 1e-6))
        booster = _lgbm(params).fit(M, y_label, init_score=offset)
        bg, gg = fit_bgnbd_gg(features_at(transactions, split.origin))
        return BoostedBgNbd(params, split.origin, split.horizon_weeks, booster, bg, gg)
    raise ValueError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")


ALGORITHMS = {
    "bgnbd-gg": {"penalizer": 0.0},
    "lightgbm": {"objective": "regression", "n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15,
                 "min_child_samples": 100, "reg_lambda": 1.0},
    "tweedie-glm": {"power": 1.5, "alpha": 0.01},
    "lightgbm-on-bgnbd": {"objective": "tweedie", "tweedie_variance_power": 1.5, "n_estimators": 200,
                          "learning_rate": 0.03, "num_leaves": 7, "min_child_samples": 200, "reg_lambda": 10.0},
}

# Each search holds the default of ALGORITHMS (tried first), so tuning can only confirm or improve it.
# grid: every combination (ParameterGrid); space: N_SAMPLED draws (ParameterSampler, seeded).
N_SAMPLED = 15
TUNING = {
    "bgnbd-gg": {"grid": {"penalizer": [0.0, 0.001, 0.01, 0.1]}},
    "tweedie-glm": {"grid": {"power": [1.2, 1.5, 1.8], "alpha": [0.0001, 0.001, 0.01, 0.1, 1.0]}},
    "lightgbm": {"space": {"objective": ["regression", "tweedie", "poisson"], "n_estimators": [100, 200, 300, 500],
                           "learning_rate": [0.01, 0.03, 0.05, 0.1], "num_leaves": [7, 15, 31],
                           "min_child_samples": [20, 50, 100, 200, 400], "reg_lambda": [0.0, 1.0, 10.0]}},
    "lightgbm-on-bgnbd": {"space": {"objective": ["tweedie", "poisson"], "tweedie_variance_power": [1.2, 1.5, 1.8],
                                    "n_estimators": [50, 100, 200, 400], "learning_rate": [0.01, 0.03, 0.05],
                                    "num_leaves": [3, 7, 15], "min_child_samples": [50, 100, 200, 400],
                                    "reg_lambda": [0.0, 1.0, 10.0, 100.0]}},
}


def search_space(algorithm: str) -> list[dict]:
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    spec = TUNING[algorithm]
    if "grid" in spec:
        found = list(ParameterGrid(spec["grid"]))
    else:
        found = list(ParameterSampler(spec["space"], n_iter=N_SAMPLED, random_state=SEED))
    default = ALGORITHMS[algorithm]
    others = [p for p in found if any(p.get(k) != v for k, v in default.items())]
    return [dict(default)] + [dict(p) for p in others]


# Baselines


BASELINES = {
    "baseline-same-as-before": "each customer spends in the horizon what they spent before the cut-off, scaled to "
                               "the horizon's length (spend x horizon weeks / weeks since 1997-01-01; on the test "
                               "split x 39/39, the calibration spend itself)",
    "baseline-zero": "nobody buys again: $0 for everyone (the median hold-out spend, MAE's best constant)",
    "baseline-recent-mean": "everyone spends the cohort's mean spend of the horizon/3 weeks before the cut-off, "
                            "times 3",
}


def baseline_predictions(transactions: pd.DataFrame, split: Split) -> dict[str, np.ndarray]:
    """The baselines' predictions for `split`, from the purchases before its origin only (BASELINES)."""
    X = features_at(transactions, split.origin)
    recent = spend_between(transactions, split.label_start, split.origin, X.index)
    n = len(X)
    return {
        "baseline-same-as-before": X["total_spend"].to_numpy() * split.horizon_weeks / split.history_weeks,
        "baseline-zero": np.zeros(n),
        "baseline-recent-mean": np.full(n, recent.mean() * LABEL_FRACTION),
    }


