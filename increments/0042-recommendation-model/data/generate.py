"""Generate the synthetic implicit-feedback data set of increment 0042.

    python data/generate.py            # writes data/interactions.csv.gz, items.csv, sample.csv
    python data/generate.py --oracle   # the same, and prints the precision/recall@10 ceiling

Deterministic: the same seed gives the same rows (and, with the same zlib, byte-identical
files). interactions.csv.gz is not shipped: the increment's conftest.py calls write_files() on
first use (seed 42, the default). items.csv and sample.csv are shipped and are what this
command writes.

What it simulates: six months (2024-01-01 .. 2024-06-30) of implicit feedback (views/purchases,
no ratings) of 6,040 users on a catalogue of 3,706 items. The size and the activity are
anchored to MovieLens-1M, the structure to what a real catalogue has:

- Size (MovieLens-1M, the anchor; data/README.md gives the figures and sources): 6,040 users
  and 3,706 items, as in ML-1M's users.dat and the items rated in ratings.dat.
- Activity (anchored to ML-1M: at least 20 ratings per user, median 96, mean 165.6, most 2,314).
  A user's rate is LogNormal(median 1.52 interactions/day, sigma 0.83), a long right tail of
  heavy users; the interactions of a user are 20 + Poisson(rate * days active in the window),
  capped at 2,314. The two rate parameters were solved, on a simulation of 400,000 users of
  this join/stay model (not on the data set, and before any model was run), for a median of 96
  and a mean of 165.6 interactions per user; 20 and 2,314 are ML-1M's minimum and maximum.
- Topics. Items belong to 18 topics, MovieLens' genre count, whose sizes follow the genre
  frequencies of MovieLens-1M's movies.dat as commonly reported (Drama 1603, Comedy 1200, ...
  Film-Noir 44 titles; the shape matters, not the exact values). An item carries
  1 + Binomial(2, 0.33) topics (mean 1.66; MovieLens-1M: about 1.65 genres per movie),
  drawn by topic size, with Dirichlet(1) weights among them.
- Taste. A user has 1 + Poisson(1.5) favourite topics (mean 2.5), drawn by topic size, with
  Dirichlet(1) weights; 90% of the taste is on the favourites, 10% spread over all topics by size.
- Popularity. Item appeal follows a shifted Zipf law, (rank + 10) ** -1.6, over a random item
  order (appeal is independent of topic); unchanged from the first version, where the exponent
  was set so that the top 20% of items take about 60% of the interactions. Realised
  concentration, and ML-1M's for comparison: data/README.md.
- Time. Users join at a uniform day from 90 days before the window to its end (earlier history
  is not in the data: left-censored, as in any log extract) and stay for an exponential lifetime
  (mean 120 days), so the monthly volume is steady, growing gently; a user whose stay does not
  overlap the window by a day is drawn again. Interactions come in sessions (geometric length,
  mean 4) whose starts are uniform over the active period; inside a session events are minutes
  apart.
- Sessions stick to a topic: the next event stays in the session's topic with probability 0.7.
- An event in topic t picks an unseen, released item with probability proportional to its
  appeal (and novelty) times its weight on t; when the user has exhausted t, by appeal alone.
- Taste drift: over a user's active period the taste moves linearly from its start mixture to
  0.7 * start + 0.3 * a fresh taste drawn the same way (30% of the taste mass drifts).
- Exposure noise: 15% of events ignore taste and follow popularity only (home page, trending).
- Catalogue growth: 15% of items are released during the window (uniform release day) and cannot
  be consumed before it; a new item gets extra attention, 3x at release, decaying with a 14-day
  time constant (novelty effect). These are the cold-start items of a time-based split.
- Implicit feedback: a user interacts with an item at most once.

Files: interactions.csv.gz with user_id (1..6040), item_id (1..3706), timestamp (Unix seconds,
UTC, strictly increasing within a user), sorted by user_id then timestamp (one event history per
user); items.csv, the catalogue: item_id, topic (the item's main topic, 0..17), topics (all of
its topics, main first, "|"-separated) and release_date (empty for items in the catalogue before
the window); sample.csv, the first 50 interactions.
The parameters come from the anchor and the realism arguments above, not from model results
(data/README.md records the revisions, and why).
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 42
# Size, activity and popularity: MovieLens-1M's published figures (data/README.md, "Anchor").
N_USERS = 6_040
N_ITEMS = 3_706
N_TOPICS = 18
# Genre title counts of MovieLens-1M movies.dat: Drama, Comedy, Action, Thriller, Romance, Horror,
# Adventure, Sci-Fi, Children's, Crime, War, Documentary, Musical, Mystery, Animation, Western,
# Fantasy, Film-Noir.
TOPIC_SIZES = [1603, 1200, 503, 492, 471, 343, 283, 276, 251, 211, 143, 127, 114, 106, 105, 68,
               68, 44]
ITEM_EXTRA_TOPICS = (2, 0.33)  # Binomial(n, p) topics on top of the first
USER_EXTRA_FAVOURITES = 1.5  # Poisson mean of favourite topics on top of the first
USER_BACKGROUND_TASTE = 0.1
ZIPF_EXPONENT = 1.6
ZIPF_SHIFT = 10
RATE_MEDIAN_PER_DAY = 1.52
RATE_SIGMA = 0.83
MIN_INTERACTIONS = 20
MAX_INTERACTIONS = 2_314
WINDOW_DAYS = 182
START = pd.Timestamp("2024-01-01T00:00:00Z")
JOIN_BEFORE_DAYS = 90
MEAN_LIFETIME_DAYS = 120
SESSION_MEAN_LENGTH = 4
TOPIC_STICKINESS = 0.7
TASTE_DRIFT = 0.3
EXPOSURE_NOISE = 0.15
NEW_ITEM_SHARE = 0.15
NOVELTY_BOOST = 3.0
NOVELTY_DAYS = 14.0
# Sampler bookkeeping (not the model): items per block of a topic's list.
BLOCK = 64

HERE = Path(__file__).resolve().parent
FILES = ("interactions.csv.gz", "items.csv", "sample.csv")


def generate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)

    prevalence = np.asarray(TOPIC_SIZES, dtype=float) / sum(TOPIC_SIZES)

    def weights_on(topics: np.ndarray) -> np.ndarray:
        w = np.zeros(N_TOPICS)
        w[topics] = rng.dirichlet(np.ones(len(topics)))
        return w

    # Items: topics and their weights, Zipf appeal, release day (-inf: in the catalogue already).
    item_topics = np.zeros((N_ITEMS, N_TOPICS))
    topic_lists = []
    for i in range(N_ITEMS):
        n = 1 + rng.binomial(*ITEM_EXTRA_TOPICS)
        chosen = rng.choice(N_TOPICS, n, replace=False, p=prevalence)
        item_topics[i] = weights_on(chosen)
        topic_lists.append(sorted(chosen, key=lambda t: -item_topics[i, t]))
    main_topic = item_topics.argmax(axis=1)
    rank = rng.permutation(N_ITEMS)
    appeal = (rank + ZIPF_SHIFT) ** -ZIPF_EXPONENT
    is_new = rng.random(N_ITEMS) < NEW_ITEM_SHARE
    release_day = np.where(is_new, rng.uniform(0, WINDOW_DAYS, N_ITEMS), -np.inf)

    # Users: taste at the start and the end of their active period, activity, active window.
    def draw_taste() -> np.ndarray:
        n = min(N_TOPICS, 1 + rng.poisson(USER_EXTRA_FAVOURITES))
        favourites = weights_on(rng.choice(N_TOPICS, n, replace=False, p=prevalence))
        return (1 - USER_BACKGROUND_TASTE) * favourites + USER_BACKGROUND_TASTE * prevalence

    taste_start = np.array([draw_taste() for _ in range(N_USERS)])
    taste_fresh = np.array([draw_taste() for _ in range(N_USERS)])
    taste_end = (1 - TASTE_DRIFT) * taste_start + TASTE_DRIFT * taste_fresh
    first_day = np.zeros(N_USERS)
    active_days = np.zeros(N_USERS)
    redraw = np.ones(N_USERS, dtype=bool)
    while redraw.any():
        n = int(redraw.sum())
        joined = rng.uniform(-JOIN_BEFORE_DAYS, WINDOW_DAYS, n)
        left = joined + rng.exponential(MEAN_LIFETIME_DAYS, n)
        first_day[redraw] = np.maximum(joined, 0.0)
        active_days[redraw] = np.minimum(left, WINDOW_DAYS) - first_day[redraw]
        redraw = active_days < 1.0
    rate = rng.lognormal(np.log(RATE_MEDIAN_PER_DAY), RATE_SIGMA, N_USERS)
    activity = np.minimum(MIN_INTERACTIONS + rng.poisson(rate * active_days), MAX_INTERACTIONS)

    # Event times: sessions with geometric lengths, uniform starts over the active period,
    # events minutes apart. One flat array over all events, user by user.
    offset = np.concatenate([[0], np.cumsum(activity)])
    event_day = np.empty(offset[-1])
    event_session = np.empty(offset[-1], dtype=np.int64)
    for u in range(N_USERS):
        n = int(activity[u])
        lengths = rng.geometric(1 / SESSION_MEAN_LENGTH, n)  # n sessions always reach n events
        n_sessions = int(np.searchsorted(np.cumsum(lengths), n)) + 1
        lengths = lengths[:n_sessions]
        lengths[-1] -= lengths.sum() - n
        starts = np.sort(rng.uniform(first_day[u], first_day[u] + active_days[u], n_sessions))
        session = np.repeat(np.arange(n_sessions), lengths)
        gaps = rng.exponential(3.0, n)  # minutes before each event, from the previous one
        minutes = np.cumsum(gaps)
        first_of_session = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        minutes = minutes - (minutes - gaps)[first_of_session][session]
        day = starts[session] + minutes / 1440.0
        # 0.01 day before the end leaves room for the one-second bumps below.
        event_day[offset[u]:offset[u + 1]] = np.minimum(np.maximum.accumulate(day),
                                                       WINDOW_DAYS - 0.01)
        event_session[offset[u]:offset[u + 1]] = session

    event_item = _choose_items(rng, event_day, event_session, offset, activity, first_day,
                               active_days, taste_start, taste_end, item_topics, appeal, is_new,
                               release_day)

    keep = event_item >= 0
    user_of_event = np.repeat(np.arange(N_USERS), activity)[keep]
    position = (np.arange(offset[-1]) - np.repeat(offset[:-1], activity))[keep]
    seconds = np.floor(event_day[keep] * 86_400.0).astype(np.int64)
    # Strictly increasing time within a user: events a second apart at the least (a running
    # maximum per user, done globally by lifting each user's block above the previous ones).
    lift = user_of_event.astype(np.int64) << 32
    seconds = np.maximum.accumulate(seconds - position + lift) - lift + position
    df = pd.DataFrame({"user_id": user_of_event + 1, "item_id": event_item[keep] + 1,
                       "timestamp": int(START.timestamp()) + seconds})
    df = df.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    assert df["timestamp"].max() < int(START.timestamp()) + WINDOW_DAYS * 86_400
    released = START + pd.to_timedelta(np.where(is_new, release_day, 0.0), unit="D")
    catalogue = pd.DataFrame(
        {
            "item_id": np.arange(1, N_ITEMS + 1),
            "topic": main_topic,
            "topics": ["|".join(str(t) for t in topics) for topics in topic_lists],
            "release_date": np.where(is_new, released.strftime("%Y-%m-%d"), ""),
        }
    )
    truth = {"item_topics": item_topics, "appeal": appeal, "release_day": release_day,
             "taste_end": taste_end, "last_day": first_day + active_days}
    return df, catalogue, truth


def _choose_items(rng, event_day, event_session, offset, activity, first_day, active_days,
                  taste_start, taste_end, item_topics, appeal, is_new, release_day) -> np.ndarray:
    """The item of every event (-1: nothing left to choose), all users advanced in lockstep.

    The choice rule: with probability EXPOSURE_NOISE an event follows popularity only,
    otherwise it is in the current topic (kept within a session with probability
    TOPIC_STICKINESS, else drawn from the taste of the moment); it picks an unseen, released
    item with probability proportional to appeal * novelty * weight on the topic (appeal *
    novelty when the user has exhausted the topic, or for a popularity-only event), where
    novelty = 1 + NOVELTY_BOOST * exp(-days since release / NOVELTY_DAYS).

    Sampled exactly, without scanning the catalogue per event. The weight of item i at day d
    is w_i + NOVELTY_BOOST * exp(-d / NOVELTY_DAYS) * v_i, with w_i = appeal * topic weight and
    v_i = w_i * exp(release day / NOVELTY_DAYS) for a new item (0 otherwise): both fixed, only
    the factor of v varies with time. A topic (a row; one more row, of weight 1 on every item,
    for popularity-only events) lists the catalogue's items first, then the new items by
    release date, so the items released by any day are a prefix of the list. The list is cut
    into blocks of BLOCK items, and the unseen w and v sums of every (user, block) are kept up
    to date; a draw picks a block of the released prefix by its weight, then an unseen item
    inside it. A topic whose released items the user has all seen is exhausted.
    """
    n_items = len(appeal)
    n_rows = N_TOPICS + 1
    noise_row = N_TOPICS
    weight_of = np.vstack([appeal[None, :] * item_topics.T, appeal])  # rows x items
    boost_of = weight_of * np.where(is_new, np.exp(np.where(is_new, release_day, 0.0)
                                                   / NOVELTY_DAYS), 0.0)
    # Row r owns blocks first_block[r] .. first_block[r] + n_blocks[r] - 1 (global ids); the
    # release days of its new items start at new_release[first_new[r]]. One more block,
    # `empty`, pads the item -> blocks table.
    first_block, n_blocks, n_old, slot_item = [], [], [], []
    first_new, new_release = [], []
    item_blocks = [[] for _ in range(n_items)]
    for r in range(n_rows):
        old = np.flatnonzero((weight_of[r] > 0) & ~is_new)
        new = np.flatnonzero((weight_of[r] > 0) & is_new)
        new = new[np.argsort(release_day[new], kind="stable")]
        items = np.concatenate([old, new])
        nb = -(-len(items) // BLOCK)
        first_block.append(sum(n_blocks))
        n_blocks.append(nb)
        n_old.append(len(old))
        padded = np.full(nb * BLOCK, -1, dtype=np.int64)
        padded[: len(items)] = items
        slot_item.append(padded.reshape(nb, BLOCK))
        for position, i in enumerate(items):
            item_blocks[i].append(first_block[-1] + position // BLOCK)
        first_new.append(sum(len(x) for x in new_release))
        new_release.append(release_day[new] + r * 1000.0)  # row r's values in [1000 r, ...)
    empty = sum(n_blocks)
    slot_item = np.vstack(slot_item + [np.full((1, BLOCK), -1, dtype=np.int64)])
    slot_row = np.repeat(np.append(np.repeat(np.arange(n_rows), n_blocks), 0), BLOCK).reshape(
        -1, BLOCK)
    filled = slot_item >= 0
    slot_item = np.where(filled, slot_item, 0)  # padding slots: weight 0 on item 0
    slot_w = np.where(filled, weight_of[slot_row, slot_item], 0.0)
    slot_v = np.where(filled, boost_of[slot_row, slot_item], 0.0)
    first_block, n_blocks, n_old = map(np.asarray, (first_block, n_blocks, n_old))
    first_new, new_release = np.asarray(first_new), np.concatenate(new_release)
    width = max(len(b) for b in item_blocks)
    item_blocks = np.array([b + [empty] * (width - len(b)) for b in item_blocks])
    slot_range = np.arange(BLOCK)[None, :]

    seen = np.zeros((N_USERS, n_items), dtype=bool)
    unseen_w = np.tile(slot_w.sum(axis=1), (N_USERS, 1))  # (user, block)
    unseen_v = np.tile(slot_v.sum(axis=1), (N_USERS, 1))
    unseen_n = np.tile(filled.sum(axis=1), (N_USERS, 1))
    unseen_w[:, empty] = unseen_v[:, empty] = unseen_n[:, empty] = 0
    n_all_blocks = unseen_w.shape[1]
    seen_flat, unseen_w_flat, unseen_v_flat, unseen_n_flat = (
        a.reshape(-1) for a in (seen, unseen_w, unseen_v, unseen_n))
    # Weight and count of each block's slots from slot s on (the unreleased tail of a cut).
    tail_w = np.cumsum(np.pad(slot_w, ((0, 0), (0, 1)))[:, ::-1], axis=1)[:, ::-1]
    tail_v = np.cumsum(np.pad(slot_v, ((0, 0), (0, 1)))[:, ::-1], axis=1)[:, ::-1]
    tail_n = np.cumsum(np.pad(filled, ((0, 0), (0, 1)))[:, ::-1], axis=1)[:, ::-1]
    # What choosing item i removes from each of its blocks (one per row it is in).
    item_w = np.where(item_blocks < empty, weight_of[slot_row[item_blocks, 0],
                                                     np.arange(n_items)[:, None]], 0.0)
    item_v = np.where(item_blocks < empty, boost_of[slot_row[item_blocks, 0],
                                                    np.arange(n_items)[:, None]], 0.0)

    def draw(users, row, day, boost, uniform):
        """One item per event (users[k], row[k], day[k]); -1 where the row has no unseen
        released item left. `uniform` in [0, 1) is the event's draw."""
        n = len(users)
        width = int(n_blocks[row].max())
        block_range = np.arange(width)[None, :]
        f = boost[:, None]
        # The released prefix of the row ends at slot `rem` of block `cut_block` (one past the
        # row when the prefix is the whole row). Unreleased items are unseen, so the cut
        # block's released unseen weight is its unseen weight less that of its unreleased tail.
        cut = n_old[row] + np.searchsorted(new_release, row * 1000.0 + day,
                                           side="right") - first_new[row]
        cut_block, rem = np.divmod(cut, BLOCK)
        in_row = cut_block < n_blocks[row]
        cb = first_block[row] + np.minimum(cut_block, n_blocks[row] - 1)
        at = users * n_all_blocks + cb
        left = np.take(unseen_n_flat, at) - tail_n[cb, rem]
        cut_mass = ((np.take(unseen_w_flat, at) - tail_w[cb, rem])
                    + boost * (np.take(unseen_v_flat, at) - tail_v[cb, rem]))
        cut_mass = np.where(in_row & (left > 0), np.maximum(cut_mass, 0.0), 0.0)
        full = block_range < cut_block[:, None]
        blocks = (users * n_all_blocks)[:, None] + np.where(full, first_block[row, None]
                                                          + block_range, empty)
        masses = np.maximum(np.take(unseen_w_flat, blocks) + f * np.take(unseen_v_flat, blocks),
                            0.0)
        masses += (block_range == cut_block[:, None]) * cut_mass[:, None]
        block_cum = np.cumsum(masses, axis=1)
        total = block_cum[:, -1]
        pick = uniform * total
        b = np.minimum((block_cum <= pick[:, None]).sum(axis=1), n_blocks[row] - 1)
        block = first_block[row] + b
        slots = ((slot_w[block] + f * slot_v[block])
                 * ~np.take(seen_flat, (users * n_items)[:, None] + slot_item[block]))
        slots *= (b != cut_block)[:, None] | (slot_range < rem[:, None])
        inner = pick - np.where(b > 0, block_cum[np.arange(n), np.maximum(b - 1, 0)], 0.0)
        slot = np.minimum((np.cumsum(slots, axis=1) <= inner[:, None]).sum(axis=1), BLOCK - 1)
        item = np.where(total > 0, slot_item[block, slot], -1)  # total 0: nothing left
        # Block sums are kept by subtraction: should rounding land a draw on an empty slot,
        # the exact weights decide.
        for k in np.flatnonzero((total > 0) & ~(slots[np.arange(n), slot] > 0)):
            w = (weight_of[row[k]] + boost[k] * boost_of[row[k]]) * ~seen[users[k]] * (
                release_day <= day[k])
            item[k] = min(int(np.searchsorted(np.cumsum(w), uniform[k] * w.sum(), side="right")),
                          n_items - 1)
        return item

    def mark_seen(users, items):
        seen_flat[users * n_items + items] = True
        # One user per row of `touched`: no index repeats but the zero-weight padding block.
        touched = (users * n_all_blocks)[:, None] + item_blocks[items]
        unseen_n_flat[touched] -= 1
        unseen_w_flat[touched] -= item_w[items]
        unseen_v_flat[touched] -= item_v[items]
        unseen_n[:, empty] = 0
        emptied = touched[np.take(unseen_n_flat, touched) <= 0]  # exactly 0, not a rounding rest
        unseen_w_flat[emptied] = unseen_v_flat[emptied] = 0.0

    topic = np.full(N_USERS, -1)
    prev_session = np.full(N_USERS, -1)
    chosen = np.full(offset[-1], -1, dtype=np.int64)
    order = np.argsort(-activity, kind="stable")
    descending = activity[order]
    for step in range(int(descending[0])):
        users = order[: int(np.searchsorted(-descending, -step, side="left"))]
        events = offset[users] + step
        day = event_day[events]
        session = event_session[events]
        progress = (day - first_day[users]) / np.maximum(active_days[users], 1e-9)
        taste = (1 - progress)[:, None] * taste_start[users] + progress[:, None] * taste_end[users]
        switch = (session != prev_session[users]) | (rng.random(len(users)) > TOPIC_STICKINESS)
        cum = np.cumsum(taste[switch], axis=1)
        draw_topic = rng.random(int(switch.sum())) * cum[:, -1]
        topic[users[switch]] = np.minimum((cum <= draw_topic[:, None]).sum(axis=1), N_TOPICS - 1)
        prev_session[users] = session
        noise = rng.random(len(users)) < EXPOSURE_NOISE
        boost = NOVELTY_BOOST * np.exp(-day / NOVELTY_DAYS)
        uniform = rng.random(len(users))
        item = np.full(len(users), -1)
        # Topic events first; those whose topic is used up join the popularity-only events.
        in_topic = np.flatnonzero(~noise)
        if len(in_topic):
            u = users[in_topic]
            item[in_topic] = draw(u, topic[u], day[in_topic], boost[in_topic], uniform[in_topic])
        popular = np.flatnonzero(noise | (item < 0))
        if len(popular):
            item[popular] = draw(users[popular], np.full(len(popular), noise_row), day[popular],
                                 boost[popular], uniform[popular])
        done = item >= 0
        chosen[events[done]] = item[done]
        mark_seen(users[done], item[done])
    return chosen

