"""The pipeline of increment 0063: one function per task of tasks.md.

Each task function takes pytest fixtures as parameters: `experiment` (the running task's tracked
experiment) from pytest-specweave, and `transactions`, `increment_dir` from this increment's
conftest.py. Tasks share results through the experiment store (`experiments/`):
`model-selection.json` is an artifact of T-004's experiment (the chosen algorithm) and of
T-005's (plus the tuned parameters); T-006 saves the evaluated model with `log_model`, which
T-007 explains and T-008 serves.

Protocol (spec.md, Evaluation protocol): every model maps the transactions before a cut-off to
each customer's spend in the `horizon` weeks after it. Selection and tuning use the validation
split (cut-off 1997-05-28, the 18 weeks to the end of the calibration period); the chosen
configuration is refitted at the test cut-off (1997-10-01) and evaluated once on the 39-week
hold-out (1997-10-01 to 1998-06-30). Only the baselines and that final evaluation log test metrics.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pytest_specweave import ExperimentStore, load_model, track_experiment

SEED = 42
PRIMARY = "rmse"
SELECTION_FILE = "model-selection.json"
DATA_FILE = "data/transactions.csv.gz"
N_BOOTSTRAP = 2000

START = pd.Timestamp("1997-01-01")  # first day of the log; the cohort was acquired in 1997-Q1
CALIBRATION_END = pd.Timestamp("1997-10-01")  # calibration: weeks 1-39; hold-out: weeks 40-78
HOLDOUT_END = pd.Timestamp("1998-07-01")  # exclusive: the log ends on 1998-06-30
LABEL_FRACTION = 3  # supervised models learn from the horizon/3 weeks just before the cut-off


# ---------------------------------------------------------------------------------------------
# Time windows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Predict, from the purchases before `origin`, each customer's spend in [origin, end).

    Supervised models cannot see a label after the origin: they learn from the window
    [label_start, origin) (a third of the horizon, just before the origin), with features computed
    at label_start, and scale their prediction by horizon / label window (LABEL_FRACTION)."""

    name: str
    origin: pd.Timestamp
    horizon_weeks: int

    @property
    def end(self) -> pd.Timestamp:
        return self.origin + pd.Timedelta(weeks=self.horizon_weeks)

    @property
    def label_weeks(self) -> float:
        return self.horizon_weeks / LABEL_FRACTION

    @property
    def label_start(self) -> pd.Timestamp:
        return self.origin - pd.Timedelta(weeks=self.label_weeks)

    @property
    def history_weeks(self) -> float:
        return (self.origin - START).days / 7

    def describe(self) -> str:
        return (f"features before {self.origin:%Y-%m-%d} ({self.history_weeks:.0f} weeks), target: spend in "
                f"[{self.origin:%Y-%m-%d}, {self.end:%Y-%m-%d}) ({self.horizon_weeks} weeks); supervised labels: "
                f"[{self.label_start:%Y-%m-%d}, {self.origin:%Y-%m-%d}) with features before {self.label_start:%Y-%m-%d}")


VALIDATION = Split("validation", pd.Timestamp("1997-05-28"), 18)  # weeks 22-39: ends with the calibration period
TEST = Split("test", CALIBRATION_END, 39)  # weeks 40-78: the standard CDNOW hold-out
SPLITS = {"validation": VALIDATION, "test": TEST}


# ---------------------------------------------------------------------------------------------
# Features and targets
# ---------------------------------------------------------------------------------------------

FEATURES = [
    "frequency",          # repeat purchase days (BG/NBD's x)
    "recency_weeks",      # weeks from the first to the last purchase day (t_x)
    "age_weeks",          # weeks from the first purchase day to the cut-off (T)
    "weeks_since_last",   # T - t_x
    "total_spend",        # $ before the cut-off
    "repeat_avg_value",   # mean $ of the repeat purchase days (Gamma-Gamma's m), 0 without one
    "first_order_value",  # $ of the first purchase day
    "max_order_value",    # $ of the largest purchase day
    "avg_cd_price",       # total $ / total CDs
    "total_cds",
    "spend_last_13w",     # $ in the 13 weeks before the cut-off
    "orders_last_13w",    # purchase days in the 13 weeks before the cut-off
    "cohort_week",        # week of the first purchase (1 = the first week of 1997)
]
RECENT = pd.Timedelta(weeks=13)

