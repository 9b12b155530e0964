"""The user x item matrices of increment 0042: one index of users and items for every split, the binary
matrix every model is fitted on, and the time of each interaction (what the time-aware model reads)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


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