def describe(df: pd.DataFrame) -> dict[str, float]:
    """The marginal statistics the anchor is about (data/README.md, "Realised")."""
    counts = df["item_id"].value_counts().to_numpy()  # descending
    per_user = df["user_id"].value_counts().to_numpy()
    top1 = max(1, int(round(0.01 * N_ITEMS)))
    top10 = max(1, int(round(0.10 * N_ITEMS)))
    cum = np.cumsum(np.sort(counts))
    gini = 1 - 2 * np.sum(cum) / (len(cum) * cum[-1]) + 1 / len(cum)
    q = np.percentile(per_user, [10, 25, 50, 75, 90, 99])
    return {
        "interactions": len(df),
        "users": df["user_id"].nunique(),
        "items": df["item_id"].nunique(),
        "density": len(df) / (N_USERS * N_ITEMS),
        "user_min": int(per_user.min()),
        "user_p10": float(q[0]),
        "user_p25": float(q[1]),
        "user_median": float(q[2]),
        "user_mean": float(per_user.mean()),
        "user_p75": float(q[3]),
        "user_p90": float(q[4]),
        "user_p99": float(q[5]),
        "user_max": int(per_user.max()),
        "users_at_cap": int((per_user >= MAX_INTERACTIONS).sum()),
        "top1pct_item_share": counts[:top1].sum() / len(df),
        "top10pct_item_share": counts[:top10].sum() / len(df),
        "top20pct_item_share": counts[: 2 * top10].sum() / len(df),
        "item_gini": float(gini),
        "item_max": int(counts.max()),
        "item_median": float(np.median(counts)),
    }