_CACHE: dict = {}  # (kind, id of the frame, cut-off) -> (the frame, the value): the frame is kept, so its id is not reused
_CACHE_SIZE = 16


def _cached(kind: str, transactions: pd.DataFrame, cutoff, compute):
    key = (kind, id(transactions), cutoff)
    entry = _CACHE.get(key)
    if entry is None or entry[0] is not transactions:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        entry = _CACHE[key] = (transactions, compute())
    return entry[1]


def purchase_days(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and day with purchases (spend, cds): the BG/NBD literature's unit of a
    transaction (several orders on one day are one purchase occasion). Cached per data frame."""
    return _cached("days", transactions, None, lambda: (
        transactions.groupby(["customer_id", "date"], sort=True)
        .agg(spend=("dollar_value", "sum"), cds=("number_of_cds", "sum")).reset_index()))


def features_at(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """FEATURES per customer from the purchases strictly before `cutoff` (index: customer_id,
    the customers with a purchase before it). Cached per data frame and cut-off: treat as read-only."""
    return _cached("features", transactions, pd.Timestamp(cutoff), lambda: _features_at(transactions, cutoff))


def _features_at(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    days = purchase_days(transactions)
    d = days[days["date"] < cutoff]
    g = d.groupby("customer_id", sort=True)
    first, last = g["date"].min(), g["date"].max()
    n_days = g.size()
    total = g["spend"].sum()
    first_value = g["spend"].first()  # days are sorted by date within a customer
    frequency = (n_days - 1).astype("float64")
    recent = d[d["date"] >= cutoff - RECENT].groupby("customer_id")
    out = pd.DataFrame({
        "frequency": frequency,
        "recency_weeks": (last - first).dt.days / 7,
        "age_weeks": (cutoff - first).dt.days / 7,
        "weeks_since_last": (cutoff - last).dt.days / 7,
        "total_spend": total,
        "repeat_avg_value": np.where(frequency > 0, (total - first_value) / frequency.where(frequency > 0, 1), 0.0),
        "first_order_value": first_value,
        "max_order_value": g["spend"].max(),
        "avg_cd_price": total / g["cds"].sum(),
        "total_cds": g["cds"].sum().astype("float64"),
        "spend_last_13w": recent["spend"].sum().reindex(n_days.index, fill_value=0.0),
        "orders_last_13w": recent.size().reindex(n_days.index, fill_value=0).astype("float64"),
        "cohort_week": ((first - START).dt.days // 7 + 1).astype("float64"),
    })[FEATURES]
    out.index.name = "customer_id"
    return out


def customer_features(dates: np.ndarray, dollars: np.ndarray, cds: np.ndarray, cutoff) -> np.ndarray:
    """FEATURES of one customer from their raw purchase rows (numpy only: the serving path).
    Must equal the customer's row of features_at; T-008 checks that it does."""
    cutoff = np.datetime64(pd.Timestamp(cutoff).date(), "D")
    dates = np.asarray(dates, dtype="datetime64[D]")
    keep = dates < cutoff
    if not keep.any():
        raise ValueError(f"the customer has no purchase before {cutoff}: no prediction for a non-customer")
    day, inverse = np.unique(dates[keep], return_inverse=True)
    spend = np.bincount(inverse, weights=np.asarray(dollars, dtype=float)[keep])
    n_cds = np.bincount(inverse, weights=np.asarray(cds, dtype=float)[keep])
    week = np.timedelta64(7, "D")
    frequency = len(day) - 1.0
    total = spend.sum()
    recent = day >= cutoff - np.timedelta64(91, "D")
    return np.array([
        frequency,
        (day[-1] - day[0]) / week,
        (cutoff - day[0]) / week,
        (cutoff - day[-1]) / week,
        total,
        (total - spend[0]) / frequency if frequency > 0 else 0.0,
        spend[0],
        spend.max(),
        total / n_cds.sum(),
        n_cds.sum(),
        spend[recent].sum(),
        float(recent.sum()),
        float((day[0] - np.datetime64(START.date(), "D")) // np.timedelta64(7, "D") + 1),
    ])


def spend_between(transactions: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
                  customers: pd.Index) -> pd.Series:
    """Each customer's spend ($) in [start, end), 0 for those who bought nothing."""
    window = transactions[(transactions["date"] >= start) & (transactions["date"] < end)]
    return window.groupby("customer_id")["dollar_value"].sum().reindex(customers, fill_value=0.0)


def split_data(transactions: pd.DataFrame, split: Split) -> tuple[pd.DataFrame, pd.Series]:
    """(features at the split's origin, each customer's spend over its horizon): what a model
    predicts from and what it is scored on."""
    X = features_at(transactions, split.origin)
    return X, spend_between(transactions, split.origin, split.end, X.index)


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    err = y - pred
    return {
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": float(1 - np.sum(err ** 2) / np.sum((y - y.mean()) ** 2)),
        "aggregate_ratio": float(pred.sum() / y.sum()),  # predicted total spend / actual total spend
    }


def _prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}{key}": value for key, value in metrics.items()}


def paired_rmse_ratio(y, pred, reference, n: int = N_BOOTSTRAP, seed: int = SEED) -> tuple[float, tuple]:
    """RMSE(pred) / RMSE(reference) and its 95% percentile interval, resampling the same customers
    for both (a paired bootstrap: a heavy spender drawn twice weighs on both models)."""
    y = np.asarray(y, dtype=float)
    a = (y - np.asarray(pred, dtype=float)) ** 2
    b = (y - np.asarray(reference, dtype=float)) ** 2
    rng = np.random.default_rng(seed)
    ratios = np.empty(n)
    for start in range(0, n, 50):
        idx = rng.integers(0, len(y), (min(50, n - start), len(y)))
        ratios[start:start + len(idx)] = np.sqrt(a[idx].mean(axis=1) / b[idx].mean(axis=1))
    value = float(np.sqrt(a.mean() / b.mean()))
    return value, (float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975)))


