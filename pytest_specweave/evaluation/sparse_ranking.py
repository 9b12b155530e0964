"""Ranking evaluation over a sparse user x item matrix, scored in batches of users, with per-user values.

`evaluate_sparse_ranking(scores, relevant, k=10, exclude=seen, users=user_ids)`:

- `relevant`: a scipy.sparse (or dense) matrix (n_users, n_items) of each user's held-out items
  (an entry > 0 is relevant; gains are binary).
- `exclude`: a matrix of the same shape of items never to recommend (the user's history).
- `scores`: a function `scores(rows)` returning the dense (len(rows), n_items) scores of those rows,
  called for `batch_size` users at a time, so the whole score matrix is never held; or a matrix
  (n_users, n_items); or a vector (n_items,) that ranks every user alike (popularity counts); or
  "random": the exact expectation of k items drawn uniformly from the user's unexcluded items
  (baselines.random_expectation), not one draw's luck.

The metrics are those of ranking.py (the same definitions: users without a relevant item are left
out; ndcg with the log2 discount), averaged over the evaluated users. With `experiment`, each
is logged with its per-user evidence, unit ids `users` (so verdicts put a BCa interval over users
on it and pair two experiments user by user), and the hash of `relevant` as the evaluation targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

METRICS = ("precision", "recall", "hit_rate", "ndcg", "map")
RANDOM = "random"
RANDOM_METRICS = ("precision", "recall", "hit_rate", "ndcg")  # those with an exact expectation


@dataclass
class SparseRanking:
    """The metrics (their names with `@k` and the prefix), the per-user values behind each, and the ids of the
    evaluated users (those with a relevant item), in the order of the per-user values."""

    metrics: dict[str, float]
    per_user: dict[str, object] = field(repr=False)
    users: object = field(repr=False)

    @property
    def n_users(self) -> int:
        return len(self.users)


def _csr(matrix, name: str, shape=None):
    import numpy as np
    import scipy.sparse as sp

    try:
        out = matrix.tocsr() if sp.issparse(matrix) else sp.csr_matrix(np.asarray(matrix, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a user x item matrix (scipy.sparse or 2-D array), got "
                        f"{type(matrix).__name__}") from None
    if out.ndim != 2:
        raise ValueError(f"{name} must be a user x item matrix (n_users, n_items), got shape {out.shape}")
    if shape is not None and out.shape != shape:
        raise ValueError(f"{name} has shape {out.shape}; relevant has {shape}: one row per user, one column per item")
    if not out.has_canonical_format or (out.data <= 0).any():  # else used as it is: no copy of a large matrix
        out = out.copy()
        out.sum_duplicates()
        out.data[out.data <= 0] = 0  # only an entry > 0 counts
        out.eliminate_zeros()
    return out


def top_k_unseen(scores, seen=None, k: int = 10):
    """Column indices of the k best-scored items per row, best first, never an item `seen` marks.

    scores: (n_rows, n_items) array; seen: a sparse or dense matrix of the same shape (entries > 0 are
    excluded), or None. Among the k chosen, ties keep the lower column first.
    """
    import numpy as np
    import scipy.sparse as sp

    scores = np.array(scores, dtype=np.result_type(scores, np.float32), copy=True)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (n_rows, n_items); got shape {scores.shape}")
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k must be between 1 and n_items = {scores.shape[1]}, got {k}")
    if seen is not None:
        seen = seen.tocoo() if sp.issparse(seen) else sp.coo_matrix(np.asarray(seen))
        if seen.shape != scores.shape:
            raise ValueError(f"seen has shape {seen.shape}, scores {scores.shape}")
        keep = seen.data > 0
        scores[seen.row[keep], seen.col[keep]] = -np.inf
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part.sort(axis=1)  # ties: the lower column first, whatever argpartition's order
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _per_user(hits, n_relevant, metric: str, k: int):
    import numpy as np

    found = hits.sum(axis=1)
    if metric == "precision":
        return found / k
    if metric == "recall":
        return found / n_relevant
    if metric == "hit_rate":
        return (found > 0).astype(float)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    if metric == "ndcg":
        ideal = np.cumsum(discount)[np.minimum(n_relevant, k) - 1]
        return (hits * discount).sum(axis=1) / ideal
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return (precision_at_i * hits).sum(axis=1) / np.minimum(n_relevant, k)


def _scorer(scores, n_users: int, n_items: int):
    """A function rows -> dense (len(rows), n_items) scores, whatever form `scores` came in."""
    import numpy as np
    import scipy.sparse as sp

    if callable(scores):
        return scores
    if sp.issparse(scores):
        matrix = scores.tocsr()
        if matrix.shape != (n_users, n_items):
            raise ValueError(f"scores has shape {matrix.shape}; relevant has {(n_users, n_items)}")
        return lambda rows: matrix[rows].toarray()
    arr = np.asarray(scores, dtype=float)
    if arr.shape == (n_items,):
        return lambda rows: np.broadcast_to(arr, (len(rows), n_items))
    if arr.shape != (n_users, n_items):
        raise ValueError(f"scores must be a function of the rows, a ({n_users}, {n_items}) matrix, an ({n_items},) "
                         f"vector or {RANDOM!r}; got shape {arr.shape}")
    return lambda rows: arr[rows]


def _rows_of(matrix):
    return [matrix.indices[a:b] for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:])]


def _random(relevant, exclude, k: int, metrics):
    """The uniform ranker's exact expectation per evaluated user (baselines.random_expectation)."""
    from .baselines import random_expectation

    unknown = [m for m in metrics if m not in RANDOM_METRICS]
    if unknown:
        raise ValueError(f"the random ranker's exact expectation is known for {', '.join(RANDOM_METRICS)}, "
                         f"not {', '.join(unknown)}")
    seen = None if exclude is None else [set(r.tolist()) for r in _rows_of(exclude)]
    expected = random_expectation([r.tolist() for r in _rows_of(relevant)], range(relevant.shape[1]), k, seen)
    rows = next(iter(expected.values()))[1]
    return {m: expected[f"{m}@{k}"][0] for m in metrics}, rows


