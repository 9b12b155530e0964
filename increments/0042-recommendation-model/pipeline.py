"""The pipeline of increment 0042: one function per task of tasks.md.

Each task function takes pytest fixtures as parameters: `experiment` (the running task's tracked
experiment) from pytest-specweave, and `splits`, `interactions`, `catalogue`, `increment_dir` from
this increment's conftest.py. Tasks share results through the experiment store
(`experiments/`): `model-selection.json` is an artifact of T-004's experiment (the chosen
algorithm) and of T-005's (plus the tuned parameters), which T-005 and T-006 to T-008 read, and
T-007 and T-008 find there the model T-006 evaluated.

Protocol: models are fitted on train and compared on validation (T-004, T-005); the chosen
configuration is refitted on train + validation and evaluated once on test (T-006). Test metrics
are logged only by the baselines and by that final evaluation.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pytest_specweave import (ExperimentStore, load_model, measure_latency, measure_model_size, measure_throughput,
                              track_experiment)

K = 10
SEED = 42
PRIMARY = f"precision@{K}"
SELECTION_FILE = "model-selection.json"
DATA_FILE = "data/interactions.csv.gz"

# ---------------------------------------------------------------------------------------------
# Data encoding
# ---------------------------------------------------------------------------------------------


class Encoding:
    """Row and column indexes of the user-item matrices, shared by all splits."""

    def __init__(self, splits: dict[str, pd.DataFrame]):
        every = pd.concat([splits["train"], splits["validation"], splits["test"]])
        self.user_ids = np.sort(every["user_id"].unique())
        self.item_ids = np.sort(every["item_id"].unique())  # the id space only, no interactions
        self.user_row = pd.Series(np.arange(len(self.user_ids)), index=self.user_ids)
        self.item_col = pd.Series(np.arange(len(self.item_ids)), index=self.item_ids)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.user_ids), len(self.item_ids)

    def matrix(self, *frames: pd.DataFrame) -> sp.csr_matrix:
        """Binary user x item matrix of the interactions in `frames`."""
        df = pd.concat(frames)
        rows = self.user_row[df["user_id"].to_numpy()].to_numpy()
        cols = self.item_col[df["item_id"].to_numpy()].to_numpy()
        m = sp.csr_matrix(
            (np.ones(len(df), dtype=np.float32), (rows, cols)), shape=self.shape
        )
        m.data[:] = 1.0  # a repeated pair counts once (implicit feedback)
        return m

    def history(self, *frames: pd.DataFrame) -> "History":
        """The interactions in `frames` as a user's history: the binary matrix and, aligned with
        it, the time of each interaction (what the time-aware candidate needs)."""
        df = pd.concat(frames).drop_duplicates(["user_id", "item_id"], keep="last")
        rows = self.user_row[df["user_id"].to_numpy()].to_numpy()
        cols = self.item_col[df["item_id"].to_numpy()].to_numpy()
        times = sp.csr_matrix((df["timestamp"].to_numpy().astype(np.float64), (rows, cols)),
                              shape=self.shape)
        times.sort_indices()
        X = sp.csr_matrix((np.ones(times.nnz, dtype=np.float32), times.indices.copy(),
                           times.indptr.copy()), shape=self.shape)
        return History(X, times)


class History:
    """Users' histories: `X` (binary user x item CSR, what every model is fitted on), `times` (the
    same sparsity pattern holding each interaction's Unix time) and `last_time` (per user, the
    time of their latest interaction, 0 for a user without history: the "now" at which the
    evaluated recommendations are made)."""

    def __init__(self, X: sp.csr_matrix, times: sp.csr_matrix):
        self.X = X
        self.times = times
        counts = np.diff(times.indptr)
        self.last_time = np.zeros(X.shape[0])
        has = counts > 0
        self.last_time[has] = np.maximum.reduceat(times.data, times.indptr[:-1][has])

    def recency(self, half_life_hours: float, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """X (its `rows`, default all) with each interaction weighted 2^(-age / half-life), its
        age counted back from the user's latest interaction: 1 for the last one, 1/2 one
        half-life before it."""
        times = self.times if rows is None else self.times[rows]
        last = self.last_time if rows is None else self.last_time[rows]
        age = np.repeat(last, np.diff(times.indptr)) - times.data
        data = np.exp2(-age / (3600.0 * half_life_hours)).astype(np.float32)
        return sp.csr_matrix((data, times.indices, times.indptr), shape=times.shape)


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def top_k(scores: np.ndarray, seen: sp.csr_matrix, k: int = K) -> np.ndarray:
    """Indices of the k best-scored items per row, best first, excluding items already seen."""
    scores = np.array(scores, dtype=np.result_type(scores, np.float32), copy=True)
    r, c = seen.nonzero()
    scores[r, c] = -np.inf
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def evaluate(score_rows, history: sp.csr_matrix, heldout: sp.csr_matrix, k: int = K,
             batch: int = 1000, per_user: bool = False) -> dict:
    """precision@k, recall@k and ndcg@k averaged over the users with at least one held-out item.

    precision@k = hits in the top k / k; recall@k = hits / number of the user's held-out items;
    ndcg@k with binary gains. Items in the user's `history` are never recommended.
    `score_rows(rows)` returns a dense (len(rows), n_items) score array. With `per_user`, the
    per-user values are returned too (under "per_user"), for intervals.
    """
    users = np.flatnonzero(np.diff(heldout.indptr) > 0)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    precision, recall, ndcg = [], [], []
    for start in range(0, len(users), batch):
        rows = users[start:start + batch]
        top = top_k(score_rows(rows), history[rows], k)
        truth = heldout[rows]
        hits = np.take_along_axis(truth.toarray() > 0, top, axis=1)
        n_true = np.diff(truth.indptr)
        precision.append(hits.sum(1) / k)
        recall.append(hits.sum(1) / n_true)
        ideal = np.array([discount[: min(n, k)].sum() for n in n_true])
        ndcg.append((hits * discount).sum(1) / ideal)
    values = {f"precision@{k}": np.concatenate(precision), f"recall@{k}": np.concatenate(recall),
              f"ndcg@{k}": np.concatenate(ndcg)}
    result = {key: float(v.mean()) for key, v in values.items()}
    result["n_eval_users"] = int(len(users))
    if per_user:
        result["per_user"] = values
        result["users"] = users
    return result


def _prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}{key}": value for key, value in metrics.items() if key != "n_eval_users"}


# ---------------------------------------------------------------------------------------------
# Models: every candidate is an item-item linear model, score(u, i) = sum_j x_uj * W[j, i] (the
# time-aware one weighs x_uj by recency and scales the sum by a positive factor per item)
# ---------------------------------------------------------------------------------------------


_GRAM: dict = {}
_EASE: dict = {}


def _matrix_key(X: sp.csr_matrix) -> tuple:
    return (X.shape, X.nnz, hashlib.sha256(X.indptr.tobytes() + X.indices.tobytes()
                                           + X.data.tobytes()).hexdigest())


def gram(X: sp.csr_matrix) -> np.ndarray:
    """X^T X as a dense float64 array (item co-occurrence counts; exact integers). Read-only and
    cached for the last matrix seen: a tuning grid refits on the same X many times."""
    key = _matrix_key(X)
    if key not in _GRAM:
        _GRAM.clear()
        G = (X.T @ X).toarray().astype(np.float64)
        G.flags.writeable = False
        _GRAM[key] = G
    return _GRAM[key]


def fit_item_knn(X: sp.csr_matrix, neighbors: int = 100, shrink: float = 0.0) -> np.ndarray:
    """Item-based kNN (Sarwar et al. 2001; Deshpande & Karypis 2004): cosine similarity between
    item columns, each target item keeping its `neighbors` most similar items."""
    co = gram(X)
    norms = np.sqrt(np.diag(co))
    sim = co / (np.outer(norms, norms) + shrink + 1e-12)
    np.fill_diagonal(sim, 0.0)
    n = sim.shape[0]
    if neighbors < n:
        weakest = np.argpartition(-sim, neighbors, axis=0)[neighbors:, :]
        np.put_along_axis(sim, weakest, 0.0, axis=0)
    return sim.astype(np.float32)


def fit_pure_svd(X: sp.csr_matrix, factors: int = 64) -> np.ndarray:
    """PureSVD (Cremonesi et al. 2010): truncated SVD of the interaction matrix, W = V V^T."""
    from sklearn.decomposition import TruncatedSVD

    svd = TruncatedSVD(n_components=factors, algorithm="randomized", n_iter=7,
                       random_state=SEED)
    svd.fit(X)
    V = svd.components_.T
    return (V @ V.T).astype(np.float32)


def fit_ease(X: sp.csr_matrix, l2: float = 200.0) -> np.ndarray:
    """EASE (Steck 2019): closed-form ridge regression of each item on all others, zero diagonal.
    Read-only and cached per l2 for the last matrix seen (about 55 MB each): EASE and its
    time-aware variant share it, and a tuning stage can come back to an l2 already fitted."""
    key = _matrix_key(X)
    if _EASE.get("matrix") != key:
        _EASE.clear()
        _EASE["matrix"] = key
    if float(l2) not in _EASE:
        B = _solve_ease(gram(X), l2)
        B.flags.writeable = False
        _EASE[float(l2)] = B
    return _EASE[float(l2)]


def _solve_ease(gram_matrix: np.ndarray, l2: float) -> np.ndarray:
    from scipy.linalg import lapack

    G = gram_matrix.copy()
    G[np.diag_indices_from(G)] += l2
    # G is symmetric positive definite (a Gram matrix plus l2 > 0 on its diagonal): inverted
    # through its Cholesky factor, half the work of a general inverse.
    factor, info = lapack.dpotrf(G, lower=0, overwrite_a=1)
    if info == 0:
        P, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: the regularised Gram matrix is not invertible ({info})")
    lower = np.tril_indices_from(P, -1)
    P[lower] = P.T[lower]  # dpotri fills the upper triangle only
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return np.ascontiguousarray(B, dtype=np.float32)  # LAPACK's result is column-major


EASE_TEMPORAL = "ease-temporal"

ALGORITHMS = {
    "item-knn": (fit_item_knn, {"neighbors": 100, "shrink": 0.0}),
    "pure-svd": (fit_pure_svd, {"factors": 64}),
    "ease": (fit_ease, {"l2": 200.0}),
    # EASE's weights, scored with the time of the request (TemporalEASE below). Defaults: EASE's
    # l2; a moderate setting of each time-aware part, all tuned on validation in T-005.
    EASE_TEMPORAL: (fit_ease, {"l2": 200.0, "recency_weight": 0.3,
                               "recency_half_life_hours": 3.0, "popularity_exponent": 0.1,
                               "novelty_boost": 1.0, "novelty_days": 14.0}),
}

# T-005 searches each algorithm with scikit-learn's ParameterGrid, stage by stage (a coordinate-
# wise search): a stage's grid (a dict, or a list of dicts) varies some parameters, the others
# keep the best values found so far, the defaults first. Each grid holds the default of
# ALGORITHMS, so tuning can only confirm or improve it; each time-aware part can also be off (0).
TUNING_GRIDS = {
    "item-knn": [{"neighbors": [25, 50, 100, 200, 400], "shrink": [0.0, 10.0, 50.0]}],
    "pure-svd": [{"factors": [8, 16, 32, 64, 128, 256]}],
    "ease": [{"l2": [25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0]}],
    EASE_TEMPORAL: [
        # 1: the item-item weights.
        {"l2": [200.0, 400.0, 800.0, 1600.0]},
        # 2: the item factors: popularity damping, and the novelty lift.
        [{"popularity_exponent": [0.0, 0.1, 0.2], "novelty_boost": [0.0]},
         {"popularity_exponent": [0.0, 0.1, 0.2], "novelty_boost": [1.0, 2.0],
          "novelty_days": [7.0, 14.0, 30.0]}],
        # 3: the weight of the recent history.
        [{"recency_weight": [0.0]},
         {"recency_weight": [0.3, 1.0], "recency_half_life_hours": [3.0, 24.0]}],
    ],
}


class ItemItemRecommender:
    """A fitted item-item model with the users' histories: what is served and explained."""

    def __init__(self, algorithm: str, params: dict, W: np.ndarray, encoding: Encoding,
                 history: sp.csr_matrix):
        self.algorithm = algorithm
        self.params = dict(params)
        self.W = np.ascontiguousarray(W, dtype=np.float32)
        self.item_ids = encoding.item_ids
        self.user_ids = encoding.user_ids
        self._user_row = {int(u): i for i, u in enumerate(encoding.user_ids)}
        self.history = history.tocsr()
        self.popularity = np.asarray(history.sum(axis=0)).ravel()

    def score_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.history[rows] @ self.W)

    def recommend(self, user_id: int, k: int = K) -> np.ndarray:
        """The k item ids to show `user_id`, best first (popular items for an unknown user)."""
        row = self._user_row.get(int(user_id))
        if row is None:
            seen = np.empty(0, dtype=np.int32)
            scores = self.popularity.astype(np.float32)
        else:
            seen = self.history.indices[self.history.indptr[row]:self.history.indptr[row + 1]]
            scores = self.W[seen].sum(axis=0)
            scores[seen] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        return self.item_ids[top[np.argsort(-scores[top], kind="stable")]]

    def explain(self, user_id: int, item_id: int, top: int = 3) -> dict:
        """Exact additive explanation: the score of `item_id` is the sum over the user's history
        of W[j, item]; the `top` largest contributions are the reasons given."""
        row = self._user_row[int(user_id)]
        col = int(np.searchsorted(self.item_ids, item_id))
        seen = self.history.indices[self.history.indptr[row]:self.history.indptr[row + 1]]
        return _reasons(self.item_ids, seen, self.W[seen, col].astype(np.float64), top)