def oracle_metrics(df: pd.DataFrame, truth: dict, k: int = 10,
                   batch: int = 500) -> dict[str, float]:
    """precision@k and recall@k on the increment's test split (each user's last 20%) of the
    ranking by the generator's own choice probabilities at the end of the user's stay: an
    approximate ceiling for any model (it ignores session state and novelty, which a model
    could still exploit). Metrics as in spec.md, by pytest-specweave's evaluate_sparse_ranking."""
    import scipy.sparse as sp

    from pytest_specweave import evaluate_sparse_ranking

    topic_given = truth["item_topics"] * truth["appeal"][:, None]
    df = df.sort_values(["user_id", "timestamp"], kind="stable")
    size = df.groupby("user_id")["item_id"].transform("size").to_numpy()
    from_end = size - df.groupby("user_id").cumcount().to_numpy()
    n_test = np.maximum(1, np.rint(0.2 * size)).astype(int)  # as conftest.split_by_time
    is_test = from_end <= n_test
    users = df["user_id"].to_numpy() - 1
    items = df["item_id"].to_numpy() - 1

    def matrix(rows):
        return sp.csr_matrix((np.ones(rows.sum()), (users[rows], items[rows])), shape=(N_USERS, N_ITEMS))

    def choice_probabilities(rows):
        released = (truth["release_day"][None, :] <= truth["last_day"][rows, None]).astype(float)
        per_topic = released @ topic_given  # mass of each topic among the released items
        taste = truth["taste_end"][rows] / np.maximum(per_topic, 1e-300)
        popular = truth["appeal"][None, :] * released
        return released * ((1 - EXPOSURE_NOISE) * taste @ topic_given.T) + EXPOSURE_NOISE * (
            popular / popular.sum(axis=1, keepdims=True)
        )

    return evaluate_sparse_ranking(choice_probabilities, matrix(is_test), k=k, exclude=matrix(~is_test),
                                   metrics=("precision", "recall"), batch_size=batch).metrics