# ---------------------------------------------------------------------------------------------
# BG/NBD and Gamma-Gamma (Fader, Hardie & Lee 2005; Fader & Hardie 2013)
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Models: every one predicts each customer's spend ($) over `horizon_weeks` after the cut-off
# of the features it is given
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Files shared between tasks
# ---------------------------------------------------------------------------------------------


def read_selection(increment_dir: Path, task: str = "T-005") -> dict:
    """The model selection `task` saved in its experiment: the latest succeeded run of that task
    holding the artifact, read only if its sha256 is the one the store recorded for it."""
    runs = [r for r in ExperimentStore(increment_dir).records()
            if r.task == task and r.succeeded and SELECTION_FILE in r.artifacts]
    if not runs:
        raise FileNotFoundError(
            f"no succeeded {task} experiment with {SELECTION_FILE} in {increment_dir}/experiments: run {task} first")
    return json.loads(runs[-1].read_artifact(SELECTION_FILE))


def write_selection(experiment, selection: dict) -> Path:
    """Save `selection` as the running task experiment's `model-selection.json` artifact."""
    return experiment.save_report(SELECTION_FILE, json.dumps(selection, indent=2, sort_keys=True) + "\n")


def evaluated_experiment(increment_dir: Path):
    """The store's record of the experiment T-006 evaluated (named in T-005's model selection)."""
    name = read_selection(increment_dir)["experiment"]
    record = ExperimentStore(increment_dir).find(name)
    if record is None:
        raise FileNotFoundError(f"no experiment named {name!r} in {increment_dir}/experiments: run T-006 first")
    return record


def load_evaluated_model(increment_dir: Path) -> tuple[LtvModel, Path]:
    """The model T-006 evaluated (its experiment's model.pkl, sha256 checked), and its folder."""
    record = evaluated_experiment(increment_dir)
    return load_model(increment_dir, experiment=record.folder), record.path


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


def _quantiles(s: pd.Series, qs=(0.5, 0.75, 0.9, 0.95, 0.99)) -> str:
    return ", ".join(f"p{round(q * 100)} ${s.quantile(q):,.2f}" for q in qs)