def _reasons(item_ids: np.ndarray, seen: np.ndarray, contributions: np.ndarray,
             top: int) -> dict:
    """score (the sum of the contributions), the `top` largest positive contributions as
    (history item id, contribution), and the share of the positive evidence they hold."""
    score = float(contributions.sum())
    order = np.argsort(-contributions, kind="stable")[:top]
    reasons = [(int(item_ids[seen[j]]), float(contributions[j])) for j in order
               if contributions[j] > 0]
    positive = contributions[contributions > 0].sum()
    share = sum(c for _, c in reasons) / positive if positive > 0 else 0.0
    return {"score": score, "reasons": reasons, "share_of_positive": float(share)}


class TemporalEASE(ItemItemRecommender):
    """EASE scored at the time of the request t (by default the user's latest interaction):

        score(u, i) = g(i, t) * sum_j x_uj(t) * W[j, i]
        x_uj(t)     = 1 + recency_weight * 2^(-(t - t_uj) / recency_half_life)
        g(i, t)     = (n_i + 1)^(-popularity_exponent)
                      * (1 + novelty_boost * exp(-(t - r_i) / novelty_days))

    W is EASE's; t_uj is when u consumed j; n_i is how often i was consumed in the history the
    model was fitted on; r_i is i's release date from the catalogue (the novelty factor is 1 for
    items in the catalogue before 2024 and for items not yet released at t). The three parts:
    recent interactions (the current session) count more; popular items are damped (popularity
    compensation); newly released items are lifted while they are new.
    Every part is off at 0, and then the model is EASE. g is positive, so the score is still a
    sum over the history: the explanation stays exact.
    """

    def __init__(self, params: dict, W: np.ndarray, encoding: Encoding, history: History,
                 release_time: np.ndarray, cache_products: bool = False):
        super().__init__(EASE_TEMPORAL, params, W, encoding, history.X)
        self.timeline = history  # its X is self.history (pickled once)
        self.last_time = history.last_time
        self.release_time = np.asarray(release_time, dtype=np.float64)
        self.new_items = np.flatnonzero(np.isfinite(self.release_time))
        self.item_factor = ((self.popularity + 1.0)
                            ** -float(params["popularity_exponent"])).astype(np.float32)
        # Tuning only (never pickled): history x W for every user, per recency half-life.
        self._products = _shared_products(self.W, history) if cache_products else None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_products"] = None
        return state

    def novelty(self, at: np.ndarray) -> np.ndarray:
        """(len(at), number of new items): the novelty factor of each new item at times `at`."""
        boost = float(self.params["novelty_boost"])
        age_days = (np.asarray(at, dtype=np.float64)[:, None]
                    - self.release_time[self.new_items]) / 86_400.0
        if boost == 0:
            return np.ones(age_days.shape, dtype=np.float32)
        lift = np.exp(-np.maximum(age_days, 0.0) / float(self.params["novelty_days"]))
        return (1.0 + boost * np.where(age_days >= 0, lift, 0.0)).astype(np.float32)

    def score_rows(self, rows: np.ndarray) -> np.ndarray:
        s = float(self.params["recency_weight"])
        half_life = float(self.params["recency_half_life_hours"])
        if self._products is not None:
            scores = self._products.get(None, rows)
            if s:
                scores = scores + s * self._products.get(half_life, rows)
        else:
            weights = self.history[rows]
            if s:
                weights = weights + s * self.timeline.recency(half_life, rows)
            scores = np.asarray(weights @ self.W)
        scores = scores * self.item_factor
        scores[:, self.new_items] *= self.novelty(self.last_time[rows])
        return scores

    def _user(self, row: int, at: float | None) -> tuple[np.ndarray, np.ndarray, float]:
        lo, hi = self.history.indptr[row], self.history.indptr[row + 1]
        seen = self.history.indices[lo:hi]
        at = self.last_time[row] if at is None else float(at)
        age = at - self.timeline.times.data[lo:hi]
        weights = 1.0 + float(self.params["recency_weight"]) * np.exp2(
            -age / (3600.0 * float(self.params["recency_half_life_hours"])))
        return seen, weights.astype(np.float32), at

    def factors(self, at: float) -> np.ndarray:
        """g(., at) for every item."""
        g = self.item_factor.copy()
        g[self.new_items] *= self.novelty(np.array([at]))[0]
        return g

    def recommend(self, user_id: int, k: int = K, at: float | None = None) -> np.ndarray:
        """The k item ids to show `user_id` at Unix time `at` (default: their latest
        interaction), best first; popular items for an unknown user."""
        row = self._user_row.get(int(user_id))
        if row is None:
            return super().recommend(user_id, k)
        seen, weights, at = self._user(row, at)
        # A plain sum (no BLAS call): one request must not wait for a BLAS thread pool.
        rows = self.W[seen]
        if float(self.params["recency_weight"]):
            rows *= weights[:, None]
        scores = rows.sum(axis=0) * self.factors(at)
        scores[seen] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        return self.item_ids[top[np.argsort(-scores[top], kind="stable")]]

    def explain(self, user_id: int, item_id: int, top: int = 3, at: float | None = None) -> dict:
        """As ItemItemRecommender.explain, each history item's term being
        g(i, t) * x_uj(t) * W[j, i]; `factors` gives g's two parts for the item."""
        row = self._user_row[int(user_id)]
        col = int(np.searchsorted(self.item_ids, item_id))
        seen, weights, at = self._user(row, at)
        g = float(self.factors(at)[col])
        contributions = g * weights.astype(np.float64) * self.W[seen, col]
        result = _reasons(self.item_ids, seen, contributions, top)
        novelty = g / float(self.item_factor[col])
        result["factors"] = {"popularity": float(self.item_factor[col]), "novelty": novelty}
        return result