def evaluate_sparse_ranking(scores, relevant, *, k: int = 10, exclude=None, users=None, metrics=("precision", "recall", "ndcg"),
                            batch_size: int = 1000, experiment=None, prefix: str = "") -> SparseRanking:
    """precision@k, recall@k, ndcg@k (and hit_rate, map) over a sparse user x item matrix, per user (module doc)."""
    import numpy as np

    relevant = _csr(relevant, "relevant")
    n_users, n_items = relevant.shape
    exclude = None if exclude is None else _csr(exclude, "exclude", relevant.shape)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"unknown ranking metric {', '.join(unknown) or '(none given)'}; known: {', '.join(METRICS)}")
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be between 1 and n_items = {n_items}, got {k}")
    ids = np.arange(n_users) if users is None else np.asarray(users)
    if ids.shape != (n_users,):
        raise ValueError(f"users must hold one id per row of relevant ({n_users}), got shape {ids.shape}")
    n_relevant = np.diff(relevant.indptr)
    if isinstance(scores, str):
        if scores != RANDOM:
            raise ValueError(f"scores must be a function, a matrix, a vector or {RANDOM!r}; got {scores!r}")
        values, rows = _random(relevant, exclude, k, metrics)
    else:
        rows = np.flatnonzero(n_relevant > 0)
        score_rows = _scorer(scores, n_users, n_items)
        parts = {m: [] for m in metrics}
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            block = np.asarray(score_rows(batch))
            if block.shape != (len(batch), n_items):
                raise ValueError(f"scores({len(batch)} rows) returned shape {block.shape}, expected "
                                 f"({len(batch)}, {n_items})")
            top = top_k_unseen(block, None if exclude is None else exclude[batch], k)
            hits = np.take_along_axis(relevant[batch].toarray() > 0, top, axis=1)
            for m in metrics:
                parts[m].append(_per_user(hits, n_relevant[batch], m, k))
        values = {m: np.concatenate(parts[m]) if parts[m] else np.empty(0) for m in metrics}
    if len(rows) == 0:
        raise ValueError("no user has a relevant item: ranking metrics are undefined")
    per_user = {f"{prefix}{m}@{k}": np.asarray(values[m], dtype=float) for m in metrics}
    result = SparseRanking({name: float(v.mean()) for name, v in per_user.items()}, per_user, ids[rows])
    if experiment is not None:
        _log(experiment, result, relevant, ids)
    return result


def _log(experiment, result: SparseRanking, relevant, ids) -> None:
    import hashlib

    import numpy as np

    from .metrics import EVAL_TARGETS_ROLE

    experiment.log_metrics(result.metrics)
    for name, values in result.per_user.items():
        experiment.log_evidence(name, values, units=result.users, unit="users")
    # The evaluation targets: each user's id and relevant columns, so that the ledger counts every scoring of them.
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(relevant.indptr, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(relevant.indices, dtype=np.int64).tobytes())
    digest.update(repr(np.asarray(ids).tolist()).encode())
    experiment.log_input(digest.digest(), role=EVAL_TARGETS_ROLE)
