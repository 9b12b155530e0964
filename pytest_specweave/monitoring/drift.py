"""Drift of new data against a reference profile (`monitoring.profile`): a gate, per feature.

For each feature of the profile found in the new data:

- **PSI**, the population stability index, Σ (cᵢ − rᵢ) · ln(cᵢ / rᵢ) over the reference's decile
  bins (numeric) or categories (categorical), with missing values as a bin of their own and shares
  floored at 0.0001 so that an empty bin does not make it infinite. The usual reading: < 0.1 stable,
  0.1–0.2 a moderate shift, ≥ 0.2 a significant one.
- **a test** with scipy: two-sample Kolmogorov–Smirnov against the reference sample (numeric), or
  chi-square of the new counts against the reference shares (categorical).

A feature has drifted when its PSI reaches the PSI limit (0.2 unless the spec sets another:
`Drift: PSI < 0.1 per feature`), or, when the spec also sets a test level (`Drift: PSI < 0.2,
p-value > 0.01`), when its test's p-value falls below that level. With very many rows a test
rejects for shifts too small to matter; that is why PSI is the default gate and the p-value is
shown beside it. The model's score distribution is compared the same way when the new data holds a
`score` column (the scores production logged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .profile import OTHER, SCORE, category_key

PSI_LIMIT = 0.2
FLOOR = 1e-4
UNSEEN = "__unseen__"


@dataclass(frozen=True)
class DriftLimits:
    psi: float = PSI_LIMIT  # a feature drifted when its PSI is >= psi
    p_value: float | None = None  # and, when set, when its test's p-value is < p_value

    def describe(self) -> str:
        text = f"PSI < {self.psi:g}"
        return text + (f", p-value > {self.p_value:g}" if self.p_value is not None else "")


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    psi: float
    test: str  # "KS" | "chi-square" | "" when not computed
    statistic: float | None
    p_value: float | None
    missing_reference: float
    missing_current: float
    drifted: bool

    def describe(self) -> str:
        test = ""
        if self.test and self.statistic is not None:
            test = f", {self.test} {self.statistic:.3g} (p = {self.p_value:.2g})"
        return f"{self.feature}: PSI {self.psi:.3f}{test}"

    def as_json(self) -> dict:
        return {"feature": self.feature, "kind": self.kind, "psi": self.psi, "test": self.test or None,
                "statistic": self.statistic, "p_value": self.p_value, "missing_reference": self.missing_reference,
                "missing_current": self.missing_current, "drifted": self.drifted}


@dataclass
class DriftReport:
    limits: DriftLimits
    rows: int
    features: list[FeatureDrift] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # profiled features the new data lacks

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def ok(self) -> bool:
        return not self.drifted and not self.absent

    def message(self) -> str:
        if self.absent:
            return f"the new data lacks profiled feature(s): {', '.join(self.absent)}"
        if self.drifted:
            return (f"{len(self.drifted)} of {len(self.features)} feature(s) drifted ({self.limits.describe()}): "
                    + "; ".join(f.describe() for f in self.drifted))
        worst = max(self.features, key=lambda f: f.psi, default=None)
        tail = f"; largest {worst.describe()}" if worst else ""
        return f"no drift in {len(self.features)} feature(s) over {self.rows:,} rows ({self.limits.describe()}){tail}"

    def markdown(self) -> str:
        lines = ["| feature | kind | PSI | test | statistic | p-value | missing (ref → new) | drifted |",
                 "|---|---|---|---|---|---|---|---|"]
        for f in sorted(self.features, key=lambda f: -f.psi):
            stat = "" if f.statistic is None else f"{f.statistic:.3g}"
            p = "" if f.p_value is None else f"{f.p_value:.2g}"
            lines.append(f"| {f.feature} | {f.kind} | {f.psi:.3f} | {f.test} | {stat} | {p} | "
                         f"{f.missing_reference:.1%} → {f.missing_current:.1%} | {'⚠️ yes' if f.drifted else 'no'} |")
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict:
        return {"limits": {"psi": self.limits.psi, "p_value": self.limits.p_value}, "rows": self.rows,
                "ok": self.ok, "absent": self.absent, "features": [f.as_json() for f in self.features]}


def psi(reference_shares, current_shares) -> float:
    """Σ (c − r) · ln(c / r), shares floored at 0.0001."""
    total = 0.0
    for r, c in zip(reference_shares, current_shares):
        r, c = max(float(r), FLOOR), max(float(c), FLOOR)
        total += (c - r) * math.log(c / r)
    return total


def _numeric(name, ref: dict, series, limits: DriftLimits) -> FeatureDrift:
    import numpy as np
    from scipy.stats import ks_2samp

    values = np.asarray(series.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    present = values[~np.isnan(values)]
    missing_now = float(1 - len(present) / len(values)) if len(values) else 0.0
    missing_ref = float(ref.get("missing_rate", 0.0))
    edges = np.asarray(ref.get("edges", []), dtype=float)
    ref_shares = [s * (1 - missing_ref) for s in ref.get("shares", [])] + [missing_ref]
    if len(present):
        counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
        cur_shares = [c / len(values) for c in counts] + [missing_now]
    else:
        cur_shares = [0.0] * (len(edges) + 1) + [missing_now]
    value = psi(ref_shares, cur_shares)
    statistic = p_value = None
    sample = ref.get("sample") or []
    if len(present) and sample:
        found = ks_2samp(np.asarray(sample, dtype=float), present)
        statistic, p_value = float(found.statistic), float(found.pvalue)
    return FeatureDrift(name, "numeric", value, "KS" if statistic is not None else "", statistic, p_value,
                        missing_ref, missing_now, _drifted(value, p_value, limits))


def _categorical(name, ref: dict, series, limits: DriftLimits) -> FeatureDrift:
    from scipy.stats import chisquare

    n = len(series)
    present = series.dropna().map(category_key)
    missing_now = float(1 - len(present) / n) if n else 0.0
    missing_ref = float(ref.get("missing_rate", 0.0))
    shares = dict(ref.get("shares", {}))
    known = set(shares) - {OTHER}
    counts = present.map(lambda v: v if v in known else (OTHER if OTHER in shares else UNSEEN)).value_counts()
    categories = sorted(set(shares) | set(counts.index))
    ref_shares = [shares.get(c, 0.0) * (1 - missing_ref) for c in categories] + [missing_ref]
    cur_shares = [float(counts.get(c, 0)) / n if n else 0.0 for c in categories] + [missing_now]
    value = psi(ref_shares, cur_shares)
    statistic = p_value = None
    observed = [float(counts.get(c, 0)) for c in categories]
    if sum(observed) and len(categories) > 1:
        expected = [max(shares.get(c, 0.0), FLOOR) for c in categories]
        scale = sum(observed) / sum(expected)
        found = chisquare(observed, [e * scale for e in expected])
        statistic, p_value = float(found.statistic), float(found.pvalue)
    return FeatureDrift(name, "categorical", value, "chi-square" if statistic is not None else "", statistic,
                        p_value, missing_ref, missing_now, _drifted(value, p_value, limits))


def _drifted(value: float, p_value: float | None, limits: DriftLimits) -> bool:
    if value >= limits.psi:
        return True
    return limits.p_value is not None and p_value is not None and p_value < limits.p_value


def check_drift(profile: dict, data, *, limits: DriftLimits | None = None) -> DriftReport:
    """Compare `data` (a DataFrame) with `profile`, feature by feature (see the module's text)."""
    import pandas as pd

    limits = limits or DriftLimits()
    if not isinstance(data, pd.DataFrame):
        raise TypeError("check_drift: the new data must be a pandas DataFrame with the profiled columns")
    features = profile.get("features")
    if not isinstance(features, dict) or not features:
        raise ValueError("check_drift: the profile lists no features (expected a reference-profile.json)")
    report = DriftReport(limits, int(len(data)))
    profiled = dict(features)
    if isinstance(profile.get(SCORE), dict) and SCORE in data.columns:
        profiled[SCORE] = profile[SCORE]
    for name, ref in profiled.items():
        if name not in data.columns:
            report.absent.append(name)
            continue
        check = _numeric if ref.get("kind") == "numeric" else _categorical
        report.features.append(check(name, ref, data[name], limits))
    return report


# ---------------------------------------------------------------------------------------------
# Files


def read_profile(path) -> dict:
    import json

    path = Path(path)
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err})") from None
    except ValueError as err:
        raise ValueError(f"{path}: not JSON ({err})") from None
    if not isinstance(profile, dict) or not isinstance(profile.get("features"), dict):
        raise ValueError(f"{path}: not a reference profile (expected a JSON object with \"features\")")
    return profile


