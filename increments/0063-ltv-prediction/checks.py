"""Checks of increment 0063 that are criteria of tests.md (not tasks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from .features import CALIBRATION_END, HOLDOUT_END, SPLITS, TEST, VALIDATION, features_at, spend_between
from .models import ALGORITHMS, bgnbd_expected_purchases, fit_bgnbd_gg, fit_model

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD
# Model", Marketing Science 24(2): BG/NBD on the CDNOW 1/10 sample (2,357 customers, 39 weeks).
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": the same sample's repeat customers.
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def check_no_leakage(transactions: pd.DataFrame) -> None:
    """TC-006: time ordering, and nothing at or after a cut-off reaches what is computed for it.

    - the windows: every supervised label window ends at its split's origin; the validation
      target window ends by the end of the calibration period (1997-10-01), so selection never
      sees the hold-out; the test target is the standard hold-out 1997-10-01 to 1998-06-30;
    - the features at every cut-off are the same when computed from the log truncated there;
    - every algorithm (default parameters), fitted for the test split, predicts exactly the same
      from the log truncated at 1997-10-01: no purchase of the hold-out is used (fitting for the
      validation split runs the same code with an earlier origin, whose features are checked above).
    """
    for split in SPLITS.values():
        assert split.label_start < split.origin < split.end, f"{split.name}: windows out of order"
    assert VALIDATION.end <= CALIBRATION_END, (
        f"the validation target window ends {VALIDATION.end:%Y-%m-%d}, after the calibration period "
        f"(ends {CALIBRATION_END:%Y-%m-%d}): model selection would see the hold-out")
    assert TEST.origin == CALIBRATION_END and TEST.end == HOLDOUT_END, "the test split is not the standard hold-out"

    for split in SPLITS.values():
        for cutoff in (split.label_start, split.origin):
            truncated = transactions[transactions["date"] < cutoff].copy()
            full, cut = features_at(transactions, cutoff), features_at(truncated, cutoff)
            pd.testing.assert_frame_equal(full, cut, check_exact=True,
                                          obj=f"features at {cutoff:%Y-%m-%d} (full log vs log truncated there)")
        y = spend_between(transactions, split.origin, split.end, features_at(transactions, split.origin).index)
        inside = transactions[(transactions["date"] >= split.origin) & (transactions["date"] < split.end)]
        assert np.isclose(y.sum(), inside["dollar_value"].sum()), f"{split.name}: target is not the window's spend"

    truncated = transactions[transactions["date"] < TEST.origin].copy()
    X = features_at(transactions, TEST.origin)
    for algorithm, params in ALGORITHMS.items():
        full = fit_model(algorithm, params, transactions, TEST).predict(X)
        cut = fit_model(algorithm, params, truncated, TEST).predict(features_at(truncated, TEST.origin))
        assert np.allclose(full, cut, rtol=1e-9, atol=1e-9), (
            f"{algorithm} fitted for the test split predicts differently when the purchases from "
            f"{TEST.origin:%Y-%m-%d} on are removed (max difference ${np.abs(full - cut).max():.4g}): it uses them")


def check_bgnbd_reproduces_published() -> None:
    """TC-007: the statistical machinery (lifetimes' fitters under numpy 2, and this increment's
    closed-form BG/NBD expectation) reproduces the published CDNOW estimates.

    Fitted on the CDNOW 1/10 sample summary that lifetimes ships (2,357 customers: x, t_x, T and
    the mean repeat purchase value): BG/NBD within half a unit of the last printed digit of
    FHL (2005); Gamma-Gamma within 0.5% of Fader & Hardie (2013), who print two decimals and whose
    mean values the shipped file rounds to the cent. The closed-form expectation used for
    prediction must equal lifetimes' own to 1e-9.
    """
    spec = importlib.util.find_spec("lifetimes")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "cdnow_customers_summary_with_transactions.csv"
    sample = pd.read_csv(path)
    assert len(sample) == 2357, f"{path}: expected the 2,357 customers of the CDNOW 1/10 sample, got {len(sample)}"
    X = pd.DataFrame({"frequency": sample["x"].astype(float), "recency_weeks": sample["t_x"],
                      "age_weeks": sample["T"], "repeat_avg_value": sample["zbar"]})
    bg, gg = fit_bgnbd_gg(X)
    for name, published in PUBLISHED_BGNBD.items():
        assert abs(bg[name] - published) <= 0.0005 + 1e-12, (
            f"BG/NBD {name} = {bg[name]:.6f}, published {published} (FHL 2005): lifetimes' fit is off")
    for name, published in PUBLISHED_GG.items():
        assert abs(gg[name] / published - 1) <= 0.005, (
            f"Gamma-Gamma {name} = {gg[name]:.6f}, published {published} (Fader & Hardie 2013): off by more than 0.5%")

    from lifetimes import BetaGeoFitter

    fitter = BetaGeoFitter()
    fitter.params_ = pd.Series(bg)
    theirs = fitter.conditional_expected_number_of_purchases_up_to_time(
        39, X["frequency"].to_numpy(), X["recency_weeks"].to_numpy(), X["age_weeks"].to_numpy())
    ours = bgnbd_expected_purchases(bg, 39, X["frequency"], X["recency_weeks"], X["age_weeks"])
    assert np.allclose(ours, np.asarray(theirs), rtol=1e-9, atol=1e-12), (
        "the closed-form BG/NBD expectation differs from lifetimes' conditional_expected_number_of_purchases_up_to_time")
