"""Per-card history features of increment 0051, computed strictly from the past.

Every feature of a transaction is a function of that transaction's own fields (amount, time,
shop, device, city, channel, category, the cardholder's home city) and of the **earlier**
transactions of the same card (and, for a device, of the other cards that used it), never of a
later one, and never of a label: `build_features` reads no label column and every window ends
before the transaction ("in the previous hour" counts the card's transactions in (t - 1 h, t)).
Criterion TC-008 checks it by recomputing the features on the data cut at several times.

Every look-back is bounded by LOOKBACK (30 days): a feature never depends on how long ago the
data extract began, so after the one-month history period (January) the features of every
period are computed alike and their distributions do not drift with the extract's age (an
unbounded "number of earlier payments" or "shop never used before" would grow or shrink with it).

All of it is vectorised (sorting, prefix sums, binary searches; about 10 s for 4.3 million rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOME_COUNTRY = "BE"
LOOKBACK = 30 * 86_400
SMALL_AMOUNT_EUR = 5.0
NIGHT_HOURS = (0, 6)  # 00:00 to 05:59, local time

# The model's inputs, in this order (category is categorical: LightGBM reads it as such, the
# linear model one-hot encodes it). "_30d": over the card's previous 30 days.
FEATURES = [
    "log_amount",
    "amount_vs_card_30d",
    "hour",
    "online",
    "category",
    "n_prev_30d",
    "log_secs_since_prev",
    "n_prev_1h",
    "n_prev_24h",
    "log_amount_prev_24h",
    "n_small_prev_24h",
    "new_merchant_30d",
    "new_category_30d",
    "new_device_30d",
    "log_device_age",
    "device_other_cards_30d",
    "new_city_30d",
    "log_city_age",
    "foreign",
    "log_distance_home_km",
    "log_speed_from_prev_kmh",
    "card_night_share_30d",
]
CATEGORICAL = ["category"]
# Columns kept beside the features (identifiers, time, what is judged, ground truth for error
# analysis): never model inputs.
KEYS = ["tx_id", "card_id", "timestamp", "amount_eur", "is_fraud", "fraud_scenario"]


def _distance_matrix(cities: pd.DataFrame) -> np.ndarray:
    """Great-circle distances (km) between the cities, indexed by city_id."""
    n = int(cities["city_id"].max()) + 1
    lat = np.zeros(n)
    lon = np.zeros(n)
    lat[cities["city_id"]] = np.radians(cities["lat"].to_numpy())
    lon[cities["city_id"]] = np.radians(cities["lon"].to_numpy())
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _recent_use(group: np.ndarray, ts: np.ndarray, window: int = LOOKBACK) -> tuple[np.ndarray, np.ndarray]:
    """For each row: whether its group (a card and a shop, say) occurred in the previous `window`
    seconds, and the seconds since the group's first occurrence within that window (0 if none).
    Rows are in time order within each group; groups are arbitrary int64 keys."""
    order = np.lexsort((ts, group))
    sorted_group = group[order]
    rank = np.cumsum(np.r_[False, sorted_group[1:] != sorted_group[:-1]]).astype(np.int64)
    key = rank * (1 << 36) + ts[order]
    first_in_window = np.searchsorted(key, key - window, side="right")
    position = np.arange(len(key))
    seen = first_in_window < position
    age = np.where(seen, ts[order] - ts[order][np.minimum(first_in_window, len(key) - 1)], 0)
    out_seen, out_age = np.empty_like(seen), np.empty_like(age)
    out_seen[order], out_age[order] = seen, age
    return out_seen, out_age


def _other_cards(device: np.ndarray, card: np.ndarray, ts: np.ndarray, window: int = LOOKBACK) -> np.ndarray:
    """For each (online) row: how many other cards used its device in the previous `window`
    seconds. Only devices ever used by two or more cards can count any (a household's shared
    laptop, a fraud ring's phone), and only those are looped over."""
    out = np.zeros(len(device), dtype=np.int64)
    pairs = pd.DataFrame({"device": device, "card": card}).drop_duplicates()
    shared = pairs["device"][pairs["device"].duplicated()].unique()
    if len(shared) == 0:
        return out
    rows = np.flatnonzero(np.isin(device, shared))
    rows = rows[np.lexsort((ts[rows], device[rows]))]
    bounds = np.flatnonzero(np.r_[True, device[rows][1:] != device[rows][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        group = rows[a:b]
        t, c = ts[group], card[group]
        count = np.zeros(len(group), dtype=np.int64)
        for other in np.unique(c):
            times = t[c == other]
            used = np.searchsorted(times, t, side="left") - np.searchsorted(times, t - window, side="right") > 0
            count += used & (c != other)
        out[group] = count
    return out


def build_features(transactions: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    """The feature table: one row per transaction, in the input's row order: KEYS + FEATURES.

    `transactions` needs tx_id, card_id, timestamp, amount_cents, category, merchant_id,
    channel, device_id, city_id, home_city_id; is_fraud and fraud_scenario are carried over
    when present (as keys, not inputs).
    """
    needed = ["tx_id", "card_id", "timestamp", "amount_cents", "category", "merchant_id", "channel",
              "device_id", "city_id", "home_city_id"]
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions lack the columns {missing}")
    n = len(transactions)
    order = np.lexsort((transactions["tx_id"].to_numpy(), transactions["timestamp"].to_numpy(),
                        transactions["card_id"].to_numpy()))

    def column(name, dtype=np.int64):
        return transactions[name].to_numpy(dtype)[order]

    card = column("card_id")
    ts = column("timestamp")
    amount = column("amount_cents", np.float64) / 100.0
    city = column("city_id")
    home = column("home_city_id")
    device = column("device_id")
    online = column("channel") == 1
    merchant = column("merchant_id")
    category = column("category")
    idx = np.arange(n)

    new_card = np.r_[True, card[1:] != card[:-1]] if n else np.zeros(0, bool)
    if n and np.any((np.diff(ts) <= 0) & ~new_card[1:]):
        raise ValueError("two transactions of one card share a timestamp: the order of the past is ambiguous")
    start = np.maximum.accumulate(np.where(new_card, idx, 0)) if n else idx

    # Windows over the card's past, (t - w, t), through a key that keeps cards apart.
    key = card * (1 << 36) + ts

    def window_start(seconds: int) -> np.ndarray:
        return np.searchsorted(key, key - seconds, side="right")

    def prefix(values: np.ndarray) -> np.ndarray:
        return np.r_[0.0, np.cumsum(values)]

    lo_1h, lo_24h, lo_30d = window_start(3600), window_start(86_400), window_start(LOOKBACK)
    n_30d = idx - lo_30d
    log_amount = np.log1p(amount)
    small = (amount < SMALL_AMOUNT_EUR).astype(float)
    hour = (ts % 86_400) / 3600.0
    night = ((hour >= NIGHT_HOURS[0]) & (hour < NIGHT_HOURS[1])).astype(float)
    cs_amount, cs_small = prefix(amount), prefix(small)
    cs_log, cs_night = prefix(log_amount), prefix(night)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_log_30d = (cs_log[idx] - cs_log[lo_30d]) / n_30d
        night_share_30d = (cs_night[idx] - cs_night[lo_30d]) / n_30d
    recent = n_30d > 0

    has_past = idx > start
    prev = np.maximum(idx - 1, 0)
    gap = np.where(has_past, np.minimum(ts - ts[prev], LOOKBACK), LOOKBACK).astype(float)
    dist = _distance_matrix(cities)
    distance_prev = np.where(has_past & (gap < LOOKBACK), dist[city[prev], city], 0.0)
    speed = np.minimum(distance_prev / np.maximum(gap / 3600.0, 1.0 / 60.0), 5000.0)
    country = pd.Series(cities["country"].to_numpy(), index=cities["city_id"].to_numpy())
    foreign = (country.reindex(city).to_numpy() != HOME_COUNTRY).astype(np.int64)

    def pair(a, b):
        return a.astype(np.int64) * 1_000_000_000 + b.astype(np.int64)

    seen_merchant, _ = _recent_use(pair(card, merchant), ts)
    seen_category, _ = _recent_use(pair(card, category), ts)
    seen_city, city_age = _recent_use(pair(card, city), ts)
    other_cards = np.zeros(n, dtype=np.int64)
    seen_device = np.ones(n, dtype=bool)
    device_age = np.full(n, LOOKBACK, dtype=np.int64)  # a card-present payment counts as an old device
    if online.any():
        on = np.flatnonzero(online)
        seen_on, age_on = _recent_use(pair(card[on], device[on]), ts[on])
        seen_device[on], device_age[on] = seen_on, age_on
        other_cards[on] = _other_cards(device[on], card[on], ts[on])

    columns = {
        "tx_id": column("tx_id"),
        "card_id": card,
        "timestamp": ts,
        "amount_eur": amount,
        "is_fraud": column("is_fraud") if "is_fraud" in transactions else np.zeros(n, np.int64),
        "fraud_scenario": column("fraud_scenario") if "fraud_scenario" in transactions else np.zeros(n, np.int64),
        "log_amount": log_amount,
        "amount_vs_card_30d": np.where(recent, log_amount - mean_log_30d, 0.0),
        "hour": hour,
        "online": online.astype(np.int64),
        "category": category,
        "n_prev_30d": n_30d,
        "log_secs_since_prev": np.log1p(gap),
        "n_prev_1h": idx - lo_1h,
        "n_prev_24h": idx - lo_24h,
        "log_amount_prev_24h": np.log1p(cs_amount[idx] - cs_amount[lo_24h]),
        "n_small_prev_24h": (cs_small[idx] - cs_small[lo_24h]).round().astype(np.int64),
        "new_merchant_30d": (~seen_merchant).astype(np.int64),
        "new_category_30d": (~seen_category).astype(np.int64),
        "new_device_30d": (~seen_device).astype(np.int64),
        "log_device_age": np.log1p(device_age),
        "device_other_cards_30d": other_cards,
        "new_city_30d": (~seen_city).astype(np.int64),
        "log_city_age": np.log1p(city_age),
        "foreign": foreign,
        "log_distance_home_km": np.log1p(dist[home, city]),
        "log_speed_from_prev_kmh": np.log1p(speed),
        "card_night_share_30d": np.where(recent, night_share_30d, 0.0),
    }
    # Back to the input's row order; the numeric features as float32 (what the models read).
    back = np.empty(n, dtype=np.int64)
    back[order] = idx
    out = {}
    for name, values in columns.items():
        values = np.asarray(values)[back]
        out[name] = values.astype(np.float32) if name in FEATURES and name not in CATEGORICAL else values
    return pd.DataFrame(out)