def read_table(path):
    """A data file as a DataFrame: .csv/.csv.gz/.tsv, .parquet, .feather, .json/.jsonl (by suffix)."""
    import pandas as pd

    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith(".feather"):
            return pd.read_feather(path)
        if name.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True)
        if name.endswith(".json"):
            return pd.read_json(path)
        if name.endswith((".tsv", ".tsv.gz")):
            return pd.read_csv(path, sep="\t")
        return pd.read_csv(path)
    except ImportError as err:
        raise ValueError(f"{path}: reading it needs {err.name or 'pyarrow'} "
                         "(pip install \"pytest-specweave[monitoring]\")") from None
    except Exception as err:  # pandas raises many kinds for a broken file
        raise ValueError(f"{path}: cannot be read as a table ({type(err).__name__}: {err})") from None


def increment_profile(increment_dir) -> tuple[dict, Path]:
    """The reference profile of the increment's latest promoted model (`models/model-vN.profile.json`)."""
    from ..tracking.models import metadata_path, model_versions, read_metadata

    increment_dir = Path(increment_dir)
    for version in reversed(model_versions(increment_dir)):
        metadata = read_metadata(increment_dir, version)
        name = metadata.get("monitoring_profile")
        if isinstance(name, str):
            path = metadata_path(increment_dir, version).parent / name
            return read_profile(path), path
    raise ValueError(f"{increment_dir / 'models'}: no promoted model with a reference profile; log one with "
                     "log_reference_profile(experiment, X_eval, scores=...) in the task that evaluates the model")