class _Products:
    """history x W for every user (per recency half-life; None: the plain history), computed
    once and shared by the models of a tuning grid that have the same W and history."""

    def __init__(self, W: np.ndarray, history: History):
        self.W, self.history, self.full = W, history, {}

    def get(self, half_life: float | None, rows: np.ndarray) -> np.ndarray:
        if half_life not in self.full:
            X = self.history.X if half_life is None else self.history.recency(half_life)
            self.full[half_life] = np.asarray(X @ self.W)
        return self.full[half_life][rows]


_PRODUCTS: list = []


def _shared_products(W: np.ndarray, history: History) -> _Products:
    if not (_PRODUCTS and _PRODUCTS[0].W is W and _PRODUCTS[0].history is history):
        _PRODUCTS[:] = [_Products(W, history)]  # one set at a time: about 90 MB per half-life
    return _PRODUCTS[0]


def release_times(catalogue: pd.DataFrame, encoding: Encoding) -> np.ndarray:
    """Release time (Unix seconds, midnight UTC) of each encoded item; NaN for the items in the
    catalogue before the window (empty release_date)."""
    dates = catalogue.set_index("item_id")["release_date"].reindex(encoding.item_ids)
    missing = dates.isna()
    if missing.any():
        raise ValueError(f"items not in the catalogue (items.csv): "
                         f"{encoding.item_ids[missing.to_numpy()][:5].tolist()}")
    parsed = pd.to_datetime(dates.replace("", None), format="%Y-%m-%d", utc=True)
    seconds = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(dtype=np.float64, na_value=np.nan)


