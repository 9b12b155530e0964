"""Increment 0063's time windows and features: what every model predicts from, and what it is scored on.

A split (`Split`) is a cut-off and a horizon: the models see the purchases before the cut-off and
predict each customer's spend in the horizon after it (spec.md, Evaluation protocol). The features
are computed per customer from the purchase days before a cut-off, by `features_at` for all
customers at once and by `customer_features` for one customer's raw rows (the serving path).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

START = pd.Timestamp("1997-01-01")  # first day of the log; the cohort was acquired in 1997-Q1
CALIBRATION_END = pd.Timestamp("1997-10-01")  # calibration: weeks 1-39; hold-out: weeks 40-78
HOLDOUT_END = pd.Timestamp("1998-07-01")  # exclusive: the log ends on 1998-06-30
LABEL_FRACTION = 3  # supervised models learn from the horizon/3 weeks just before the cut-off


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


