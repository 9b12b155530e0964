"""Increment 0063's data exploration (T-001): quality checks, the hold-out target's spread (which
decides the RMSE target, spec.md Targets) and the acquisition-cohort analysis, as metrics and a
markdown report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .features import CALIBRATION_END, HOLDOUT_END, START, purchase_days, spend_between

DATA_FILE = "data/transactions.csv.gz"


def _quantiles(s: pd.Series, qs=(0.5, 0.75, 0.9, 0.95, 0.99)) -> str:
    return ", ".join(f"p{round(q * 100)} ${s.quantile(q):,.2f}" for q in qs)



def explore_data(tx: pd.DataFrame) -> tuple[dict[str, float], str]:
    """(the EDA metrics, the eda-summary.md report) of the transaction log; asserts its quality."""
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
    return metrics, "\n".join(lines)