def explore(experiment, transactions: pd.DataFrame, increment_dir: Path) -> None:
    """T-001: data exploration and quality analysis, the hold-out target's spread (which decides
    the RMSE target, spec.md Targets), and the acquisition-cohort analysis."""
    tx = transactions
    customers = np.sort(tx["customer_id"].unique())
    missing = int(tx.isna().sum().sum())
    duplicate_rows = int(tx.duplicated().sum())
    zero_value = int((tx["dollar_value"] == 0).sum())
    negative = int((tx["dollar_value"] < 0).sum() + (tx["number_of_cds"] < 1).sum())
    first = tx.groupby("customer_id")["date"].min()
    assert missing == 0, f"{missing} missing values in {DATA_FILE}"
    assert negative == 0, f"{negative} rows with a negative dollar value or fewer than 1 CD"
    assert tx["date"].min() == START and tx["date"].max() < HOLDOUT_END, "the log is not 1997-01-01 to 1998-06-30"
    assert first.max() < pd.Timestamp("1997-04-01"), "a customer's first purchase is after 1997-Q1"

    days = purchase_days(tx)
    calibration = spend_between(tx, START, CALIBRATION_END, pd.Index(customers))
    holdout = spend_between(tx, CALIBRATION_END, HOLDOUT_END, pd.Index(customers))
    top1 = holdout.sort_values(ascending=False).iloc[: round(0.01 * len(holdout))].sum() / holdout.sum()
    std = float(holdout.std(ddof=0))
    r2_for_50 = 1 - (50 / std) ** 2
    metrics = {
        "n_transactions": len(tx),
        "n_customers": len(customers),
        "n_purchase_days": len(days),
        "missing_values": missing,
        "duplicate_rows": duplicate_rows,
        "zero_value_rows": zero_value,
        "holdout_spend_mean": float(holdout.mean()),
        "holdout_spend_std": std,
        "holdout_zero_share": float((holdout == 0).mean()),
        "holdout_top1pct_share": float(top1),
        "r2_needed_for_rmse_50": r2_for_50,
        "calibration_spend_mean": float(calibration.mean()),
    }
    experiment.log_input(Path(increment_dir) / DATA_FILE, role="data")
    experiment.log_params({"dataset": DATA_FILE, "dataset_size": len(tx), "source": "CDNOW_master.txt (lifetimes)"})
    experiment.log_metrics(metrics)

    # Cohort analysis: customers by month of their first purchase; spend per customer by quarter.
    cohort = first.dt.strftime("%Y-%m").rename("cohort")
    quarter = tx["date"].dt.to_period("Q").astype(str)
    per_quarter = (tx.assign(cohort=tx["customer_id"].map(cohort), quarter=quarter)
                   .groupby(["cohort", "quarter"])["dollar_value"].sum().unstack(fill_value=0.0))
    size = cohort.value_counts().sort_index()
    per_customer = per_quarter.div(size, axis=0)
    repeaters = days.groupby("customer_id").size().gt(1).groupby(cohort).mean()
    active = (tx.assign(cohort=tx["customer_id"].map(cohort), quarter=quarter)
              .groupby(["cohort", "quarter"])["customer_id"].nunique().unstack(fill_value=0)).div(size, axis=0)
    holdout_by_cohort = holdout.groupby(cohort).agg(["mean", lambda s: (s > 0).mean()])
    calibration_by_cohort = calibration.groupby(cohort).mean()
    monthly = tx.groupby(tx["date"].dt.strftime("%Y-%m"))["dollar_value"].agg(["size", "sum"])
    per_customer_spend = tx.groupby("customer_id")["dollar_value"].sum()

    quarters = list(per_customer.columns)
    lines = [
        "# EDA summary: the CDNOW transaction log",
        "",
        f"- Purchases (rows): {len(tx):,}; customers: {len(customers):,}; purchase days (a customer's rows on one "
        f"day, the BG/NBD unit): {len(days):,}",
        f"- Time range: {tx['date'].min():%Y-%m-%d} to {tx['date'].max():%Y-%m-%d}; every customer made their first "
        f"purchase in 1997-Q1 (last first purchase: {first.max():%Y-%m-%d}): one acquisition cohort",
        f"- Missing values: {missing}; rows with a negative value or no CD: {negative}; rows worth $0: {zero_value} "
        f"(kept: free items); rows identical to another row: {duplicate_rows} (kept: two identical orders on one "
        "day are plausible, and purchase days merge them)",
        f"- CDs per row: median {tx['number_of_cds'].median():.0f}, max {tx['number_of_cds'].max()}; $ per row: "
        f"median ${tx['dollar_value'].median():.2f}, mean ${tx['dollar_value'].mean():.2f}, max "
        f"${tx['dollar_value'].max():,.2f}",
        f"- Spend per customer over the 78 weeks: mean ${per_customer_spend.mean():.2f}, "
        f"{_quantiles(per_customer_spend)}, max ${per_customer_spend.max():,.2f}",
        "",
        "## The target: spend in the hold-out period (1997-10-01 to 1998-06-30)",
        "",
        f"- {metrics['holdout_zero_share']:.1%} of customers spend nothing; mean ${holdout.mean():.2f}, standard "
        f"deviation ${std:.2f}; {_quantiles(holdout)}; max ${holdout.max():,.2f}",
        f"- The top 1% of customers ({round(0.01 * len(holdout))}) make {top1:.1%} of the hold-out spend",
        f"- The standard deviation is the RMSE of the best constant prediction (the hold-out's own mean). An RMSE "
        f"below $50 (the seed skill's target) would need R² ≥ 1 − (50 / {std:.2f})² = {r2_for_50:.2f}: the model "
        "would have to explain that share of the variance of a 39-week spend that is zero for most customers and "
        "dominated by a few heavy buyers. spec.md (Targets) sets the RMSE target as a ratio to the best baseline "
        "instead",
        f"- Calibration spend (1997-01-01 to 1997-09-30, first purchase included): mean ${calibration.mean():.2f}, "
        f"{_quantiles(calibration)}; the same-as-before baseline predicts it for the hold-out",
        "",
        "## Cohort analysis: customers by month of first purchase",
        "",
        "Spend per customer of the cohort ($) by calendar quarter, and the share of the cohort buying in it:",
        "",
        "| cohort | customers | repeat buyers | " + " | ".join(quarters) + " |",
        "|---|---:|---:|" + "---:|" * len(quarters),
        *[f"| {c} | {size[c]:,} | {repeaters[c]:.1%} | "
          + " | ".join(f"${per_customer.loc[c, q]:.2f} ({active.loc[c, q]:.0%})" for q in quarters) + " |"
          for c in per_customer.index],
        "",
        "| cohort | calibration spend per customer | hold-out spend per customer | hold-out buyers |",
        "|---|---:|---:|---:|",
        *[f"| {c} | ${calibration_by_cohort[c]:.2f} | ${holdout_by_cohort.loc[c].iloc[0]:.2f} | "
          f"{holdout_by_cohort.loc[c].iloc[1]:.1%} |" for c in holdout_by_cohort.index],
        "",
        "Every cohort buys most in its first quarter (the first purchase) and then settles to a slowly decaying "
        "level: spend extrapolated from the calibration period overstates the hold-out, and a model has to "
        "forecast who is still active. Later cohorts had less time to repeat before the cut-off.",
        "",
        "## Purchases per month",
        "",
        "| month | rows | $ |",
        "|---|---:|---:|",
        *[f"| {m} | {int(r['size']):,} | ${r['sum']:,.0f} |" for m, r in monthly.iterrows()],
        "",
    ]
    experiment.save_report("eda-summary.md", "\n".join(lines))


