"""Checks of increment 0042 that are criteria of tests.md (not tasks)."""

from __future__ import annotations

import pandas as pd

NAMES = ("train", "validation", "test")


def _examples(df: pd.DataFrame, n: int = 3) -> str:
    return "; ".join(", ".join(f"{k}={v}" for k, v in row.items())
                     for row in df.head(n).to_dict("records"))


def check_no_leakage(splits: dict[str, pd.DataFrame]) -> None:
    """TC-006: no interaction in two splits, and per user test after validation after train."""
    assert set(splits) >= set(NAMES), f"splits must hold {NAMES}, got {sorted(splits)}"
    for name in NAMES:
        assert len(splits[name]) > 0, f"the {name} split is empty"

    for i, a in enumerate(NAMES):
        for b in NAMES[i + 1:]:
            rows = splits[a].merge(splits[b], on=["user_id", "item_id", "timestamp"])
            assert rows.empty, (
                f"{len(rows)} interaction rows are in both {a} and {b}: {_examples(rows)}"
            )
            pairs = splits[a].merge(splits[b], on=["user_id", "item_id"])
            assert pairs.empty, (
                f"{len(pairs)} user-item pairs are in both {a} and {b} (the held-out item is "
                f"known from the other split): {_examples(pairs)}"
            )

    span = {
        name: splits[name].groupby("user_id")["timestamp"].agg(["min", "max"]) for name in NAMES
    }
    for earlier, later in (("train", "validation"), ("validation", "test"), ("train", "test")):
        both = span[earlier][["max"]].join(span[later][["min"]], how="inner")
        bad = both[both["max"] >= both["min"]]
        assert bad.empty, (
            f"{len(bad)} users have {later} interactions not later than their last {earlier} "
            f"interaction (user: last {earlier} ts, first {later} ts): "
            + "; ".join(f"{u}: {r['max']}, {r['min']}" for u, r in bad.head(3).iterrows())
        )