def fit(algorithm: str, params: dict, encoding: Encoding, history: History,
        catalogue: pd.DataFrame | None = None, cache_products: bool = False
        ) -> ItemItemRecommender:
    """Fit `algorithm` with `params` on `history`. The time-aware candidate also needs the
    catalogue (release dates); `cache_products` (tuning) shares its history products."""
    fit_fn, _ = ALGORITHMS[algorithm]
    if algorithm == EASE_TEMPORAL:
        if catalogue is None:
            raise ValueError(f"{EASE_TEMPORAL} needs the catalogue (items.csv: release dates)")
        W = fit_fn(history.X, l2=params["l2"])
        return TemporalEASE(params, W, encoding, history, release_times(catalogue, encoding),
                            cache_products=cache_products)
    return ItemItemRecommender(algorithm, params, fit_fn(history.X, **params), encoding,
                               history.X)


# ---------------------------------------------------------------------------------------------
# Files shared between tasks
# ---------------------------------------------------------------------------------------------


def read_selection(increment_dir: Path, task: str = "T-005") -> dict:
    """The model selection `task` saved in its experiment: the latest succeeded run of that task
    holding the artifact, read only if its sha256 is the one the store recorded for it."""
    runs = [r for r in ExperimentStore(increment_dir).records()
            if r.task == task and r.succeeded and SELECTION_FILE in r.artifacts]
    if not runs:
        raise FileNotFoundError(
            f"no succeeded {task} experiment with {SELECTION_FILE} in {increment_dir}/experiments: run {task} first")
    return json.loads(runs[-1].read_artifact(SELECTION_FILE))


