"""Generate the synthetic card-transaction data set of increment 0051 (fraud detection).

    python data/generate.py            # writes data/transactions.csv.gz, cities.csv, categories.csv, sample.csv
    python data/generate.py --oracle   # the same, and prints what the generator itself puts out of any model's reach

Deterministic: the same seed gives the same rows (and, with the same zlib, byte-identical files).
transactions.csv.gz is not shipped (about 90 MB): the increment's conftest.py calls write_files()
on first use (seed 51 and test-period event seed 5151, the defaults). cities.csv, categories.csv and sample.csv are shipped and are
what this command writes.

What it simulates: nine months (2024-01-01 .. 2024-09-30) of the card payments of 20,000
cardholders of one Belgian issuer, 4.35 million transactions, 0.17% of them fraudulent. The test
period (June to September) was redrawn once, for the same cards, from a fresh event seed (TEST_SEED;
plan.md, Revisions 5): its earlier draw had been scored by the pilots.
Every parameter below was fixed from a published figure or from a stated reason before any model
was trained on the data (data/README.md lists them with their sources); none was changed to move
a model's score. The window was lengthened once, from seven to nine months, to give the test
period enough declines for a decisive precision interval (README.md, "Revisions").

Anchors (published figures):
- Fraud rate by count: 0.172% of transactions, the ULB/Worldline credit-card data set (492 frauds
  in 284,807 card transactions of European cardholders, September 2013; Dal Pozzolo et al.,
  CIDM 2015). 10% more fraud episodes than needed are drawn, and whole episodes are dropped (in
  random order) until fraud transactions are 0.172% of all.
- Legitimate amounts: ULB's non-fraud `Amount` column (Q1 5.65, median 22.00, Q3 77.05, mean
  88.29, max 25,691.16): the category medians and spreads are scaled (AMOUNT_SCALE,
  AMOUNT_SPREAD) to reproduce the median and come close to the mean (realised: Q1 6.68, median
  21.85, Q3 65.44, mean 84.79; the category mixture is a little narrower in the middle).
- Fraud amounts: ULB's fraud `Amount` (Q1 1.00, median 9.25, Q3 105.89, mean 122.21, max
  2,125.87): a quarter of fraud transactions are at most 1 unit -- the trace of card testing
  (tiny probes before the real purchases), which sets the share of card testing; fraud amounts
  are capped at 2,125.87 (realised: Q1 0.96, median 19.62, Q3 139.42, mean 92.92).
- Fraud by channel: 73% of the value of card fraud in SEPA is card-not-present (online), 19% at
  point-of-sale terminals and 8% at ATMs (ECB, Fifth report on card fraud, 2018, data of 2016):
  the mix of fraud scenarios below gives CNP 72% of fraud value (ATMs 13%).

Structure (stated reasons; the values are judgement calls, documented, not fitted to a model):
- Cardholders live in 9 Belgian cities (weights: city populations). Each card has an activity
  rate (log-normal, median 0.70 transactions a day, sigma 0.5), a preferred time of day (normal
  around 13:30, sd 1.5 h, spread 3.5 h; 3% of cards are "night owls" spread over 24 h), a
  category mix (Dirichlet around the population shares, concentration 20), an amount level
  (log-normal multiplier, sigma 0.35), four regular shops per category in its home city, three
  regular web shops per online category, a phone (replaced by a new one at a uniform time within
  about two years: a legitimate "new device"), a second device for 40% of cards, shared with
  another card (a household) for 10%.
- Legitimate transactions come in outings (1 + Poisson(0.5) payments, minutes apart): some
  legitimate velocity. 4% of home-period card-present payments are in another Belgian city.
  Trips: every 100 days on average a card travels 2 + Poisson(3) days, abroad with probability
  0.75 (destinations weighted: neighbours, capitals, holiday places); payments then happen
  there, at unknown shops (legitimate foreign, new-merchant, far-from-home payments). 1.5% of
  legitimate online payments come from an IP address in a random foreign city (VPNs, roaming).
- Fraud episodes hit cards drawn in proportion to their activity, at a uniform time, at most
  once per card, in four scenarios (shares of episodes):
  * card testing, 40%: a fraudster's device (one of a ring's 250 devices, each as likely, with
    probability 0.6, else a fresh one) and an IP mostly abroad (0.75) probe the card with
    1 + Poisson(3) tiny payments (60% between 0.50 and 1.00, else 1.00 to 5.00) at the 60 most
    popular digital-goods web shops, about 90 s apart; with probability 0.7 follow 1 to 3
    cash-out purchases (electronics, gift cards, marketplace, travel; log-normal, median 200,
    sigma 0.7) after about two hours; at any hour of the day;
  * account takeover (stolen credentials, online), 30%: 1 + Poisson(1.2) purchases hours apart,
    on a new device (0.8; the cardholder's own device otherwise: malware, remote access), from
    an IP abroad (0.5), elsewhere in Belgium (0.3) or in the home city (0.2), at night (00:00 to
    05:59) with probability 0.45, at shops drawn from the whole web, log-normal median 100,
    sigma 0.8;
  * counterfeit / skimmed card at terminals, 10%: 2 + Poisson(2) card-present payments about 20
    minutes apart, abroad (0.7) or elsewhere in Belgium, half ATM withdrawals of 100 to 300,
    half purchases (median 150), while the real card keeps paying at home;
  * lost or stolen card used locally / familiar fraud, 20%: 1 + Poisson(0.8) payments that are
    drawn from the cardholder's own habits (categories, amounts, hours, home city, own device),
    at a regular shop half the time: fraud that looks normal, out of reach of any model.
- Noise both ways: fraud that looks normal (the last scenario, account takeovers on the own
  device from the home city), and legitimate payments that look odd (travel abroad, a new phone,
  night owls, VPNs, households sharing a device, bursts of small in-app purchases, big purchases
  at new shops).

Files: transactions.csv.gz with tx_id (1.., in time order), card_id (1..20000), timestamp (Unix
seconds; the wall-clock time of Brussels, CET, read as UTC: `hour` is the local hour), amount_cents,
category (0..13, categories.csv), merchant_id, channel (0 card present, 1 online / card not
present), device_id (0 for card-present payments), city_id (where the payment was made: the
shop's city, or the IP address's city for an online payment; cities.csv), home_city_id (the
cardholder's city, known to the issuer), is_fraud (0/1) and fraud_scenario (0 none, 1 card
testing, 2 account takeover, 3 counterfeit card, 4 lost/stolen or familiar: ground truth kept for
error analysis, never a feature), sorted by tx_id. cities.csv: city_id, city, country, lat, lon.
categories.csv: category, name, channel. sample.csv: the first 50 transactions.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 51
# The final test period (plan.md, Revisions 5): every event from TEST_START on is drawn from this
# seed, for the same cards; everything before TEST_START is seed 51's, unchanged.
TEST_SEED = 5151
TEST_START = pd.Timestamp("2024-06-01T00:00:00Z")
HERE = Path(__file__).resolve().parent
FILES = ("transactions.csv.gz", "cities.csv", "categories.csv", "sample.csv")

START = pd.Timestamp("2024-01-01T00:00:00Z")
DAYS = 274  # 2024-01-01 .. 2024-09-30 (2024 is a leap year)
N_CARDS = 20_000

# Anchors (data/README.md).
FRAUD_RATE = 0.00172  # ULB/Worldline: 492 / 284,807

# Cities: (name, country, lat, lon, weight). Belgian weights are populations (millions, the city
# or its urban area) and place cardholders; foreign weights place trips (neighbours, capitals,
# holiday places) and are a judgement, not a statistic.
CITIES = [
    ("Brussels", "BE", 50.8503, 4.3517, 1.22), ("Antwerp", "BE", 51.2194, 4.4025, 0.53),
    ("Ghent", "BE", 51.0543, 3.7174, 0.26), ("Charleroi", "BE", 50.4108, 4.4446, 0.20),
    ("Liege", "BE", 50.6326, 5.5797, 0.20), ("Bruges", "BE", 51.2093, 3.2247, 0.12),
    ("Namur", "BE", 50.4674, 4.8720, 0.11), ("Leuven", "BE", 50.8798, 4.7005, 0.10),
    ("Mons", "BE", 50.4542, 3.9523, 0.10),
    ("Paris", "FR", 48.8566, 2.3522, 10), ("Lille", "FR", 50.6292, 3.0573, 4),
    ("Lyon", "FR", 45.7640, 4.8357, 2), ("Marseille", "FR", 43.2965, 5.3698, 2),
    ("Nice", "FR", 43.7102, 7.2620, 3), ("Amsterdam", "NL", 52.3676, 4.9041, 6),
    ("Rotterdam", "NL", 51.9244, 4.4777, 3), ("Maastricht", "NL", 50.8514, 5.6910, 3),
    ("Luxembourg", "LU", 49.6116, 6.1319, 3), ("Cologne", "DE", 50.9375, 6.9603, 3),
    ("Aachen", "DE", 50.7753, 6.0839, 2), ("Berlin", "DE", 52.5200, 13.4050, 3),
    ("Munich", "DE", 48.1351, 11.5820, 2), ("Frankfurt", "DE", 50.1109, 8.6821, 2),
    ("Madrid", "ES", 40.4168, -3.7038, 3), ("Barcelona", "ES", 41.3851, 2.1734, 5),
    ("Valencia", "ES", 39.4699, -0.3763, 2), ("Malaga", "ES", 36.7213, -4.4214, 3),
    ("Palma", "ES", 39.5696, 2.6502, 3), ("Rome", "IT", 41.9028, 12.4964, 3),
    ("Milan", "IT", 45.4642, 9.1900, 2), ("Florence", "IT", 43.7696, 11.2558, 2),
    ("Vienna", "AT", 48.2082, 16.3738, 2), ("Prague", "CZ", 50.0755, 14.4378, 2),
    ("Lisbon", "PT", 38.7223, -9.1393, 2), ("London", "GB", 51.5072, -0.1276, 4),
    ("Dublin", "IE", 53.3498, -6.2603, 1), ("Warsaw", "PL", 52.2297, 21.0122, 1),
    ("Bucharest", "RO", 44.4268, 26.1025, 0.5), ("Sofia", "BG", 42.6977, 23.3219, 0.3),
    ("Istanbul", "TR", 41.0082, 28.9784, 1), ("Athens", "GR", 37.9838, 23.7275, 1),
    ("Budapest", "HU", 47.4979, 19.0402, 1),
]
HOME_COUNTRY = "BE"
# Where fraudsters' IP addresses and counterfeit cards show up abroad: every foreign city equally
# likely (fraud is not tied to holiday places), a judgement.

# Merchant categories: (name, channel, share of legitimate payments, median amount, sigma of
# log-amount, probability of paying online when the category has both channels). Shares and
# typical amounts are a judgement of a European card portfolio; the medians and sigmas were
# then set so that all legitimate amounts reproduce ULB's quantiles (README.md, "Amounts").
CATEGORIES = [
    ("grocery", "pos", 0.21, 24.0, 0.85, 0.0),
    ("restaurant_cafe", "pos", 0.15, 11.0, 0.85, 0.0),
    ("fuel", "pos", 0.06, 50.0, 0.45, 0.0),
    ("clothing", "both", 0.07, 42.0, 0.80, 0.35),
    ("pharmacy_health", "pos", 0.05, 14.0, 0.80, 0.0),
    ("transport_parking", "both", 0.10, 3.5, 0.90, 0.35),
    ("marketplace", "online", 0.09, 28.0, 0.95, 1.0),
    ("digital_goods", "online", 0.08, 4.0, 0.90, 1.0),
    ("electronics", "both", 0.02, 140.0, 1.00, 0.50),
    ("travel_hotel", "online", 0.02, 210.0, 0.85, 1.0),
    ("gift_cards", "online", 0.01, 35.0, 0.70, 1.0),
    ("atm_cash", "pos", 0.04, 70.0, 0.55, 0.0),
    ("entertainment", "both", 0.05, 18.0, 0.80, 0.40),
    ("home_diy", "pos", 0.05, 35.0, 1.00, 0.0),
]
ATM = 11
DIGITAL_GOODS = 7
# Solved on a simulation of 400,000 payments drawn with the shares above (not on this data set)
# so that the legitimate median is ULB's 22.00 and the mean near its 88.29: every median is
# multiplied by AMOUNT_SCALE and every sigma by AMOUNT_SPREAD; amounts are capped at ULB's
# legitimate maximum.
AMOUNT_SCALE, AMOUNT_SPREAD, MAX_LEGIT_AMOUNT = 1.11, 1.6, 25_691.16

# Cardholders.
RATE_MEDIAN_PER_DAY = 0.70
RATE_SIGMA = 0.5
OUTING_EXTRA = 0.5  # payments per outing: 1 + Poisson(0.5)
OUTING_GAP_MIN = 20.0  # mean minutes between the payments of an outing
HOUR_MEAN, HOUR_CARD_SD, HOUR_SPREAD = 13.5, 1.5, 3.5
NIGHT_OWLS = 0.03
AMOUNT_CARD_SIGMA = 0.35
CATEGORY_CONCENTRATION = 20.0
POS_POOL = 400  # shops per (city, category)
ONLINE_POOL = 3000  # web shops per online category
ZIPF = 1.1  # shop popularity ~ (rank + 1) ** -ZIPF
FAVOURITE_SHOPS, FAVOURITE_WEB_SHOPS = 4, 3
P_REGULAR_SHOP = 0.85  # a home-city card-present payment at one of the card's regular shops
P_REGULAR_WEB_SHOP = 0.80
P_OTHER_BELGIAN_CITY = 0.04
TRIP_EVERY_DAYS = 100.0
TRIP_MIN_DAYS, TRIP_EXTRA_DAYS = 2, 3.0
TRIP_ABROAD = 0.75
VPN_SHARE = 0.015
PHONE_LIFETIME_DAYS = 700.0
SECOND_DEVICE, SHARED_DEVICE = 0.40, 0.10
P_SECOND_DEVICE_USED = 0.30

# Fraud episodes: scenario shares (of episodes) and their parameters (module docstring).
SCENARIOS = ("card_testing", "account_takeover", "counterfeit_card", "lost_stolen_familiar")
SCENARIO_SHARES = (0.40, 0.30, 0.10, 0.20)
RING_DEVICES = 250
TEST_EXTRA, TEST_GAP_S = 3.0, 90.0
TEST_TINY_SHARE = 0.60
TESTED_SHOPS = 60  # the most popular digital-goods web shops
CASHOUT_P, CASHOUT_GAP_H, CASHOUT_MEDIAN, CASHOUT_SIGMA = 0.70, 2.0, 200.0, 0.7
CASHOUT_CATEGORIES, CASHOUT_WEIGHTS = (8, 10, 6, 9), (0.4, 0.3, 0.2, 0.1)
ATO_EXTRA, ATO_GAP_H, ATO_MEDIAN, ATO_SIGMA = 1.2, 3.0, 100.0, 0.8
ATO_OWN_DEVICE, ATO_RING_DEVICE = 0.2, 0.4
ATO_IP = (0.5, 0.3, 0.2)  # abroad, elsewhere in Belgium, home city
ATO_NIGHT = 0.45
ATO_CATEGORIES, ATO_WEIGHTS = (8, 10, 6, 9, 3), (0.3, 0.2, 0.3, 0.1, 0.1)
COUNTERFEIT_EXTRA, COUNTERFEIT_GAP_MIN, COUNTERFEIT_ABROAD = 2.0, 20.0, 0.7
COUNTERFEIT_ATM = 0.5
COUNTERFEIT_MEDIAN, COUNTERFEIT_SIGMA = 150.0, 0.6
COUNTERFEIT_ATM_AMOUNTS = (100.0, 150.0, 200.0, 250.0, 300.0)
COUNTERFEIT_CATEGORIES, COUNTERFEIT_WEIGHTS = (8, 3, 0, 13), (0.4, 0.3, 0.1, 0.2)
FAMILIAR_EXTRA = 0.8
FAMILIAR_REGULAR_SHOP = 0.5
MAX_FRAUD_AMOUNT = 2_125.87  # ULB's largest fraud amount


def _expected_fraud_per_episode() -> float:
    """Mean fraud transactions of an episode, from the scenario parameters (truncation at the
    end of the window ignored: a handful of episodes)."""
    per = (
        1 + TEST_EXTRA + CASHOUT_P * (1 + 2 * 0.4),
        1 + ATO_EXTRA,
        2 + COUNTERFEIT_EXTRA,
        1 + FAMILIAR_EXTRA,
    )
    return float(np.dot(SCENARIO_SHARES, per))


def _zipf_index(rng, n: int, size: int) -> np.ndarray:
    """Indices 0..n-1 with probability ~ (rank + 1) ** -ZIPF."""
    w = (np.arange(n) + 1.0) ** -ZIPF
    return np.searchsorted(np.cumsum(w) / w.sum(), rng.random(size), side="right").clip(0, n - 1)


def _choice_rows(rng, cumulative: np.ndarray) -> np.ndarray:
    """One draw per row of a matrix of cumulative probabilities."""
    u = rng.random(cumulative.shape[0])[:, None]
    return np.minimum((cumulative < u).sum(axis=1), cumulative.shape[1] - 1)


class _Ids:
    """Random, distinct, opaque ids for keys (so that no id encodes a shop's or a device's kind)."""

    def __init__(self, rng, n: int, low: int, high: int):
        ids = np.unique(rng.integers(low, high, int(n * 1.3) + 100))
        self.ids = rng.permutation(ids)[:n]
        if len(self.ids) < n:
            raise RuntimeError("id space too small")


def generate(seed: int = SEED, test_seed: int | None = TEST_SEED) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(transactions, cities, categories): the cards of `seed` and their payments; every event before
    TEST_START drawn from `seed`, and from TEST_START on from `test_seed` (None: from `seed` as well,
    the data set as it was before the test period was redrawn). An event that straddles TEST_START is
    cut there; tx_ids number the rows in time order, so those before TEST_START do not change."""
    df, cities, categories = _draw(seed)
    if test_seed is None:
        return df, cities, categories
    late, _, _ = _draw(seed, event_seed=test_seed)
    cut = int(TEST_START.timestamp())
    df = pd.concat([df[df["timestamp"] < cut], late[late["timestamp"] >= cut]]).drop(columns="tx_id")
    df = df.sort_values(["timestamp", "card_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "tx_id", np.arange(1, len(df) + 1, dtype=np.int64))
    return df, cities, categories


def _draw(seed: int, event_seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One draw of the whole window: the cards from `seed`, their events from `event_seed` (default `seed`)."""
    rng = np.random.default_rng(seed)
    n_cities, n_cat = len(CITIES), len(CATEGORIES)
    country = np.array([c[1] for c in CITIES])
    domestic = np.flatnonzero(country == HOME_COUNTRY)
    foreign = np.flatnonzero(country != HOME_COUNTRY)
    city_w = np.array([c[4] for c in CITIES], dtype=float)
    cat_channel = np.array([c[1] for c in CATEGORIES])
    cat_share = np.array([c[2] for c in CATEGORIES])
    cat_median = np.array([c[3] for c in CATEGORIES])
    cat_sigma = np.array([c[4] for c in CATEGORIES])
    cat_online = np.array([c[5] for c in CATEGORIES])
    seconds_total = DAYS * 86_400

    # Opaque ids: shops (per city and category for terminals, per category online), devices.
    shop_ids = _Ids(rng, n_cities * n_cat * POS_POOL + n_cat * ONLINE_POOL, 10_000_000, 100_000_000)

    def pos_shop(city, cat, k):
        return shop_ids.ids[(city * n_cat + cat) * POS_POOL + k]

    def web_shop(cat, k):
        return shop_ids.ids[n_cities * n_cat * POS_POOL + cat * ONLINE_POOL + k]

    # -- cardholders ---------------------------------------------------------------------------
    N = N_CARDS
    home = rng.choice(domestic, N, p=city_w[domestic] / city_w[domestic].sum())
    rate = rng.lognormal(np.log(RATE_MEDIAN_PER_DAY), RATE_SIGMA, N)
    hour_mu = rng.normal(HOUR_MEAN, HOUR_CARD_SD, N)
    night_owl = rng.random(N) < NIGHT_OWLS
    amount_shift = rng.normal(0.0, AMOUNT_CARD_SIGMA, N)
    cat_pref = rng.dirichlet(CATEGORY_CONCENTRATION * cat_share, N)
    cat_cum = np.cumsum(cat_pref, axis=1)
    fav_shop = _zipf_index(rng, POS_POOL, N * n_cat * FAVOURITE_SHOPS).reshape(N, n_cat, FAVOURITE_SHOPS)
    fav_web = _zipf_index(rng, ONLINE_POOL, N * n_cat * FAVOURITE_WEB_SHOPS).reshape(
        N, n_cat, FAVOURITE_WEB_SHOPS)
    device_ids = _Ids(rng, 3 * N + RING_DEVICES + N, 100_000_000, 1_000_000_000).ids
    phone_old, phone_new = device_ids[:N], device_ids[N:2 * N]
    phone_change = rng.uniform(0, PHONE_LIFETIME_DAYS, N) * 86_400  # beyond the window: no change
    has_second = rng.random(N) < SECOND_DEVICE
    second = device_ids[2 * N:3 * N].copy()
    shared = has_second & (rng.random(N) < SHARED_DEVICE / SECOND_DEVICE)
    partner = rng.integers(0, N, N)
    second[shared] = phone_old[partner[shared]]  # a household: one card's laptop is another's phone
    ring = device_ids[3 * N:3 * N + RING_DEVICES]
    fresh_devices = device_ids[3 * N + RING_DEVICES:]

    def hours(cards):
        h = rng.normal(hour_mu[cards], HOUR_SPREAD)
        owl = night_owl[cards]
        h[owl] = rng.uniform(0, 24, int(owl.sum()))
        return np.mod(h, 24.0)

    def device_at(cards, t):
        phone = np.where(t < phone_change[cards], phone_old[cards], phone_new[cards])
        use_second = has_second[cards] & (rng.random(len(cards)) < P_SECOND_DEVICE_USED)
        return np.where(use_second, second[cards], phone)

    def amounts(cat, shift):
        log_amt = (np.log(cat_median[cat] * AMOUNT_SCALE) + shift
                   + cat_sigma[cat] * AMOUNT_SPREAD * rng.standard_normal(len(cat)))
        amt = np.minimum(np.exp(log_amt), MAX_LEGIT_AMOUNT)
        atm = cat == ATM
        amt[atm] = np.maximum(20.0, np.round(amt[atm] / 10.0) * 10.0)
        return amt

    if event_seed is not None:  # the cards above stay; every event below is drawn afresh
        rng = np.random.default_rng(event_seed)

    # -- legitimate payments -------------------------------------------------------------------
    n_out = rng.poisson(rate * DAYS / (1 + OUTING_EXTRA))
    card_o = np.repeat(np.arange(N), n_out)
    t_o = rng.integers(0, DAYS, len(card_o)) * 86_400 + np.round(hours(card_o) * 3600)
    size_o = 1 + rng.poisson(OUTING_EXTRA, len(card_o))
    card = np.repeat(card_o, size_o)
    first = np.repeat(np.cumsum(size_o) - size_o, size_o)
    gaps = rng.exponential(OUTING_GAP_MIN * 60, len(card))
    gaps[np.cumsum(size_o) - size_o] = 0.0
    cs = np.cumsum(gaps)
    t = np.repeat(t_o, size_o) + np.round(cs - cs[first])
    n_legit = len(card)

    # Trips.
    n_trip = rng.poisson(DAYS / TRIP_EVERY_DAYS, N)
    trip_card = np.repeat(np.arange(N), n_trip)
    trip_start = rng.uniform(-5, DAYS, len(trip_card)) * 86_400
    trip_end = trip_start + (TRIP_MIN_DAYS + rng.poisson(TRIP_EXTRA_DAYS, len(trip_card))) * 86_400
    abroad = rng.random(len(trip_card)) < TRIP_ABROAD
    trip_dest = np.where(abroad, rng.choice(foreign, len(trip_card), p=city_w[foreign] / city_w[foreign].sum()),
                         rng.choice(domestic, len(trip_card)))
    same = trip_dest == home[trip_card]
    trip_dest[same] = foreign[0]  # a domestic "trip" to the home city becomes Paris
    order = np.lexsort((trip_start, trip_card))
    trip_card, trip_start, trip_end, trip_dest = (a[order] for a in (trip_card, trip_start, trip_end, trip_dest))
    key = trip_card.astype(np.int64) * (1 << 40) + (trip_start + 10 * 86_400).astype(np.int64)
    idx = np.searchsorted(key, card.astype(np.int64) * (1 << 40) + (t + 10 * 86_400).astype(np.int64),
                          side="right") - 1
    idx_ok = np.maximum(idx, 0)
    on_trip = (idx >= 0) & (trip_card[idx_ok] == card) & (t < trip_end[idx_ok])
    trip_city = trip_dest[idx_ok]

    cat = _choice_rows(rng, cat_cum[card])
    online = rng.random(n_legit) < cat_online[cat]
    city = home[card].copy()
    elsewhere = ~online & (rng.random(n_legit) < P_OTHER_BELGIAN_CITY)
    city[elsewhere] = rng.choice(domestic, int(elsewhere.sum()))
    city[on_trip] = trip_city[on_trip]
    vpn = online & (rng.random(n_legit) < VPN_SHARE)
    city[vpn] = rng.choice(foreign, int(vpn.sum()))

    merchant = np.empty(n_legit, dtype=np.int64)
    at_home = ~online & (city == home[card])
    regular = at_home & (rng.random(n_legit) < P_REGULAR_SHOP)
    pick = rng.choice(FAVOURITE_SHOPS, n_legit, p=[0.4, 0.3, 0.2, 0.1])
    merchant[regular] = pos_shop(city[regular], cat[regular], fav_shop[card[regular], cat[regular], pick[regular]])
    other = ~online & ~regular
    merchant[other] = pos_shop(city[other], cat[other], _zipf_index(rng, POS_POOL, int(other.sum())))
    regular_web = online & (rng.random(n_legit) < P_REGULAR_WEB_SHOP)
    pick = rng.integers(0, FAVOURITE_WEB_SHOPS, n_legit)
    merchant[regular_web] = web_shop(cat[regular_web], fav_web[card[regular_web], cat[regular_web], pick[regular_web]])
    other_web = online & ~regular_web
    merchant[other_web] = web_shop(cat[other_web], _zipf_index(rng, ONLINE_POOL, int(other_web.sum())))

    device = np.zeros(n_legit, dtype=np.int64)
    device[online] = device_at(card[online], t[online])
    amount = amounts(cat, amount_shift[card])
    legit = dict(card=card, t=t, amount=amount, cat=cat, merchant=merchant, online=online, device=device,
                 city=city, scenario=np.zeros(n_legit, dtype=np.int64), episode=np.full(n_legit, -1))

    # -- fraud episodes ------------------------------------------------------------------------
    # 10% more episodes than the rate needs: whole episodes are dropped at the end (in random
    # order) until the fraud transactions are FRAUD_RATE of all, exactly.
    n_episodes = int(round(1.1 * FRAUD_RATE / (1 - FRAUD_RATE) * n_legit / _expected_fraud_per_episode()))
    ep_card = rng.choice(N, n_episodes, replace=False, p=rate / rate.sum())
    ep_t0 = rng.uniform(0, seconds_total, n_episodes)
    ep_type = rng.choice(len(SCENARIOS), n_episodes, p=SCENARIO_SHARES)
    fraud_parts = []
    fresh = iter(range(len(fresh_devices)))

    def new_devices(n):
        return fresh_devices[[next(fresh) for _ in range(n)]]

    def foreign_or_domestic(n, p_abroad, exclude_home_of=None):
        out = np.where(rng.random(n) < p_abroad, rng.choice(foreign, n), rng.choice(domestic, n))
        if exclude_home_of is not None:
            clash = out == home[exclude_home_of]
            out[clash] = rng.choice(foreign, int(clash.sum()))
        return out

    def sequence(n_per, t0, gap_mean_s):
        """Times of n_per[i] events starting at t0[i], exponential gaps of mean gap_mean_s."""
        owner = np.repeat(np.arange(len(n_per)), n_per)
        g = rng.exponential(gap_mean_s, len(owner))
        starts = np.cumsum(n_per) - n_per
        g[starts[n_per > 0]] = 0.0
        c = np.cumsum(g)
        return owner, t0[owner] + np.round(c - c[np.repeat(starts, n_per)])

    # Card testing, then (maybe) cash-out.
    sel = np.flatnonzero(ep_type == 0)
    n = len(sel)
    dev = np.where(rng.random(n) < 0.6, ring[rng.integers(0, RING_DEVICES, n)], new_devices(n))
    ip = foreign_or_domestic(n, 0.75)
    k = 1 + rng.poisson(TEST_EXTRA, n)
    own, tt = sequence(k, ep_t0[sel], TEST_GAP_S)
    tiny = rng.random(len(own)) < TEST_TINY_SHARE
    amt = np.where(tiny, rng.uniform(0.50, 1.00, len(own)), rng.uniform(1.00, 5.00, len(own)))
    shop = web_shop(np.full(len(own), DIGITAL_GOODS), rng.integers(0, TESTED_SHOPS, len(own)))
    fraud_parts.append(dict(card=ep_card[sel][own], t=tt, amount=amt, cat=np.full(len(own), DIGITAL_GOODS),
                            merchant=shop, online=np.ones(len(own), bool), device=dev[own], city=ip[own],
                            scenario=np.full(len(own), 1), episode=sel[own]))
    last_test = np.zeros(n)
    np.maximum.at(last_test, own, tt)
    m = np.where(rng.random(n) < CASHOUT_P, 1 + rng.binomial(2, 0.4, n), 0)
    own, tt = sequence(m, last_test + rng.exponential(CASHOUT_GAP_H * 3600, n), 15 * 60)
    c = rng.choice(CASHOUT_CATEGORIES, len(own), p=CASHOUT_WEIGHTS)
    amt = np.minimum(rng.lognormal(np.log(CASHOUT_MEDIAN), CASHOUT_SIGMA, len(own)), MAX_FRAUD_AMOUNT)
    fraud_parts.append(dict(card=ep_card[sel][own], t=tt, amount=amt, cat=c,
                            merchant=web_shop(c, _zipf_index(rng, ONLINE_POOL, len(own))),
                            online=np.ones(len(own), bool), device=dev[own], city=ip[own],
                            scenario=np.full(len(own), 1), episode=sel[own]))

    # Account takeover (online).
    sel = np.flatnonzero(ep_type == 1)
    n = len(sel)
    cards = ep_card[sel]
    u = rng.random(n)
    ip = np.where(u < ATO_IP[0], rng.choice(foreign, n),
                  np.where(u < ATO_IP[0] + ATO_IP[1], rng.choice(domestic, n), home[cards]))
    day0 = np.floor(ep_t0[sel] / 86_400)
    hour0 = np.where(rng.random(n) < ATO_NIGHT, rng.uniform(0, 6, n), rng.uniform(6, 24, n))
    own, tt = sequence(1 + rng.poisson(ATO_EXTRA, n), day0 * 86_400 + np.round(hour0 * 3600), ATO_GAP_H * 3600)
    own_device = rng.random(n) < ATO_OWN_DEVICE
    dev = np.where(own_device, 0, np.where(rng.random(n) < ATO_RING_DEVICE / (1 - ATO_OWN_DEVICE),
                                           ring[rng.integers(0, RING_DEVICES, n)], new_devices(n)))
    dev_tx = dev[own]
    mine = own_device[own]
    dev_tx[mine] = device_at(cards[own][mine], tt[mine])
    c = rng.choice(ATO_CATEGORIES, len(own), p=ATO_WEIGHTS)
    amt = np.minimum(rng.lognormal(np.log(ATO_MEDIAN), ATO_SIGMA, len(own)), MAX_FRAUD_AMOUNT)
    fraud_parts.append(dict(card=cards[own], t=tt, amount=amt, cat=c,
                            merchant=web_shop(c, _zipf_index(rng, ONLINE_POOL, len(own))),
                            online=np.ones(len(own), bool), device=dev_tx, city=ip[own],
                            scenario=np.full(len(own), 2), episode=sel[own]))

    # Counterfeit / skimmed card at terminals.
    sel = np.flatnonzero(ep_type == 2)
    n = len(sel)
    cards = ep_card[sel]
    where = foreign_or_domestic(n, COUNTERFEIT_ABROAD, exclude_home_of=cards)
    day0 = np.floor(ep_t0[sel] / 86_400)
    own, tt = sequence(2 + rng.poisson(COUNTERFEIT_EXTRA, n), day0 * 86_400 + np.round(rng.uniform(9, 21, n) * 3600),
                       COUNTERFEIT_GAP_MIN * 60)
    atm = rng.random(len(own)) < COUNTERFEIT_ATM
    c = np.where(atm, ATM, rng.choice(COUNTERFEIT_CATEGORIES, len(own), p=COUNTERFEIT_WEIGHTS))
    amt = np.where(atm, rng.choice(COUNTERFEIT_ATM_AMOUNTS, len(own)),
                   np.minimum(rng.lognormal(np.log(COUNTERFEIT_MEDIAN), COUNTERFEIT_SIGMA, len(own)),
                              MAX_FRAUD_AMOUNT))
    cities = where[own]
    fraud_parts.append(dict(card=cards[own], t=tt, amount=amt, cat=c,
                            merchant=pos_shop(cities, c, _zipf_index(rng, POS_POOL, len(own))),
                            online=np.zeros(len(own), bool), device=np.zeros(len(own), np.int64),
                            city=cities, scenario=np.full(len(own), 3), episode=sel[own]))

    # Lost / stolen card used locally, familiar fraud: the cardholder's own habits.
    sel = np.flatnonzero(ep_type == 3)
    n = len(sel)
    k = 1 + rng.poisson(FAMILIAR_EXTRA, n)
    own = np.repeat(np.arange(n), k)
    cards = ep_card[sel][own]
    day = np.floor(ep_t0[sel][own] / 86_400) + rng.integers(0, 2, len(own))
    tt = day * 86_400 + np.round(hours(cards) * 3600)
    c = _choice_rows(rng, cat_cum[cards])
    onl = rng.random(len(own)) < cat_online[c]
    regular = rng.random(len(own)) < FAMILIAR_REGULAR_SHOP
    shop = np.where(onl, web_shop(c, np.where(regular, fav_web[cards, c, 0], _zipf_index(rng, ONLINE_POOL, len(own)))),
                    pos_shop(home[cards], c, np.where(regular, fav_shop[cards, c, 0], _zipf_index(rng, POS_POOL, len(own)))))
    dev = np.where(onl, device_at(cards, tt), 0)
    amt = np.minimum(amounts(c, amount_shift[cards]), MAX_FRAUD_AMOUNT)
    fraud_parts.append(dict(card=cards, t=tt, amount=amt, cat=c, merchant=shop,
                            online=onl, device=dev, city=home[cards], scenario=np.full(len(own), 4),
                            episode=sel[own]))

    # -- assemble ------------------------------------------------------------------------------
    parts = [legit] + fraud_parts
    cols = {key: np.concatenate([p[key] for p in parts]) for key in legit}
    keep = (cols["t"] >= 0) & (cols["t"] < seconds_total - 3600)
    cols = {key: v[keep] for key, v in cols.items()}
    t = cols["t"].astype(np.int64)
    # Strictly increasing time within a card (a second apart at least): running maximum per card.
    order = np.lexsort((cols["scenario"], t, cols["card"]))
    cols = {key: v[order] for key, v in cols.items()}
    t = t[order]
    starts = np.flatnonzero(np.r_[True, cols["card"][1:] != cols["card"][:-1]])
    position = np.arange(len(t)) - np.repeat(starts, np.diff(np.r_[starts, len(t)]))
    lift = cols["card"].astype(np.int64) << 36
    t = np.maximum.accumulate(t - position + lift) - lift + position
    inside = t < seconds_total
    cols = {key: v[inside] for key, v in cols.items()}
    t = t[inside]
    # Whole fraud episodes, in the order drawn (random), up to the anchored fraud rate.
    episode = cols["episode"]
    n_legit_kept = int((episode < 0).sum())
    wanted = int(round(FRAUD_RATE / (1 - FRAUD_RATE) * n_legit_kept))
    per_episode = np.bincount(episode[episode >= 0], minlength=n_episodes)
    kept = np.flatnonzero(np.cumsum(per_episode) <= wanted)
    if per_episode.sum() < wanted:
        raise RuntimeError(f"{per_episode.sum()} fraud transactions drawn, {wanted} needed: draw more episodes")
    keep = (episode < 0) | np.isin(episode, kept)
    cols = {key: v[keep] for key, v in cols.items()}
    t = t[keep]
    cents = np.maximum(1, np.round(cols["amount"] * 100)).astype(np.int64)
    df = pd.DataFrame({
        "card_id": cols["card"].astype(np.int64) + 1,
        "timestamp": int(START.timestamp()) + t,
        "amount_cents": cents,
        "category": cols["cat"].astype(np.int64),
        "merchant_id": cols["merchant"].astype(np.int64),
        "channel": cols["online"].astype(np.int64),
        "device_id": cols["device"].astype(np.int64),
        "city_id": cols["city"].astype(np.int64),
        "home_city_id": home[cols["card"]].astype(np.int64),
        "is_fraud": (cols["scenario"] > 0).astype(np.int64),
        "fraud_scenario": cols["scenario"].astype(np.int64),
    })
    df = df.sort_values(["timestamp", "card_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "tx_id", np.arange(1, len(df) + 1, dtype=np.int64))

    cities = pd.DataFrame({"city_id": np.arange(n_cities), "city": [c[0] for c in CITIES],
                           "country": country, "lat": [c[2] for c in CITIES], "lon": [c[3] for c in CITIES]})
    categories = pd.DataFrame({"category": np.arange(n_cat), "name": [c[0] for c in CATEGORIES],
                               "channel": cat_channel})
    return df, cities, categories


# ---------------------------------------------------------------------------------------------
# Statistics and the ceiling
# ---------------------------------------------------------------------------------------------


def describe(df: pd.DataFrame) -> dict:
    amount = df["amount_cents"] / 100
    fraud = df["is_fraud"] == 1
    month = pd.to_datetime(df["timestamp"], unit="s", utc=True).dt.strftime("%Y-%m")
    value = amount[fraud]
    cnp_value = value[df.loc[fraud, "channel"] == 1].sum() / value.sum()
    atm_value = value[df.loc[fraud, "category"] == ATM].sum() / value.sum()
    out = {
        "transactions": len(df),
        "cards": int(df["card_id"].nunique()),
        "fraud_transactions": int(fraud.sum()),
        "fraud_rate": float(fraud.mean()),
        "fraud_cards": int(df.loc[fraud, "card_id"].nunique()),
        "legit_amount_q1": float(amount[~fraud].quantile(0.25)),
        "legit_amount_median": float(amount[~fraud].median()),
        "legit_amount_q3": float(amount[~fraud].quantile(0.75)),
        "legit_amount_mean": float(amount[~fraud].mean()),
        "legit_amount_max": float(amount[~fraud].max()),
        "fraud_amount_q1": float(value.quantile(0.25)),
        "fraud_amount_median": float(value.median()),
        "fraud_amount_q3": float(value.quantile(0.75)),
        "fraud_amount_mean": float(value.mean()),
        "fraud_amount_max": float(value.max()),
        "fraud_value_online_share": float(cnp_value),
        "fraud_value_atm_share": float(atm_value),
        "online_share": float(df["channel"].mean()),
    }
    for i, name in enumerate(SCENARIOS, 1):
        out[f"share_{name}"] = float((df.loc[fraud, "fraud_scenario"] == i).mean())
    for m, n in month.value_counts().sort_index().items():
        out[f"transactions_{m}"] = int(n)
        out[f"frauds_{m}"] = int(fraud[month == m].sum())
    return out


def oracle(df: pd.DataFrame, test_start: str = "2024-06-01") -> dict:
    """What the generator puts out of any model's reach, on the increment's test period.

    Lost/stolen and familiar fraud is drawn from the cardholder's own habits (categories, amounts,
    hours, home city, own device; a regular shop half the time): no feature of the payment tells
    it from the cardholder's own payments, so at a precision near 1 it is missed. The recall at a
    99% precision of any model is therefore at most the share of the other fraud transactions,
    a loose ceiling (account takeovers on the own device from the home city are nearly as hidden).
    """
    test = df[df["timestamp"] >= int(pd.Timestamp(test_start, tz="UTC").timestamp())]
    fraud = test[test["is_fraud"] == 1]
    familiar = (fraud["fraud_scenario"] == 4).mean()
    return {"test_fraud_transactions": len(fraud), "test_familiar_share": float(familiar),
            "recall_ceiling_at_high_precision": float(1 - familiar)}


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _gzip_csv(df: pd.DataFrame, level: int = 1) -> bytes:
    # Level 1: the file is generated on first use, not shipped; speed matters more than size.
    text = df.to_csv(index=False, lineterminator="\n").encode()
    buffer = io.BytesIO()  # mtime=0, no file name: byte-identical run to run (same zlib)
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=level) as gz:
        gz.write(text)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: a concurrent reader (another pytest-xdist
    worker) sees either no file or the whole file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_files(out: Path = HERE, seed: int = SEED, files: tuple[str, ...] = FILES,
                test_seed: int | None = TEST_SEED) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate with `seed` (and `test_seed`, see generate) and write the named `files` (of FILES) into `out`; returns what
    generate() returns. Each file is written atomically (see _write_atomic)."""
    unknown = set(files) - set(FILES)
    if unknown:
        raise ValueError(f"unknown files {sorted(unknown)}; known: {FILES}")
    df, cities, categories = generate(seed, test_seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "transactions.csv.gz": lambda: _gzip_csv(df),
        "cities.csv": lambda: cities.to_csv(index=False, lineterminator="\n").encode(),
        "categories.csv": lambda: categories.to_csv(index=False, lineterminator="\n").encode(),
        "sample.csv": lambda: df.head(50).to_csv(index=False, lineterminator="\n").encode(),
    }
    for name in files:
        _write_atomic(out / name, contents[name]())
    return df, cities, categories


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--test-seed", type=int, default=TEST_SEED,
                        help=f"seed of the events from {TEST_START:%Y-%m-%d} on (-1: the main seed's, one draw)")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--oracle", action="store_true",
                        help="also print the recall ceiling the generator puts on any model (oracle)")
    args = parser.parse_args(argv)
    df, _, _ = write_files(args.out, args.seed, test_seed=None if args.test_seed < 0 else args.test_seed)
    stats = describe(df)
    if args.oracle:
        stats.update({f"oracle_{k}": v for k, v in oracle(df).items()})
    for key, value in stats.items():
        print(f"{key:>34}: {value:.4g}" if isinstance(value, float) else f"{key:>34}: {value}")


if __name__ == "__main__":
    main()