def features(experiment, transactions: pd.DataFrame) -> dict[str, float]:
    """T-002: the feature tables at every cut-off the protocol uses, and the target windows."""
    out: dict[str, float] = {}
    rows = []
    for split in (VALIDATION, TEST):
        for role, cutoff, start, end in (
                ("supervised labels", split.label_start, split.label_start, split.origin),
                ("prediction", split.origin, split.origin, split.end)):
            X = features_at(transactions, cutoff)
            assert len(X) == transactions["customer_id"].nunique(), \
                f"{transactions['customer_id'].nunique() - len(X)} customers have no purchase before {cutoff:%Y-%m-%d}"
            assert np.isfinite(X.to_numpy()).all(), f"non-finite features at {cutoff:%Y-%m-%d}"
            y = spend_between(transactions, start, end, X.index)
            if not (split is TEST and role == "prediction"):
                out[f"{split.name}_{'label' if role != 'prediction' else 'target'}_buyer_share"] = float((y > 0).mean())
            rows.append((split.name, role, cutoff, start, end, X, y))
    out["n_features"] = len(FEATURES)
    out["n_customers"] = len(rows[0][5])
    experiment.log_params({"features": ", ".join(FEATURES), "validation": VALIDATION.describe(),
                           "test": TEST.describe(), "label_fraction": LABEL_FRACTION})
    lines = ["# Features and windows", "",
             "| split | used for | features before | target window | weeks | customers | mean repeat purchase "
             "days | mean spend_last_13w |", "|---|---|---|---|---:|---:|---:|---:|"]
    for name, role, cutoff, start, end, X, y in rows:
        lines.append(f"| {name} | {role} | {cutoff:%Y-%m-%d} | [{start:%Y-%m-%d}, {end:%Y-%m-%d}) | "
                     f"{(end - start).days / 7:.0f} | {len(X):,} | {X['frequency'].mean():.2f} | "
                     f"${X['spend_last_13w'].mean():.2f} |")
    lines += ["", "Features (per customer, from the purchase days before the cut-off):", ""]
    lines += [f"- `{f}`" for f in FEATURES]
    experiment.save_report("features.md", "\n".join(lines) + "\n")
    return out