def _gzip_csv(df: pd.DataFrame, level: int = 1) -> bytes:
    # Level 1: the file is generated on first use, not shipped; speed matters more than size.
    text = df.to_csv(index=False, lineterminator="\n").encode()
    # mtime=0 and no file name in the gzip header: the archive is byte-identical run to run
    # (with the same zlib).
    buffer = io.BytesIO()
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


def write_files(out: Path = HERE, seed: int = SEED,
                files: tuple[str, ...] = FILES) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Generate with `seed` and write the named `files` (of FILES) into `out`; returns what
    generate() returns. Each file is written atomically (see _write_atomic)."""
    unknown = set(files) - set(FILES)
    if unknown:
        raise ValueError(f"unknown files {sorted(unknown)}; known: {FILES}")
    df, catalogue, truth = generate(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "interactions.csv.gz": lambda: _gzip_csv(df),
        "items.csv": lambda: catalogue.to_csv(index=False, lineterminator="\n").encode(),
        "sample.csv": lambda: df.head(50).to_csv(index=False, lineterminator="\n").encode(),
    }
    for name in files:
        _write_atomic(out / name, contents[name]())
    return df, catalogue, truth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--oracle", action="store_true",
                        help="also print the precision@10 and recall@10 ceiling (oracle_metrics)")
    args = parser.parse_args(argv)
    df, _, truth = write_files(args.out, args.seed)
    for key, value in describe(df).items():
        print(f"{key:>22}: {value:.4g}" if isinstance(value, float) else f"{key:>22}: {value}")
    if args.oracle:
        for key, value in oracle_metrics(df, truth).items():
            print(f"{'oracle ' + key:>22}: {value:.4g}")


if __name__ == "__main__":
    main()
