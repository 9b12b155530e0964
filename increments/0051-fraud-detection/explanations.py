"""How the reasons behind a decline read (T-007's declined-explanations.md and shap_explanations.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .features import FEATURES

SCENARIOS = {1: "card_testing", 2: "account_takeover", 3: "counterfeit_card", 4: "lost_stolen_familiar"}


def _duration(seconds: float) -> str:
    if seconds >= 29.5 * 86_400:
        return "30 days or more"
    for unit, size in (("days", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


REASONS = {
    # How a feature's value reads in an explanation.
    "log_amount": lambda v: f"amount {np.expm1(v):.2f} EUR",
    "amount_vs_card_30d": lambda v: f"amount {np.exp(v):.1f}x the card's usual of the last 30 days (geometric mean)",
    "hour": lambda v: f"at {int(v):02d}:{int(round((v % 1) * 60)) % 60:02d}",
    "online": lambda v: "online" if v else "card present",
    "category": lambda v: f"category {int(v)}",
    "n_prev_30d": lambda v: f"{int(v)} payments of the card in the previous 30 days",
    "log_secs_since_prev": lambda v: f"{_duration(np.expm1(v))} after the card's previous payment",
    "n_prev_1h": lambda v: f"{int(v)} payments in the previous hour",
    "n_prev_24h": lambda v: f"{int(v)} payments in the previous 24 h",
    "log_amount_prev_24h": lambda v: f"{np.expm1(v):.0f} EUR spent in the previous 24 h",
    "n_small_prev_24h": lambda v: f"{int(v)} payments under 5 EUR in the previous 24 h",
    "new_merchant_30d": lambda v: "a shop the card did not use in 30 days" if v else "a shop the card used recently",
    "new_category_30d": lambda v: "a category the card did not use in 30 days" if v else "a usual category",
    "new_device_30d": lambda v: "a device the card did not use in 30 days" if v else "a device the card used recently",
    "log_device_age": lambda v: (f"device in use by the card for {_duration(np.expm1(v))}" if v > 0
                                 else "the card's first payment from this device (in 30 days)"),
    "device_other_cards_30d": lambda v: f"device used by {int(v)} other cards in 30 days",
    "new_city_30d": lambda v: "a city the card did not pay in for 30 days" if v else "a city the card paid in recently",
    "log_city_age": lambda v: (f"the card has paid in this city for {_duration(np.expm1(v))}" if v > 0
                               else "the card's first payment in this city (in 30 days)"),
    "foreign": lambda v: "abroad" if v else "in Belgium",
    "log_distance_home_km": lambda v: f"{np.expm1(v):.0f} km from home",
    "log_speed_from_prev_kmh": lambda v: f"{np.expm1(v):.0f} km/h from the previous payment's place",
    "card_night_share_30d": lambda v: f"{v:.0%} of the card's payments of the last 30 days at night",
}


def explanations_markdown(scorer, folder: str, groups, explained: dict, test: pd.DataFrame, transactions: pd.DataFrame,
                          cities: pd.DataFrame, categories: pd.DataFrame, error: float, first_reason: pd.Series,
                          n_false: int) -> tuple[str, list[dict]]:
    """The explanations of the chosen test rows (`groups`: (title, row positions in `test`)), as
    markdown and as JSON records."""
    names = dict(zip(categories["category"], categories["name"]))
    place = dict(zip(cities["city_id"], cities["city"] + " (" + cities["country"] + ")"))
    chosen = list(explained)
    raw_rows = transactions.set_index("tx_id").loc[test["tx_id"].to_numpy()[chosen]]
    raw_rows.index = chosen
    n_declined = int(first_reason.sum())
    lines = [
        f"# Why were these transactions declined? ({scorer.algorithm}, {folder})", "",
        "High-risk transactions of the test period (June to September), each with the three features "
        "that moved its score most: SHAP values of the model's log-odds (shap.TreeExplainer, exact for "
        "a tree ensemble: the base value plus a row's SHAP values is its log-odds, checked here to "
        f"{error:.1e}). A positive value pushes towards fraud. Decision threshold {scorer.threshold:.4f}, "
        f"chosen on validation; {n_declined:,} test transactions were declined, {n_false} of them "
        "legitimate. *Truth* is the ground truth, unknown to the model.", "",
        "The reason given first for a decline (the feature pushing hardest towards fraud), over all "
        "declined transactions: " + ", ".join(f"`{f}` {n:,}" for f, n in first_reason.items()) + ".", "",
    ]
    records = []
    for title, group in groups:
        lines += [f"## {title}", ""]
        for rank, i in enumerate(np.asarray(group).tolist(), 1):
            e, row, raw = explained[i], test.iloc[i], raw_rows.loc[i]
            label = SCENARIOS.get(int(row["fraud_scenario"]), "legitimate")
            when = pd.Timestamp(int(row["timestamp"]), unit="s")
            lines.append(f"{rank}. **tx {int(row['tx_id'])}**, card {int(row['card_id'])}, {when:%Y-%m-%d %H:%M}, "
                         f"{row['amount_eur']:.2f} EUR, {names[int(raw['category'])]}, "
                         f"{'online' if raw['channel'] else 'card present'}, {place[int(raw['city_id'])]}: score "
                         f"{e['score']:.4f}, {'declined' if e['decision'] else 'approved'}; truth: {label}")
            for feature, value, contribution in e["reasons"]:
                text = REASONS[feature](value) if feature != "category" else names[int(value)]
                lines.append(f"   - {text} (`{feature}` = {value:.4g}): {contribution:+.2f}")
            records.append({"group": title, "tx_id": int(row["tx_id"]), "score": round(e["score"], 6),
                            "decision": e["decision"], "is_fraud": int(row["is_fraud"]), "truth": label,
                            "base_value": round(e["base_value"], 6),
                            "top_reasons": [{"feature": f, "value": round(v, 6), "shap": round(c, 6)}
                                            for f, v, c in e["reasons"]],
                            "shap_values": dict(zip(FEATURES, (round(v, 6) for v in e["shap_values"])))})
        lines.append("")
    return "\n".join(lines), records
