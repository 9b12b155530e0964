"""T-001's EDA summary (eda-summary.md): the data set, its periods, the imbalance and where fraud sits."""

from __future__ import annotations

import pandas as pd

from .explanations import SCENARIOS


def eda_summary(df: pd.DataFrame, cities: pd.DataFrame, categories: pd.DataFrame, periods: dict, metrics: dict,
                unknown: int) -> str:
    fraud = df["is_fraud"].to_numpy() == 1
    amount = df["amount_cents"] / 100
    rate, cnp_value = metrics["fraud_rate"], metrics["fraud_value_online_share"]
    missing, duplicates = metrics["missing_values"], metrics["duplicate_tx_ids"]
    hour = (df["timestamp"] % 86_400) // 3600
    ts = df["timestamp"].to_numpy()
    period_lines = []
    for name, (start, end) in periods.items():
        inside = (ts >= start) & (ts < end)
        period_lines.append(f"| {name} | {pd.Timestamp(start, unit='s'):%Y-%m-%d} to "
                            f"{pd.Timestamp(end - 1, unit='s'):%Y-%m-%d} | {int(inside.sum()):,} | "
                            f"{int((inside & fraud).sum()):,} | {fraud[inside].mean():.3%} |")
    q = [0.25, 0.5, 0.75]
    legit_q, fraud_q = amount[~fraud].quantile(q), amount[fraud].quantile(q)
    names = dict(zip(categories["category"], categories["name"]))
    by_cat = (df.assign(name=df["category"].map(names)).groupby("name")["is_fraud"]
              .agg(["size", "sum", "mean"]).sort_values("mean", ascending=False))
    scenario = pd.Series(df.loc[fraud, "fraud_scenario"]).map(SCENARIOS).value_counts()
    night = (hour < 6).to_numpy()
    country = dict(zip(cities["city_id"], cities["country"]))
    foreign = (df["city_id"].map(country) != "BE").to_numpy()
    lines = [
        "# EDA summary: transactions.csv.gz",
        "",
        f"- Transactions: {len(df):,} of {metrics['n_cards']:,} cards, "
        f"{pd.Timestamp(ts.min(), unit='s'):%Y-%m-%d} to {pd.Timestamp(ts.max(), unit='s'):%Y-%m-%d}",
        f"- Missing values: {missing}; repeated tx_id: {duplicates}; unknown cities or categories: "
        f"{unknown}",
        f"- **Class imbalance**: {int(fraud.sum()):,} frauds, {rate:.3%} of the transactions "
        f"(ULB/Worldline: 0.172%): {metrics['legit_per_fraud']:.0f} legitimate transactions per fraud",
        f"- **Why accuracy misleads**: approving everything (the majority class) is "
        f"{1 - rate:.2%} accurate and catches no fraud at all (recall 0). A model can only be judged on "
        "what it does to the fraud: precision and recall at its decision threshold, and the "
        "precision-recall curve (average precision), whose chance level is the fraud rate.",
        f"- Amounts: legitimate Q1 / median / Q3 {legit_q.iloc[0]:.2f} / {legit_q.iloc[1]:.2f} / "
        f"{legit_q.iloc[2]:.2f}, mean {amount[~fraud].mean():.2f} (ULB: 5.65 / 22.00 / 77.05, mean 88.29); "
        f"fraud {fraud_q.iloc[0]:.2f} / {fraud_q.iloc[1]:.2f} / {fraud_q.iloc[2]:.2f}, mean "
        f"{amount[fraud].mean():.2f} (ULB: 1.00 / 9.25 / 105.89, mean 122.21)",
        f"- Online (card not present): {df['channel'].mean():.1%} of transactions, {cnp_value:.1%} of "
        "the fraud value (ECB, 2016: 73%)",
        f"- Night (00:00-05:59): {night[~fraud].mean():.1%} of legitimate transactions, "
        f"{night[fraud].mean():.1%} of frauds; abroad: {foreign[~fraud].mean():.1%} vs {foreign[fraud].mean():.1%}",
        "",
        "## Periods (split by time)",
        "",
        "| period | dates | transactions | frauds | fraud rate |",
        "|---|---|---:|---:|---:|",
        *period_lines,
        "",
        "## Fraud by scenario (ground truth, kept for error analysis, never a feature)",
        "",
        "| scenario | frauds | share |",
        "|---|---:|---:|",
        *[f"| {k} | {v:,} | {v / fraud.sum():.1%} |" for k, v in scenario.items()],
        "",
        "## Fraud rate by merchant category",
        "",
        "| category | transactions | frauds | fraud rate |",
        "|---|---:|---:|---:|",
        *[f"| {k} | {int(r['size']):,} | {int(r['sum']):,} | {r['mean']:.3%} |" for k, r in by_cat.iterrows()],
        "",
    ]
    return "\n".join(lines)