def write_selection(experiment, selection: dict) -> Path:
    """Save `selection` as the running task experiment's `model-selection.json` artifact."""
    return experiment.save_report(SELECTION_FILE, json.dumps(selection, indent=2, sort_keys=True) + "\n")


def evaluated_experiment(increment_dir: Path):
    """The store's record of the experiment T-006 evaluated (named in T-005's model selection)."""
    name = read_selection(increment_dir)["experiment"]
    record = ExperimentStore(increment_dir).find(name)
    if record is None:
        raise FileNotFoundError(f"no experiment named {name!r} in {increment_dir}/experiments: run T-006 first")
    return record


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


def explore(experiment, interactions: pd.DataFrame, catalogue: pd.DataFrame,
            increment_dir: Path) -> None:
    """T-001: data exploration and quality analysis."""
    df = interactions
    n_users, n_items = df["user_id"].nunique(), df["item_id"].nunique()
    missing = int(df.isna().sum().sum())
    duplicates = int(df.duplicated(["user_id", "item_id"]).sum())
    per_user = df.groupby("user_id").size()
    per_item = df.groupby("item_id").size().sort_values(ascending=False)
    top1 = max(1, round(0.01 * n_items))
    top10 = max(1, round(0.10 * n_items))
    cum = np.cumsum(np.sort(per_item.to_numpy()))
    gini = float(1 + 1 / len(cum) - 2 * cum.sum() / (len(cum) * cum[-1]))
    times = pd.to_datetime(df["timestamp"], unit="s", utc=True)
    monthly = times.dt.strftime("%Y-%m").value_counts().sort_index()
    new_items = catalogue[catalogue["release_date"] != ""]
    unknown_items = int((~df["item_id"].isin(catalogue["item_id"])).sum())

    assert missing == 0, f"{missing} missing values in interactions"
    assert duplicates == 0, f"{duplicates} repeated user-item pairs (implicit feedback keeps one)"
    assert unknown_items == 0, f"{unknown_items} interactions with items not in the catalogue"

    metrics = {
        "n_interactions": len(df),
        "n_users": n_users,
        "n_items": n_items,
        "density": len(df) / (n_users * n_items),
        "missing_values": missing,
        "duplicate_pairs": duplicates,
        "top1pct_item_share": float(per_item.iloc[:top1].sum() / len(df)),
        "top10pct_item_share": float(per_item.iloc[:top10].sum() / len(df)),
        "item_gini": gini,
        "user_interactions_median": float(per_user.median()),
        "user_interactions_p90": float(per_user.quantile(0.9)),
    }
    experiment.log_input(Path(increment_dir) / DATA_FILE, role="data")
    experiment.log_params({"dataset": DATA_FILE, "dataset_size": len(df)})
    experiment.log_metrics(metrics)

    q = per_user.quantile([0.1, 0.5, 0.9, 0.99])
    topic_share = (
        df.merge(catalogue[["item_id", "topic"]], on="item_id")["topic"]
        .value_counts(normalize=True)
    )
    lines = [
        "# EDA summary: interactions.csv.gz",
        "",
        f"- Interactions: {len(df):,}; users: {n_users:,}; items: {n_items:,} "
        f"(catalogue: {len(catalogue):,}, {len(catalogue) - n_items} never consumed)",
        f"- Density: {metrics['density']:.2%}",
        f"- Missing values: {missing}; repeated user-item pairs: {duplicates}",
        f"- Time range: {times.min():%Y-%m-%d} to {times.max():%Y-%m-%d}",
        f"- Interactions per user: min {per_user.min()}, p10 {q[0.1]:.0f}, median {q[0.5]:.0f}, "
        f"mean {per_user.mean():.1f}, p90 {q[0.9]:.0f}, p99 {q[0.99]:.0f}, max {per_user.max()}",
        f"- Popularity: the top 1% of items ({top1}) take "
        f"{metrics['top1pct_item_share']:.1%} of interactions, the top 10% take "
        f"{metrics['top10pct_item_share']:.1%}; Gini of item counts {gini:.3f}",
        f"- Items released during the window: {len(new_items)} "
        f"({len(new_items) / len(catalogue):.0%} of the catalogue)",
        f"- Topics: {catalogue['topic'].nunique()}; largest topic share "
        f"{topic_share.max():.1%}, smallest {topic_share.min():.1%}",
        "",
        "## Interactions per month",
        "",
        "| month | interactions |",
        "|---|---:|",
        *[f"| {m} | {n:,} |" for m, n in monthly.items()],
        "",
        "## Most consumed items",
        "",
        "| item | interactions | share |",
        "|---:|---:|---:|",
        *[f"| {i} | {n:,} | {n / len(df):.2%} |" for i, n in per_item.head(10).items()],
        "",
    ]
    experiment.save_report("eda-summary.md", "\n".join(lines))


