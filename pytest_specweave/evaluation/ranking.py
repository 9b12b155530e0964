"""Ranking metrics over recommendation lists: precision@k, recall@k, hit_rate@k, ndcg@k, map@k, mrr, coverage@k.

For n users:

- `relevant`: n collections, one per user, of the items that user actually interacted with in
  the evaluation split (sets, lists, arrays), or of mappings {item: gain} for graded relevance
  (ndcg@k uses the gains; the other metrics count an item of gain > 0 as relevant).
- `recommended`: the ranked lists, best first: an array-like of shape (n_users, L) of item ids,
  or n sequences of item ids (of any lengths). A score matrix is turned into lists by
  `top_k_items(scores, k)`.

Users with no relevant item are left out of every average (they have nothing to find), as
libraries such as RecBole and implicit do; coverage counts every user's list. Each user's list
must hold distinct items. ndcg uses linear gains and the log2 discount (scikit-learn's
`ndcg_score` convention); map@k divides by min(|relevant|, k); mrr looks at the whole list; hit_rate@k is 1 for a user
when any of the top-k items is relevant, else 0 (so it is the share of users served a hit).

Every metric is the mean over users of a per-user value (`RankedLists.per_user`), which is
what bootstrap intervals resample. numpy is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping

PER_USER = ("precision", "recall", "hit_rate", "ndcg", "map", "mrr")
SHAPE = "(n_users, k): one ranked list of item ids per user, best first"


def _is_scalar(obj) -> bool:
    return isinstance(obj, (str, bytes, int, float)) or getattr(obj, "ndim", None) == 0


def _items_array(values):
    """A 1-D array of item ids: numpy's own dtype for plain ints or strings, else dtype object."""
    import numpy as np

    if isinstance(values, np.ndarray):
        return values.reshape(-1)
    values = list(values)
    if values:
        first = type(values[0])
        if (first in (int, str) or issubclass(first, np.generic)) and all(type(v) is first for v in values):
            return np.asarray(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _encode(*groups):
    """Integer codes for item ids, shared across groups (1-D arrays): one code array per group, and the count.

    numpy's sort-based path when every group holds one numeric or one string dtype; a dict otherwise
    (mixed or unorderable ids).
    """
    import numpy as np

    sizes = [len(g) for g in groups]
    kinds = {"n" if g.dtype.kind in "biuf" else g.dtype.kind for g in groups if len(g)}
    if len(kinds) <= 1 and kinds <= {"n", "U", "S"}:
        joined = np.concatenate(groups) if groups else np.array([])
        uniques, inverse = np.unique(joined, return_inverse=True)
        count = len(uniques)
    else:
        table: dict = {}
        inverse = np.fromiter(
            (table.setdefault(item, len(table)) for g in groups for item in g.tolist()), dtype=np.int64,
            count=sum(sizes),
        )
        count = len(table)
    out, start = [], 0
    for size in sizes:
        out.append(np.asarray(inverse[start:start + size], dtype=np.int64))
        start += size
    return out, count


def _recommended_array(recommended):
    """(items as a flat array, row lengths, n_users, L), or a ValueError naming the expected shape."""
    import numpy as np

    if isinstance(recommended, np.ndarray) or hasattr(recommended, "to_numpy"):
        arr = recommended.to_numpy() if hasattr(recommended, "to_numpy") else recommended
        if arr.ndim != 2:
            raise ValueError(f"ranking predictions must have shape {SHAPE}; got an array of shape {arr.shape}")
        if arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            raise ValueError(
                f"ranking predictions must have shape {SHAPE}; got a float array of shape {arr.shape} that holds"
                " scores, not item ids: turn a score matrix into lists with top_k_items(scores, k)"
            )
        n, width = arr.shape
        return _items_array(arr), np.full(n, width, dtype=np.int64), n, width
    if isinstance(recommended, (str, bytes, Mapping)) or not hasattr(recommended, "__len__"):
        raise ValueError(f"ranking predictions must have shape {SHAPE}; got a {type(recommended).__name__}")
    rows = list(recommended)
    if any(_is_scalar(row) for row in rows):
        raise ValueError(
            f"ranking predictions must have shape {SHAPE}; got a flat sequence of {len(rows)} items"
            f" (shape ({len(rows)},)): give each user its own list"
        )
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max()) if len(rows) else 0
    if rows and all(isinstance(row, np.ndarray) and row.ndim == 1 for row in rows):
        return np.concatenate(rows), lengths, len(rows), width
    flat = [item for row in rows for item in row]
    if any(not _is_scalar(item) for item in flat[:1000]):
        raise ValueError(f"ranking predictions must have shape {SHAPE}; got lists nested deeper than that")
    return _items_array(flat), lengths, len(rows), width


