"""Error analysis: the confusion matrix, the worst-predicted examples, and metrics per slice of a column.

`error_analysis(problem, y_true, y_pred, data=df, slice_by="country", experiment=exp)` returns an
ErrorAnalysis and writes error_analysis.md (and, for classification, confusion_matrix.csv) into
the experiment. Worst examples: for classification, the most confident mistakes when scores are
given (|1[positive] - score|, or 1 - the true class's probability), else the misclassified rows;
for regression and forecasting, the largest absolute errors. Slices: a column with few values is
sliced by value, a numeric column with many by quantile bins. numpy and scikit-learn are
imported inside the functions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from ..model.metric_names import direction
from .metrics import compute_metrics, problem_type

DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse", "forecasting": "mae"}
MAX_LEVELS = 10  # a numeric column with more distinct values than this is binned
SHOWN_COLUMNS = 8  # data columns shown beside each worst example


@dataclass
class ErrorAnalysis:
    problem: str
    metric: str  # the metric that ranks slices
    labels: list | None = None  # classification: the confusion matrix's row/column order
    confusion_matrix: list[list[int]] | None = None  # rows: true class, columns: predicted class
    worst: list[dict] = field(default_factory=list)  # row, y_true, y_pred, error (+ score, + data columns)
    slices: list[dict] = field(default_factory=list)  # column, slice, n, and the slice's metrics
    artifacts: list[str] = field(default_factory=list)

    def worst_slice(self, column: str | None = None) -> dict | None:
        rows = [s for s in self.slices if (column is None or s["column"] == column) and self.metric in s]
        if not rows:
            return None
        lower_better = direction(self.metric) == "lower"
        return max(rows, key=lambda s: s[self.metric]) if lower_better else min(rows, key=lambda s: s[self.metric])

    def markdown(self) -> str:
        lines = [f"# Error analysis ({self.problem})", ""]
        if self.confusion_matrix is not None:
            lines += ["## Confusion matrix", "", "rows: true class, columns: predicted class", ""]
            lines.append("| true \\ predicted | " + " | ".join(map(str, self.labels)) + " |")
            lines.append("|---" * (len(self.labels) + 1) + "|")
            for label, row in zip(self.labels, self.confusion_matrix):
                lines.append(f"| **{label}** | " + " | ".join(map(str, row)) + " |")
            lines.append("")
        if self.worst:
            lines += [f"## Worst-predicted examples ({len(self.worst)})", ""]
            keys = list(self.worst[0])
            lines.append("| " + " | ".join(keys) + " |")
            lines.append("|---" * len(keys) + "|")
            for row in self.worst:
                lines.append("| " + " | ".join(_fmt(row[k]) for k in keys) + " |")
            lines.append("")
        if self.slices:
            lines += [f"## Metrics per slice (worst {self.metric} first within each column)", ""]
            keys = ["column", "slice", "n"] + sorted({k for s in self.slices for k in s} - {"column", "slice", "n"})
            lines.append("| " + " | ".join(keys) + " |")
            lines.append("|---" * len(keys) + "|")
            for s in self.slices:
                lines.append("| " + " | ".join(_fmt(s.get(k, "")) for k in keys) + " |")
            lines.append("")
        return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _columns(data, n):
    """data (DataFrame or mapping of columns) as {name: 1-D numpy array of n values}."""
    import numpy as np

    if data is None:
        return {}
    names = list(data.columns) if hasattr(data, "columns") else list(data.keys())
    out = {}
    for name in names:
        values = data[name]
        arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
        if arr.ndim != 1 or len(arr) != n:
            raise ValueError(f"data column {name!r} has {len(arr)} values (shape {arr.shape}); y_true has {n} rows")
        out[str(name)] = arr
    return out


def _slices(values, bins: int):
    """[(label, boolean mask)] for one column: by value, or by quantile bins for a many-valued numeric column."""
    import numpy as np

    if values.dtype.kind in "biuf" and len(np.unique(values)) > MAX_LEVELS:
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)))
        out = []
        for i, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
            last = i == len(edges) - 2
            mask = (values >= low) & ((values <= high) if last else (values < high))
            out.append((f"[{low:.4g}, {high:.4g}{']' if last else ')'}", mask))
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            out.append(("missing", ~np.isfinite(values)))
        return out
    keys = values.astype(str) if values.dtype.kind == "O" else values
    return [(str(_plain(v)), keys == v) for v in np.unique(keys)]


def error_analysis(
    problem,
    y_true,
    y_pred,
    *,
    y_score=None,
    data=None,
    slice_by=None,
    n_worst: int = 10,
    bins: int = 4,
    metric: str | None = None,
    pos_label=1,
    experiment=None,
) -> ErrorAnalysis:
    """Confusion matrix (classification), the `n_worst` worst rows, and per-slice metrics of `slice_by` columns of `data`.

    data: a DataFrame or mapping of columns, one value per row of y_true (features, segments,
    dates). slice_by: a column name or several. metric: the metric that orders slices (accuracy,
    rmse or mae by problem type). experiment: writes error_analysis.md and confusion_matrix.csv.
    """
    import numpy as np

    kind = problem_type(problem)
    if kind == "ranking":
        raise ValueError(
            "error_analysis covers classification, regression and forecasting; for ranking, look at the"
            " per-user values of ranking.RankedLists(relevant, recommended).per_user('ndcg', 10)"
        )
    yt = y_true.to_numpy() if hasattr(y_true, "to_numpy") else np.asarray(y_true)
    yp = y_pred.to_numpy() if hasattr(y_pred, "to_numpy") else np.asarray(y_pred)
    if yt.ndim != 1 or yp.shape != yt.shape:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length; got shapes {yt.shape} and {yp.shape}")
    n = len(yt)
    columns = _columns(data, n)
    wanted = [] if slice_by is None else [slice_by] if isinstance(slice_by, str) else list(slice_by)
    missing = [c for c in wanted if str(c) not in columns]
    if missing:
        raise ValueError(f"slice_by names {missing} not in data (columns: {sorted(columns) or 'no data given'})")
    scores = None if y_score is None else (y_score.to_numpy() if hasattr(y_score, "to_numpy") else np.asarray(y_score))
    if scores is not None and len(scores) != n:
        raise ValueError(f"y_score has {len(scores)} rows but y_true has {n}")
    result = ErrorAnalysis(kind, metric or DEFAULT_METRIC[kind])

    if kind == "classification":
        from sklearn.metrics import confusion_matrix

        labels = np.unique(np.concatenate([yt, yp]))
        result.labels = [_plain(v) for v in labels]
        result.confusion_matrix = confusion_matrix(yt, yp, labels=labels).tolist()
        if scores is None:
            error = (yt != yp).astype(float)
        elif scores.ndim == 2 and scores.shape[1] > 2:
            true_class = np.searchsorted(np.unique(yt), yt)
            error = 1.0 - scores[np.arange(n), true_class]
        else:
            positive = scores[:, -1] if scores.ndim == 2 else scores
            error = np.abs((yt == pos_label).astype(float) - positive)
            error = np.where(yt != yp, error, 0.0) if n else error
    else:
        yt_f, yp_f = yt.astype(float), yp.astype(float)
        error = np.abs(yp_f - yt_f)
    order = np.argsort(-error, kind="stable")
    order = order[error[order] > 0][:n_worst]
    shown = [c for c in wanted] + [c for c in columns if c not in wanted]
    for i in order:
        row = {"row": int(i), "y_true": _plain(yt[i]), "y_pred": _plain(yp[i])}
        if kind != "classification":
            row["error"] = float(yp[i]) - float(yt[i])
        elif scores is not None:
            row["score"] = float(scores[i].max() if scores.ndim == 2 and scores.shape[1] > 2
                                 else (scores[i, -1] if scores.ndim == 2 else scores[i]))
        for c in shown[:SHOWN_COLUMNS]:
            row[c] = _plain(columns[c][i])
        result.worst.append(row)

    options = {"pos_label": pos_label} if kind == "classification" else {}
    for column in wanted:
        rows = []
        for label, mask in _slices(columns[str(column)], bins):
            entry = {"column": str(column), "slice": label, "n": int(mask.sum())}
            if mask.any():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        entry.update(compute_metrics(kind, yt[mask], yp[mask], **options))
                    except ValueError:
                        pass
            rows.append(entry)
        lower_better = direction(result.metric) == "lower"
        rows.sort(key=lambda s: (result.metric not in s, -s[result.metric] if lower_better else s[result.metric])
                  if result.metric in s else (True, 0.0))
        result.slices.extend(rows)

    if experiment is not None:
        experiment.save_report("error_analysis.md", result.markdown())
        result.artifacts.append("error_analysis.md")
        if result.confusion_matrix is not None:
            header = "true\\predicted," + ",".join(map(str, result.labels))
            body = [f"{label}," + ",".join(map(str, row)) for label, row in zip(result.labels, result.confusion_matrix)]
            experiment.save_report("confusion_matrix.csv", "\n".join([header, *body]) + "\n")
            result.artifacts.append("confusion_matrix.csv")
    return result