def features(experiment, splits: dict[str, pd.DataFrame],
             catalogue: pd.DataFrame) -> dict[str, float]:
    """T-002: the user-item matrices of each split, their shapes, the cold-start counts, and the
    time features of the time-aware candidate (interaction recency, item age)."""
    enc = Encoding(splits)
    train = enc.history(splits["train"])
    val = enc.matrix(splits["validation"])
    test = enc.matrix(splits["test"])
    assert train.X.multiply(val).nnz == 0 and train.X.multiply(test).nnz == 0 and \
        val.multiply(test).nnz == 0, "a user-item pair is in two splits"
    train_users = np.diff(train.X.indptr) > 0
    train_items = np.diff(train.X.tocsc().indptr) > 0
    train_val_items = np.diff((train.X + val).tocsc().indptr) > 0
    val_cold_items = val[:, ~train_items].nnz
    test_cold_items = test[:, ~train_val_items].nnz
    # Item age at the user's "now" (their latest training interaction) for the validation
    # interactions: how much of what users consume next is new, known or not yet released.
    released = release_times(catalogue, enc)
    rows, cols = val.nonzero()
    age_days = (train.last_time[rows] - released[cols]) / 86_400.0
    new = np.isfinite(age_days)
    # Recency: hours between a user's latest two training interactions (same session or not).
    per_user = [train.times.data[a:b] for a, b in zip(train.times.indptr[:-1],
                                                      train.times.indptr[1:]) if b - a >= 2]
    gap_hours = np.array([np.diff(np.sort(t)[-2:])[0] for t in per_user]) / 3600.0
    experiment.log_params({"n_users": enc.shape[0], "n_items": enc.shape[1],
                           "split": "per user by time: last 20% test, previous 20% validation",
                           "time_features": "interaction age (recency weights), item "
                                            "popularity, item age since release (novelty)"})
    return {
        "train_interactions": train.X.nnz,
        "validation_interactions": val.nnz,
        "test_interactions": test.nnz,
        "train_density": train.X.nnz / (enc.shape[0] * enc.shape[1]),
        "validation_users": int((np.diff(val.indptr) > 0).sum()),
        "test_users": int((np.diff(test.indptr) > 0).sum()),
        "cold_start_users": int(((np.diff(test.indptr) > 0) & ~train_users).sum()),
        "cold_start_items_validation": int((np.diff(val.tocsc().indptr) > 0)[~train_items].sum()),
        "cold_start_items_test": int((np.diff(test.tocsc().indptr) > 0)[~train_val_items].sum()),
        "validation_share_on_cold_items": val_cold_items / val.nnz,
        "test_share_on_cold_items": test_cold_items / test.nnz,
        "validation_share_on_new_items": float(new.mean()),
        "validation_share_on_items_under_30_days": float((new & (age_days >= 0)
                                                          & (age_days < 30)).mean()),
        "validation_share_on_items_unreleased_at_now": float((new & (age_days < 0)).mean()),
        "last_gap_hours_median": float(np.median(gap_hours)),
    }


def train_baselines(experiment, splits: dict[str, pd.DataFrame]) -> None:
    """T-003: random and popularity baselines, on validation and on test."""
    enc = Encoding(splits)
    train = enc.matrix(splits["train"])
    val = enc.matrix(splits["validation"])
    test = enc.matrix(splits["test"])
    train_val = enc.matrix(splits["train"], splits["validation"])
    n_items = enc.shape[1]

    def random_scores(seed):
        rng = np.random.default_rng(seed)
        return lambda rows: rng.random((len(rows), n_items))

    def popularity_scores(X):
        counts = np.asarray(X.sum(axis=0)).ravel()
        return lambda rows: np.broadcast_to(counts, (len(rows), n_items))

    with track_experiment("baseline-random", baseline=True) as exp:
        exp.log_params({"strategy": "uniform over the items the user has not seen",
                        "seed": SEED})
        v = evaluate(random_scores(SEED), train, val)
        t = evaluate(random_scores(SEED + 1), train_val, test)
        # On test, the uniform ranker's exact expectation per user, not one draw's luck: of the
        # N items a user has not seen, R are held out; precision@k = R / N, recall@k = k / N.
        users = np.flatnonzero(np.diff(test.indptr) > 0)
        unseen = n_items - np.diff(train_val.indptr)[users]
        expected = {PRIMARY: np.diff(test.indptr)[users] / unseen, f"recall@{K}": K / unseen}
        t.update({key: float(values.mean()) for key, values in expected.items()})
        exp.log_metrics({**_prefixed(v, "val_"), **_prefixed(t, "")})
        for key, values in expected.items():  # per user, so that "3x random" is judged user by user
            exp.log_evidence(key, values, units=users, unit="users")
        exp.log_note(f"test {PRIMARY} and recall@{K} are the uniform ranker's exact expectations; "
                     "ndcg@10 and the validation metrics are one random draw")
    with track_experiment("baseline-popularity", baseline=True) as exp:
        exp.log_params({"strategy": "most consumed items in the training data, unseen ones"})
        v = evaluate(popularity_scores(train), train, val)
        t = evaluate(popularity_scores(train_val), train_val, test)
        exp.log_metrics({**_prefixed(v, "val_"), **_prefixed(t, "")})
    experiment.log_param("baselines", "baseline-random, baseline-popularity")