class RankedLists:
    """Recommendation lists checked against the relevant items, once; the metrics are read off it."""

    def __init__(self, relevant, recommended):
        import numpy as np

        items, lengths, n, width = _recommended_array(recommended)
        if isinstance(relevant, (str, bytes, Mapping)) or not hasattr(relevant, "__len__"):
            raise ValueError(
                f"relevant items must be one collection per user (length n_users = {n}); got a {type(relevant).__name__}"
            )
        relevant = list(relevant)
        if relevant and all(_is_scalar(r) for r in relevant):
            raise ValueError(
                f"relevant items must be one collection per user (length n_users = {n}); got a flat"
                f" sequence of {len(relevant)} items"
            )
        if len(relevant) != n:
            raise ValueError(
                f"ranking predictions must have shape {SHAPE}, one row per user of y_true: expected"
                f" ({len(relevant)}, k), got {n} rows"
            )
        rel_items, lengths_rel, graded = [], [], []
        for user, rel in enumerate(relevant):
            if isinstance(rel, Mapping):
                kept = [(item, float(gain)) for item, gain in rel.items() if float(gain) > 0]
                rel_items.extend(item for item, _ in kept)
                graded.extend(gain for _, gain in kept)
                lengths_rel.append(len(kept))
            elif _is_scalar(rel):
                raise ValueError(f"relevant items of user {user} must be a collection, got {rel!r}")
            else:
                rel_items.extend(rel)
                graded.extend([1.0] * len(rel))
                lengths_rel.append(len(rel))
        rel_users = np.repeat(np.arange(n, dtype=np.int64), lengths_rel)
        rel_gains = np.asarray(graded, dtype=float)
        (rec_codes, rel_codes), count = _encode(items, _items_array(rel_items))
        self.n_items_seen = count
        self.n_users = n
        self.width = width
        # (n, width) codes, -1 where a shorter list has no item
        codes = np.full((n, width), -1, dtype=np.int64)
        mask = np.arange(width)[None, :] < lengths[:, None]
        codes[mask] = rec_codes
        self.codes = codes
        ordered = np.sort(codes, axis=1)
        dup = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
        if dup.any():
            user = int(np.flatnonzero(dup.any(axis=1))[0])
            raise ValueError(f"recommended list of user {user} repeats an item: each list must hold distinct items")

        users, gains = rel_users, rel_gains
        scale = np.int64(max(count, 1))
        rel_keys = users * scale + rel_codes
        rel_keys, first = np.unique(rel_keys, return_index=True)
        gains, users = gains[first], users[first]
        self.n_relevant = np.bincount(users, minlength=n)
        rec_keys = np.arange(n, dtype=np.int64)[:, None] * scale + codes
        if len(rel_keys):
            pos = np.minimum(np.searchsorted(rel_keys, rec_keys), len(rel_keys) - 1)
            hits = (rel_keys[pos] == rec_keys) & (codes >= 0)
            self.gains = np.where(hits, gains[pos], 0.0)
        else:
            hits = np.zeros(codes.shape, dtype=bool)
            self.gains = np.zeros(codes.shape)
        self.hits = hits
        self.evaluated = self.n_relevant > 0
        # relevant gains per user, best first: the ideal ranking for ndcg
        order = np.lexsort((-gains, users))
        self._ideal_users = users[order]
        self._ideal_gains = gains[order]
        starts = np.searchsorted(self._ideal_users, np.arange(n))
        self._ideal_rank = np.arange(len(users)) - starts[self._ideal_users]

    @property
    def n_evaluated(self) -> int:
        return int(self.evaluated.sum())

    def _check_k(self, k) -> int:
        import operator

        try:
            k = operator.index(k)
        except TypeError:
            raise TypeError(f"k must be an integer, got {k!r}") from None
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if self.width < k:
            raise ValueError(
                f"ranking predictions must have shape (n_users, >= k) with k = {k}: at least {k} ranked items"
                f" per user; got shape ({self.n_users}, {self.width})"
            )
        return k

    def per_user(self, metric: str, k: int | None = None):
        """The per-user values (over users with a relevant item) whose mean is `metric`@k."""
        import numpy as np

        if self.n_evaluated == 0:
            raise ValueError("no user has a relevant item: ranking metrics are undefined")
        ev = self.evaluated
        if metric == "mrr":
            hits = self.hits[ev]
            first = hits.argmax(axis=1)
            return np.where(hits.any(axis=1), 1.0 / (first + 1.0), 0.0)
        if metric not in PER_USER:
            raise ValueError(f"unknown ranking metric {metric!r}; known: {', '.join(PER_USER)}, coverage")
        k = self._check_k(k)
        hits = self.hits[ev, :k]
        n_rel = self.n_relevant[ev]
        if metric == "precision":
            return hits.sum(axis=1) / k
        if metric == "recall":
            return hits.sum(axis=1) / n_rel
        if metric == "hit_rate":
            return hits.any(axis=1).astype(float)
        if metric == "map":
            precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
            return (precision_at_i * hits).sum(axis=1) / np.minimum(n_rel, k)
        discount = 1.0 / np.log2(np.arange(2, k + 2))
        dcg = (self.gains[ev, :k] * discount).sum(axis=1)
        keep = self._ideal_rank < k
        ideal = np.bincount(
            self._ideal_users[keep], weights=self._ideal_gains[keep] * discount[self._ideal_rank[keep]],
            minlength=self.n_users,
        )[ev]
        return dcg / ideal

    def metric(self, metric: str, k: int | None = None) -> float:
        return float(self.per_user(metric, k).mean())

    def coverage(self, k: int, catalogue) -> float:
        """Catalogue coverage: distinct items in the top-k lists of all users / catalogue size.

        `catalogue`: the number of items, or the item ids (recommended items outside it are not counted).
        """
        import numpy as np

        k = self._check_k(k)
        top = self.codes[:, :k]
        shown = np.unique(top[top >= 0])
        if isinstance(catalogue, (int, np.integer)):
            if catalogue < 1:
                raise ValueError(f"catalogue size must be at least 1, got {catalogue}")
            return min(len(shown) / int(catalogue), 1.0)
        raise TypeError("RankedLists.coverage: pass the catalogue size; use catalogue_coverage() for item ids")


