"""The recommenders of increment 0042: every candidate is an item-item linear model,
score(u, i) = sum_j x_uj * W[j, i] over the items j of the user's history (the time-aware one weighs
x_uj by recency and scales the sum by a positive factor per item), so the top contributions are an
exact explanation and serving one user is a sum of rows of W (plan.md)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .matrices import Encoding, History, release_times

K = 10
SEED = 42

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


def release_products() -> None:
    """Drop the history products a tuning grid shared (about 90 MB per recency half-life)."""
    _PRODUCTS.clear()