def train_candidates(experiment, splits: dict[str, pd.DataFrame],
                     catalogue: pd.DataFrame) -> None:
    """T-004: the candidate algorithms fitted on train and compared on validation (never on
    test); the choice is saved as this task's model-selection.json artifact."""
    enc = Encoding(splits)
    train = enc.history(splits["train"])
    val = enc.matrix(splits["validation"])
    results = {}
    for name, (_, params) in ALGORITHMS.items():
        with track_experiment(name) as exp:
            exp.log_params({"algorithm": name, **params, "fitted_on": "train"})
            started = time.perf_counter()
            model = fit(name, params, enc, train, catalogue)
            fit_seconds = time.perf_counter() - started
            metrics = _prefixed(evaluate(model.score_rows, train.X, val), "val_")
            exp.log_metrics({**metrics, "fit_seconds": fit_seconds})
            if name == EASE_TEMPORAL:
                exp.log_note("EASE's weights with the same l2 are computed once and shared with "
                             "the ease experiment: fit_seconds is the time-aware part only.")
            results[name] = metrics
    best = max(results, key=lambda n: results[n][f"val_{PRIMARY}"])
    experiment.log_params({"selected_algorithm": best, "selected_by": f"val_{PRIMARY}"})
    write_selection(experiment, {"algorithm": best, "candidates": results})


def tune_best(experiment, splits: dict[str, pd.DataFrame], catalogue: pd.DataFrame,
              increment_dir: Path) -> None:
    """T-005: grid search of the selected algorithm's hyperparameters on validation, stage by
    stage (TUNING_GRIDS); the selection, with the tuned parameters, is saved as this task's
    model-selection.json."""
    from sklearn.model_selection import ParameterGrid

    selection = read_selection(increment_dir, "T-004")
    algorithm = selection["algorithm"]
    enc = Encoding(splits)
    train = enc.history(splits["train"])
    val = enc.matrix(splits["validation"])
    stages = TUNING_GRIDS[algorithm]
    experiment.log_params({"algorithm": algorithm, "search": "ParameterGrid per stage",
                           "grid": json.dumps(stages, sort_keys=True)})
    best = dict(ALGORITHMS[algorithm][1])
    rows = []
    try:
        for stage, grid in enumerate(stages, 1):
            tried = []
            for point in ParameterGrid(grid):
                config = {**best, **point}
                model = fit(algorithm, config, enc, train, catalogue, cache_products=True)
                m = evaluate(model.score_rows, train.X, val)
                step = len(rows)
                experiment.log_metric(f"val_{PRIMARY}", m[PRIMARY], step=step)
                experiment.log_metric(f"val_recall@{K}", m[f"recall@{K}"], step=step)
                rows.append((step, stage, point, m))
                tried.append((m[PRIMARY], -step, config, m))
            _, _, best, m = max(tried, key=lambda r: r[:2])  # ties: the earlier step
    finally:
        _PRODUCTS.clear()
    # Final values (no step): the chosen configuration's.
    experiment.log_metrics({f"val_{PRIMARY}": m[PRIMARY], f"val_recall@{K}": m[f"recall@{K}"]})
    experiment.log_params({f"best_{key}": value for key, value in best.items()})
    experiment.log_note(
        f"Selected: {json.dumps(best, sort_keys=True)} (val precision@10 {m[PRIMARY]:.4f}, "
        f"val recall@10 {m[f'recall@{K}']:.4f}).\n\n"
        "| step | stage | params (the others: best of the previous stage) | val precision@10 "
        "| val recall@10 |\n|---:|---:|---|---:|---:|\n"
        + "\n".join(f"| {s} | {g} | {json.dumps(p, sort_keys=True)} | {r[PRIMARY]:.4f} | "
                    f"{r[f'recall@{K}']:.4f} |" for s, g, p, r in rows)
    )
    selection.update({"params": best, "experiment": f"{algorithm}-tuned",
                      f"val_{PRIMARY}": m[PRIMARY], f"val_recall@{K}": m[f"recall@{K}"]})
    write_selection(experiment, selection)


def evaluate_best(experiment, splits: dict[str, pd.DataFrame], catalogue: pd.DataFrame,
                  increment_dir: Path) -> None:
    """T-006: refit the chosen configuration on train + validation, evaluate once on test."""
    selection = read_selection(increment_dir)
    if "params" not in selection:
        raise RuntimeError(f"{SELECTION_FILE} has no tuned params: run T-005 first")
    algorithm, params, name = selection["algorithm"], selection["params"], selection["experiment"]
    enc = Encoding(splits)
    train_val = enc.history(splits["train"], splits["validation"])
    test = enc.matrix(splits["test"])
    with track_experiment(name) as exp:
        exp.set_seed(SEED)
        exp.log_input(Path(increment_dir) / DATA_FILE, role="data")
        exp.log_params({"algorithm": algorithm, **params, "fitted_on": "train+validation",
                        "evaluated_on": "test", "selected_by": f"val_{PRIMARY}"})
        started = time.perf_counter()
        model = fit(algorithm, params, enc, train_val, catalogue)
        fit_seconds = time.perf_counter() - started
        metrics = evaluate(model.score_rows, train_val.X, test, per_user=True)
        per_user, users = metrics.pop("per_user"), metrics.pop("users")
        for key in (PRIMARY, f"recall@{K}"):  # per-user evidence: intervals over users, paired ratios
            exp.log_metric(key, metrics.pop(key))
            exp.log_evidence(key, per_user[key], units=users, unit="users")
        exp.log_metrics({**metrics, "fit_seconds": fit_seconds})
        exp.save_artifact(model, "model.pkl")
    experiment.log_param("evaluated_experiment", name)


def load_evaluated(increment_dir: Path) -> tuple[ItemItemRecommender, Path]:
    """The model T-006 evaluated (its experiment's model.pkl), unpickled only if its sha256 is
    the one the store recorded when T-006 saved it: the file that is promoted and shipped."""
    record = evaluated_experiment(increment_dir)
    return load_model(increment_dir, experiment=record.folder), record.path / "model.pkl"