def _lists(relevant, recommended) -> RankedLists:
    return relevant if isinstance(relevant, RankedLists) else RankedLists(relevant, recommended)


def precision_at_k(relevant, recommended, k: int = 10) -> float:
    """Mean over users of |top-k ∩ relevant| / k."""
    return _lists(relevant, recommended).metric("precision", k)


def recall_at_k(relevant, recommended, k: int = 10) -> float:
    """Mean over users of |top-k ∩ relevant| / |relevant|."""
    return _lists(relevant, recommended).metric("recall", k)


def hit_rate_at_k(relevant, recommended, k: int = 10) -> float:
    """Share of users with at least one relevant item in their top k (per user: 1 on a hit, else 0)."""
    return _lists(relevant, recommended).metric("hit_rate", k)


def ndcg_at_k(relevant, recommended, k: int = 10) -> float:
    """Mean over users of DCG@k / ideal DCG@k (linear gains, 1/log2(rank + 1) discount)."""
    return _lists(relevant, recommended).metric("ndcg", k)


def map_at_k(relevant, recommended, k: int = 10) -> float:
    """Mean over users of average precision@k, normalised by min(|relevant|, k)."""
    return _lists(relevant, recommended).metric("map", k)


def mrr(relevant, recommended) -> float:
    """Mean over users of 1 / rank of the first relevant item in the whole list (0 when none)."""
    return _lists(relevant, recommended).metric("mrr")