def train_baselines(experiment, transactions: pd.DataFrame) -> None:
    """T-003: same-as-before, zero and recent-mean baselines, on validation and on test."""
    from pytest_specweave import bootstrap_ci

    y_val = split_data(transactions, VALIDATION)[1]
    y_test = split_data(transactions, TEST)[1]
    validation = baseline_predictions(transactions, VALIDATION)
    test = baseline_predictions(transactions, TEST)
    for name in validation:
        with track_experiment(name, baseline=True) as exp:
            exp.log_params({"strategy": BASELINES[name]})
            exp.log_metrics(_prefixed(regression_metrics(y_val, validation[name]), "val_"))
            for metric in ("rmse", "mae", "r2"):
                bootstrap_ci(metric, y_test.to_numpy(), test[name], n_resamples=N_BOOTSTRAP, seed=SEED,
                             experiment=exp, log_predictions=False)
            exp.log_metric("aggregate_ratio", regression_metrics(y_test, test[name])["aggregate_ratio"])
    experiment.log_param("baselines", ", ".join(validation))


def _validation_scores(algorithm: str, params: dict, transactions: pd.DataFrame) -> tuple[dict, float]:
    X_val, y_val = split_data(transactions, VALIDATION)
    started = time.perf_counter()
    model = fit_model(algorithm, params, transactions, VALIDATION)
    seconds = time.perf_counter() - started
    return _prefixed(regression_metrics(y_val, model.predict(X_val)), "val_"), seconds


def train_candidates(experiment, transactions: pd.DataFrame) -> None:
    """T-004: four algorithms fitted on the data before the validation cut-off and compared on the
    validation window (never on test); the choice is this task's model-selection.json artifact."""
    results = {}
    for name, params in ALGORITHMS.items():
        with track_experiment(name) as exp:
            exp.log_params({"algorithm": name, **params, "validation": VALIDATION.describe()})
            metrics, seconds = _validation_scores(name, params, transactions)
            exp.log_metrics({**metrics, "fit_seconds": seconds})
            results[name] = metrics
    best = min(results, key=lambda n: results[n][f"val_{PRIMARY}"])
    experiment.log_params({"selected_algorithm": best, "selected_by": f"val_{PRIMARY}"})
    write_selection(experiment, {"algorithm": best, "candidates": results})


def tune_best(experiment, transactions: pd.DataFrame, increment_dir: Path) -> None:
    """T-005: search the selected algorithm's hyperparameters on the validation window
    (scikit-learn's ParameterGrid or ParameterSampler); the selection, with the tuned parameters,
    is saved as this task's model-selection.json."""
    selection = read_selection(increment_dir, "T-004")
    algorithm = selection["algorithm"]
    candidates = search_space(algorithm)
    experiment.log_params({"algorithm": algorithm, "search": json.dumps(TUNING[algorithm], sort_keys=True),
                           "configurations": len(candidates)})
    rows = []
    for step, params in enumerate(candidates):
        metrics, _ = _validation_scores(algorithm, params, transactions)
        experiment.log_metric(f"val_{PRIMARY}", metrics[f"val_{PRIMARY}"], step=step)
        experiment.log_metric("val_mae", metrics["val_mae"], step=step)
        rows.append((step, params, metrics))
    step, params, metrics = min(rows, key=lambda r: (r[2][f"val_{PRIMARY}"], r[0]))
    experiment.log_metrics({k: metrics[k] for k in ("val_rmse", "val_mae", "val_r2")})  # the chosen one's
    experiment.log_params({f"best_{key}": value for key, value in params.items()})
    experiment.log_note(
        "| step | params | val rmse | val mae | val r2 |\n|---:|---|---:|---:|---:|\n"
        + "\n".join(f"| {s} | {json.dumps(p, sort_keys=True)} | {m['val_rmse']:.3f} | {m['val_mae']:.3f} | "
                    f"{m['val_r2']:.4f} |" for s, p, m in rows))
    selection.update({"params": params, "experiment": f"{algorithm}-tuned", "tuned_step": step,
                      **{k: metrics[k] for k in ("val_rmse", "val_mae", "val_r2")}})
    write_selection(experiment, selection)


