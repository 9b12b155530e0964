"""Checks of increment 0051 that are criteria of tests.md (not tasks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .features import FEATURES, build_features

ORDER = ("history", "train", "validation", "test")
CUTS = ("train", "validation", "test")  # the features are recomputed on the data cut at these starts
SAMPLE_CARDS = 2000


def _mismatch(full: pd.DataFrame, cut: pd.DataFrame) -> list[str]:
    """Features that differ between two feature tables of the same transactions."""
    bad = []
    for f in FEATURES:
        a, b = full[f].to_numpy(np.float64), cut[f].to_numpy(np.float64)
        if not np.allclose(a, b, rtol=1e-5, atol=1e-5):
            i = int(np.flatnonzero(~np.isclose(a, b, rtol=1e-5, atol=1e-5))[0])
            bad.append(f"{f} (tx {int(full['tx_id'].iat[i])}: {a[i]:.6g} with the whole data, {b[i]:.6g} "
                       "without the later transactions)")
    return bad


def check_no_leakage(transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict) -> None:
    """TC-008: the split is by time and the features see only the past, never a label.

    1. The periods are in time order, do not overlap, and hold every transaction once.
    2. The features of a transaction do not change when every later transaction is removed: for
       the cards of a random sample, the features computed on the data cut at the start of the
       train, validation and test periods equal those computed on all the data (so no feature of
       a training row uses validation or test data, and none of any row uses its future).
    3. The features do not depend on the labels: without is_fraud and fraud_scenario (and with
       them shuffled) they are the same.
    """
    assert list(periods) == list(ORDER), f"periods must be {ORDER}, got {list(periods)}"
    bounds = [periods[name] for name in ORDER]
    for (name_a, (a0, a1)), (name_b, (b0, b1)) in zip(zip(ORDER, bounds), zip(ORDER[1:], bounds[1:])):
        assert a0 < a1 <= b0 < b1, f"{name_a} [{a0}, {a1}) must end before {name_b} [{b0}, {b1}) starts"
    ts = transactions["timestamp"].to_numpy()
    inside = sum(((ts >= a) & (ts < b)).astype(int) for a, b in bounds)
    assert (inside == 1).all(), f"{int((inside != 1).sum())} transactions are in no period or in two"

    rng = np.random.default_rng(0)
    cards = rng.choice(transactions["card_id"].unique(), SAMPLE_CARDS, replace=False)
    sample = transactions[transactions["card_id"].isin(cards)]
    full = build_features(sample, cities)
    for name in CUTS:
        start = periods[name][0]
        cut = build_features(sample[sample["timestamp"] < start], cities)
        before = full[full["timestamp"] < start].reset_index(drop=True)
        assert len(cut) == len(before) and (cut["tx_id"].to_numpy() == before["tx_id"].to_numpy()).all()
        bad = _mismatch(before, cut)
        assert not bad, f"features of transactions before {name} change when later data is removed: " + "; ".join(bad[:3])

    blind = build_features(sample.drop(columns=["is_fraud", "fraud_scenario"]), cities)
    bad = _mismatch(full, blind)
    assert not bad, "features change without the labels: " + "; ".join(bad[:3])
    shuffled = sample.assign(is_fraud=rng.permutation(sample["is_fraud"].to_numpy()),
                             fraud_scenario=rng.permutation(sample["fraud_scenario"].to_numpy()))
    bad = _mismatch(full, build_features(shuffled, cities))
    assert not bad, "features change when the labels are shuffled: " + "; ".join(bad[:3])
    assert not {"is_fraud", "fraud_scenario", "tx_id", "card_id", "timestamp"} & set(FEATURES), \
        "an identifier, the time or a label is a model input"