def catalogue_coverage(recommended, catalogue, k: int = 10) -> float:
    """Distinct items shown in the top-k lists of all users, as a fraction of the catalogue.

    `catalogue`: the number of items, or the catalogue's item ids.
    """
    import numpy as np

    items, lengths, n, width = _recommended_array(recommended)
    if isinstance(catalogue, (int, np.integer)):
        lists = RankedLists([[]] * n, recommended)
        return lists.coverage(k, int(catalogue))
    catalogue = list(catalogue)
    if not catalogue:
        raise ValueError("catalogue is empty")
    if width < k:
        raise ValueError(
            f"ranking predictions must have shape (n_users, >= k) with k = {k}; got shape ({n}, {width})"
        )
    (rec_codes, cat_codes), _ = _encode(items, _items_array(catalogue))
    position = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if n else np.array([], dtype=np.int64)
    rank = np.arange(len(rec_codes)) - np.repeat(position, lengths)
    shown = np.unique(rec_codes[rank < k])
    cat = np.unique(cat_codes)
    return float(np.isin(shown, cat).sum() / len(cat))


def top_k_items(scores, k: int = 10, *, exclude=None, items=None):
    """Turn a score matrix (n_users, n_items) into ranked lists (n_users, k) of item ids, best first.

    `exclude`: per user, items never to recommend (their training history), as item ids
    (column indices unless `items` names the columns). `items`: the item id of each column.
    """
    import numpy as np

    scores = np.array(scores, dtype=float, copy=True)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (n_users, n_items); got shape {scores.shape}")
    n_users, n_items = scores.shape
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be between 1 and n_items = {n_items}, got {k}")
    ids = np.arange(n_items) if items is None else np.asarray(items)
    if len(ids) != n_items:
        raise ValueError(f"items names {len(ids)} columns, scores has {n_items}")
    if exclude is not None:
        column = {item: j for j, item in enumerate(ids.tolist())}
        if len(exclude) != n_users:
            raise ValueError(f"exclude must hold one collection per user ({n_users}), got {len(exclude)}")
        rows, cols = [], []
        for user, seen in enumerate(exclude):
            for item in seen:
                j = column.get(item)
                if j is not None:
                    rows.append(user)
                    cols.append(j)
        scores[rows, cols] = -np.inf
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return ids[np.take_along_axis(top, order, axis=1)]


def ranking_metrics(relevant, recommended, *, k=10, catalogue=None) -> dict[str, float]:
    """precision@k, recall@k, hit_rate@k, ndcg@k, map@k (for each k), mrr, and coverage@k when `catalogue` is given."""
    lists = _lists(relevant, recommended)
    ks = [k] if isinstance(k, int) else list(k)
    out: dict[str, float] = {}
    for cut in ks:
        for name in ("precision", "recall", "hit_rate", "ndcg", "map"):
            out[f"{name}@{cut}"] = lists.metric(name, cut)
    out["mrr"] = lists.metric("mrr")
    if catalogue is not None:
        for cut in ks:
            out[f"coverage@{cut}"] = (
                lists.coverage(cut, catalogue) if isinstance(catalogue, int) else catalogue_coverage(recommended, catalogue, cut)
            )
    return out