def evaluate_best(experiment, transactions: pd.DataFrame, increment_dir: Path) -> None:
    """T-006: refit the chosen configuration at the test cut-off (1997-10-01, purchases before it
    only) and evaluate it once on the 39-week hold-out, with 95% bootstrap intervals over customers."""
    from pytest_specweave import bootstrap_ci, paired_bootstrap

    selection = read_selection(increment_dir)
    if "params" not in selection:
        raise RuntimeError(f"{SELECTION_FILE} has no tuned params: run T-005 first")
    algorithm, params, name = selection["algorithm"], selection["params"], selection["experiment"]
    X_test, y_test = split_data(transactions, TEST)
    y = y_test.to_numpy()
    with track_experiment(name) as exp:
        exp.set_seed(SEED)
        exp.log_input(Path(increment_dir) / DATA_FILE, role="data")
        exp.log_params({"algorithm": algorithm, **params, "test": TEST.describe(), "evaluated_on": "test",
                        "selected_by": f"val_{PRIMARY}", "bootstrap": f"{N_BOOTSTRAP} resamples of customers"})
        started = time.perf_counter()
        model = fit_model(algorithm, params, transactions, TEST)
        fit_seconds = time.perf_counter() - started
        pred = model.predict(X_test)
        for metric in ("rmse", "mae", "r2"):  # 95% intervals over customers: the verdicts use them
            bootstrap_ci(metric, y, pred, n_resamples=N_BOOTSTRAP, seed=SEED, experiment=exp,
                         log_predictions=metric == "rmse")
        exp.log_metrics({"aggregate_ratio": regression_metrics(y, pred)["aggregate_ratio"],
                         "fit_seconds": fit_seconds, "n_customers": len(y)})
        # Paired comparisons with the baselines, on the same resampled customers.
        baselines = baseline_predictions(transactions, TEST)
        best = min(baselines, key=lambda b: regression_metrics(y, baselines[b])["rmse"])
        ratio, ci = paired_rmse_ratio(y, pred, baselines[best])
        exp.log_metric("rmse_ratio_to_best_baseline", ratio, ci=ci)
        for metric in ("rmse", "mae"):
            paired_bootstrap(metric, y, pred, baselines["baseline-same-as-before"], n_resamples=N_BOOTSTRAP,
                             seed=SEED, experiment=exp, name=f"{metric}_vs_same_as_before")
        exp.log_note(f"Best baseline by test RMSE: {best}. rmse_ratio_to_best_baseline is the paired bootstrap "
                     "ratio (the same customers resampled for both). Parameters fitted at the test cut-off: "
                     + json.dumps({k: getattr(model, k) for k in ("bg", "gg") if hasattr(model, k)}))
        exp.log_model(model, algorithm=algorithm, input_example=X_test[model.features].iloc[:5])
    experiment.log_params({"evaluated_experiment": name, "best_baseline": best})


