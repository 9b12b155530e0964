"""The reference profile a promoted model ships with: what its evaluation data looked like.

Production monitoring compares new data with it (`monitoring.drift`). Per feature:

- numeric: count, missing rate, 101 quantiles (0%, 1%, …, 100%), the decile edges PSI bins by
  with each bin's share, and a deterministic sample of up to 2,000 values for the KS test;
- categorical (strings, booleans, pandas categories, or numbers with few distinct values when
  named in `categorical=`): count, missing rate, and each category's share (the 50 most frequent,
  the rest as one `__other__` share).

The model's scores on the same rows, when given, are profiled as a numeric column named `score`.
The profile is plain JSON (`PROFILE_SCHEMA`): `log_reference_profile` saves it as the experiment's
`reference-profile.json`, and promotion copies it beside the model as `models/model-vN.profile.json`.
"""

from __future__ import annotations

PROFILE_SCHEMA = "pytest-specweave/reference-profile/1"
PROFILE_ARTIFACT = "reference-profile.json"
SCORE = "score"
BINS = 10
SAMPLE = 2000
TOP_CATEGORIES = 50
OTHER = "__other__"
MISSING = "__missing__"


def _frame(data, features):
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, pd.Series):
        frame = data.to_frame()
    else:
        import numpy as np

        array = np.asarray(data)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise ValueError(f"reference_profile: expected a table (rows × features), got shape {array.shape}")
        names = list(features) if features is not None else [f"x{i}" for i in range(array.shape[1])]
        if len(names) != array.shape[1]:
            raise ValueError(f"reference_profile: {len(names)} feature names for {array.shape[1]} columns")
        return pd.DataFrame(array, columns=names)
    if features is not None:
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise ValueError(f"reference_profile: no column {missing[0]!r} in the data "
                             f"(columns: {', '.join(map(str, frame.columns[:20]))})")
        frame = frame[list(features)]
    return frame


def is_numeric(series, categorical=()) -> bool:
    import pandas as pd

    if series.name in categorical:
        return False
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(series.dtype)


def _numeric_profile(values, seed: int) -> dict:
    import numpy as np

    present = values[~np.isnan(values)]
    out = {"kind": "numeric", "count": int(len(values)),
           "missing_rate": float(1 - len(present) / len(values)) if len(values) else 0.0}
    if len(present) == 0:
        out.update(quantiles=[], edges=[], shares=[], sample=[])
        return out
    quantiles = np.quantile(present, np.linspace(0, 1, 101))
    edges = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1))[1:-1])
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    rng = np.random.default_rng(seed)
    sample = present if len(present) <= SAMPLE else rng.choice(present, SAMPLE, replace=False)
    out.update(quantiles=[float(q) for q in quantiles], edges=[float(e) for e in edges],
               shares=[float(c / len(present)) for c in counts], sample=sorted(float(v) for v in sample),
               mean=float(present.mean()), std=float(present.std()))
    return out


def category_key(value) -> str:
    """A category as the profile names it: its text (True, 3 and "3" as written)."""
    return str(value)


def _categorical_profile(series) -> dict:
    present = series.dropna()
    n = len(series)
    out = {"kind": "categorical", "count": int(n), "missing_rate": float(1 - len(present) / n) if n else 0.0}
    counts = present.map(category_key).value_counts()
    top = counts.iloc[:TOP_CATEGORIES]
    shares = {str(k): float(v / len(present)) for k, v in top.items()} if len(present) else {}
    rest = int(counts.iloc[TOP_CATEGORIES:].sum())
    if rest:
        shares[OTHER] = float(rest / len(present))
    out["shares"] = shares
    return out


def reference_profile(data, *, scores=None, features=None, categorical=(), seed: int = 0) -> dict:
    """The profile of `data` (a DataFrame, or an array with `features` naming its columns) and, when
    given, of the model's `scores` on the same rows (a 1-D array; for class probabilities, the
    positive class's column)."""
    import numpy as np

    frame = _frame(data, features)
    if len(frame) == 0:
        raise ValueError("reference_profile: the data has no rows")
    categorical = set(categorical or ())
    profiled = {}
    for i, name in enumerate(frame.columns):
        column = frame[name]
        if is_numeric(column, categorical):
            profiled[str(name)] = _numeric_profile(column.to_numpy(dtype=float), seed + i)
        else:
            profiled[str(name)] = _categorical_profile(column)
    profile = {"schema": PROFILE_SCHEMA, "rows": int(len(frame)), "features": profiled}
    if scores is not None:
        s = np.asarray(scores, dtype=float)
        if s.ndim == 2 and s.shape[1] == 2:
            s = s[:, 1]
        if s.ndim != 1 or len(s) != len(frame):
            raise ValueError(f"reference_profile: scores must be one per row ({len(frame)}), got shape {s.shape}")
        profile[SCORE] = _numeric_profile(s, seed + len(profiled))
    return profile


def log_reference_profile(experiment, data, *, scores=None, features=None, categorical=(), seed: int = 0) -> dict:
    """Profile `data` (see reference_profile) and save it as the experiment's `reference-profile.json`;
    promoting the experiment's model ships it as `models/model-vN.profile.json`."""
    profile = reference_profile(data, scores=scores, features=features, categorical=categorical, seed=seed)
    experiment.log_dict(profile, PROFILE_ARTIFACT)
    return profile