def explain(experiment, splits: dict[str, pd.DataFrame], catalogue: pd.DataFrame,
            increment_dir: Path) -> dict[str, float]:
    """T-007: why the evaluated model recommends its top 3, for every user; a report of 8."""
    model, path = load_evaluated(increment_dir)
    folder = path.parent
    experiment.log_param("explains", folder.name)
    topic = dict(zip(catalogue["item_id"], catalogue["topic"]))
    released = dict(zip(catalogue["item_id"], catalogue["release_date"]))
    test = splits["test"].groupby("user_id")["item_id"].apply(set)

    users = test.index.to_numpy()
    shares, explained, contributions = [], 0, {}
    for user in users:
        for item in model.recommend(user, 3):
            e = model.explain(user, item)
            shares.append(e["share_of_positive"])
            explained += bool(e["reasons"])
            contributions[(int(user), int(item))] = e
    rng = np.random.default_rng(SEED)
    if isinstance(model, TemporalEASE):
        s, h = model.params["recency_weight"], model.params["recency_half_life_hours"]
        recency = (f"x_j = 1 + {s:g} * 2^(-age of j / {h:g} h) weighs the user's recent "
                   "interactions up" if s else "x_j = 1 (tuning switched recency weighting off)")
        how = ("Each score is a sum over the user's history: item j adds g(i) x_j W[j, i] to the "
               f"score of item i, where {recency} and g(i) is the item's popularity damping "
               "times its novelty lift (both shown). ")
    else:
        how = ("Each score is a sum over the user's history: item j adds W[j, i] to the score "
               "of item i. ")
    lines = [f"# Why these recommendations? ({model.algorithm}, {folder.name})", "",
             how + "The reasons are the largest of those terms (exact, not approximated). "
             "✓ marks a recommendation the user went on to consume in the test period.", ""]
    for user in np.sort(rng.choice(users, 8, replace=False)):
        history = model.history[model._user_row[int(user)]].indices
        topics = pd.Series([topic[int(model.item_ids[j])] for j in history]).value_counts()
        lines.append(f"## User {user} ({len(history)} items in history; main topics "
                     + ", ".join(f"{t} ({n})" for t, n in topics.head(3).items()) + ")")
        lines.append("")
        for rank, item in enumerate(model.recommend(user, 3), 1):
            e = contributions[(int(user), int(item))]
            why = ", ".join(f"item {j} (topic {topic[j]}, +{c:.3f})" for j, c in e["reasons"])
            hit = " ✓" if item in test[user] else ""
            factors = ""
            if "factors" in e:
                f = e["factors"]
                factors = f"; popularity damping x{f['popularity']:.2f}"
                if f["novelty"] > 1.005:
                    factors += (f", novelty x{f['novelty']:.2f} (released "
                                f"{released[int(item)]})")
            lines.append(f"{rank}. item {item} (topic {topic[int(item)]}, score {e['score']:.3f})"
                         f"{hit}: because you interacted with {why or 'nothing similar'}; these "
                         f"explain {e['share_of_positive']:.0%} of the positive evidence{factors}")
        lines.append("")
    experiment.save_report("explanations.md", "\n".join(lines))
    experiment.save_artifact(contributions, "explanation_contributions.pkl")
    return {"explained_users": len(users),
            "explained_top3_share": explained / len(shares),
            "top3_reasons_share_of_evidence": float(np.mean(shares))}


def deployment(experiment, splits: dict[str, pd.DataFrame], increment_dir: Path) -> dict:
    """T-008: the evaluated model as shipped (its pickle, sha256 checked) loads, answers like
    the evaluated batch scoring, and its latency, throughput and size, served one user at a
    time."""
    started = time.perf_counter()
    model, path = load_evaluated(increment_dir)
    load_seconds = time.perf_counter() - started
    experiment.log_params({"model": f"{path.parent.name}/{path.name}",
                           "serving": "one process, one request at a time, model in memory"})
    rng = np.random.default_rng(SEED)
    users = rng.choice(model.user_ids, 2_000, replace=True)

    # The serving path (one user) must give the top 10 the evaluation scored (batch path).
    check = np.sort(rng.choice(len(model.user_ids), 200, replace=False))
    batch = top_k(model.score_rows(check), model.history[check])
    same = [len(set(model.recommend(model.user_ids[r])) & set(model.item_ids[b])) / K
            for r, b in zip(check, batch)]
    agreement = float(np.mean(same))
    assert agreement >= 0.99, (
        f"the serving path (recommend) and the evaluated scoring (score_rows) agree on only "
        f"{agreement:.1%} of the top-{K} items of 200 users")
    unknown = model.recommend(-1)  # a user the model has never seen: popular items
    assert len(unknown) == K and len(set(unknown)) == K

    for recs in (model.recommend(user) for user in users[:50]):
        assert len(recs) == K and len(set(recs)) == K

    def serve(request):  # one request: a user id in, its top 10 out
        return [model.recommend(user) for user in request]

    # p50/p95/p99 with distribution-free intervals, and requests per second over timed rounds
    measure_latency(X=users, predict=serve, n_requests=500, warmup=100, experiment=experiment)
    measure_throughput(X=users, predict=serve, n_requests=len(users), experiment=experiment)
    measure_model_size(path, experiment=experiment)  # the shipped pickle's bytes
    return {"model_load_seconds": load_seconds, "serving_agreement": agreement}