def explain(experiment, transactions: pd.DataFrame, increment_dir: Path) -> dict[str, float]:
    """T-007: which features the evaluated model relies on (permutation importance on the test
    customers, SHAP values for a sample), example explanations, and its errors by cohort."""
    from pytest_specweave import error_analysis, explain_model

    model, folder = load_evaluated_model(increment_dir)
    X_test, y_test = split_data(transactions, TEST)
    X = X_test[model.features]
    n_features = len(model.features)
    result = explain_model(None, X, y_test.to_numpy(), predict=model.predict, experiment=experiment,
                           explains=folder.name, scoring="rmse", n_repeats=5, seed=SEED,
                           max_shap_rows=100 if n_features <= 4 else 40, background_rows=25 if n_features <= 4 else 15)
    pred = model.predict(X_test)
    first = transactions.groupby("customer_id")["date"].min().reindex(X_test.index)
    cohort = first.dt.strftime("%Y-%m")
    orders = pd.cut(X_test["frequency"], [-1, 0, 1, 3, 1000], labels=["1", "2", "3-4", "5+"]).astype(str)
    data = pd.DataFrame({"customer_id": X_test.index.to_numpy(), "acquisition_month": cohort.to_numpy(),
                         "calibration_purchase_days": orders.to_numpy()})
    error_analysis("regression", y_test.to_numpy(), pred, data=data,
                   slice_by=["acquisition_month", "calibration_purchase_days"], metric="rmse", n_worst=10,
                   experiment=experiment)
    table = (pd.DataFrame({"cohort": cohort, "actual": y_test, "predicted": pred})
             .groupby("cohort").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                    predicted=("predicted", "mean")))
    lines = [f"# Hold-out spend by acquisition cohort ({folder.name})", "",
             "Mean spend per customer in the hold-out, actual and predicted (the aggregate forecast the "
             "CLV literature checks per cohort):", "",
             "| cohort | customers | actual | predicted | predicted / actual |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {c} | {int(r.customers):,} | ${r.actual:.2f} | ${r.predicted:.2f} | {r.predicted / r.actual:.2f} |"
              for c, r in table.iterrows()]
    lines += ["", "Most important features (permutation importance, the RMSE increase when the column is "
              "shuffled on the test customers):", ""]
    lines += [f"{i}. `{r['feature']}`: +${r['importance_mean']:.2f} RMSE" for i, r in enumerate(result.importance, 1)]
    experiment.save_report("cohort-errors.md", "\n".join(lines) + "\n")
    top = result.importance[0]
    return {"explained_customers": len(X), "top_feature_rmse_increase": float(top["importance_mean"]),
            "shap_rows": 0 if result.shap_values is None else len(result.shap_values)}


def deployment(experiment, transactions: pd.DataFrame, increment_dir: Path) -> dict[str, float]:
    """T-008: promote the evaluated model, load it back through load_model (sha256 checked), check
    it reproduces T-006's predictions and that the single-customer path (raw purchases -> features
    -> $) agrees with the batch one; then latency, throughput and size of that path."""
    from pytest_specweave import (
        load_model,
        measure_latency,
        measure_throughput,
        promote_best_model,
    )
    from pytest_specweave.tracking.models import model_path

    evaluated, folder = load_evaluated_model(increment_dir)
    promote_best_model(increment_dir)
    path, version, metadata = model_path(increment_dir)
    assert metadata.get("source_experiment") == folder.name, (
        f"the promoted model-v{version} comes from {metadata.get('source_experiment')}, not the evaluated "
        f"{folder.name}")
    model: LtvModel = load_model(increment_dir)
    X_test = features_at(transactions, TEST.origin)
    batch = model.predict(X_test)
    assert np.array_equal(batch, evaluated.predict(X_test)), "the promoted model predicts differently from T-006's"

    rng = np.random.default_rng(SEED)
    before = transactions[transactions["date"] < model.origin]
    groups = {c: g for c, g in before.groupby("customer_id")}
    sample = rng.choice(X_test.index.to_numpy(), 1_000, replace=False)
    histories = [{"date": groups[c]["date"].to_numpy(), "dollar_value": groups[c]["dollar_value"].to_numpy(),
                  "number_of_cds": groups[c]["number_of_cds"].to_numpy()} for c in sample]
    single = np.array([model.predict_customer(h) for h in histories])
    expected = batch[X_test.index.get_indexer(sample)]
    assert np.allclose(single, expected, rtol=1e-9, atol=1e-9), (
        f"single-customer and batch predictions differ (max {np.abs(single - expected).max():.3g} $): "
        "customer_features and features_at disagree")

    def serve(rows):  # one request: one customer's purchase rows
        return [model.predict_customer(h) for h in rows]

    experiment.log_params({"model": f"models/{path.name} (v{version}, from {folder.name})",
                           "request": "one customer's purchase rows before the cut-off -> expected spend ($)",
                           "serving": "one process, one request at a time, model in memory"})
    # logged with their intervals (p95 from order statistics, requests per second over timed rounds)
    measure_latency(predict=serve, X=histories, n_requests=500, warmup=50, experiment=experiment)
    measure_throughput(predict=serve, X=histories, n_requests=2_000, batch_size=100, experiment=experiment)
    return {"model_size_bytes": path.stat().st_size, "promoted_version": version,
            "batch_predict_ms_all_customers": _time_ms(lambda: model.predict(X_test))}


def _time_ms(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000
